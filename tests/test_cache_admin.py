"""dpex cache info / prune / verify."""

import subprocess
import time

from support.apps import REQUESTS_PROJECTS
from support.harness import assert_clean_error, assert_ok, describe


def entries(root, kind):
    d = root / "1" / kind
    return sorted(p.name for p in d.iterdir() if not p.name.startswith(".")) if d.exists() else []


def test_info_lists_apps_and_wheel_users(e2e):
    a = e2e.build_app(e2e.files("idna", "certifi"), entry_point=None, out="a.pex")
    assert_ok(e2e.run_pex(a, "-c", "import idna"))
    r = assert_ok(e2e.dpex_cmd("cache", "info", env=e2e.env()))
    idna = e2e.files("idna")[0].name
    assert idna in r.stdout and "used by:" in r.stdout and "total:" in r.stdout, describe(r)
    line = next(l for l in r.stdout.splitlines() if idna in l)
    assert "used by: none" not in line, line
    # The shared site, its bytecode and who uses it.
    (site,) = entries(e2e.root, "sites")
    line = next(l for l in r.stdout.splitlines() if site in l)
    assert "2 wheels" in line and "used by: none" not in line, line


def test_prune_keeps_what_runs_and_what_it_needs(e2e):
    busy = e2e.build_app(e2e.files("idna", "certifi"), entry_point=None, out="busy.pex")
    idle = e2e.build_app(e2e.files("idna", "urllib3"), entry_point=None, out="idle.pex")
    assert_ok(e2e.run_pex(idle, "-c", "import idna, urllib3"))
    runner = subprocess.Popen([str(busy), "-c", "import idna, time; print('UP', flush=True); time.sleep(30)"],
                              env=e2e.env(), stdout=subprocess.PIPE, text=True)
    try:
        assert runner.stdout.readline().strip() == "UP"
        r = assert_ok(e2e.dpex_cmd("cache", "prune", "--older-than", "0", env=e2e.env()))
        assert "removed 1 environments" in r.stdout and "1 unused environments are in use" in r.stdout, describe(r)
        wheels = entries(e2e.root, "wheels")
        sha = e2e.wheels.sha256
        assert sha(e2e.files("urllib3")[0].name) not in wheels  # only the pruned app used it
        assert sha(e2e.files("idna")[0].name) in wheels  # the running app needs it
        assert sha(e2e.files("certifi")[0].name) in wheels
        assert len(entries(e2e.root, "envs")) == 1 and len(entries(e2e.root, "apps")) == 1
        # The pruned app's site (its wheel set, its bytecode) went with it.
        assert len(entries(e2e.root, "sites")) == 1 and "1 sites" in r.stdout, describe(r)
    finally:
        runner.kill()
        runner.wait()
    # Both apps still work: the pruned one hydrates again.
    assert_ok(e2e.run_pex(busy, "-c", "import idna"))
    assert_ok(e2e.run_pex(idle, "-c", "import idna, urllib3"))
    # Recently used environments survive the default cut-off (30 days).
    r = assert_ok(e2e.dpex_cmd("cache", "prune", env=e2e.env()))
    assert "removed 0 environments" in r.stdout, describe(r)
    assert_clean_error(e2e.dpex_cmd("cache", "prune", "--older-than", "soon", env=e2e.env()), "soon")


def test_verify_finds_and_repairs_damage(e2e):
    pex = e2e.build_app(e2e.files("idna"), entry_point=None)
    assert_ok(e2e.run_pex(pex, "-c", "import idna"))
    assert "match" in assert_ok(e2e.dpex_cmd("cache", "verify", env=e2e.env())).stdout
    wheel_dir = e2e.root / "1" / "wheels" / e2e.wheels.sha256(e2e.files("idna")[0].name)
    victim = wheel_dir / "site" / "idna" / "core.py"
    victim.write_text(victim.read_text() + "\n# TAMPERED-BY-THE-TEST\n")
    # The environment hard-links the same inode: the app now runs the tampered code.
    runs_tampered = "import idna.core, inspect; print('TAMPERED-BY-THE-TEST' in inspect.getsource(idna.core))"
    assert assert_ok(e2e.run_pex(pex, "-c", runs_tampered)).stdout.strip() == "True"
    r = e2e.dpex_cmd("cache", "verify", env=e2e.env())
    assert_clean_error(r, "--repair")
    assert "idna/core.py" in r.stdout, describe(r)
    assert_ok(e2e.dpex_cmd("cache", "verify", "--repair", env=e2e.env()))
    assert not wheel_dir.exists()
    r = assert_ok(e2e.run_pex(pex, "-c", runs_tampered))
    assert r.stdout.strip() == "False", describe(r)
    assert e2e.index.file_gets()[e2e.files("idna")[0].name] == 2


def test_verify_finds_environments_whose_entries_were_removed(e2e):
    import shutil
    pex = e2e.build_app(e2e.files("idna"), entry_point=None)
    assert_ok(e2e.run_pex(pex, "-c", "import idna"))
    shutil.rmtree(e2e.root / "1" / "wheels" / e2e.wheels.sha256(e2e.files("idna")[0].name))
    r = e2e.dpex_cmd("cache", "verify", env=e2e.env())
    assert_clean_error(r, "--repair")
    assert "is gone" in r.stdout, describe(r)
    assert_ok(e2e.dpex_cmd("cache", "verify", "--repair", env=e2e.env()))
    assert entries(e2e.root, "envs") == [] and entries(e2e.root, "sites") == []
    r = assert_ok(e2e.run_pex(pex, "-c", "import idna; print('BACK')"))
    assert "BACK" in r.stdout
