"""pex and dpex side by side in interpreter mode: an app without entry point, or
PEX_INTERPRETER=1. `-c CODE args`, `-m MOD args`, a script file, `-` with code on
stdin, the REPL fed through a pipe, leading interpreter flags; sys.argv each time.
See tests/support/pexcompat.py and docs/compat.md.
"""

import re

import pytest

from support.pexcompat import lab, pex_build_root, real_pex  # noqa: F401  (fixtures)

# Prints what the code saw: argv, sys.path[0], that the locked package imports, __name__.
PROBE = ("import json, os, sys, idna; print('PROBE ' + json.dumps({'argv': sys.argv, 'path0': sys.path[0], "
         "'name': __name__, 'idna': idna.encode('b\\u00fccher.example').decode()}))")
# The same for a script file, without sys.path[0] (see test_script_file_imports_its_neighbours).
SCRIPT_PROBE = ("import json, os, sys, idna; print('SCRIPT ' + json.dumps({'argv': sys.argv, 'name': __name__, "
                "'idna': idna.encode('b\\u00fccher.example').decode()}))")


@pytest.fixture(scope="module")
def twins(lab):
    idna = lab.files("idna")
    return lab.build_many({"interp": ("interp", idna, {}),
                           "with_ep": ("with-ep", idna, {"entry_point": "myapp.main:ret_int"})})


@pytest.fixture(scope="module")
def interp(twins):
    """No entry point: the app behaves like the interpreter."""
    return twins["interp"]


@pytest.fixture(scope="module")
def with_ep(twins):
    """An entry point, overridden with PEX_INTERPRETER=1."""
    return twins["with_ep"]


INTERP = {"PEX_INTERPRETER": "1"}


@pytest.fixture(params=["no-entry-point", "PEX_INTERPRETER"])
def app_env(request, interp, with_ep):
    """(app, env) for both ways into interpreter mode."""
    if request.param == "no-entry-point":
        return interp, {}
    return with_ep, INTERP


# -- -c, -m, files, stdin ----------------------------------------------------------------

@pytest.mark.parametrize("args", [(), ("a", "b c"), ("-c", "--x", "-")])
def test_dash_c(app_env, args):
    app, env = app_env
    pair = app.run("-c", PROBE, *args, env=env).assert_same(stderr="empty")
    assert pair.dpex.tagged("PROBE")["argv"] == ["-c", *args], pair.describe()


def test_dash_c_exit_status_and_exception(app_env):
    app, env = app_env
    app.run("-c", "import sys; print('x'); sys.exit(6)", env=env).assert_same()
    pair = app.run("-c", "raise KeyError('nope')", env=env).assert_same()
    assert pair.dpex.exception == "KeyError: 'nope'" and pair.pex.returncode == 1, pair.describe()
    pair = app.run("-c", "import sys; sys.exit('bye')", env=env).assert_same()
    assert pair.dpex.exception == "bye", pair.describe()


def test_dash_c_code_is_named_string_in_tracebacks(interp):
    """-c code is named "<string>" in tracebacks and syntax errors, python -c's own name for
    it (dpex execs the str itself rather than calling compile(); __dpex__/__init__.py); pex names it
    "-c <cmd>" (docs/compat.md, "Code globals"). The error itself is the same."""
    pair = interp.run("-c", "x = 1\n1 / 0", env={}).assert_same()
    assert 'File "<string>", line 2' in pair.dpex.stderr, pair.describe()
    assert 'File "-c <cmd>", line 2' in pair.pex.stderr, pair.describe()
    assert pair.dpex.exception == "ZeroDivisionError: division by zero", pair.describe()
    # pex reports a syntax error in one line of its own ("Unable to parse -c <cmd>: ..."),
    # dpex as python -c does; both exit 1.
    pair = interp.run("-c", "x = (", env={})
    assert pair.dpex.returncode == pair.pex.returncode == 1, pair.describe()
    assert 'File "<string>", line 1' in pair.dpex.stderr, pair.describe()
    assert pair.dpex.exception.startswith("SyntaxError: '(' was never closed"), pair.describe()
    assert "-c <cmd>" in pair.pex.stderr, pair.describe()


@pytest.mark.parametrize("args", [(), ("a", "-b", "--c=d")])
def test_dash_m(app_env, args):
    app, env = app_env
    pair = app.run("-m", "myapp.modmain", *args, env=env).assert_same(stderr="empty")
    out = pair.dpex.tagged("MODMAIN")
    assert out["argv"] == ["<CODE>/myapp/modmain.py", *args] and out["name"] == "__main__", pair.describe()


def test_dash_m_stdlib_module_and_exit_status(app_env):
    app, env = app_env
    app.run("-m", "json.tool", input='{"b": 1, "a": [1, 2]}', env=env).assert_same(stderr="empty")
    app.run("-m", "myapp.modmain", "5", env=env).assert_same()
    pair = app.run("-m", "no_such_module_here", env=env)
    assert pair.pex.returncode == pair.dpex.returncode == 1, pair.describe()


def test_script_file(app_env, lab):
    app, env = app_env
    script = lab.cwd / "script.py"
    script.write_text(SCRIPT_PROBE + "\nimport sys; sys.exit(len(sys.argv))\n")
    pair = app.run("script.py", "p", "--q", env=env).assert_same()
    assert pair.dpex.tagged("SCRIPT")["argv"] == ["script.py", "p", "--q"] and pair.pex.returncode == 3
    pair = app.run(str(script), env=env).assert_same()
    assert pair.dpex.tagged("SCRIPT")["name"] == "__main__", pair.describe()


def test_script_file_imports_its_neighbours(interp, lab):
    """Documented difference: pex puts '' (the working directory) first on sys.path for a
    script, so a script elsewhere cannot import the modules beside it; dpex puts the
    script's folder first, as `python script.py` does."""
    d = lab.root / "scripts"
    d.mkdir(exist_ok=True)
    (d / "neighbour.py").write_text("VALUE = 'next door'\n")
    (d / "uses_neighbour.py").write_text("import sys, neighbour; print('N', neighbour.VALUE, sys.path[0])\n")
    pair = interp.run(str(d / "uses_neighbour.py"))
    assert pair.pex.returncode == 1 and "ModuleNotFoundError" in pair.pex.exception, pair.describe()
    assert pair.dpex.returncode == 0 and pair.dpex.stdout == f"N next door {d}\n", pair.describe()
    # Run from the script's folder, both find it (pex through '', dpex through the folder).
    pair = interp.run("uses_neighbour.py", cwd=d)
    assert pair.pex.returncode == pair.dpex.returncode == 0, pair.describe()


def test_script_file_raising(app_env, lab):
    app, env = app_env
    script = lab.cwd / "raising.py"
    script.write_text("print('before')\nraise ValueError('from the script')\n")
    pair = app.run("raising.py", env=env).assert_same()
    assert pair.dpex.exception == "ValueError: from the script", pair.describe()


def test_directory_with_main(app_env, lab):
    app, env = app_env
    d = lab.cwd / "pkgdir"
    d.mkdir(exist_ok=True)
    (d / "__main__.py").write_text("import sys; print('DIRMAIN', sys.argv)\n")
    app.run("pkgdir", "x", env=env).assert_same(stderr="empty")


def test_missing_script_file(app_env):
    app, env = app_env
    pair = app.run("no-such-file.py", "x", env=env).assert_same(stderr="same")
    assert pair.dpex.returncode == 1, pair.describe()
    assert pair.dpex.stderr == ("Could not open no-such-file.py in the environment [<DIR>/app.pex]: [Errno 2] "
                                "No such file or directory: 'no-such-file.py/__main__.py'\n"), pair.describe()


@pytest.mark.parametrize("args", [(), ("a", "b")])
def test_stdin_dash(app_env, args):
    app, env = app_env
    code = PROBE.replace("PROBE", "STDIN") + "\nprint('second line')\n"
    pair = app.run("-", *args, input=code, env=env).assert_same(stderr="empty")
    assert pair.dpex.tagged("STDIN")["argv"] == ["-", *args], pair.describe()


def test_code_globals(interp):
    """Documented difference: pex runs `-c` code, `-` and script files with a copy of its own
    module's globals (`os`, `sys` and pex internals are predefined, `__file__` is
    `-c <cmd>` or `-`); dpex runs them in a fresh `__main__` like python."""
    code = "print(__name__, 'os' in globals(), globals().get('__file__'))"
    pair = interp.run("-c", code)
    assert pair.pex.stdout == "__main__ True -c <cmd>\n", pair.describe()
    assert pair.dpex.stdout == "__main__ False None\n", pair.describe()
    pair = interp.run("-c", "import os; print(os.sep)").assert_same(stderr="empty")


def test_inspect_flag(interp):
    interp.run("-i", "-c", "x = 41", input="print(x + 1)\n").assert_same(stderr="same")


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version_flag(interp, flag):
    interp.run(flag).assert_same(stderr="same")


# -- the REPL ------------------------------------------------------------------------------

_PROMPTS = re.compile(r"^((>>>|\.\.\.) )+", re.M)


def test_repl_through_a_pipe(app_env):
    """Documented difference (docs/compat.md): with stdin not a terminal, pex starts its
    interactive console anyway (banner on stderr, `>>> ` prompts on stdout); dpex does
    what `python` does and runs stdin as a script, without banner or prompts. What the
    code prints is the same."""
    app, env = app_env
    code = "import sys, idna\nprint('REPL', sys.argv, idna.decode('xn--bcher-kva.example'))\nx = 6 * 7\nprint(x)\n"
    pair = app.run(input=code, env=env)
    assert pair.pex.returncode == pair.dpex.returncode == 0, pair.describe()
    assert _PROMPTS.sub("", pair.pex.stdout).strip() == pair.dpex.stdout.strip(), pair.describe()
    assert "REPL ['<DIR>/app.pex'] bücher.example\n42" in pair.dpex.stdout, pair.describe()
    assert ">>> " in pair.pex.stdout and ">>> " not in pair.dpex.stdout, pair.describe()


# -- leading interpreter flags ----------------------------------------------------------------

FLAG_CASES = [
    ("-u",),
    ("-O",),
    ("-B",),
    ("-Werror::DeprecationWarning",),
    ("-uOB",),
]


@pytest.mark.parametrize("flags", FLAG_CASES, ids=" ".join)
def test_leading_flags_without_entry_point(interp, flags):
    pair = interp.run(*flags, "-m", "myapp.flags", "a").assert_same(stderr="empty")
    out = pair.dpex.tagged("FLAGS")
    assert out["argv"][1:] == ["a"], pair.describe()
    pair = interp.run(*flags, "-c", "import sys; print(sys.argv, sys.flags.optimize)", "z").assert_same(
        stderr="empty")


def test_dev_mode(interp):
    """-X dev: the same result; pex's own bootstrap adds ImportWarnings on stderr."""
    pair = interp.run("-Xdev", "-m", "myapp.flags", "a").assert_same(stderr=None)
    assert pair.dpex.tagged("FLAGS")["dev_mode"] is True and not pair.dpex.stderr, pair.describe()


def test_warnings_as_errors(interp):
    """Documented difference: with -W error (or -Werror) pex fails in its own bootstrap
    (ImportWarning from its vendoring importer); dpex runs the code with the filter on."""
    pair = interp.run("-Werror", "-c", "import sys; print(sys.warnoptions)")
    assert pair.pex.returncode == 1 and pair.pex.exception.startswith("ImportWarning"), pair.describe()
    assert pair.dpex.returncode == 0 and pair.dpex.stdout == "['error']\n", pair.describe()


@pytest.mark.parametrize("flags", [("-X", "dev"), ("-W", "error::DeprecationWarning")], ids=" ".join)
def test_separated_flag_values(interp, flags):
    """Documented difference: pex takes only the `-X`/`-W` of `-X dev` as an interpreter
    option and then runs `dev` as a script (it fails); dpex passes `-X dev` to Python as
    Python would take it."""
    pair = interp.run(*flags, "-m", "myapp.flags", "a")
    assert pair.pex.returncode != 0, pair.describe()
    assert pair.dpex.returncode == 0, pair.describe()
    joined = interp.run(flags[0] + flags[1], "-m", "myapp.flags", "a").assert_same(stderr=None)
    assert pair.dpex.stdout == joined.dpex.stdout, pair.describe()


@pytest.mark.parametrize("flags", [("-u",), ("-O",), ("-B",), ("-Xdev",)], ids=" ".join)
def test_leading_flags_with_pex_interpreter(with_ep, flags):
    """Documented difference (docs/compat.md, "Interpreter flags"): under PEX_INTERPRETER=1 pex re-executes itself to
    apply the flags after it stripped PEX_INTERPRETER from the environment, so the app's
    entry point runs instead of the code (a pex bug). dpex runs the code with the flags."""
    pair = with_ep.run(*flags, "-c", "import sys; print('CODE', sys.argv)", "z", env=INTERP)
    assert "APP " in pair.pex.stdout and "CODE [" not in pair.pex.stdout, pair.describe()
    assert pair.dpex.returncode == 0 and pair.dpex.stdout == "CODE ['-c', 'z']\n", pair.describe()
    # The same code without flags: both run it.
    with_ep.run("-c", "import sys; print('CODE', sys.argv)", "z", env=INTERP).assert_same(stderr="empty")


def test_flags_reach_python(interp):
    pair = interp.run("-OO", "-B", "-Werror::DeprecationWarning", "-u", "-m", "myapp.flags").assert_same(
        stderr="empty")
    out = pair.dpex.tagged("FLAGS")
    assert out["optimize"] == 2 and out["dont_write_bytecode"], pair.describe()
    assert out["warnoptions"] == ["error::DeprecationWarning"] and out["unbuffered"], pair.describe()


def test_flags_after_the_command_belong_to_the_code(interp):
    interp.run("-c", "import sys; print(sys.argv)", "-u", "-O").assert_same(stderr="empty")
    interp.run("-m", "myapp.flags", "-u", "-X", "dev").assert_same(stderr="empty")
    interp.run("-", "-u", input="import sys; print(sys.argv)").assert_same(stderr="empty")
