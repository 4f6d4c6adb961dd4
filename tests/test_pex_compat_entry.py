"""pex and dpex side by side: entry points, exit codes, argv, the PEX variable,
PEX_* stripping, inject_args/inject_env, PEX_MODULE/PEX_SCRIPT overrides.

Every test builds (once per module) the same app with real pex and with dpex,
runs both the same way and compares stdout, exit status and stderr's last line.
See tests/support/pexcompat.py and docs/compat.md.
"""

import pytest

from support.harness import PY311
from support.pexcompat import lab, pex_build_root, real_pex  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def idna(lab):
    return lab.files("idna")


@pytest.fixture(scope="module")
def twins(lab, idna):
    return lab.build_many({
        "ret_int": ("ret-int", idna, {"entry_point": "myapp.main:ret_int"}),
        "tool": ("tool", lab.files("toolpkg", "pyyaml", "idna"), {"script": "toolcli"}),
        "injected": ("inject", idna, {"entry_point": "myapp.main:ret_int",
                                      "opts": ["--inject-args=--from-inject {pex.env.GREETING} x",
                                               "--inject-args=last", "--inject-env", "INJECTED=from-build",
                                               "--no-strip-pex-env"]}),
    })


@pytest.fixture(scope="module")
def ret_int(twins):
    return twins["ret_int"]


@pytest.fixture(scope="module")
def tool(twins):
    return twins["tool"]


@pytest.fixture(scope="module")
def injected(twins):
    return twins["injected"]


# -- module:func ------------------------------------------------------------------

@pytest.mark.parametrize("args", [(), ("7", "x y", "--flag"), ("0",), ("300",), ("héllo wörld", "", "-")])
def test_function_returning_int(ret_int, args):
    pair = ret_int.run(*args).assert_same(stderr="empty")
    pair.both(lambda r: r.tagged("APP"))


FUNCS = {"ret_str": 1, "ret_none": 0, "exit_n": 3, "boom": 1}


@pytest.fixture(scope="module")
def func_apps(lab, idna):
    return lab.build_many({f: (f, idna, {"entry_point": "myapp.main:" + f}) for f in FUNCS})


@pytest.mark.parametrize("func,code", FUNCS.items())
def test_function_result_and_exceptions(func_apps, func, code):
    app = func_apps[func]
    pair = app.run().assert_same()
    assert pair.pex.returncode == code, pair.describe()
    pair = app.run("9").assert_same()
    if func == "exit_n":
        assert pair.pex.returncode == 9, pair.describe()
    if func == "boom":
        assert pair.dpex.exception == "RuntimeError: boom from the app", pair.describe()
        pair.both(lambda r: r.stderr.index("Traceback (most recent call last):"))
    if func == "ret_str":
        assert pair.dpex.exception == "a message from the app", pair.describe()


def test_module_entry_point_runs_as_main(lab, idna):
    app = lab.build("module", idna, entry_point="myapp.modmain")
    pair = app.run("a", "b c").assert_same(stderr="empty")
    out = pair.dpex.tagged("MODMAIN")
    assert out["name"] == "__main__" and out["argv"][1:] == ["a", "b c"], pair.describe()
    app.run("4").assert_same()


def test_stdin_reaches_the_app(ret_int):
    ret_int.run(input='{"k": [1, 2]}', env={"PEX_MODULE": "json.tool"}).assert_same(stderr="empty")
    pair = ret_int.run("--sort-keys", input='{"b": 1, "a": 2}', env={"PEX_MODULE": "json.tool"})
    pair.assert_same(stderr="empty")
    assert pair.dpex.stdout.startswith('{\n    "a": 2'), pair.describe()


def test_console_script(tool):
    pair = tool.run("a", "--b").assert_same()
    assert pair.pex.returncode == 7, pair.describe()
    assert pair.dpex.tagged("TOOL")["argv"][1:] == ["a", "--b"]


# -- argv[0], PEX, PEX_* stripping ----------------------------------------------------

def test_argv0_and_pex_variable(ret_int):
    pair = ret_int.run("1").assert_same()
    out = pair.dpex.tagged("APP")
    assert out["argv"][0] == "<DIR>/app.pex" and out["PEX"] == "<DIR>/app.pex", pair.describe()


def test_pex_variables_are_stripped(ret_int):
    pair = ret_int.run(env={"PEX_COMPAT_SETTING": "x", "PEX_INHERIT_PATH": "false"}).assert_same()
    assert pair.dpex.tagged("APP")["pex_env"] == {}, pair.describe()


def test_pex_variables_are_kept_without_strip(injected):
    pair = injected.run(env={"PEX_COMPAT_SETTING": "x", "PEX_INHERIT_PATH": "false"}).assert_same()
    env = pair.dpex.tagged("APP")["pex_env"]
    assert env.get("PEX_COMPAT_SETTING") == "x", pair.describe()


# -- inject_args / inject_env ---------------------------------------------------------

def test_inject_args_and_env(injected):
    pair = injected.run("user", "9", env={"GREETING": "hello"}).assert_same()
    out = pair.dpex.tagged("APP")
    assert out["argv"][1:] == ["--from-inject", "hello", "x", "last", "user", "9"], pair.describe()
    assert out["injected"] == "from-build"


def test_inject_args_placeholder_of_an_unset_variable_is_empty(injected):
    pair = injected.run().assert_same()
    assert pair.dpex.tagged("APP")["argv"][1:] == ["--from-inject", "", "x", "last"], pair.describe()


def test_inject_env_does_not_override_the_environment(injected):
    pair = injected.run(env={"INJECTED": "from-env"}).assert_same()
    assert pair.dpex.tagged("APP")["injected"] == "from-env"


def test_inject_args_placeholder_is_not_reexpanded(injected):
    pair = injected.run(env={"GREETING": "{pex.env.PEX_COMPAT_SETTING}", "PEX_COMPAT_SETTING": "v"}).assert_same()
    assert pair.dpex.tagged("APP")["argv"][2] == "{pex.env.PEX_COMPAT_SETTING}", pair.describe()


def test_inject_args_placeholders_read_the_apps_environment(lab, idna):
    """As in pex, placeholders are filled from the environment the app gets: after PEX_*
    are stripped (so `{pex.env.PEX_X}` is empty) and after inject_env is applied."""
    app = lab.build("inject-strip", idna, entry_point="myapp.main:show",
                    opts=["--inject-args={pex.env.PEX_COMPAT_SETTING}|{pex.env.INJECTED}|{pex.env[HOME]}|{{x}}",
                          "--inject-env", "INJECTED=from-build"])
    pair = app.run(env={"PEX_COMPAT_SETTING": "v"}).assert_same(stderr="empty")
    assert pair.dpex.tagged("APP")["argv"][1] == f"|from-build|{app.lab.home}|{{x}}", pair.describe()


# -- overrides --------------------------------------------------------------------------

@pytest.mark.parametrize("module", ["myapp.main:show", "myapp.main:ret_str", "myapp.modmain", "myapp.main:exit_n"])
def test_pex_module_overrides_without_inject_args(injected, module):
    pair = injected.run("z", env={"PEX_MODULE": module}).assert_same()
    assert "--from-inject" not in pair.dpex.stdout, pair.describe()


def test_pex_script_overrides_the_entry_point(lab):
    app = lab.build("script-override", lab.files("toolpkg", "pyyaml", "idna"), entry_point="myapp.main:ret_int",
                    opts=["--inject-args=injected"])
    pair = app.run("q", env={"PEX_SCRIPT": "toolcli"}).assert_same()
    assert pair.pex.returncode == 7 and "injected" not in pair.dpex.stdout, pair.describe()


def test_pex_script_and_pex_module_together_are_an_error(tool):
    pair = tool.run(env={"PEX_SCRIPT": "toolcli", "PEX_MODULE": "myapp.main:show"})
    assert pair.pex.returncode == pair.dpex.returncode == 1, pair.describe()
    assert not pair.pex.stdout and not pair.dpex.stdout, pair.describe()
    # pex's message, with dpex's prefix and the values that clash.
    assert pair.pex.exception in pair.dpex.exception, pair.describe()
    # In interpreter mode pex ignores both, and so does dpex.
    tool.run("-c", "print(1)", env={"PEX_SCRIPT": "toolcli", "PEX_MODULE": "x", "PEX_INTERPRETER": "1"}).assert_same()


def test_pex_module_overrides_a_console_script(tool):
    tool.run("m", env={"PEX_MODULE": "myapp.modmain"}).assert_same()


def test_unknown_pex_script(tool):
    pair = tool.run(env={"PEX_SCRIPT": "no-such-script"})
    assert pair.pex.returncode == pair.dpex.returncode == 1, pair.describe()
    # dpex's error names the scripts the wheels do have.
    assert "no-such-script" in pair.dpex.stderr and "toolcli" in pair.dpex.stderr, pair.describe()


def test_empty_overrides_are_ignored(ret_int):
    ret_int.run("2", env={"PEX_MODULE": "", "PEX_SCRIPT": ""}).assert_same()


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "0", "false", "False"])
def test_pex_interpreter_booleans(ret_int, value):
    ret_int.run("-c", "import sys; print(sys.argv)", "a", env={"PEX_INTERPRETER": value}).assert_same()


def test_pex_interpreter_invalid_boolean(ret_int):
    pair = ret_int.run("-c", "print('ran')", env={"PEX_INTERPRETER": "yes"})
    assert pair.pex.returncode != 0 and pair.dpex.returncode != 0, pair.describe()
    assert "ran" not in pair.pex.stdout and "ran" not in pair.dpex.stdout, pair.describe()
    assert "PEX_INTERPRETER" in pair.dpex.stderr and "yes" in pair.dpex.stderr, pair.describe()


# -- scripts shipped in a wheel's .data/scripts ------------------------------------------

@pytest.fixture(scope="module")
def data_scripts(lab):
    wheel = lab.make_wheel("scriptpkg", "1.0", {"scriptpkg/__init__.py": ""}, data={"scripts": {
        "pyscript": "#!python\nimport sys\nprint('PYSCRIPT', sys.argv, __name__)\nsys.exit(4)\n",
        "shscript": "#!/bin/sh\necho SHSCRIPT \"$@\"\nexit 6\n",
    }})
    return lab.build("data-scripts", [wheel, *lab.files("idna")], script="pyscript")


def test_python_script_from_wheel_data(data_scripts):
    pair = data_scripts.run("a", "b").assert_same()
    assert pair.dpex.stdout == "PYSCRIPT ['pyscript', 'a', 'b'] __main__\n" and pair.dpex.returncode == 4


def test_shell_script_from_wheel_data(data_scripts):
    pair = data_scripts.run("x", "y z", env={"PEX_SCRIPT": "shscript"}).assert_same()
    assert pair.dpex.stdout == "SHSCRIPT x y z\n" and pair.dpex.returncode == 6, pair.describe()


# -- --preamble-file ----------------------------------------------------------------

def test_a_preamble_runs_first_once_as_in_pex(lab, idna):
    """`--preamble-file`: Python that runs before the app at every start (`./app.pex` and
    `python app.pex` alike): the app sees its effects with both tools. dpex runs it once, in the
    app's process; pex runs it again in each process it re-executes into (twice for `./app.pex`
    here), an accident of its bootstrap that dpex does not copy (docs/compat.md)."""
    preamble = lab.root / "preamble.py"
    preamble.write_text("import os, sys\nos.environ['FROM_PREAMBLE'] = 'yes ü'\n"
                        "sys.stderr.write('PREAMBLE\\n')\n")
    script = lab.root / "preamble-exe.py"
    script.write_text("import json, os\nprint('APP ' + json.dumps({'env': os.environ.get('FROM_PREAMBLE')}))\n")
    twin = lab.build("preamble", idna, opts=["--preamble-file", str(preamble), "--exe", str(script)])
    for via in (None, [PY311]):
        pair = twin.run(via=via).assert_same(stderr=None)
        pair.both(lambda r: r.tagged("APP") == {"env": "yes ü"} or pytest.fail("no preamble effect"))
        assert pair.pex.stderr.count("PREAMBLE") >= 1, pair.describe()
        assert pair.dpex.stderr.splitlines() == ["PREAMBLE"], pair.describe()


# -- --bind-resource-path -----------------------------------------------------------

def test_bound_resource_paths_are_found_on_sys_path_as_in_pex(lab, idna):
    """`--bind-resource-path ENV=rel/path`: ENV is the absolute path of the first such file on
    sys.path (the app's sources, then the wheels), in every mode; a resource found nowhere stops
    the app with pex's message."""
    script = lab.root / "bind-exe.py"
    script.write_text(
        "import json, os\n"
        "def tail(name):\n"
        "    v = os.environ.get(name)\n"
        "    return v and (os.path.isabs(v), os.path.isfile(v), '/'.join(v.split(os.sep)[-2:]))\n"
        "print('APP ' + json.dumps({n: tail(n) for n in ('MAIN_PY', 'IDNA_INIT')}))\n")
    opts = ["--bind-resource-path", "MAIN_PY=myapp/main.py", "--bind-resource-path", "IDNA_INIT=idna/__init__.py"]
    twin = lab.build("bind", idna, opts=[*opts, "--exe", str(script)])
    pair = twin.run().assert_same(stderr="empty")
    pair.both(lambda r: r.tagged("APP") == {"MAIN_PY": [True, True, "myapp/main.py"],
                                           "IDNA_INIT": [True, True, "idna/__init__.py"]}
              or pytest.fail("wrong bindings"))
    twin = lab.build("bind-missing", idna, opts=["--bind-resource-path", "NOPE=no/such.txt", "--exe", str(script)])
    pair = twin.run()
    pair.both(lambda r: (r.returncode != 0 and "There was no resource file no/such.txt found on the `sys.path`"
                         in r.stderr) or pytest.fail("a missing resource did not stop the app"))


# -- --exe ------------------------------------------------------------------------

def test_an_exe_script_runs_as_pex_runs_it(lab, idna):
    """`--exe script.py` (pex's spelling; also --executable, --python-script): both tools pack the
    script as __pex_executable__.py and run it as __main__, with the same argv and exit code."""
    script = lab.root / "exe-script.py"
    script.write_text(
        "import json, os, sys\nimport idna\n"
        "print('APP ' + json.dumps({'name': __name__, 'argv': sys.argv[1:], "
        "'file': os.path.basename(__file__), 'idna': idna.encode('bücher').decode()}))\n"
        "sys.exit(int(sys.argv[1]) if sys.argv[1:] and sys.argv[1].isdigit() else 0)\n")
    twin = lab.build("exe", idna, opts=["--exe", str(script)])
    for args in [(), ("5", "x y")]:
        pair = twin.run(*args).assert_same(stderr="empty")
        pair.both(lambda r: r.tagged("APP"))
