"""Fixtures for the dpex end-to-end tests.

- dpex_bin: $DPEX_BIN or <repo>/target/release/dpex (build it first: cargo build --release).
- wheels: the real PyPI wheels of tests/wheels.lock.txt, in
  ${DPEX_TEST_CACHE:-<repo>/.dpex-test}/wheels (scripts/fetch-test-wheels fills it;
  run here too if files are missing).
- served_dir: one directory per session with those wheels (symlinked) and the
  synthetic wheels from support/wheelmaker.py; the index serves it.
- index: a fresh IndexServer per test, logging to tmp_path/index.log.
- e2e: the per-test context (fresh DPEX_ROOT and HOME under tmp_path, clean
  env, build/run helpers).
"""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import apps, harness, pylock, wheelmaker  # noqa: E402
from support.harness import PY311, REPO, clean_env, run  # noqa: E402
from support.index_server import IndexServer  # noqa: E402

# A run started with SIGINT ignored (a background job of a shell without job control)
# would pass that on to every child, and the apps of the SIGINT tests (pex's and dpex's)
# would sleep through Ctrl-C. A handler, unlike SIG_IGN, is reset to the default at exec.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
# The modes the tests expect of unpacked files (0o755 scripts) are under the usual umask.
os.umask(0o022)

LOCK_FILE = REPO / "tests" / "wheels.lock.txt"
EXPECTED_SKIPS = REPO / "tests" / "expected-skips.txt"


# CI provides what every test needs (tmpfs mounts, a second CPython, the musl
# target, ...): with DPEX_FAIL_ON_SKIP=1 (set by .ci/run) a skip that
# tests/expected-skips.txt does not list fails the run, so a test that
# silently stopped running is seen. On a developer's machine skips only show.
def _allowed_skips():
    if not EXPECTED_SKIPS.exists():
        return []
    lines = (line.split("#", 1)[0].strip() for line in EXPECTED_SKIPS.read_text().splitlines())
    return [line for line in lines if line]


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("DPEX_FAIL_ON_SKIP") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    allowed = _allowed_skips()
    unexpected = [r.nodeid for r in skipped if not any(r.nodeid.startswith(a) for a in allowed)]
    if unexpected:
        reporter.write_line(
            f"DPEX_FAIL_ON_SKIP: {len(unexpected)} test(s) skipped that CI must run "
            f"(not listed in {EXPECTED_SKIPS.relative_to(REPO)}):", red=True)
        for nodeid in unexpected:
            reporter.write_line(f"  {nodeid}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED



def read_wheel_lock():
    return pylock.read_hash_lock(LOCK_FILE)


class WheelSet:
    """The locked real wheels: lookups by file name and by project."""

    def __init__(self, directory, lock):
        self.dir = Path(directory)
        self.lock = lock

    def path(self, filename):
        return self.dir / filename

    def sha256(self, filename):
        return self.lock[filename]

    def project_files(self, *projects):
        want = {pylock.normalize(p) for p in projects}
        out = [self.dir / f for f in sorted(self.lock) if pylock.parse_wheel_filename(f)[0] in want]
        missing = want - {pylock.parse_wheel_filename(p.name)[0] for p in out}
        assert not missing, f"no locked wheel for {missing}"
        return out

    def one(self, project, contains=""):
        fs = [p for p in self.project_files(project) if contains in p.name]
        assert len(fs) == 1, (project, contains, fs)
        return fs[0]

    @property
    def numpy_manylinux(self):
        return self.one("numpy", "manylinux")

    @property
    def numpy_musl(self):
        return self.one("numpy", "musllinux")


@pytest.fixture(scope="session")
def dpex_bin():
    p = Path(os.environ.get("DPEX_BIN") or REPO / "target" / "release" / "dpex")
    if not (p.is_file() and os.access(p, os.X_OK)):
        pytest.fail(f"dpex binary not found at {p}: run `cargo build --release` (or set DPEX_BIN)")
    return p


@pytest.fixture(scope="session")
def wheels():
    lock = read_wheel_lock()
    cache = Path(os.environ.get("DPEX_TEST_CACHE") or REPO / ".dpex-test")
    d = cache / "wheels"

    def bad():
        return pylock.missing_or_wrong(lock, d)

    if bad():
        r = subprocess.run([sys.executable, str(REPO / "scripts" / "fetch-test-wheels")],
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, f"scripts/fetch-test-wheels failed:\n{r.stdout}\n{r.stderr}"
        still = bad()
        assert not still, f"wheels missing or with wrong sha256 after fetching: {still}"
    return WheelSet(d, lock)


class Synth:
    """Synthetic wheels for edge cases (built once per session into served_dir)."""

    def __init__(self, out):
        mk = wheelmaker.make_wheel
        # One import package split across two distributions.
        self.split_core = mk(out, "splitpkg-core", "1.0", {
            "splitpkg/__init__.py": "CORE = 'core half'\n",
            "splitpkg/core.py": "def who():\n    return 'core'\n",
        })
        self.split_extra = mk(out, "splitpkg-extra", "1.0", {
            "splitpkg/sub/__init__.py": "",
            "splitpkg/sub/extra.py": "EXTRA = 'extra half'\n",
        })
        # Content that lives in <name>-<version>.data/{purelib,platlib,data}.
        self.datapkg = mk(out, "datapkg", "1.0", {
            "datapkg/__init__.py": "ROOT = 'root'\n",
        }, data={
            "purelib": {"datapkg/extra.py": "VALUE = 42\n", "datapkg_toplevel.py": "TOP = 'top'\n"},
            "platlib": {"datapkg_plat.py": "PLAT = 'plat'\n"},
            "data": {"share/datapkg/readme.txt": "data file\n"},
        })
        # A console script.
        self.toolpkg = mk(out, "toolpkg", "1.0", {
            "toolpkg/__init__.py": "",
            "toolpkg/cli.py": textwrap.dedent('''
                import json
                import sys


                def main():
                    import yaml
                    print("TOOL " + json.dumps({"argv": sys.argv, "yaml": yaml.__version__}))
                    return 7
            '''),
        }, entry_points={"console_scripts": {"toolcli": "toolpkg.cli:main"}}, requires_dist=["pyyaml"])
        # A package with wheels for other platforms only.
        self.winonly = [
            mk(out, "winonly", "1.0", {"winonly/__init__.py": ""}, tag="py3-none-win_amd64"),
            mk(out, "winonly", "1.0", {"winonly/__init__.py": ""}, tag="cp311-cp311-macosx_11_0_arm64"),
        ]
        # A Linux x86_64 wheel for another Python only: an app builds, and a 3.11 host finds no wheel.
        self.otherpython = mk(out, "otherpython", "1.0", {"otherpython/__init__.py": ""},
                              tag="cp312-cp312-manylinux_2_17_x86_64")


@pytest.fixture(scope="session")
def served_dir(tmp_path_factory, wheels):
    d = tmp_path_factory.mktemp("served")
    for f in wheels.lock:
        (d / f).symlink_to(wheels.path(f))
    return d


@pytest.fixture(scope="session")
def synth(served_dir):
    return Synth(served_dir)


@pytest.fixture
def index_factory(tmp_path, served_dir, synth):
    started = []

    def make(name="index", corrupt=(), directory=None, rate=None):
        srv = IndexServer(directory or served_dir, tmp_path / f"{name}.log", corrupt=corrupt, rate=rate).start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture
def index(index_factory):
    return index_factory()


class E2E:
    """Per-test context: fresh DPEX_ROOT and HOME, clean env, build and run helpers."""

    def __init__(self, tmp_path, dpex_bin, wheels, served_dir, synth, index):
        self.tmp = tmp_path
        self.dpex = dpex_bin
        self.wheels = wheels
        self.served = served_dir
        self.synth = synth
        self.index = index
        self.home = tmp_path / "home"
        self.home.mkdir()
        self.root = tmp_path / "dpex-root"

    # -- environment
    def env(self, extra=None, *, root=None, python=PY311):
        base = {"DPEX_ROOT": root or self.root}
        if python:
            base["PEX_PYTHON"] = python
        base.update(extra or {})
        return clean_env(self.home, base)

    # -- inputs
    def sources(self, files, name="src"):
        d = self.tmp / name
        for rel, text in files.items():
            p = d / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        return d

    def app_sources(self, imports=(), name="src"):
        return self.sources(apps.app_sources(imports), name)

    def files(self, *projects):
        """Served wheel files (real and synthetic) of these projects."""
        want = {pylock.normalize(p) for p in projects}
        out = sorted(p for p in self.served.iterdir()
                     if p.name.endswith(".whl") and pylock.parse_wheel_filename(p.name)[0] in want)
        assert {pylock.parse_wheel_filename(p.name)[0] for p in out} == want, (projects, out)
        return out

    def pylock(self, files, base_url=None, name="pylock.toml", **kw):
        return pylock.write_pylock(self.tmp / name, files, base_url or self.index.files_url, **kw)

    def requirements(self, files, name="requirements.txt", **kw):
        return pylock.write_requirements(self.tmp / name, files, **kw)

    # -- dpex
    def dpex_cmd(self, *args, env=None, timeout=120, cwd=None):
        return run([self.dpex, *args], env=env or clean_env(self.home), timeout=timeout, cwd=cwd or self.tmp)

    def build(self, *args, out="app.pex", timeout=120, ok=True):
        """dpex build ARGS -o tmp/OUT; returns (path, CompletedProcess); asserts success unless ok=False."""
        out = self.tmp / out
        out.parent.mkdir(parents=True, exist_ok=True)
        r = self.dpex_cmd("build", *args, "-o", out, timeout=timeout)
        if ok:
            harness.assert_ok(r)
            assert out.is_file(), "dpex build exited 0 but wrote no file" + harness.describe(r)
        return out, r

    def build_app(self, files, *, imports=(), entry_point="myapp.main:run", sources=None, extra=(), out="app.pex",
                  base_url=None, lock_name="pylock.toml"):
        lock = self.pylock(files, base_url=base_url, name=lock_name)
        src = sources or self.app_sources(imports, name="src-" + str(out).replace("/", "-"))
        args = ["--lock", lock, "-D", src]
        if entry_point:
            args += ["-e", entry_point]
        return self.build(*args, *extra, out=out)[0]

    def run_pex(self, pex, *args, env=None, timeout=300, cwd=None, input=None, python=PY311, via=None):
        """Run ./app.pex ARGS (or `via app.pex ARGS`, via an interpreter path)."""
        cmd = ([via] if via else []) + [pex, *args]
        return run(cmd, env=self.env(env, python=python), timeout=timeout, cwd=cwd or self.tmp, input=input)


@pytest.fixture
def tripwire():
    """A listener that counts (and drops) every connection: URLs that must never be used."""
    t = harness.Tripwire()
    yield t
    t.close()


@pytest.fixture
def e2e(tmp_path, dpex_bin, wheels, served_dir, synth, index):
    return E2E(tmp_path, dpex_bin, wheels, served_dir, synth, index)
