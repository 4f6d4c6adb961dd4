"""Running app.pex: first (cold) and later (warm) runs, downloads, the cache,
wheel selection, interpreter mode, console scripts, offline sources of wheels."""

import functools
import hashlib
import os
import re
import subprocess
import time

import pytest

from support import apps
from support.apps import FULL_PROJECTS, REQUESTS_PROJECTS
from support.harness import (PY311, assert_clean_error, assert_no_panic, assert_ok, describe, free_port,
                             names_in_tree, run, tagged_json, under)
from support.index_server import corrupt_bytes


@functools.lru_cache(maxsize=None)
def py311_version():
    out = subprocess.run([PY311, "-c", "import sys; print(*sys.version_info[:3])"], capture_output=True,
                         text=True, check=True, env={"PATH": "/usr/bin:/bin"}).stdout
    return [int(x) for x in out.split()]


def app_json(r):
    return tagged_json(r.stdout, "APP")


def needed(e2e, *projects):
    """The files a cp311 manylinux host needs from these projects: everything but the musl numpy."""
    return {f.name for f in e2e.files(*projects) if "musllinux" not in f.name}


def assert_modules_from_cache(out, root):
    for name, m in out["modules"].items():
        assert m["file"] and under(m["file"], root), f"{name} imported from {m['file']}, not from under {root}"


def assert_isolated(out, root):
    """inherit_path=false: no site-packages/dist-packages on sys.path but the app's own, under DPEX_ROOT."""
    for p in out["runtime"]["path"]:
        if "site-packages" in p or "dist-packages" in p:
            assert under(p, root), f"foreign {p} on sys.path: {out['runtime']['path']}"


def assert_argv0_is_pex(out, pex):
    assert os.path.realpath(out["argv"][0]) == os.path.realpath(pex), out["argv"]
    assert out["pex_env"] and os.path.realpath(out["pex_env"]) == os.path.realpath(pex), out["pex_env"]


# -- first and second runs ---------------------------------------------------

# Wheels are unpacked while they stream in; with DPEX_STREAM_UNPACK=0 (and for wheels the
# stream reader defers) downloaded whole, held in memory up to DPEX_DOWNLOAD_MEMORY bytes, else
# written to a file: all three paths, the last forced by a zero budget.
DOWNLOADS = pytest.mark.parametrize(
    "downloads",
    [{}, {"DPEX_STREAM_UNPACK": "0"}, {"DPEX_STREAM_UNPACK": "0", "DPEX_DOWNLOAD_MEMORY": "0"}],
    ids=["stream", "memory", "files"])


@DOWNLOADS
def test_first_run_full_app(e2e, downloads):
    files = e2e.files(*FULL_PROJECTS)
    pex = e2e.build_app(files, imports=apps.FULL_IMPORTS)
    r = e2e.run_pex(pex, "3", "hello world", "--flag",
                    env={"APP_FETCH_URL": e2e.index.simple_url + "/", **downloads})
    assert r.returncode == 3, describe(r)
    assert_no_panic(r)
    out = app_json(r)

    assert out["argv"][1:] == ["3", "hello world", "--flag"]
    assert_argv0_is_pex(out, pex)
    assert out["numpy"] == {"sum": 45, "matmul": 262144.0}
    assert out["yaml"] == {"roundtrip": True, "libyaml": True, "cload": {"a": [1, 2]}}
    assert out["requests"] == {"version": "2.34.2", "cacert_exists": True, "fetch_status": 200}
    assert out["modules"]["numpy"]["version"] == "2.2.6"
    assert out["modules"]["yaml"]["version"] == "6.0.4"
    assert_modules_from_cache(out, e2e.root)
    assert_isolated(out, e2e.root)
    rt = out["runtime"]
    assert rt["version"] == py311_version() and rt["base_prefix"] == "/usr", rt

    # Each wheel this host needs was fetched once; the musl numpy never.
    assert e2e.index.file_gets() == {n: 1 for n in needed(e2e, *FULL_PROJECTS)}


def test_second_run_needs_no_index(e2e):
    files = e2e.files(*FULL_PROJECTS)
    pex = e2e.build_app(files, imports=apps.FULL_IMPORTS)
    first = app_json(assert_ok(e2e.run_pex(pex, "0")))
    e2e.index.stop()
    t0 = time.monotonic()
    r = assert_ok(e2e.run_pex("./app.pex", "0", cwd=pex.parent))
    second = app_json(r)
    for key in ("modules", "numpy", "yaml", "requests"):
        assert second[key] == first[key], key
    assert second["runtime"]["prefix"] == first["runtime"]["prefix"]
    assert_argv0_is_pex(second, pex)
    assert time.monotonic() - t0 < 60


def test_child_python_sees_dependencies(e2e):
    pex = e2e.build_app(e2e.files("numpy", "pyyaml"), imports=["numpy", "yaml"])
    out = app_json(assert_ok(e2e.run_pex(pex, "child")))
    child = out["child"]
    assert child["rc"] == 0, child
    assert len(child["out"]) == 2 and all(under(f, e2e.root) for f in child["out"]), child


# -- what a wheel may contain -------------------------------------------------

def test_pth_files_run_at_startup(e2e):
    pex = e2e.build_app(e2e.files("setuptools", "idna"), imports=["idna"])
    out = app_json(assert_ok(e2e.run_pex(pex)))
    dh = out["runtime"]["distutils_hack"]
    assert dh, "setuptools' distutils-precedence.pth did not run: _distutils_hack not in sys.modules"
    assert under(dh, e2e.root), f"_distutils_hack came from {dh}, not the app's venv"


def test_package_split_across_two_wheels(e2e):
    files = [e2e.synth.split_core, e2e.synth.split_extra]
    pex = e2e.build_app(files, imports=["splitpkg", "splitpkg.core", "splitpkg.sub", "splitpkg.sub.extra"])
    out = app_json(assert_ok(e2e.run_pex(pex)))
    assert_modules_from_cache(out, e2e.root)


def test_wheel_data_purelib_and_platlib(e2e):
    pex = e2e.build_app([e2e.synth.datapkg],
                        imports=["datapkg", "datapkg.extra", "datapkg_toplevel", "datapkg_plat"])
    out = app_json(assert_ok(e2e.run_pex(pex)))
    assert_modules_from_cache(out, e2e.root)


# -- the cache ---------------------------------------------------------------

def test_second_app_downloads_only_missing_wheels(e2e):
    one = e2e.build_app(e2e.files(*REQUESTS_PROJECTS), imports=apps.REQUESTS_IMPORTS, out="one/app.pex")
    two = e2e.build_app(e2e.files(*REQUESTS_PROJECTS, "pyyaml"), imports=apps.REQUESTS_IMPORTS + ["yaml"],
                        out="two/app.pex")
    m = e2e.index.mark()
    assert_ok(e2e.run_pex(one))
    assert e2e.index.file_gets(since=m) == {n: 1 for n in needed(e2e, *REQUESTS_PROJECTS)}
    m = e2e.index.mark()
    out = app_json(assert_ok(e2e.run_pex(two)))
    assert e2e.index.file_gets(since=m) == {e2e.wheels.one("pyyaml").name: 1}
    assert_modules_from_cache(out, e2e.root)


def test_concurrent_cold_starts(e2e):
    files = e2e.files(*FULL_PROJECTS)
    pex = e2e.build_app(files, imports=apps.FULL_IMPORTS)
    procs = []
    for i in range(8):
        so = open(e2e.tmp / f"out{i}.txt", "w")
        se = open(e2e.tmp / f"err{i}.txt", "w")
        p = subprocess.Popen([str(pex), str(i)], env=e2e.env(), cwd=e2e.tmp, stdin=subprocess.DEVNULL,
                             stdout=so, stderr=se)
        procs.append((i, p, so, se))
    deadline = time.monotonic() + 600
    failures = []
    try:
        for i, p, so, se in procs:
            try:
                rc = p.wait(timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                rc = "timeout"
            so.close()
            se.close()
            stdout = (e2e.tmp / f"out{i}.txt").read_text()
            stderr = (e2e.tmp / f"err{i}.txt").read_text()
            if rc != i or "panicked" in stderr:
                failures.append(f"run {i}: exit {rc}\n{stdout[-2000:]}\n{stderr[-3000:]}")
                continue
            out = tagged_json(stdout, "APP")
            if out["numpy"]["sum"] != 45 or not all(under(m["file"], e2e.root) for m in out["modules"].values()):
                failures.append(f"run {i}: wrong output {out}")
    finally:
        for _, p, so, se in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            so.close()
            se.close()
    assert not failures, "\n\n".join(failures)
    gets = e2e.index.file_gets()
    assert e2e.wheels.numpy_musl.name not in gets
    assert gets == {n: 1 for n in needed(e2e, *FULL_PROJECTS)}, gets


@DOWNLOADS
def test_corrupt_download_is_rejected_and_not_cached(e2e, downloads):
    files = e2e.files(*REQUESTS_PROJECTS)
    idna = e2e.wheels.one("idna")
    expected = e2e.wheels.sha256(idna.name)
    actual = hashlib.sha256(corrupt_bytes(idna.read_bytes())).hexdigest()
    e2e.index.corrupt.add(idna.name)
    pex = e2e.build_app(files, imports=apps.REQUESTS_IMPORTS)

    r = e2e.run_pex(pex, env=downloads)
    assert_clean_error(r, e2e.index.file_url(idna.name), expected, actual)
    assert "APP " not in r.stdout, "the app ran despite a bad wheel"
    # The advice fits bad bytes, not a network problem.
    assert "Every source served other bytes" in r.stderr and "Check the network" not in r.stderr, describe(r)

    # Nothing named after either hash may remain: no directory (entry, work or temp
    # folder, hidden ones included) and no file with content. Empty lock files are
    # not entries (docs/cache.md: `.<entry>.lck` files are never deleted, by design).
    if e2e.root.exists():
        for path in names_in_tree(e2e.root):
            base = os.path.basename(path)
            if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) == 0:
                continue
            for h in (expected, actual):
                for frag in (h[:12], h[12:24], h[-12:]):
                    assert frag not in base, f"{path} left in the cache after a hash mismatch" + describe(r)

    e2e.index.corrupt.clear()
    out = app_json(assert_ok(e2e.run_pex(pex, env=downloads)))
    assert_modules_from_cache(out, e2e.root)
    assert e2e.index.file_gets()[idna.name] == 2


# -- ways to start -------------------------------------------------------------

def test_python_app_pex_matches_native_launch(e2e):
    pex = e2e.build_app(e2e.files(*FULL_PROJECTS), imports=apps.FULL_IMPORTS)
    via_python = e2e.run_pex(pex, "5", "x y", via=PY311)
    assert via_python.returncode == 5, describe(via_python)
    native = e2e.run_pex(pex, "5", "x y")
    assert native.returncode == 5, describe(native)
    a, b = app_json(via_python), app_json(native)
    for key in ("argv", "pex_env", "modules", "numpy", "yaml", "requests"):
        assert a[key] == b[key], key
    for key in ("version", "distutils_hack"):
        assert a["runtime"][key] == b["runtime"][key], key
    assert_argv0_is_pex(a, pex)
    assert_modules_from_cache(a, e2e.root)


def test_pex_interpreter_env(e2e):
    pex = e2e.build_app(e2e.files("numpy", "pyyaml"), imports=["numpy"])
    code = "import numpy, sys; print(sys.argv); print(numpy.__file__)"
    r = assert_ok(e2e.run_pex(pex, "-c", code, "a", "b", env={"PEX_INTERPRETER": "1"}))
    lines = r.stdout.splitlines()
    assert "['-c', 'a', 'b']" in lines, describe(r)
    assert under(lines[-1], e2e.root), describe(r)
    assert "APP " not in r.stdout, "the entry point ran under PEX_INTERPRETER=1"


def test_pex_without_entry_point_is_an_interpreter(e2e):
    pex = e2e.build_app(e2e.files("pyyaml"), imports=["yaml"], entry_point=None)

    r = assert_ok(e2e.run_pex(pex, "-c", "import sys, yaml; print('C', yaml.__version__, sys.argv[1:])", "x", "y"))
    assert "C 6.0.4 ['x', 'y']" in r.stdout.splitlines(), describe(r)

    r = assert_ok(e2e.run_pex(pex, "-m", "myapp.cli", "a", "b"))
    cli = tagged_json(r.stdout, "CLI")
    assert cli["argv"][1:] == ["a", "b"] and cli["name"] == "__main__" and cli["yaml"] == "6.0.4", cli

    script = e2e.tmp / "script.py"
    script.write_text("import json, sys, yaml\nprint('SCRIPT ' + json.dumps({'argv': sys.argv, 'yaml': yaml.__version__}))\n")
    r = assert_ok(e2e.run_pex(pex, script, "p", "q"))
    assert tagged_json(r.stdout, "SCRIPT") == {"argv": [str(script), "p", "q"], "yaml": "6.0.4"}

    r = assert_ok(e2e.run_pex(pex, input="import yaml\nprint('STDIN', yaml.__version__)\n"))
    assert "STDIN 6.0.4" in r.stdout.splitlines(), describe(r)

    r = assert_ok(e2e.run_pex(pex, "m", env={"PEX_MODULE": "myapp.cli"}))
    assert tagged_json(r.stdout, "CLI")["argv"][1:] == ["m"], describe(r)


def test_console_script(e2e):
    files = e2e.files("toolpkg", "pyyaml")
    src = e2e.app_sources()
    pex, _ = e2e.build("--lock", e2e.pylock(files), "-D", src, "-c", "toolcli", out="tool.pex")
    r = e2e.run_pex(pex, "a", "b")
    assert r.returncode == 7, describe(r)
    tool = tagged_json(r.stdout, "TOOL")
    assert tool["argv"][1:] == ["a", "b"] and tool["yaml"] == "6.0.4", tool

    plain, _ = e2e.build("--lock", e2e.pylock(files), "-D", src, out="plain.pex")
    r = e2e.run_pex(plain, "c", env={"PEX_SCRIPT": "toolcli"})
    assert r.returncode == 7, describe(r)
    assert tagged_json(r.stdout, "TOOL")["argv"][1:] == ["c"]


def test_inject_args_and_env(e2e):
    lock = e2e.pylock(e2e.files("idna"))
    src = e2e.app_sources(["idna"])
    pex, _ = e2e.build("--lock", lock, "-D", src, "-e", "myapp.main:run",
                       "--inject-args=--from-inject x", "--inject-env", "GREETING=hello")
    out = app_json(assert_ok(e2e.run_pex(pex, "user")))
    assert out["argv"][1:] == ["--from-inject", "x", "user"]
    assert out["greeting"] == "hello"


# -- interpreters --------------------------------------------------------------

def test_interpreter_found_on_path(e2e):
    lock = e2e.pylock(e2e.files("idna"))
    pex, _ = e2e.build("--lock", lock, "-D", e2e.app_sources(["idna"]), "-e", "myapp.main:run",
                       "--interpreter-constraint", "CPython==3.11.*")
    out = app_json(assert_ok(e2e.run_pex(pex, python=None)))
    assert out["runtime"]["version"][:2] == [3, 11]
    assert_modules_from_cache(out, e2e.root)
    out = app_json(assert_ok(e2e.run_pex(pex, python="python3.11")))
    assert out["runtime"]["base_prefix"] == "/usr" and out["runtime"]["version"] == py311_version()


def test_interpreter_constraint_not_met(e2e):
    lock = e2e.pylock(e2e.files("idna"))
    pex, _ = e2e.build("--lock", lock, "-D", e2e.app_sources(["idna"]), "-e", "myapp.main:run",
                       "--interpreter-constraint", "CPython==3.10.*")
    r = e2e.run_pex(pex)
    assert_clean_error(r, "CPython==3.10.*", PY311)
    assert not e2e.index.file_gets(), "downloaded wheels for an interpreter it then refused"


def test_pex_python_missing(e2e):
    pex = e2e.build_app(e2e.files("idna"), imports=["idna"])
    r = e2e.run_pex(pex, python="/nonexistent/bin/python3.11")
    assert_clean_error(r, "/nonexistent/bin/python3.11")


# -- where wheels come from ----------------------------------------------------

def test_find_links_dir_without_network(e2e, tripwire):
    files = e2e.files(*FULL_PROJECTS)
    pex = e2e.build_app(files, imports=apps.FULL_IMPORTS, base_url=tripwire.url + "/files/")
    r = e2e.run_pex(pex, env={"DPEX_FIND_LINKS": e2e.wheels.dir})
    out = app_json(assert_ok(r))
    assert out["numpy"]["sum"] == 45
    assert_modules_from_cache(out, e2e.root)
    assert tripwire.hits == 0, "the launcher connected to the recorded URLs despite DPEX_FIND_LINKS"
    assert not e2e.index.requests()


def test_find_links_flat_url(e2e, tripwire):
    files = e2e.files(*REQUESTS_PROJECTS, "pyyaml")
    pex = e2e.build_app(files, imports=apps.REQUESTS_IMPORTS + ["yaml"], base_url=tripwire.url + "/files/")
    out = app_json(assert_ok(e2e.run_pex(pex, env={"DPEX_FIND_LINKS": e2e.index.files_url})))
    assert_modules_from_cache(out, e2e.root)
    assert e2e.index.file_gets() == {n: 1 for n in needed(e2e, *REQUESTS_PROJECTS, "pyyaml")}
    assert tripwire.hits == 0


def test_hydration_indices_replace_dead_urls(e2e):
    dead = f"http://127.0.0.1:{free_port()}/files/"
    files = e2e.files(*REQUESTS_PROJECTS, "pyyaml")
    pex = e2e.build_app(files, imports=apps.REQUESTS_IMPORTS + ["yaml"], base_url=dead)
    r = e2e.run_pex(pex, env={"PEX_BOOTSTRAP_HYDRATION_INDICES": e2e.index.simple_url})
    out = app_json(assert_ok(r))
    assert_modules_from_cache(out, e2e.root)
    assert e2e.index.file_gets() == {n: 1 for n in needed(e2e, *REQUESTS_PROJECTS, "pyyaml")}


def test_dead_urls_without_fallback_fail_clearly(e2e):
    dead = f"http://127.0.0.1:{free_port()}/files/"
    pex = e2e.build_app(e2e.files("idna"), imports=["idna"], base_url=dead)
    r = e2e.run_pex(pex)
    assert_clean_error(r, dead + e2e.wheels.one("idna").name)


def test_no_compatible_wheel(e2e):
    # A package with Windows and macOS wheels only: no Linux host can run the app, and the
    # build says so (docs/format.md, "Multi-arch apps").
    _, r = e2e.build("--lock", e2e.pylock(e2e.files("idna", "winonly")), out="win.pex", ok=False)
    assert_clean_error(r, "serves no host", "winonly 1.0 has no x86_64 wheel", *[f.name for f in e2e.synth.winonly])
    # A Linux x86_64 wheel for Python 3.12 only: the app builds, and a 3.11 host's launcher
    # names the wheels and its own tags.
    files = e2e.files("idna", "otherpython")
    pex = e2e.build_app(files, imports=["idna"])
    r = e2e.run_pex(pex)
    assert_clean_error(r, "otherpython", e2e.synth.otherpython.name)
    assert re.search(r"cp311-cp311-(manylinux_2_\d+_x86_64|linux_x86_64)", r.stderr), \
        "the host's tags are not in the error" + describe(r)
    assert not [f for f in e2e.index.file_gets() if f.startswith("otherpython")]


# -- entry points, exit status, sys.path policy, default cache -----------------

def test_entry_point_forms_and_exceptions(e2e):
    lock = e2e.pylock(e2e.files("idna"))
    src = e2e.app_sources(["idna"])
    # `-e module`: the module runs as __main__, with the user's argv.
    pex, _ = e2e.build("--lock", lock, "-D", src, "-e", "myapp.main", out="mod/app.pex")
    r = assert_ok(e2e.run_pex(pex, "a", "b"))
    main = tagged_json(r.stdout, "MAIN")
    assert main["name"] == "__main__" and main["argv"][1:] == ["a", "b"], main
    # `-m module:function` is `-e`'s alias.
    pex, _ = e2e.build("--lock", lock, "-D", src, "-m", "myapp.main:run", out="m/app.pex")
    r = e2e.run_pex(pex, "4")
    assert r.returncode == 4 and app_json(r)["argv"][1:] == ["4"], describe(r)
    # An uncaught exception: Python's traceback and exit status 1, no launcher noise.
    pex, _ = e2e.build("--lock", lock, "-D", src, "-e", "myapp.main:boom", out="boom/app.pex")
    r = e2e.run_pex(pex)
    assert r.returncode == 1, describe(r)
    assert "RuntimeError: boom from the app" in r.stderr and "Traceback" in r.stderr, describe(r)
    assert_no_panic(r)


def test_inherit_path_modes(e2e):
    extra = e2e.tmp / "pythonpath"
    extra.mkdir()
    (extra / "idna.py").write_text("__version__ = 'shadow'\n")
    (extra / "onlyonpath.py").write_text("X = 1\n")
    lock = e2e.pylock(e2e.files("idna"))
    src = e2e.app_sources(["idna"])
    env = {"PYTHONPATH": extra, "APP_TRY_IMPORTS": "onlyonpath"}
    real_idna = "3.20"

    results = {}
    for mode in ("false", "prefer", "fallback"):
        pex, _ = e2e.build("--lock", lock, "-D", src, "-e", "myapp.main:run", "--inherit-path", mode,
                           out=f"{mode}/app.pex")
        results[mode] = app_json(assert_ok(e2e.run_pex(pex, env=env)))

    assert results["false"]["modules"]["idna"]["version"] == real_idna
    assert results["false"]["tried"]["onlyonpath"] is None, "PYTHONPATH leaked in with --inherit-path false"
    assert results["prefer"]["modules"]["idna"]["version"] == "shadow"
    assert results["prefer"]["tried"]["onlyonpath"] == str(extra / "onlyonpath.py")
    assert results["fallback"]["modules"]["idna"]["version"] == real_idna
    assert results["fallback"]["tried"]["onlyonpath"] == str(extra / "onlyonpath.py")


def test_default_cache_is_per_user(e2e):
    pex = e2e.build_app(e2e.files("idna"), imports=["idna"])
    env = e2e.env(python=PY311)
    del env["DPEX_ROOT"]
    out = app_json(assert_ok(run([pex], env=env, cwd=e2e.tmp, timeout=300)))
    assert_modules_from_cache(out, e2e.home)
    assert not e2e.root.exists()
