"""Leaving the cache behind: `dpex venv app.pex DIR` and `PEX_TOOLS=1 ./app.pex venv DIR`
(as Dockerfiles written for pex-tools do) export the app as a venv of real files that runs
with the cache deleted, through DIR/pex, `python DIR`, DIR/bin/python and the wheels' console
scripts; `--compile` leaves no module uncompiled. `dpex info` shows what an app holds and which
of its wheels this host has cached."""

import os
import shutil
import subprocess
import zipfile

from support import apps
from support.apps import FULL_PROJECTS
from support.harness import PY311, assert_clean_error, assert_ok, describe, tagged_json, under


def app_json(r):
    return tagged_json(r.stdout, "APP")


def real_files_only(venv):
    """Every path under the venv's site-packages and app/ is a real file or folder."""
    links = []
    for top in (venv / "lib", venv / "app"):
        for folder, dirs, files in os.walk(top):
            for name in dirs + files:
                if os.path.islink(os.path.join(folder, name)):
                    links.append(os.path.join(folder, name))
    return links


def test_dpex_venv_runs_the_app_with_the_cache_deleted(e2e):
    pex = e2e.build_app(e2e.files(*FULL_PROJECTS), imports=apps.FULL_IMPORTS)
    r = e2e.run_pex(pex, "7", "a b")
    assert r.returncode == 7, describe(r)
    cached = app_json(r)
    # The first start kept the shim's boot bytecode in the app's cache entry (its
    # code names the cache's paths): the export leaves it out.
    assert list(e2e.root.glob("1/apps/*/__dpex_main__.*.pyc"))
    venv = e2e.tmp / "venv"
    r = e2e.dpex_cmd("venv", pex, venv, env=e2e.env())
    assert_ok(r)
    assert f"exported as a venv at {venv}" in r.stderr, describe(r)
    assert not real_files_only(venv), real_files_only(venv)[:5]
    assert sorted(p.name for p in (venv / "app").glob("*.pyc")) == []
    # An app built by this dpex keeps its bytes (dpex venv rebuilds it with its own launcher,
    # which for an app of an older dpex brings the venv mode the launcher needs).
    assert (venv / "pex").read_bytes() == pex.read_bytes()
    shutil.rmtree(e2e.root)

    # DIR/pex: the app as ./app.pex runs it (argv, exit code), its modules from the venv.
    r = e2e.run_pex(venv / "pex", "7", "a b")
    assert r.returncode == 7, describe(r)
    out = app_json(r)
    assert out["argv"][1:] == ["7", "a b"] and out["pex_env"] == str(venv / "pex"), out["argv"]
    assert out["modules"].keys() == cached["modules"].keys()
    for name, m in out["modules"].items():
        assert under(m["file"], str(venv)), f"{name} from {m['file']}"
        assert m["version"] == cached["modules"][name]["version"], name
    assert out["numpy"] == cached["numpy"] and out["yaml"] == cached["yaml"]
    assert not e2e.root.exists(), "running the venv wrote a cache"

    # `python DIR`, as pex venvs run: the same app.
    r = e2e.run_pex(venv, "5", via=PY311)
    assert r.returncode == 5, describe(r)
    assert app_json(r)["modules"].keys() == cached["modules"].keys()
    # The venv's own python sees the packages and the app's sources.
    r = subprocess.run([venv / "bin" / "python", "-c", "import numpy, yaml, myapp.main; print(numpy.__file__)"],
                       capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert r.returncode == 0 and r.stdout.startswith(str(venv)), describe(r)
    # A console script of a wheel (charset-normalizer's), with the venv's shebang.
    script = venv / "bin" / "normalizer"
    assert script.read_text().startswith(f"#!{venv}/bin/python\n")
    r = subprocess.run([script, "--version"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, describe(r)
    assert not e2e.root.exists()


def test_pex_tools_venv_compile_as_in_a_dockerfile(e2e):
    pex = e2e.build_app(e2e.files(*FULL_PROJECTS), imports=apps.FULL_IMPORTS)
    venv = e2e.tmp / "opt" / "app"
    r = e2e.run_pex(pex, "venv", "--compile", venv, env={"PEX_TOOLS": "1"})
    assert_ok(r)
    assert "APP " not in r.stdout, "the app ran instead of the tool"
    uncompiled = []
    for top in (venv / "lib", venv / "app"):
        for folder, _dirs, files in os.walk(top):
            for name in files:
                if name.endswith(".py"):
                    pyc = os.path.join(folder, "__pycache__", name[:-3] + ".cpython-311.pyc")
                    if not os.path.isfile(pyc):
                        uncompiled.append(os.path.join(folder, name))
    assert not uncompiled, f"{len(uncompiled)} modules not compiled, e.g. {uncompiled[:5]}"
    shutil.rmtree(e2e.root)
    r = e2e.run_pex(venv / "pex", "3")
    assert r.returncode == 3, describe(r)
    assert all(under(m["file"], str(venv)) for m in app_json(r)["modules"].values())


def test_pex_tools_venv_in_two_image_layers_deps_then_srcs(e2e):
    """pex's multi-stage recipe: `venv --scope=deps --compile DIR` (the dependency layer, rebuilt
    only when the lock changes), then `venv --scope=srcs --compile DIR` from a new version of the
    app (the code layer), then `--rm pex`; DIR runs the new version with the cache deleted. srcs
    into a DIR that deps did not make, or whose wheels are another lock's, is refused."""
    files = e2e.files(*FULL_PROJECTS)
    v1 = e2e.build_app(files, imports=apps.FULL_IMPORTS, out="v1.pex")
    venv = e2e.tmp / "opt" / "app"
    r = e2e.run_pex(v1, "venv", "--scope=deps", "--compile", venv, env={"PEX_TOOLS": "1"})
    assert_ok(r)
    assert "dependencies only" in r.stderr and not (venv / "app").exists() and not (venv / "pex").exists()
    r = subprocess.run([venv / "bin" / "python", "-c", "import numpy, yaml; print('DEPS')"],
                       capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert r.stdout.strip() == "DEPS", describe(r)
    # A new version of the app, same lock: its sources go into the same DIR.
    src_v2 = e2e.app_sources(apps.FULL_IMPORTS, name="src-v2")
    (src_v2 / "myapp" / "version.py").write_text("V = 2\n")
    v2 = e2e.build_app(files, imports=apps.FULL_IMPORTS, out="v2.pex", sources=src_v2)
    r = e2e.run_pex(v2, "venv", "--scope", "srcs", "--compile", "--rm", "pex", venv, env={"PEX_TOOLS": "1"})
    assert_ok(r)
    assert not v2.exists(), "--rm pex left the app"
    assert (venv / "app" / "myapp" / "__pycache__").is_dir(), "--compile compiled no source"
    shutil.rmtree(e2e.root)
    r = e2e.run_pex(venv / "pex", "3")
    assert r.returncode == 3, describe(r)
    assert all(under(m["file"], str(venv)) for m in app_json(r)["modules"].values())
    r = subprocess.run([venv / "bin" / "python", "-c", "import myapp.version; print(myapp.version.V)"],
                       capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert r.stdout.strip() == "2", describe(r)

    # srcs without a deps venv, or onto another lock's deps: refused, naming the folder.
    r = e2e.run_pex(v1, "venv", "--scope=srcs", e2e.tmp / "nothing", env={"PEX_TOOLS": "1"})
    assert_clean_error(r, "--scope=deps", str(e2e.tmp / "nothing"))
    other = e2e.build_app(e2e.files("idna"), imports=["idna"], out="other.pex")
    deps = e2e.tmp / "deps-of-v1"
    assert_ok(e2e.dpex_cmd("venv", "--scope", "deps", v1, deps, env=e2e.env()))
    r = e2e.run_pex(other, "venv", "--scope=srcs", deps, env={"PEX_TOOLS": "1"})
    assert_clean_error(r, str(deps), "other wheels")
    # --rm all: the app and the cache go; the venv stays and runs.
    r = e2e.run_pex(other, "venv", "--rm", "all", e2e.tmp / "alone", env={"PEX_TOOLS": "1"})
    assert_ok(r)
    assert not other.exists() and not e2e.root.exists(), describe(r)
    assert e2e.run_pex(e2e.tmp / "alone" / "pex").returncode == 0


def test_venv_refuses_a_non_empty_dir_without_force(e2e):
    pex = e2e.build_app(e2e.files("idna"), imports=["idna"])
    venv = e2e.tmp / "venv"
    venv.mkdir()
    (venv / "keep.txt").write_text("mine")
    r = e2e.dpex_cmd("venv", pex, venv, env=e2e.env())
    assert_clean_error(r, str(venv), "already exists", "--force")
    assert (venv / "keep.txt").read_text() == "mine"
    r = e2e.run_pex(pex, "venv", venv, env={"PEX_TOOLS": "1"})
    assert_clean_error(r, str(venv), "--force")
    assert_ok(e2e.run_pex(pex, "venv", "--force", venv, env={"PEX_TOOLS": "1"}))
    assert not (venv / "keep.txt").exists() and (venv / "pex").is_file()
    assert_ok(e2e.run_pex(venv / "pex"))
    # A DIR that holds the app itself is refused, --force or not.
    r = e2e.run_pex(pex, "venv", "--force", ".", env={"PEX_TOOLS": "1"}, cwd=e2e.tmp)
    assert_clean_error(r, "holds the app", "another folder")
    assert pex.is_file()
    # The venv's mark names its own app: another app copied over DIR/pex runs as any app
    # does (from the cache), not with the venv's packages and sources.
    other = e2e.build_app(e2e.files("pyyaml"), imports=["yaml"], out="other.pex")
    shutil.copy(other, venv / "pex")
    r = e2e.run_pex(venv / "pex", "2")
    assert r.returncode == 2, describe(r)
    assert all(under(m["file"], str(e2e.root)) for m in app_json(r)["modules"].values()), r.stdout
    # What pex-tools has and dpex apps do not: a clear error, nothing run.
    r = e2e.run_pex(pex, "graph", env={"PEX_TOOLS": "1"})
    assert_clean_error(r, '"graph"', "venv")
    r = e2e.run_pex(pex, "venv", "--pip", e2e.tmp / "v2", env={"PEX_TOOLS": "1"})
    assert_clean_error(r, "--pip", "not supported")
    assert not (e2e.tmp / "v2").exists()


def test_dpex_info_shows_the_wheels_and_what_is_cached(e2e):
    files = e2e.files("idna", "pyyaml")
    pex = e2e.build_app(files, imports=["idna", "yaml"])
    r = e2e.dpex_cmd("info", pex, env=e2e.env())
    assert_ok(r)
    assert "entry point myapp.main:run" in r.stdout, describe(r)
    wheels = [f.name for f in files if "cp311" in f.name or "py3-none-any" in f.name]
    lines = [l for l in r.stdout.splitlines() if ".whl" in l]
    assert lines and all(l.rstrip().endswith("missing") for l in lines), r.stdout
    assert_ok(e2e.run_pex(pex))
    r = e2e.dpex_cmd("info", pex, env=e2e.env())
    lines = [l for l in r.stdout.splitlines() if ".whl" in l]
    assert lines and all(l.rstrip().endswith("cached") for l in lines), r.stdout
    assert {l.split()[2] for l in lines} <= set(wheels), (lines, wheels)
    raw = e2e.dpex_cmd("info", "--raw", pex, env=e2e.env())
    import json
    assert json.loads(raw.stdout)["entry_point"] == "myapp.main:run"
    # `dpex info app.pex | head -1`: the reader goes away before dpex writes; dpex ends
    # without a panic (SIGPIPE, as Unix tools do). The pipe's read end is closed before dpex
    # starts: closing it after the start raced dpex, which could write all it had into the
    # pipe's buffer first and exit 0 (a CI run did).
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        p = subprocess.Popen([e2e.dpex, "info", pex], env=e2e.env(), stdout=write_end,
                             stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write_end)
    err = p.stderr.read()
    p.wait(timeout=60)
    assert "panicked" not in err and p.returncode == -13, (p.returncode, err)


def test_an_exported_venv_keeps_the_apps_preamble(e2e):
    """`--preamble-file` lives in the app's __main__.py: `dpex venv` (which rebuilds the app with
    its own shim) keeps it, and DIR/pex runs it once before the app."""
    preamble = e2e.tmp / "preamble.py"
    preamble.write_text("import os, sys\nos.environ['GREETING'] = 'from the preamble'\n"
                        "sys.stderr.write('PREAMBLE\\n')\n")
    pex = e2e.build_app(e2e.files("idna"), imports=["idna"], extra=["--preamble-file", preamble])
    r = e2e.run_pex(pex)
    assert_ok(r)
    assert app_json(r)["greeting"] == "from the preamble" and r.stderr.count("PREAMBLE") == 1, describe(r)
    venv = e2e.tmp / "venv"
    assert_ok(e2e.dpex_cmd("venv", pex, venv, env=e2e.env()))
    # (A pure app carries both architectures' launchers; the venv's copy only this host's.)
    with zipfile.ZipFile(pex) as built, zipfile.ZipFile(venv / "pex") as exported:
        assert exported.read("__main__.py") == built.read("__main__.py")
    r = e2e.run_pex(venv / "pex")
    assert_ok(r)
    assert app_json(r)["greeting"] == "from the preamble" and r.stderr.count("PREAMBLE") == 1, describe(r)
