"""pex and dpex side by side: sys.path isolation. inherit_path false/prefer/fallback
set at build time and through PEX_INHERIT_PATH, with a package that conflicts with a
locked one both on PYTHONPATH and in the interpreter's (user) site-packages;
PEX_EXTRA_SYS_PATH. See tests/support/pexcompat.py and docs/compat.md.
"""

import pytest

from support.pexcompat import lab, pex_build_root, real_pex, write_tree  # noqa: F401  (fixtures)

MODES = ["false", "prefer", "fallback"]


@pytest.fixture(scope="module")
def apps(lab):
    files = lab.files("idna")
    return lab.build_many({mode: ("inherit-" + mode, files, {"entry_point": "myapp.main:which",
                                                             "opts": ["--inherit-path=" + mode]})
                           for mode in MODES})


@pytest.fixture(scope="module")
def pythonpath(lab):
    """A folder for PYTHONPATH with an `idna` that shadows the locked one, and a module only it has."""
    return write_tree(lab.root / "pythonpath", {
        "idna/__init__.py": "ORIGIN = 'pythonpath'\n",
        "only_on_pythonpath.py": "ORIGIN = 'pythonpath'\n",
    })


@pytest.fixture(scope="module")
def site_home(lab):
    """A HOME whose user site-packages (a site-packages dir of the interpreter, on
    sys.path of a plain `python`) holds another conflicting `idna`."""
    home = lab.root / "site-home"
    write_tree(home / ".local" / "lib" / "python3.11" / "site-packages", {
        "idna/__init__.py": "ORIGIN = 'site'\n",
        "only_in_site.py": "ORIGIN = 'site'\n",
    })
    return home


def seen(pair):
    return pair.dpex.tagged("WHICH")["seen"]


@pytest.mark.parametrize("mode", MODES)
def test_build_time_mode_with_pythonpath(apps, pythonpath, mode):
    pair = apps[mode].run(env={"PYTHONPATH": pythonpath}).assert_same(stderr="empty")
    expected = {
        "false": {"idna": "wheel", "only_on_pythonpath": None, "only_in_site": None},
        "prefer": {"idna": "pythonpath", "only_on_pythonpath": "pythonpath", "only_in_site": None},
        "fallback": {"idna": "wheel", "only_on_pythonpath": "pythonpath", "only_in_site": None},
    }[mode]
    assert seen(pair) == expected, pair.describe()


@pytest.mark.parametrize("mode", MODES)
def test_build_time_mode_with_site_packages(apps, site_home, mode):
    pair = apps[mode].run(home=site_home).assert_same(stderr="empty")
    expected = {
        "false": {"idna": "wheel", "only_on_pythonpath": None, "only_in_site": None},
        "prefer": {"idna": "site", "only_on_pythonpath": None, "only_in_site": "site"},
        "fallback": {"idna": "wheel", "only_on_pythonpath": None, "only_in_site": "site"},
    }[mode]
    assert seen(pair) == expected, pair.describe()


@pytest.mark.parametrize("mode", MODES)
def test_build_time_mode_with_both(apps, pythonpath, site_home, mode):
    apps[mode].run(env={"PYTHONPATH": pythonpath}, home=site_home).assert_same(stderr="empty")


# (fallback, false) is left out: a pex quirk, compared in
# test_pex_inherit_path_false_on_a_fallback_build below.
@pytest.mark.parametrize("built, env_mode", [
    (built, env_mode)
    for built in MODES
    for env_mode in ["prefer", "fallback", "false"]
    if (built, env_mode) != ("fallback", "false")
])
def test_pex_inherit_path_variable(apps, pythonpath, site_home, built, env_mode):
    """The variable can only turn inheritance on: `false` keeps the build's mode."""
    pair = apps[built].run(env={"PYTHONPATH": pythonpath, "PEX_INHERIT_PATH": env_mode}, home=site_home)
    pair.assert_same(stderr="empty")


def test_pex_inherit_path_false_on_a_fallback_build(apps, pythonpath, site_home):
    """Documented difference: on a pex built with --inherit-path=fallback,
    PEX_INHERIT_PATH=false keeps the site-packages and PYTHONPATH (as documented: the
    variable cannot turn inheritance off) but puts the app's packages after them, so a
    site-packages copy wins over the locked one. dpex keeps fallback's order: the app's
    packages first, exactly as without the variable."""
    env = {"PYTHONPATH": pythonpath, "PEX_INHERIT_PATH": "false"}
    pair = apps["fallback"].run(env=env, home=site_home)
    assert pair.pex.returncode == pair.dpex.returncode == 0, pair.describe()
    assert pair.pex.tagged("WHICH")["seen"]["idna"] == "site", pair.describe()
    assert seen(pair) == {"idna": "wheel", "only_on_pythonpath": "pythonpath", "only_in_site": "site"}
    without = apps["fallback"].run(env={"PYTHONPATH": pythonpath}, home=site_home).assert_same(stderr="empty")
    assert without.dpex.stdout == pair.dpex.stdout, pair.describe()


@pytest.mark.parametrize("value", ["true", "1", "0", "Prefer", "sometimes"])
def test_invalid_pex_inherit_path(apps, value):
    """pex takes exactly false/prefer/fallback from the variable (PEX-INFO also takes
    booleans); anything else is an error before the app runs, in both."""
    pair = apps["false"].run(env={"PEX_INHERIT_PATH": value})
    assert pair.pex.returncode == pair.dpex.returncode == 1, pair.describe()
    assert not pair.pex.stdout and not pair.dpex.stdout, pair.describe()
    assert "PEX_INHERIT_PATH" in pair.dpex.stderr and repr(value) in pair.dpex.stderr, pair.describe()


# -- PEX_EXTRA_SYS_PATH ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def extra_dirs(lab):
    one = write_tree(lab.root / "extra-one", {"only_in_site.py": "ORIGIN = 'extra-one'\n"})
    two = write_tree(lab.root / "extra-two", {"idna/__init__.py": "ORIGIN = 'extra-two'\n",
                                              "only_on_pythonpath.py": "ORIGIN = 'extra-two'\n"})
    return one, two


@pytest.mark.parametrize("mode", MODES)
def test_extra_sys_path(apps, extra_dirs, mode):
    one, _ = extra_dirs
    pair = apps[mode].run(env={"PEX_EXTRA_SYS_PATH": f"{one}"}).assert_same(stderr="empty")
    out = pair.dpex.tagged("WHICH")
    assert out["seen"]["only_in_site"] == "extra-one", pair.describe()
    assert out["test_paths"][-1:] == [str(one)] and out["pythonpath"] == str(one), pair.describe()


@pytest.mark.parametrize("mode", MODES)
def test_extra_sys_path_shadowing_a_locked_package(apps, extra_dirs, mode):
    """Documented difference: pex appends PEX_EXTRA_SYS_PATH to sys.path before it adds
    the app's packages, so (except with inherit_path=fallback) a package in an extra
    path shadows the locked one; in dpex the locked packages come first and the extra
    paths last. Modules only the extra paths have import the same in both."""
    one, two = extra_dirs
    pair = apps[mode].run(env={"PEX_EXTRA_SYS_PATH": f"{one}:{two}"})
    assert pair.pex.returncode == pair.dpex.returncode == 0, pair.describe()
    pex_out, dpex_out = pair.pex.tagged("WHICH"), pair.dpex.tagged("WHICH")
    assert pex_out["seen"]["idna"] == ("wheel" if mode == "fallback" else "extra-two"), pair.describe()
    assert dpex_out["seen"]["idna"] == "wheel", pair.describe()
    pex_out["seen"]["idna"] = dpex_out["seen"]["idna"]
    assert pex_out == dpex_out, pair.describe()
    assert dpex_out["test_paths"][-2:] == [str(one), str(two)], pair.describe()
    assert dpex_out["pythonpath"] == f"{one}:{two}", pair.describe()


@pytest.mark.parametrize("mode", MODES)
def test_extra_sys_path_with_pythonpath(apps, extra_dirs, pythonpath, mode):
    one, _ = extra_dirs
    apps[mode].run(env={"PEX_EXTRA_SYS_PATH": f"{one}", "PYTHONPATH": pythonpath}).assert_same(stderr="empty")


def test_extra_sys_path_is_normalized(apps, extra_dirs):
    one, two = extra_dirs
    value = f"{one}/../extra-one/:{one}:{one}/."
    apps["false"].run(env={"PEX_EXTRA_SYS_PATH": value}).assert_same(stderr="empty")


def test_extra_sys_path_reaches_python_children(lab, extra_dirs):
    one, _ = extra_dirs
    app = lab.build("extra-child", lab.files("idna"))
    code = ("import os, subprocess, sys; print(os.environ.get('PYTHONPATH')); sys.stdout.flush(); "
            "subprocess.run(['/usr/bin/python3.11', '-c', 'import only_in_site; print(only_in_site.ORIGIN)'])")
    pair = app.run("-c", code, env={"PEX_EXTRA_SYS_PATH": str(one)}).assert_same(stderr="empty")
    assert pair.dpex.stdout == f"{one}\nextra-one\n", pair.describe()
