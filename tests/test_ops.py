"""dpex hydrate, dpex download and dpex kernelspec install: operations on a
built app, through the launcher's own code."""

import hashlib
import json

from support import apps
from support.apps import REQUESTS_PROJECTS
from support.harness import PY311, assert_clean_error, assert_ok, describe, tagged_json


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_hydrate_fills_the_cache_ahead_of_the_first_run(e2e):
    files = e2e.files(*REQUESTS_PROJECTS)
    pex = e2e.build_app(files, imports=apps.REQUESTS_IMPORTS)
    r = assert_ok(e2e.dpex_cmd("hydrate", pex, "--python", PY311, env=e2e.env(python=None)))
    assert "ready" in r.stderr and r.stdout == "", describe(r)
    assert sum(e2e.index.file_gets().values()) == len(files)
    e2e.index.stop()
    r = assert_ok(e2e.run_pex(pex, "0", "x"))
    assert tagged_json(r.stdout, "APP")["argv"][1:] == ["0", "x"]
    # Hydrating again is a no-op that needs no network.
    assert_ok(e2e.dpex_cmd("hydrate", pex, "--python", PY311, env=e2e.env(python=None)))


def test_download_then_run_offline_from_the_folder(e2e, tripwire, tmp_path):
    files = e2e.files(*REQUESTS_PROJECTS, "numpy")
    pex = e2e.build_app(files)
    dest = tmp_path / "wheelhouse"
    r = assert_ok(e2e.dpex_cmd("download", pex, "-d", dest, env=e2e.env()))
    assert sorted(p.name for p in dest.iterdir()) == sorted(f.name for f in files), describe(r)
    for f in files:
        assert sha256(dest / f.name) == sha256(f)
    # Only what one interpreter needs: no musllinux numpy.
    only = tmp_path / "only"
    assert_ok(e2e.dpex_cmd("download", pex, "-d", only, "--python", PY311, env=e2e.env(python=None)))
    names = {p.name for p in only.iterdir()}
    assert not any("musllinux" in n for n in names) and any(n.startswith("numpy-") for n in names), names
    # An app whose recorded URLs are dead runs from the folder alone.
    offline = e2e.build_app(files, base_url=tripwire.url + "/files", out="offline.pex", lock_name="dead.toml")
    assert_ok(e2e.run_pex(offline, env={"DPEX_FIND_LINKS": str(only), "DPEX_ROOT": str(tmp_path / "fresh-root")}))
    assert tripwire.hits == 0


def test_download_reports_a_source_that_fails(e2e, tripwire, tmp_path):
    pex = e2e.build_app(e2e.files("idna"), base_url=tripwire.url + "/files")
    r = e2e.dpex_cmd("download", pex, "-d", tmp_path / "w", env=e2e.env())
    assert_clean_error(r, tripwire.url, "idna")
    assert not any((tmp_path / "w").glob("*.whl"))


def test_kernelspec_install_writes_a_runnable_spec(e2e, tmp_path):
    pex = e2e.build_app(e2e.files("idna"), entry_point=None)
    prefix = tmp_path / "prefix"
    assert_ok(e2e.dpex_cmd("kernelspec", "install", pex, "--name", "My-App", "--display-name", "My App",
                           "--prefix", prefix))
    spec = json.loads((prefix / "share/jupyter/kernels/my-app/kernel.json").read_text())
    assert spec["argv"] == [str(pex.resolve()), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert spec["display_name"] == "My App" and spec["language"] == "python"
    assert spec["env"] == {"PEX_INTERPRETER": "1"}
    # The argv's shape works: interpreter mode with -m runs a module with its args.
    argv = [a.replace("ipykernel_launcher", "json.tool") for a in spec["argv"][:3]]
    (tmp_path / "c.json").write_text('{"b": 1}')
    r = assert_ok(e2e.run_pex(argv[0], *argv[1:], str(tmp_path / "c.json"), env=spec["env"]))
    assert json.loads(r.stdout) == {"b": 1}
    # The default location is the user's Jupyter data folder.
    assert_ok(e2e.dpex_cmd("kernelspec", "install", pex, "--name", "u"))
    assert (e2e.home / ".local/share/jupyter/kernels/u/kernel.json").is_file()


def test_kernelspec_rejects_a_bad_name_and_a_non_app(e2e, tmp_path):
    pex = e2e.build_app(e2e.files("idna"), entry_point=None)
    assert_clean_error(e2e.dpex_cmd("kernelspec", "install", pex, "--name", "../x"), "kernel name")
    not_app = tmp_path / "x.pex"
    not_app.write_bytes(b"#!/bin/sh\n")
    assert_clean_error(e2e.dpex_cmd("kernelspec", "install", not_app, "--name", "x"), "x.pex")


def test_hydrate_compile_writes_bytecode_into_the_environment(e2e):
    pex = e2e.build_app(e2e.files("idna"), entry_point=None)
    assert_ok(e2e.dpex_cmd("hydrate", pex, "--python", PY311, "--compile", env=e2e.env(python=None)))
    pycs = list(e2e.root.glob("1/envs/*/lib/python3.11/site-packages/idna/__pycache__/*.cpython-311.pyc"))
    assert len(pycs) >= 5, pycs
    # The shared wheel entry stays untouched; the bytecode is the environment's.
    assert not list((e2e.root / "1" / "wheels").rglob("__pycache__"))
    # The app imports from it without compiling again (no new .pyc appears).
    before = sorted(p.name for p in pycs)
    assert_ok(e2e.run_pex(pex, "-c", "import idna.core, idna.codec"))
    after = sorted(p.name for p in e2e.root.glob("1/envs/*/lib/python3.11/site-packages/idna/__pycache__/*.pyc"))
    assert after == before
