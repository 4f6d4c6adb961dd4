"""Redeploys: a new version of an app (or another app) on wheels the host
already has builds only its small venv, and reuses the bytecode Python wrote
for those wheels (kept in the shared site, docs/cache.md), with bytecode
writing on as Python's default."""

import fcntl
import os
import shutil
import subprocess
import time

from support.apps import REQUESTS_PROJECTS
from support.harness import assert_ok, describe, finish

IMPORTS = "import requests, idna, urllib3, certifi, charset_normalizer; print('RAN', __import__('myapp').VERSION)"


def pyc_files(root):
    """{path: (inode, mtime_ns)} of every bytecode file under root: a
    rewritten .pyc (Python replaces it by rename) gets a new inode."""
    out = {}
    for p in root.rglob("*.pyc"):
        st = p.stat()
        out[str(p)] = (st.st_ino, st.st_mtime_ns)
    return out


def entries(root, kind):
    d = root / "1" / kind
    return sorted(p for p in d.iterdir() if not p.name.startswith(".")) if d.exists() else []


def version_sources(e2e, version):
    return e2e.sources({"myapp/__init__.py": f"VERSION = {version!r}\n",
                        "myapp/main.py": "def run():\n    pass\n"},
                       name=f"src-{version}")


def build_version(e2e, files, version):
    return e2e.build_app(files, entry_point=None, sources=version_sources(e2e, version), out=f"app-{version}.pex")


def test_a_new_version_compiles_none_of_its_wheels_again(e2e):
    files = e2e.files(*REQUESTS_PROJECTS)
    v1 = build_version(e2e, files, "v1")
    r = assert_ok(e2e.run_pex(v1, "-c", IMPORTS))
    assert "RAN v1" in r.stdout, describe(r)
    before = pyc_files(e2e.root)
    (site,) = entries(e2e.root, "sites")
    assert any(p.startswith(str(site)) and "/requests/__pycache__/" in p for p in before), sorted(before)
    # The one-line change, rebuilt; its first run on this warm host.
    v2 = build_version(e2e, files, "v2")
    r = assert_ok(e2e.run_pex(v2, "-c", IMPORTS))
    assert "RAN v2" in r.stdout, describe(r)
    after = pyc_files(e2e.root)
    assert len(entries(e2e.root, "envs")) == 2 and entries(e2e.root, "sites") == [site]
    # Every .pyc of v1's run is still there, untouched; the only new ones are
    # the app's own (its new sources), none of a wheel's.
    assert {p: after.get(p) for p in before} == before
    new = sorted(set(after) - set(before))
    v2_app = [a for a in entries(e2e.root, "apps") if (a / "myapp" / "__init__.py").read_text() == "VERSION = 'v2'\n"]
    assert new and all(p.startswith(str(v2_app[0]) + os.sep) for p in new), new


def test_another_app_on_the_same_wheels_shares_the_site(e2e):
    files = e2e.files(*REQUESTS_PROJECTS)
    a = e2e.build_app(files, entry_point=None, out="a.pex")
    b = e2e.build_app(files, entry_point="myapp.main:run", out="b.pex")
    assert_ok(e2e.run_pex(a, "-c", IMPORTS.replace("__import__('myapp').VERSION", "'a'")))
    before = pyc_files(e2e.root / "1" / "sites")
    assert before
    r = assert_ok(e2e.run_pex(b, "-c", IMPORTS.replace("__import__('myapp').VERSION", "'b'"),
                              env={"PEX_INTERPRETER": "1"}))
    assert "RAN b" in r.stdout, describe(r)
    assert pyc_files(e2e.root / "1" / "sites") == before
    assert len(entries(e2e.root, "sites")) == 1 and len(entries(e2e.root, "envs")) == 2
    # An app on another wheel set gets its own site.
    c = e2e.build_app(e2e.files("idna"), entry_point=None, out="c.pex")
    assert_ok(e2e.run_pex(c, "-c", "import idna"))
    assert len(entries(e2e.root, "sites")) == 2


def test_each_venv_runs_its_own_version_and_scripts(e2e):
    """Per-version parts stay per version: the app's sources on sys.path of a
    `sys.executable` child, and console scripts whose shebang is that venv's python."""
    files = e2e.files(*REQUESTS_PROJECTS)
    seen = set()
    for version in ("v1", "v2"):
        pex = build_version(e2e, files, version)
        code = ("import subprocess, sys, os; "
                "print(subprocess.run([sys.executable, '-c', 'import myapp; print(myapp.VERSION)'],"
                " capture_output=True, text=True).stdout.strip(), sys.prefix,"
                " open(os.path.join(sys.prefix, 'bin', 'normalizer')).readline().strip())")
        r = assert_ok(e2e.run_pex(pex, "-c", code))
        child_version, prefix, shebang = r.stdout.split()
        assert child_version == version, describe(r)
        assert shebang == "#!" + os.path.join(prefix, "bin", "python"), describe(r)
        seen.add(prefix)
    assert len(seen) == 2


def test_concurrent_first_runs_of_two_versions_share_one_site(e2e):
    files = e2e.files(*REQUESTS_PROJECTS)
    apps = [build_version(e2e, files, v) for v in ("v1", "v2")]
    procs = [subprocess.Popen([str(apps[i % 2]), "-c", IMPORTS], env=e2e.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(8)]
    outs = [finish(p) for p in procs]
    for i, (code, out, err) in enumerate(outs):
        assert code == 0 and f"RAN v{i % 2 + 1}" in out, (code, out, err)
    assert len(entries(e2e.root, "sites")) == 1 and len(entries(e2e.root, "envs")) == 2
    r = assert_ok(e2e.dpex_cmd("cache", "verify", env=e2e.env()))
    assert "match" in r.stdout, describe(r)
    # No work folders or half-built entries left behind.
    assert not [p for p in (e2e.root / "1").rglob(".*.work*")]


def test_concurrent_first_starts_compile_each_module_once(e2e):
    """A fleet's cold starts (issue 10: 32 at once) would each compile every
    module they import; the shim of a start that found no ready environment
    compiles a cached module under a lock on its source, so each .pyc is
    written by one start and loaded by the others (docs/cache.md, "Bytecode")."""
    files = e2e.files(*REQUESTS_PROJECTS)
    # A module that takes a while to compile, so the starts overlap on it.
    big = "".join(f"def f{i}(a, b):\n    return [a + {i}, b * {i}, {{'k{i}': (a, b)}}]\n" for i in range(6000))
    src = e2e.sources({"myapp/__init__.py": "VERSION = 'big'\n", "myapp/big.py": big}, name="src-big")
    pex = e2e.build_app(files, entry_point=None, sources=src, out="big.pex")
    code = "import myapp.big, requests, idna, urllib3, certifi, charset_normalizer; print('RAN', myapp.big.f7(1, 2))"
    cache = e2e.root / "1"
    cache.mkdir(parents=True)
    # Hold the starts at the cache's gc lock (what `dpex cache prune` takes) until all of
    # them have missed the warm path, so they reach their first imports together.
    with open(cache / ".gc.lck", "w") as gc:
        fcntl.flock(gc, fcntl.LOCK_EX)
        # Files, not pipes: -v writes a lot, and a start blocked on a full pipe while it
        # holds a module's lock would hold up the others.
        logs = [(e2e.tmp / f"out-{i}", e2e.tmp / f"err-{i}") for i in range(6)]
        procs = []
        for out, err in logs:
            with open(out, "w") as stdout, open(err, "w") as stderr:
                procs.append(subprocess.Popen([str(pex), "-c", code], env=e2e.env({"PYTHONVERBOSE": "1"}),
                                              stdout=stdout, stderr=stderr))
        deadline = time.monotonic() + 120
        while _waiters(cache / ".gc.lck") < len(procs) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _waiters(cache / ".gc.lck") == len(procs), "the starts did not all reach the cold path"
    written = []
    for p, (out, err) in zip(procs, logs):
        status, out, err = p.wait(timeout=300), out.read_text(), err.read_text()
        assert status == 0 and "RAN [8, 14, {'k7': (1, 2)}]" in out, (status, out, err[-3000:])
        written += [line.split("'")[1] for line in err.splitlines() if line.startswith("# created '")]
    # The shim's own boot module is imported before it can take any lock.
    cached = [p for p in written if p.startswith(str(cache) + os.sep) and "/__dpex__/" not in p]
    assert any("/myapp/__pycache__/big." in p for p in cached) and any("/requests/__pycache__/" in p for p in cached), written
    assert len(cached) == len(set(cached)), sorted(p for p in cached if cached.count(p) > 1)
    # A warm start loads them all.
    r = assert_ok(e2e.run_pex(pex, "-c", code, env={"PYTHONVERBOSE": "1"}))
    assert "# created '" not in r.stderr, describe(r)


def _waiters(path):
    """How many processes wait for a lock on this file (/proc/locks: "N: -> FLOCK ... MAJ:MIN:INODE ...")."""
    inode = f":{os.stat(path).st_ino} "
    with open("/proc/locks") as f:
        return sum(1 for line in f if " -> " in line and inode in line)


def test_a_start_stuck_while_compiling_holds_up_the_others_only_briefly(e2e):
    """The lock on a module being compiled is waited for ten seconds at most: a
    start stopped halfway (Ctrl-Z, a debugger, a full stderr pipe) must not hang
    every other first start that imports the same module."""
    src = e2e.sources({"myapp/__init__.py": "", "myapp/slow.py": "VALUE = 42\n"}, name="src-slow")
    pex = e2e.build_app(e2e.files("idna"), entry_point=None, sources=src, out="slow.pex")
    code = "import myapp.slow; print('VALUE', myapp.slow.VALUE)"
    # A first run that leaves no bytecode, then the environment removed: the next start
    # is a fresh one again on the same app entry.
    assert_ok(e2e.run_pex(pex, "-c", code, env={"PYTHONDONTWRITEBYTECODE": "1"}))
    (app,) = entries(e2e.root, "apps")
    for env_dir in entries(e2e.root, "envs"):
        shutil.rmtree(env_dir)
    with open(app / "myapp" / "slow.py") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # what a stopped start compiling it holds
        t0 = time.monotonic()
        r = assert_ok(e2e.run_pex(pex, "-c", code, timeout=60))
        waited = time.monotonic() - t0
    assert "VALUE 42" in r.stdout, describe(r)
    assert 9 < waited < 40, waited
    assert list((app / "myapp" / "__pycache__").glob("slow.*.pyc")), "compiled without the lock after the wait"
