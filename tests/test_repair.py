"""Recovery after a power cut (issue 12, item 4; docs/cache.md, "Damaged entries").

Entries are on disk before they are published (test_faults.py checks the syncfs), but a
cache can still hold files that lost their contents: written by an older dpex, hit by a
disk, emptied by a hand. That is what these tests do to published wheel entries, as ext4
shows lost writes after a power cut: files of size 0. The app then fails (an ImportError,
an AttributeError); the shim marks its environment; the next start checks the sizes of
the environment's wheels' files against their RECORDs, fetches each damaged wheel again
(sha256 checked) and rewrites its damaged files in place, with one warning line per wheel.
A start without the mark checks nothing.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from support.apps import REQUESTS_IMPORTS, REQUESTS_PROJECTS
from support.harness import assert_ok, describe, finish

PROJECTS = REQUESTS_PROJECTS + ["pyyaml"]
IMPORTS = REQUESTS_IMPORTS + ["yaml"]
DAMAGED = {"requests": "requests/__init__.py", "pyyaml": "yaml/__init__.py"}


def wheel_entry(root, project):
    """The published wheel entry of a project (by its wheel.json)."""
    for entry in (Path(root) / "1" / "wheels").iterdir():
        record = entry / "wheel.json"
        if record.is_file() and json.loads(record.read_text())["project"].lower() == project:
            return entry
    raise AssertionError(f"no wheel entry of {project} in {root}")


def wheel_file(root, project):
    return json.loads((wheel_entry(root, project) / "wheel.json").read_text())["filename"]


def env_dirs(root):
    return [d for d in (Path(root) / "1" / "envs").iterdir() if not d.name.startswith(".")]


def empty_files(root):
    """What a power cut before writeback leaves: the files are there, empty. Returns
    {project: (path, size before)}."""
    out = {}
    for project, rel in DAMAGED.items():
        path = wheel_entry(root, project) / "site" / rel
        out[project] = (path, path.stat().st_size)
        os.truncate(path, 0)
    return out


def warnings(stderr):
    return [line for line in stderr.splitlines() if line.startswith("dpex: warning:")]


@pytest.fixture
def damaged_app(e2e):
    """A hydrated app on requests and pyyaml whose two `__init__.py` files were emptied."""
    pex = e2e.build_app(e2e.files(*PROJECTS), imports=IMPORTS)
    assert_ok(e2e.run_pex(pex))
    return pex, empty_files(e2e.root)


@pytest.mark.parametrize("how", ["entry point", "python -c"])
def test_emptied_files_are_repaired_on_the_next_start(e2e, damaged_app, how):
    pex, emptied = damaged_app
    args = ["-c", "import yaml, requests; yaml.safe_load; requests.get"] if how == "python -c" else []
    env = {"PEX_INTERPRETER": "1"} if how == "python -c" else {}

    # The damaged run fails as the app would (the files are empty), and marks its environment.
    r = e2e.run_pex(pex, *args, env=env)
    assert r.returncode != 0, "an app on emptied files ran" + describe(r)
    assert "Traceback" in r.stderr and not warnings(r.stderr), describe(r)
    (env_dir,) = env_dirs(e2e.root)
    assert (env_dir / "dpex-check").is_file(), "the failing run left no mark for the next start"

    # The next start repairs both wheels: each fetched once more, one warning line each.
    since = e2e.index.mark()
    r = e2e.run_pex(pex, *args, env=env)
    assert_ok(r)
    lines = warnings(r.stderr)
    assert len(lines) == 2, describe(r)
    for project, rel in DAMAGED.items():
        path, size = emptied[project]
        line = next((l for l in lines if wheel_file(e2e.root, project) in l), None)
        assert line is not None, f"no warning names the {project} wheel" + describe(r)
        assert f"{rel}: 0 bytes, should be {size}" in line, line
        assert path.stat().st_size == size
    gets = e2e.index.file_gets(since)
    assert gets == {wheel_file(e2e.root, p): 1 for p in DAMAGED}, gets
    assert not (env_dir / "dpex-check").exists()

    # Repaired in place: the site's hard link is the same file; the cache verifies clean.
    site_file = next((e2e.root / "1" / "sites").glob(f"*/site-packages/{DAMAGED['pyyaml']}"))
    assert site_file.stat().st_ino == emptied["pyyaml"][0].stat().st_ino
    v = e2e.dpex_cmd("cache", "verify", env=e2e.env())
    assert v.returncode == 0, describe(v)

    # And the start after that is a plain warm start: no warning, no request.
    since = e2e.index.mark()
    r = e2e.run_pex(pex, *args, env=env)
    assert_ok(r)
    assert not warnings(r.stderr) and not e2e.index.requests()[since:], describe(r)


def test_an_app_failing_on_its_own_costs_one_check_and_no_download(e2e):
    """An uncaught exception of the app's own (nothing damaged): the next start checks the
    sizes, finds them right, says nothing, fetches nothing and removes the mark."""
    pex = e2e.build_app(e2e.files(*PROJECTS), imports=IMPORTS, entry_point="myapp.main:boom")
    r = e2e.run_pex(pex)
    assert r.returncode == 1 and "RuntimeError: boom from the app" in r.stderr, describe(r)
    (env_dir,) = env_dirs(e2e.root)
    assert (env_dir / "dpex-check").is_file()
    since = e2e.index.mark()
    r = e2e.run_pex(pex, "-c", "import yaml", env={"PEX_INTERPRETER": "1"})
    assert_ok(r)
    assert not warnings(r.stderr) and not e2e.index.requests()[since:], describe(r)
    assert not (env_dir / "dpex-check").exists()


def test_a_repair_that_cannot_fetch_warns_and_tries_again(e2e, damaged_app):
    pex, emptied = damaged_app
    assert e2e.run_pex(pex).returncode != 0
    r = e2e.run_pex(pex, env={"DPEX_OFFLINE": "1"})
    assert r.returncode != 0, describe(r)
    lines = warnings(r.stderr)
    assert len(lines) == 2 and all("could not be repaired now" in l for l in lines), describe(r)
    assert any("yaml/__init__.py: 0 bytes" in l for l in lines), lines
    r = e2e.run_pex(pex)
    assert_ok(r)
    assert len(warnings(r.stderr)) == 2, describe(r)
    assert all(path.stat().st_size == size for path, size in emptied.values())


def test_concurrent_starts_repair_each_wheel_once(e2e, damaged_app):
    pex, emptied = damaged_app
    assert e2e.run_pex(pex).returncode != 0
    since = e2e.index.mark()
    procs = [subprocess.Popen([str(pex)], env=e2e.env(), cwd=e2e.tmp, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(6)]
    results = [finish(p) for p in procs]
    for rc, out, err in results:
        assert rc == 0 and "APP " in out, err
    all_warnings = [l for _, _, err in results for l in warnings(err)]
    assert len(all_warnings) == 2, all_warnings
    gets = e2e.index.file_gets(since)
    assert len(gets) == 2 and set(gets.values()) == {1}, gets
    assert all(path.stat().st_size == size for path, size in emptied.values())


def test_an_emptied_record_is_damage_too(e2e, damaged_app):
    """A power cut empties RECORD with the files written beside it: no sizes to compare, so the
    wheel is fetched again and compared with the fresh copy instead."""
    pex, emptied = damaged_app
    record = next((wheel_entry(e2e.root, "pyyaml") / "site").glob("*.dist-info/RECORD"))
    size = record.stat().st_size
    os.truncate(record, 0)
    assert e2e.run_pex(pex).returncode != 0
    r = e2e.run_pex(pex)
    assert_ok(r)
    (line,) = [l for l in warnings(r.stderr) if wheel_file(e2e.root, "pyyaml") in l]
    assert "RECORD: 0 bytes" in line and "yaml/__init__.py: 0 bytes" in line, line
    assert record.stat().st_size == size
    v = e2e.dpex_cmd("cache", "verify", env=e2e.env())
    assert v.returncode == 0, describe(v)
