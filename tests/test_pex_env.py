"""pex run-time settings that come from outside the app: pexrc files and
PEX_EXTRA_SYS_PATH."""

import json

import pytest

from support.harness import assert_ok, describe


CODE = "import json, os, sys; print('OUT ' + json.dumps({'path': sys.path, 'pythonpath': os.environ.get('PYTHONPATH'), 'env': {k: v for k, v in os.environ.items() if 'PEX' in k}}))"


def out_of(r):
    line = next(l for l in r.stdout.splitlines() if l.startswith("OUT "))
    return json.loads(line[4:])


def build_interpreter_app(e2e, extra=()):
    """An app without entry point (it behaves like python) and one small wheel."""
    return e2e.build_app(e2e.files("idna"), entry_point=None, extra=extra)


def test_pexrc_beside_the_app_sets_pex_variables(e2e):
    pex = build_interpreter_app(e2e, extra=["--no-strip-pex-env"])
    (pex.parent / ".pexrc").write_text("# a comment\nPEX_INTERPRETER=1\nPEX_EXTRA_SYS_PATH=/from/rc\nOTHER=ignored\n")
    r = assert_ok(e2e.run_pex(pex, "-c", CODE))
    out = out_of(r)
    assert "/from/rc" in out["path"], out["path"]
    assert out["env"].get("PEX_EXTRA_SYS_PATH") == "/from/rc"
    assert "OTHER" not in out["env"]


def test_environment_beats_pexrc_and_ignore_rcfiles_skips_it(e2e):
    pex = build_interpreter_app(e2e, extra=["--no-strip-pex-env"])
    (pex.parent / ".pexrc").write_text("PEX_EXTRA_SYS_PATH=/from/rc\n")
    (e2e.home / ".pexrc").write_text("PEX_EXTRA_SYS_PATH=/from/home\n")
    out = out_of(assert_ok(e2e.run_pex(pex, "-c", CODE, env={"PEX_EXTRA_SYS_PATH": "/from/env"})))
    assert "/from/env" in out["path"] and "/from/rc" not in out["path"], out["path"]
    # The file beside the app wins over ~/.pexrc.
    out = out_of(assert_ok(e2e.run_pex(pex, "-c", CODE)))
    assert "/from/rc" in out["path"] and "/from/home" not in out["path"], out["path"]
    out = out_of(assert_ok(e2e.run_pex(pex, "-c", CODE, env={"PEX_IGNORE_RCFILES": "1"})))
    assert not any(p.startswith("/from/") for p in out["path"]), out["path"]


def test_extra_sys_path_is_appended_and_exported(e2e, tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "extra_mod.py").write_text("VALUE = 'extra'\n")
    pex = build_interpreter_app(e2e)
    code = CODE + "; import extra_mod; print('MOD', extra_mod.VALUE)"
    r = assert_ok(e2e.run_pex(pex, "-c", code, env={"PEX_EXTRA_SYS_PATH": str(extra)}))
    out = out_of(r)
    assert out["path"][-1] == str(extra), out["path"]
    assert out["pythonpath"] == str(extra), describe(r)
    assert "MOD extra" in r.stdout
    # strip_pex_env (the default) removed the variable itself from the app's environment.
    assert "PEX_EXTRA_SYS_PATH" not in out["env"]


@pytest.mark.parametrize("name, value", [
    ("PEX_INHERIT_PATH", "sometimes"),
    # dpex's own variables follow the same rule (one settings module reads them all).
    ("DPEX_LOCK_TIMEOUT", "soon"),
    ("DPEX_OFFLINE", "yes"),
    ("DPEX_READ_TIMEOUT", "0"),
    ("DPEX_DOWNLOAD_MEMORY", "1G"),
    ("DPEX_UNPACK_THREADS", "0"),
])
def test_bad_pex_variable_fails_before_any_download(e2e, name, value):
    """A typo in a PEX_* or DPEX_* value fails at once, as in pex: no wheel is fetched first."""
    pex = build_interpreter_app(e2e)
    before = e2e.index.mark()
    r = e2e.run_pex(pex, "-c", "print(1)", env={name: value})
    assert r.returncode == 1 and not r.stdout, describe(r)
    assert "Invalid" in r.stderr and name in r.stderr and f"'{value}'" in r.stderr, describe(r)
    assert "Traceback" not in r.stderr and "panicked" not in r.stderr, describe(r)
    assert e2e.index.file_gets(since=before) == {}, describe(r)
    # Fixed, the same cold cache hydrates and runs.
    r = assert_ok(e2e.run_pex(pex, "-c", "print(1)"))
    assert r.stdout == "1\n" and sum(e2e.index.file_gets(since=before).values()) == 1, describe(r)


# The variables docs/compat.md lists as "validated": dpex does not act on them, but a value
# pex would refuse is refused at boot, before any download, naming the variable.
VALIDATED = {
    "PEX_VENV": ("maybe", "true", "Invalid bool value for PEX_VENV, must be 0/1/false/true, got 'maybe'"),
    "PEX_COVERAGE": ("yes", "1", "Invalid bool value for PEX_COVERAGE, must be 0/1/false/true, got 'yes'"),
    "PEX_PROFILE": ("on", "0", "Invalid bool value for PEX_PROFILE, must be 0/1/false/true, got 'on'"),
    "PEX_IGNORE_ERRORS": ("2", "false", "Invalid bool value for PEX_IGNORE_ERRORS, must be 0/1/false/true, got '2'"),
    "PEX_EMIT_WARNINGS": ("loud", "False", "Invalid bool value for PEX_EMIT_WARNINGS, must be 0/1/false/true, got 'loud'"),
    "PEX_MAX_INSTALL_JOBS": ("many", "4", "Invalid value for PEX_MAX_INSTALL_JOBS, must be an integer, got 'many'"),
}


@pytest.mark.parametrize("name", sorted(VALIDATED))
def test_validated_variable(e2e, name):
    bad, good, message = VALIDATED[name]
    pex = build_interpreter_app(e2e)
    before = e2e.index.mark()
    r = e2e.run_pex(pex, "-c", "print(1)", env={name: bad})
    assert r.returncode == 1 and not r.stdout, describe(r)
    assert r.stderr.startswith("dpex: error: ") and len(r.stderr.splitlines()) == 1, describe(r)
    assert message in r.stderr and repr(bad)[1:-1] in r.stderr, describe(r)
    assert e2e.index.file_gets(since=before) == {}, describe(r)
    assert not (e2e.root / "1" / "wheels").exists(), describe(r)
    # A good value runs the app, cold cache and all.
    r = assert_ok(e2e.run_pex(pex, "-c", "print(1)", env={name: good}))
    assert r.stdout == "1\n" and not r.stderr, describe(r)


def test_pex_path_is_not_merged_and_says_so(e2e, tmp_path):
    """PEX_PATH names other pex files whose packages pex adds to sys.path. A dpex app's
    environment is its lock's wheels, so it runs without them and says so in one line,
    rather than failing later on an import the user expected PEX_PATH to provide."""
    pex = build_interpreter_app(e2e)
    other = e2e.build_app(e2e.files("certifi"), entry_point=None, out="other.pex")
    code = "import idna, importlib.util as u; print('CERTIFI', u.find_spec('certifi') is not None)"
    r = assert_ok(e2e.run_pex(pex, "-c", code, env={"PEX_PATH": str(other)}))
    assert "CERTIFI False" in r.stdout, describe(r)
    warnings = [line for line in r.stderr.splitlines() if "PEX_PATH" in line]
    assert len(warnings) == 1 and warnings[0].startswith("dpex: warning: PEX_PATH is set"), describe(r)
    assert str(other) in warnings[0] and "not on sys.path" in warnings[0], describe(r)
    r = assert_ok(e2e.run_pex(pex, "-c", code))
    assert "PEX_PATH" not in r.stderr, describe(r)
