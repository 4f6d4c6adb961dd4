"""What docs/environment.md ("Which interpreter") and docs/cache.md ("The warm path")
promise about running interpreters: each candidate is probed once and the result cached
(a pyenv shim per PYENV_VERSION), a failing probe is skipped and remembered for an hour,
and a warm start runs no interpreter but the app's own.

The shim is a shell script named python3.11, first on PATH, that logs each run and
execs /usr/bin/python3.11 when PYENV_VERSION is 3.11 (fails like pyenv otherwise)."""

import json
import shutil
import subprocess
import time

import pytest

from support.harness import BASE_PATH, PY311, assert_ok, describe

SHIM = f"""#!/bin/sh
echo "run PYENV_VERSION=$PYENV_VERSION" >> "{{log}}"
if [ "$PYENV_VERSION" = 3.11 ]; then exec {PY311} "$@"; fi
echo "pyenv: version \\`$PYENV_VERSION' is not installed" >&2
exit 1
"""


@pytest.fixture
def shim(tmp_path):
    d = tmp_path / "shims"
    d.mkdir()
    log = tmp_path / "shim.log"
    log.write_text("")
    p = d / "python3.11"
    p.write_text(SHIM.format(log=log))
    p.chmod(0o755)
    return d, log


def shim_runs(log):
    return log.read_text().splitlines()


@pytest.fixture
def app(e2e):
    # The constraint puts python3.11 first in the search, so the shim is the first candidate.
    return e2e.build_app(e2e.files("idna"), entry_point=None,
                         extra=("--interpreter-constraint", "CPython==3.11.*"))


def run(e2e, app, shim_dir, version, *args):
    env = {"PATH": f"{shim_dir}:{BASE_PATH}", "PYENV_VERSION": version, "PEX_VERBOSE": "1"}
    return e2e.run_pex(app, *(args or ("-c", "import sys; print(sys.executable)")), env=env, python=None)


def test_pyenv_shim_probed_once_per_version_and_failures_remembered(e2e, app, shim):
    shim_dir, log = shim
    # A version pyenv does not have: the shim fails, is skipped, /usr/bin/python3.11 runs the app.
    r = assert_ok(run(e2e, app, shim_dir, "3.99"))
    assert f"dpex: interpreter {PY311}" in r.stderr, describe(r)
    assert shim_runs(log) == ["run PYENV_VERSION=3.99"], describe(r)
    # The failure is remembered: not run again.
    assert_ok(run(e2e, app, shim_dir, "3.99"))
    assert shim_runs(log) == ["run PYENV_VERSION=3.99"]
    # Another PYENV_VERSION is another interpreter behind the same file: probed once, then cached.
    r = assert_ok(run(e2e, app, shim_dir, "3.11"))
    assert f"dpex: interpreter {PY311}" in r.stderr, describe(r)
    assert shim_runs(log) == ["run PYENV_VERSION=3.99", "run PYENV_VERSION=3.11"], describe(r)
    assert_ok(run(e2e, app, shim_dir, "3.11"))
    assert_ok(run(e2e, app, shim_dir, "3.99"))
    assert len(shim_runs(log)) == 2, shim_runs(log)
    # "remembered for an hour": age the failed record past it, and the shim is probed again.
    failed = []
    for p in (e2e.root / "1" / "interpreters").glob("*.json"):
        rec = json.loads(p.read_text())
        if "at_unix_secs" in json.dumps(rec):
            failed.append(p)
    assert len(failed) == 1, [p.read_text() for p in (e2e.root / "1" / "interpreters").glob("*.json")]
    rec = json.loads(failed[0].read_text())
    holder = rec if "at_unix_secs" in rec else next(v for v in rec.values() if isinstance(v, dict) and "at_unix_secs" in v)
    holder["at_unix_secs"] = int(time.time()) - 3601
    failed[0].write_text(json.dumps(rec))
    assert_ok(run(e2e, app, shim_dir, "3.99"))
    assert shim_runs(log)[2:] == ["run PYENV_VERSION=3.99"], shim_runs(log)


def test_warm_start_runs_no_interpreter_but_the_app(e2e, app, shim, tmp_path):
    shim_dir, log = shim
    r = assert_ok(run(e2e, app, shim_dir, "3.11", "-c", "pass"))
    assert shim_runs(log) == ["run PYENV_VERSION=3.11"], describe(r)  # cold: the probe, once
    trace = tmp_path / "execve.log"
    env = e2e.env({"PATH": f"{shim_dir}:{BASE_PATH}", "PYENV_VERSION": "3.11"}, python=None)
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed")
    p = subprocess.run([strace, "-f", "-qq", "-e", "trace=execve", "-e", "signal=none", "-o", trace, app, "-c", "pass"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert shim_runs(log) == ["run PYENV_VERSION=3.11"], "a warm start ran the shim again"
    execs = [l for l in trace.read_text().splitlines() if "execve(" in l and "= 0" in l]
    # The app itself, then one execve of the environment's python: nothing else ran. An app
    # with launchers for several architectures (the default for a lock of pure wheels) runs its
    # sh prelude first, which execs the launcher kept in the cache and forks nothing.
    assert str(app) in execs[0], trace.read_text()
    if app.read_bytes().startswith(b"#!/bin/sh"):
        assert "/launchers/" in execs[1], trace.read_text()
        execs = execs[1:]
    assert len(execs) == 2, trace.read_text()
    assert "/envs/" in execs[1] and execs[1].split('"')[1].endswith("/bin/python"), trace.read_text()
