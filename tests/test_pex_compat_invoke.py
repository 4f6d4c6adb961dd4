"""pex and dpex side by side: ways to start the app (`./app.pex`, `python app.pex`,
`python -u app.pex`, a symlink, another working directory), pexrc files,
PEX_IGNORE_RCFILES, PEX_ROOT, PEX_VERBOSE, and signals reaching the app.
See tests/support/pexcompat.py and docs/compat.md.
"""

import os
import signal

import pytest

from support.harness import BASE_PATH, PY311
from support.pexcompat import lab, pex_build_root, real_pex, signal_run  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def twins(lab):
    idna = lab.files("idna")
    return lab.build_many({
        "app": ("app", idna, {"entry_point": "myapp.main:ret_int"}),
        # strip_pex_env off: the app sees PEX_* (and so what pex exports of them).
        "keep": ("keep", idna, {"entry_point": "myapp.main:ret_int", "opts": ["--no-strip-pex-env"]}),
        "sleeper": ("sleeper", idna, {"entry_point": "myapp.main:sleeper"}),
        "frozen": ("frozen", idna, {"entry_point": "myapp.main:ret_int",
                                    "opts": ["--inject-python-args=-O", "--inject-python-args=-B"]}),
    })


@pytest.fixture(scope="module")
def app(twins):
    return twins["app"]


@pytest.fixture(scope="module")
def keep(twins):
    return twins["keep"]


@pytest.fixture(scope="module")
def sleeper(twins):
    return twins["sleeper"]


# -- ways to start ---------------------------------------------------------------------------

@pytest.mark.parametrize("via", [[PY311], [PY311, "-u"], [PY311, "-B", "-O"], ["python3"]], ids=" ".join)
def test_python_app_pex(app, via):
    pair = app.run("3", "x y", via=via).assert_same(stderr="empty")
    assert pair.dpex.tagged("APP")["argv"] == ["<DIR>/app.pex", "3", "x y"], pair.describe()


def test_python_app_pex_interpreter_mode(app):
    code = "import sys; print(sys.argv, sys.flags.optimize)"
    app.run("-c", code, "a", via=[PY311, "-O"], env={"PEX_INTERPRETER": "1"}).assert_same(stderr="empty")


def test_relative_invocation_from_the_apps_folder(app):
    app.run("4", invoke=lambda p: "./app.pex", cwd=lambda p: p.parent).assert_same(stderr="empty")
    app.run("4", via=[PY311], invoke=lambda p: "app.pex", cwd=lambda p: p.parent).assert_same(stderr="empty")


def test_relative_invocation_from_another_folder(app, lab):
    elsewhere = lab.root / "elsewhere" / "deeper"
    elsewhere.mkdir(parents=True, exist_ok=True)
    pair = app.run("1", invoke=lambda p: os.path.relpath(p, elsewhere), cwd=elsewhere).assert_same(stderr="empty")
    assert pair.dpex.tagged("APP")["PEX"] == "<DIR>/app.pex", pair.describe()


def test_absolute_invocation_from_another_folder(app, lab):
    pair = app.run("-c", "import os; print(os.getcwd())", cwd=lab.root, env={"PEX_INTERPRETER": "1"})
    pair.assert_same(stderr="empty")
    assert pair.dpex.stdout == f"{lab.root}\n", pair.describe()


def test_found_on_path(app):
    """`app.pex args` with the app's folder on PATH: argv[0] is the path the shell found."""
    def on_path(p):
        return {"PATH": f"{p.parent / 'bin'}:{BASE_PATH}"}
    pair = app.run("5", invoke=lambda p: (_link(p, "bin/tool"), "tool")[1], env_for=on_path).assert_same(
        stderr="empty")
    assert pair.dpex.tagged("APP")["argv"][0] == "<DIR>/bin/tool", pair.describe()


def _link(app_path, rel):
    link = app_path.parent / rel
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(os.path.relpath(app_path, link.parent))
    return link


def test_symlink_beside_the_app(app):
    pair = app.run("2", invoke=lambda p: _link(p, "link.pex")).assert_same(stderr="empty")
    out = pair.dpex.tagged("APP")
    assert out["argv"][0] == "<DIR>/link.pex" and out["PEX"] == "<DIR>/app.pex", pair.describe()


def test_symlink_in_another_folder(app):
    pair = app.run("2", invoke=lambda p: _link(p, "bin/tool")).assert_same(stderr="empty")
    pair = app.run("2", invoke=lambda p: _link(p, "bin/tool"), via=[PY311]).assert_same(stderr="empty")


# -- inject_python_args -----------------------------------------------------------------------

FLAGS = ("import sys; print('FLAGS', sys.flags.optimize, sys.flags.dont_write_bytecode, "
         "type(sys.stdout.buffer).__name__, sys.argv)")


@pytest.mark.parametrize("via", [None, [PY311], [PY311, "-u"]], ids=["direct", "python", "python -u"])
def test_inject_python_args(twins, via):
    frozen = twins["frozen"]
    pair = frozen.run("-c", FLAGS, "x", via=via, env={"PEX_INTERPRETER": "1"}).assert_same(stderr="empty")
    optimize, no_bytecode, unbuffered = pair.dpex.stdout.split()[1:4]
    assert (optimize, no_bytecode) == ("1", "1"), pair.describe()
    assert unbuffered == ("FileIO" if via and "-u" in via else "BufferedWriter"), pair.describe()
    # Without PEX_INTERPRETER the entry point runs, under the same flags.
    frozen.run("2", via=via).assert_same(stderr="empty")


# -- pexrc files ------------------------------------------------------------------------------

def _rc_beside(twin, text):
    for p in twin.apps().values():
        (p.parent / ".pexrc").write_text(text)


@pytest.fixture
def rc_home(lab, tmp_path):
    home = tmp_path / "rc-home"
    home.mkdir()
    yield home


def test_pexrc_beside_the_app(app):
    _rc_beside(app, "PEX_MODULE=myapp.main:show\n")
    try:
        pair = app.run("r").assert_same(stderr="empty")
        assert pair.dpex.tagged("APP")["argv"][1:] == ["r"] and pair.dpex.returncode == 0, pair.describe()
        app.run("r", env={"PEX_IGNORE_RCFILES": "1"}).assert_same(stderr="empty")
        app.run("r", env={"PEX_IGNORE_RCFILES": "true"}).assert_same(stderr="empty")
        app.run("r", env={"PEX_MODULE": "myapp.modmain"}).assert_same(stderr="empty")
        # Beside a symlink: the folder of the path the app was started by.
        app.run("r", invoke=lambda p: _link(p, "bin/tool")).assert_same(stderr="empty")
    finally:
        _rc_beside(app, "")


def test_pexrc_in_home(app, rc_home):
    (rc_home / ".pexrc").write_text("PEX_MODULE=myapp.modmain\n")
    pair = app.run("7", home=rc_home).assert_same(stderr="empty")
    assert "MODMAIN" in pair.dpex.stdout and pair.dpex.returncode == 7, pair.describe()
    app.run("7", home=rc_home, env={"PEX_IGNORE_RCFILES": "1"}).assert_same(stderr="empty")
    _rc_beside(app, "PEX_MODULE=myapp.main:show\n")
    try:
        pair = app.run("7", home=rc_home).assert_same(stderr="empty")
        assert "MODMAIN" not in pair.dpex.stdout, pair.describe()
    finally:
        _rc_beside(app, "")


def test_pexrc_sets_pex_interpreter(app, rc_home):
    (rc_home / ".pexrc").write_text("# interpreter mode\nPEX_INTERPRETER=1\n")
    app.run("-c", "import sys; print(sys.argv)", "q", home=rc_home).assert_same(stderr="empty")


def test_pexrc_values_with_strip_pex_env_off(keep, app, rc_home, lab):
    """Documented difference: pex applies pexrc values without putting them in the
    environment, so an app built with --no-strip-pex-env does not see them; dpex
    puts them in the app's environment (visible with --no-strip-pex-env only). Their
    effect (here PEX_EXTRA_SYS_PATH) is the same."""
    extra = lab.root / "rc-extra"
    extra.mkdir(exist_ok=True)
    (rc_home / ".pexrc").write_text(f"PEX_EXTRA_SYS_PATH={extra}\nPEX_COMPAT_FROM_RC=yes\n")
    pair = keep.run("1", home=rc_home)
    assert pair.pex.returncode == pair.dpex.returncode == 1, pair.describe()
    pex_out, dpex_out = pair.pex.tagged("APP"), pair.dpex.tagged("APP")
    assert "PEX_COMPAT_FROM_RC" not in pex_out["pex_env"], pair.describe()
    assert dpex_out["pex_env"].pop("PEX_COMPAT_FROM_RC") == "yes", pair.describe()
    assert dpex_out["pex_env"].pop("PEX_EXTRA_SYS_PATH") == str(extra), pair.describe()
    assert pex_out == dpex_out, pair.describe()
    # Stripped (the default), the two agree entirely.
    app.run("1", home=rc_home).assert_same(stderr="empty")


def test_pex_ignore_rcfiles_in_a_pexrc_is_ignored(app, rc_home):
    (rc_home / ".pexrc").write_text("PEX_IGNORE_RCFILES=1\nPEX_MODULE=myapp.main:show\n")
    app.run("1", home=rc_home).assert_same(stderr="empty")


# -- PEX_DISABLE_VARIABLES -------------------------------------------------------------------

def test_pex_disable_variables_ignores_env_and_pexrc(app, rc_home):
    """Locked down: the other PEX_* variables and every pexrc file are ignored."""
    (rc_home / ".pexrc").write_text("PEX_MODULE=myapp.modmain\n")
    locked = {"PEX_DISABLE_VARIABLES": "1", "PEX_MODULE": "myapp.main:show"}
    pair = app.run("6", home=rc_home, env=locked).assert_same(stderr="empty")
    assert pair.dpex.returncode == 6 and "MODMAIN" not in pair.dpex.stdout, pair.describe()
    pair = app.run("-c", "print(1)", home=rc_home, env={**locked, "PEX_INTERPRETER": "1"})
    pair.assert_same(stderr="empty")
    # The built-in entry point ran, not the interpreter.
    assert pair.dpex.tagged("APP")["argv"][1:] == ["-c", "print(1)"], pair.describe()
    # Without the lock-down the same environment changes what runs.
    pair = app.run("6", home=rc_home, env={**locked, "PEX_DISABLE_VARIABLES": "0"})
    pair.assert_same(stderr="empty")
    assert pair.dpex.tagged("APP")["argv"][1:] == ["6"], pair.describe()


def test_invalid_pex_disable_variables(app):
    pair = app.run("3", env={"PEX_DISABLE_VARIABLES": "please"})
    assert pair.pex.returncode == pair.dpex.returncode == 1, pair.describe()
    assert not pair.pex.stdout and not pair.dpex.stdout, pair.describe()


# -- PEX_ROOT, PEX_VERBOSE ---------------------------------------------------------------------

def test_pex_root(app, tmp_path):
    root = tmp_path / "other-root"
    pair = app.run("3", env={"PEX_ROOT": root}).assert_same(stderr="empty")
    assert (root / "dpex").is_dir() and (root / "unzipped_pexes").is_dir(), pair.describe()


@pytest.mark.parametrize("level", ["1", "2", "0"])
def test_pex_verbose_diagnostics_on_stderr_only(app, level):
    pair = app.run("3", env={"PEX_VERBOSE": level}).assert_same(stderr=None)
    pair = app.run("-c", "print('only this')", env={"PEX_VERBOSE": level, "PEX_INTERPRETER": "1"})
    pair.assert_same(stderr=None)
    assert pair.dpex.stdout == "only this\n", pair.describe()
    if level != "0":
        assert pair.pex.stderr and pair.dpex.stderr, pair.describe()


def test_invalid_pex_verbose(app):
    pair = app.run("3", env={"PEX_VERBOSE": "loud"})
    assert pair.pex.returncode == pair.dpex.returncode == 1, pair.describe()
    assert not pair.pex.stdout and not pair.dpex.stdout, pair.describe()


@pytest.mark.parametrize("var", ["PEX_IGNORE_RCFILES", "PEX_INTERPRETER"])
def test_invalid_booleans(app, var):
    pair = app.run("3", env={var: "yes"})
    assert pair.pex.returncode == pair.dpex.returncode == 1, pair.describe()
    assert not pair.pex.stdout and not pair.dpex.stdout, pair.describe()
    assert pair.pex.exception.endswith(pair.dpex.exception.split("error: ", 1)[-1]), pair.describe()


def test_pex_tools_is_refused(app):
    pair = app.run("3", env={"PEX_TOOLS": "1"})
    assert pair.pex.returncode == pair.dpex.returncode == 1, pair.describe()
    assert not pair.pex.stdout and not pair.dpex.stdout, pair.describe()


# -- signals -----------------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_signals_reach_the_app(sleeper, sig):
    results = {kind: signal_run(sleeper, kind, sig) for kind in ("pex", "dpex")}
    (prc, pout, perr), (drc, dout, derr) = results["pex"], results["dpex"]
    what = f"\npex: {prc}\n{pout}\n{perr[-2000:]}\ndpex: {drc}\n{dout}\n{derr[-2000:]}"
    assert prc == drc, "different exit status" + what
    assert "WOKE" not in pout + dout, what
    last = [line for line in derr.splitlines() if line.strip()][-1:] or [""]
    plast = [line for line in perr.splitlines() if line.strip()][-1:] or [""]
    assert last == plast, what
    if sig == signal.SIGINT:
        assert last == ["KeyboardInterrupt"], what
    else:
        assert drc == -signal.SIGTERM, what


def test_sigint_in_interpreter_mode(sleeper):
    code = "import time; print('READY', flush=True); time.sleep(60)"
    rc = {}
    for kind in ("pex", "dpex"):
        p = sleeper.popen(kind, "-c", code, env={"PEX_INTERPRETER": "1"})
        try:
            assert p.stdout.readline().strip() == "READY"
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=60)
            rc[kind] = (p.returncode, err.strip().splitlines()[-1:])
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert rc["pex"] == rc["dpex"], rc
