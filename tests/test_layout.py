"""The environment's layout: libraries that point into another wheel, the
shared wheel cache left untouched by the app, cache roots given as relative
paths, a removed app entry, the app first on sys.path."""

import json
import os
import shutil
import subprocess

import pytest

from support.harness import PY311, assert_clean_error, assert_ok, describe
from support.pylock import write_pylock
from support.wheelmaker import make_wheel

LINUX = "py3-none-manylinux_2_17_x86_64"


def compile_so(out, source, name, *link):
    src = out / (name + ".c")
    src.write_text(source)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", out / name, src, *link], check=True, capture_output=True)
    return (out / name).read_bytes()


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc to build the test libraries")
def test_library_pointing_into_another_wheel_loads(e2e, tripwire, tmp_path):
    # torch's layout: torch/lib/libtorch.so finds nvidia/*/lib/*.so through
    # $ORIGIN/../../nvidia/...: the two folders come from different wheels.
    build = tmp_path / "so"
    build.mkdir()
    libdep = compile_so(build, "int dep(void) { return 42; }\n", "libdep.so")
    (build / "nvlike").mkdir()
    (build / "nvlike" / "libdep.so").write_bytes(libdep)
    libuser = compile_so(build, "int dep(void);\nint user(void) { return dep() + 1; }\n", "libuser.so",
                         "-L" + str(build / "nvlike"), "-ldep", "-Wl,-rpath,$ORIGIN/../../nvlike/lib")
    wheels = tmp_path / "wheels"
    dep = make_wheel(wheels, "nvlike-dep", "1.0", {"nvlike/lib/libdep.so": libdep, "nvlike/lib/__init__.py": ""}, tag=LINUX)
    user = make_wheel(wheels, "userpkg", "1.0", {
        "userpkg/__init__.py": "import ctypes, os\n"
                               "LIB = ctypes.CDLL(os.path.join(os.path.dirname(__file__), 'lib', 'libuser.so'))\n",
        "userpkg/lib/libuser.so": libuser}, tag=LINUX)
    lock = write_pylock(tmp_path / "pylock.toml", [dep, user], tripwire.url + "/files")
    pex, _ = e2e.build("--lock", lock)
    r = e2e.run_pex(pex, "-c", "import userpkg; print('USER', userpkg.LIB.user())",
                    env={"DPEX_FIND_LINKS": str(wheels)})
    assert r.returncode == 0 and "USER 43" in r.stdout, describe(r)
    assert tripwire.hits == 0


def test_app_never_writes_into_the_wheel_cache(e2e):
    """The venv's packages are links to folders of the shared site; the site's
    folders are its own, so bytecode and files an app writes beside its
    packages land there, never in the wheel entries `dpex cache verify` checks."""
    files = e2e.files("idna", "certifi")
    pex = e2e.build_app(files, entry_point=None)
    code = ("import idna, certifi, os, sys; d = os.path.dirname(idna.__file__);"
            "print('DIR', d, os.path.realpath(d));"
            "open(os.path.join(d, 'scratch.txt'), 'w').write('x')")
    # Bytecode writing on (the machine's PYTHONDONTWRITEBYTECODE is not inherited).
    r = assert_ok(e2e.run_pex(pex, "-c", code))
    seen, real = r.stdout.split("DIR ", 1)[1].split()
    assert seen.startswith(str(e2e.root / "1" / "envs")) and seen.endswith("/site-packages/idna"), describe(r)
    assert real.startswith(str(e2e.root / "1" / "sites")) and real.endswith("/site-packages/idna"), describe(r)
    wheels = e2e.root / "1" / "wheels"
    written = [p for p in wheels.rglob("*") if p.name in ("__pycache__", "scratch.txt")]
    assert written == [], written
    assert list(e2e.root.glob("1/sites/*/site-packages/idna/__pycache__/*.pyc"))
    assert list(e2e.root.glob("1/sites/*/site-packages/idna/scratch.txt"))


def test_boot_bytecode_is_kept_under_dont_write_bytecode(e2e):
    """PYTHONDONTWRITEBYTECODE (set in many Docker images) keeps the app's modules and its
    wheels' without .pyc files, as in a plain venv, but dpex's own boot module is compiled
    once into the app's cache entry: otherwise every start compiles it again."""
    pex = e2e.build_app(e2e.files("idna"), imports=("idna",))
    env = {"PYTHONDONTWRITEBYTECODE": "1"}
    assert_ok(e2e.run_pex(pex, env=env))
    (app,) = [p for p in e2e.root.glob("1/apps/*") if not p.name.startswith(".")]
    assert list(app.glob("__dpex__/__pycache__/__init__.cpython-311.pyc")), sorted(app.rglob("*"))
    written = [p for p in e2e.root.rglob("*.pyc")
               if "__dpex__" not in p.parts and not p.name.startswith("__dpex_main__.")]
    assert written == [], written
    # The flag is back as the user set it once boot is loaded.
    r = assert_ok(e2e.run_pex(pex, "-c", "import sys; print('FLAG', sys.dont_write_bytecode)",
                              env={**env, "PEX_INTERPRETER": "1"}))
    assert "FLAG True" in r.stdout, describe(r)


def test_an_app_with_a_preamble_starts_without_the_rare_boot_code(e2e, tmp_path):
    """An app whose __main__.py runs a --preamble-file always starts through __main__.py (its
    boot bytecode is never kept): the launcher asks every start to keep it, and boot says no
    without importing __dpex__/rare.py, which would cost each start an import."""
    preamble = tmp_path / "preamble.py"
    preamble.write_text("import sys\nsys.stderr.write('PREAMBLE\\n')\n")
    pex = e2e.build_app(e2e.files("idna"), entry_point=None, extra=("--preamble-file", str(preamble)))
    code = "import sys; print('RARE', '__dpex__.rare' in sys.modules, sys.modules['__dpex__'].__file__)"
    seen = []
    for _ in range(3):
        r = assert_ok(e2e.run_pex(pex, "-c", code, env={"PEX_INTERPRETER": "1"}))
        assert "PREAMBLE" in r.stderr and r.stdout.rstrip().endswith("/__dpex__/__init__.py"), describe(r)
        seen.append(r.stdout.split()[1])
    # The first start built the environment (compiling once across starts: rare.py's work).
    assert seen == ["True", "False", "False"], seen
    (app,) = [p for p in e2e.root.glob("1/apps/*") if not p.name.startswith(".")]
    assert not list(app.glob("__dpex_main__.*")), sorted(app.iterdir())


def test_later_starts_run_the_boot_bytecode_as_the_script(e2e, tmp_path):
    """The first start keeps the boot module's bytecode as __dpex_main__.<magic>.pyc at the
    root of the app's cache entry (even under PYTHONDONTWRITEBYTECODE); later starts run that
    file as the script, skipping the import of __dpex__ and the compile of __main__.py, with
    the same sys.path, argv, module names and builtins. A file cut short or damaged is not
    run (Python would refuse it at every start), and is replaced. Boot's code for other
    starts (__dpex__/rare.py) is imported only when a start needs it, from either."""
    pex = e2e.build_app(e2e.files("idna"), entry_point=None)
    code = ("import sys, idna; print('BOOT', sys.modules['__dpex__'].__file__);"
            "print('RARE', '__dpex__.rare' in sys.modules);"
            "print('SEEN', sys.argv, sys.path, idna.__name__, sys.modules['__dpex__'].__name__,"
            " type(__builtins__).__name__)")
    env = {"PEX_INTERPRETER": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    rare = []

    def start(**extra):
        r = assert_ok(e2e.run_pex(pex, "-c", code, "arg", env={**env, **extra}))
        boot = r.stdout.split("BOOT ", 1)[1].split("\n", 1)[0]
        rare.append(r.stdout.split("RARE ", 1)[1].split("\n", 1)[0])
        return boot, r.stdout.split("SEEN ", 1)[1]

    boot, first = start()
    (app,) = [p for p in e2e.root.glob("1/apps/*") if not p.name.startswith(".")]
    source = str(app / "__dpex__" / "__init__.py")
    assert boot == source, boot
    (kept,) = app.glob("__dpex_main__.*.pyc")
    magic = subprocess.run([PY311, "-c", "import importlib.util as u; print(u.MAGIC_NUMBER.hex())"],
                           capture_output=True, text=True).stdout.strip()
    assert kept.name == f"__dpex_main__.{magic}.pyc", kept.name
    good = kept.read_bytes()
    assert good == (app / "__dpex__/__pycache__/__init__.cpython-311.pyc").read_bytes()
    assert [p.name for p in app.iterdir() if p.name.startswith("__dpex_main__")] == [kept.name]
    boot, second = start()
    assert boot == str(kept), boot
    assert second == first and "__dpex__ dict" in first, first
    # The first start kept boot's bytecode (rare.py's work); a warm one needs nothing of it.
    assert rare == ["True", "False"], rare
    assert (app / "__dpex__/__pycache__/rare.cpython-311.pyc").is_file()
    # A warm start that does need it (PEX_INHERIT_PATH) imports it from the kept bytecode too.
    boot, inherited = start(PEX_INHERIT_PATH="fallback")
    assert boot == str(kept) and rare[-1] == "True", (boot, rare)
    base = json.loads(subprocess.run(
        [PY311, "-c", "import json, os, site; print(json.dumps([d for d in site.getsitepackages() if os.path.isdir(d)]))"],
        capture_output=True, text=True, check=True).stdout)
    assert base and all(d in inherited and d not in first for d in base), (base, inherited)
    # The import system's copy gone: this start goes through __main__.py (the launcher
    # checks the kept file's length against it), which finds the kept file already
    # right and leaves it alone (no rewrite and fsync at every start).
    inode = kept.stat().st_ino
    (app / "__dpex__/__pycache__/__init__.cpython-311.pyc").unlink()
    boot, again = start()
    assert boot == source and again == first, boot
    assert kept.stat().st_ino == inode
    boot, _ = start()
    assert boot == str(kept), boot
    for damaged in (good[:16], good[:-100], bytes(len(good)), good[:8] + b"\0\0\0\0" + good[12:]):
        kept.write_bytes(damaged)
        boot, again = start()
        assert boot == source and again == first, boot
        assert kept.read_bytes() == good
        boot, _ = start()
        assert boot == str(kept), boot


def test_a_deprecation_warning_of_the_entry_point_stays_hidden_on_warm_starts(e2e):
    """A warning raised for the caller of the entry point (stacklevel=2) points into dpex's
    boot: Python shows DeprecationWarnings of `__main__` only, and boot is `__dpex__` on every
    start, so such a warning stays hidden, as on the first start (and in pex)."""
    src = e2e.tmp / "warn-src"
    (src / "wapp").mkdir(parents=True)
    (src / "wapp" / "__init__.py").write_text("")
    (src / "wapp" / "main.py").write_text(
        "import warnings\n"
        "def run():\n"
        "    warnings.warn('old entry', DeprecationWarning, stacklevel=2)\n"
        "    print('RAN')\n")
    pex = e2e.build_app(e2e.files("idna"), sources=src, entry_point="wapp.main:run")
    for _ in range(3):
        r = assert_ok(e2e.run_pex(pex))
        assert "RAN" in r.stdout and "DeprecationWarning" not in r.stderr, describe(r)
    assert list(e2e.root.glob("1/apps/*/__dpex_main__.*.pyc"))


def test_site_packages_files_are_hard_links_to_the_wheel_cache(e2e):
    """As after a pip install, realpath(__file__) is a whole site-packages
    tree (the shared site's); its files are the wheel entry's, not copies."""
    pex = e2e.build_app(e2e.files("idna"), entry_point=None)
    code = "import idna, os; print('FILE', idna.__file__, os.path.realpath(idna.__file__))"
    r = assert_ok(e2e.run_pex(pex, "-c", code))
    file, real = r.stdout.split("FILE ", 1)[1].split()
    assert "/envs/" in file and "/site-packages/idna/" in file, describe(r)
    assert "/sites/" in real and "/site-packages/idna/" in real, describe(r)
    sha = e2e.wheels.sha256(e2e.files("idna")[0].name)
    cached = e2e.root / "1" / "wheels" / sha / "site" / "idna" / "__init__.py"
    assert os.path.samefile(real, cached) and os.stat(real).st_nlink == 2, (real, cached)


def test_relative_and_tilde_cache_roots(e2e):
    pex = e2e.build_app(e2e.files("idna"), entry_point=None)
    code = "import idna; print('OK', idna.__file__)"
    r = assert_ok(e2e.run_pex(pex, "-c", code, env={"DPEX_ROOT": "rel-root"}, cwd=e2e.tmp))
    assert (e2e.tmp / "rel-root" / "1" / "envs").is_dir()
    # From another directory, the same relative name is another cache, and both work.
    other = e2e.tmp / "elsewhere"
    other.mkdir()
    assert_ok(e2e.run_pex(pex, "-c", code, env={"DPEX_ROOT": "rel-root"}, cwd=other))
    assert_ok(e2e.run_pex(pex, "-c", code, env={"DPEX_ROOT": "rel-root"}, cwd=e2e.tmp))
    assert_ok(e2e.run_pex(pex, "-c", code, env={"DPEX_ROOT": "~/tilde-root"}))
    assert (e2e.home / "tilde-root" / "1" / "envs").is_dir()
    assert not (e2e.tmp / "~").exists()


def test_removed_app_entry_is_rebuilt(e2e):
    pex = e2e.build_app(e2e.files("idna"), entry_point=None)
    assert_ok(e2e.run_pex(pex, "-c", "import idna"))
    shutil.rmtree(e2e.root / "1" / "apps")
    e2e.index.stop()
    r = assert_ok(e2e.run_pex(pex, "-c", "import idna; print('BACK')"))
    assert "BACK" in r.stdout


def test_app_code_first_on_sys_path_even_in_safe_path_mode(e2e, tmp_path):
    # A wheel that ships a top-level module with the app's name must not win.
    wheels = tmp_path / "wheels"
    rogue = make_wheel(wheels, "rogue", "1.0", {"myapp/__init__.py": "raise SystemExit('WHEEL myapp, not the app')\n",
                                                 "myapp/main.py": ""})
    lock = write_pylock(tmp_path / "pylock.toml", [rogue], "http://127.0.0.1:9/files")
    src = e2e.sources({"myapp/__init__.py": "", "myapp/main.py": "def run():\n    print('APP myapp')\n"})
    pex, _ = e2e.build("--lock", lock, "-D", src, "-e", "myapp.main:run")
    for env in ({}, {"PYTHONSAFEPATH": "1"}):
        r = e2e.run_pex(pex, env={"DPEX_FIND_LINKS": str(wheels), **env})
        assert r.returncode == 0 and "APP myapp" in r.stdout, describe(r)


def test_bad_wheel_on_a_mirror_falls_over_to_the_locked_url(e2e, tmp_path):
    idna = e2e.files("idna")[0]
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    data = bytearray(idna.read_bytes())
    data[100] ^= 0xFF
    (mirror / idna.name).write_bytes(bytes(data))
    pex = e2e.build_app([idna], entry_point=None)
    r = assert_ok(e2e.run_pex(pex, "-c", "import idna; print('OK')", env={"DPEX_FIND_LINKS": str(mirror)}))
    assert "OK" in r.stdout
    assert e2e.index.file_gets() == {idna.name: 1}
    # With no good source left, the error names the bad copy and the hashes.
    e2e.index.stop()
    r = e2e.run_pex(pex, "-c", "import idna", env={"DPEX_FIND_LINKS": str(mirror), "DPEX_ROOT": str(tmp_path / "r2")})
    assert_clean_error(r, str(mirror / idna.name), e2e.wheels.sha256(idna.name))


def _second_interpreter():
    """A real CPython 3.11 other than /usr/bin/python3.11 (pyenv's, on this kind of machine)."""
    import glob
    for cand in sorted(glob.glob("/root/.pyenv/versions/3.11.*/bin/python3.11")) + ["/usr/local/bin/python3.11"]:
        if os.path.realpath(cand) != "/usr/bin/python3.11" and os.access(cand, os.X_OK):
            return cand
    return None


@pytest.mark.skipif(_second_interpreter() is None, reason="needs a second CPython 3.11 besides /usr/bin/python3.11")
def test_python_app_pex_with_an_unfit_interpreter_finds_a_fit_one(e2e):
    # The app accepts only Debian's exact 3.11 patch level; `python app.pex` runs under another one.
    import subprocess as sp
    debian = sp.run(["/usr/bin/python3.11", "-c", "import platform; print(platform.python_version())"],
                    capture_output=True, text=True, check=True).stdout.strip()
    pex = e2e.build_app(e2e.files("idna"), entry_point=None,
                        extra=["--interpreter-constraint", f"CPython=={debian}"])
    other = _second_interpreter()
    r = e2e.run_pex(pex, "-c", "import sys; print('EXE', sys.base_prefix)", python=None, via=other)
    assert r.returncode == 0 and "EXE /usr" in r.stdout, describe(r)
