"""dpex as a Python team installs its tools (README.md, Install): the wheel scripts/build-wheel
makes from this checkout (maturin, `bindings = "bin"`) installs with pip into a fresh venv, with
no index at all, and the `dpex` it puts on the venv's PATH builds an app that runs, with the
launchers of both architectures inside; the sdist builds the same wheel from source."""

import os
import platform
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from support import elf
from support.harness import PY311, REPO, assert_ok, describe, run

MATURIN = Path(sys.executable).parent / "maturin"

pytestmark = pytest.mark.slow


def maturin_env(tmp_path, **extra):
    """What cargo needs (PATH, HOME for ~/.cargo and ~/.rustup; DPEX_ISAL, which scripts/build-wheel
    and packer/build.rs follow), nothing of the runner's PIP_*/PYTHON*."""
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "HOME", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "LANG", "DPEX_ISAL")}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    if not MATURIN.is_file():
        pytest.skip(f"maturin is not installed at {MATURIN} (scripts/test installs it)")
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([REPO / "scripts" / "build-wheel", out], env=maturin_env(out, MATURIN=str(MATURIN)),
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    wheels, sdists = list(out.glob("dpex-*.whl")), list(out.glob("dpex-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, os.listdir(out)
    return wheels[0], sdists[0]


def fresh_venv(path):
    subprocess.run([PY311, "-m", "venv", path], check=True, capture_output=True, timeout=300,
                   env={"PATH": "/usr/bin:/bin", "HOME": str(path.parent)})
    return path


def pip_install(venv, wheel):
    r = run([venv / "bin" / "python", "-m", "pip", "install", "--disable-pip-version-check", "--no-index", wheel],
            env={"PATH": "/usr/bin:/bin", "HOME": str(venv.parent)},
            timeout=300)
    assert_ok(r)


def build_and_run_with(e2e, dpex, name):
    """The installed dpex builds the test app from a lock; the app runs cold from the local index."""
    lock = e2e.pylock(e2e.files("idna"), name=f"{name}.toml")
    src = e2e.sources({"hello/__init__.py": "", "hello/main.py":
                       "import idna, sys\n\ndef run():\n    print('HELLO', idna.encode('bücher.example').decode(), sys.argv[1:])\n"},
                      name=f"src-{name}")
    out = e2e.tmp / f"{name}.pex"
    r = run([dpex, "build", "--lock", lock, "-D", src, "-e", "hello.main:run", "-o", out],
            env={"PATH": f"{dpex.parent}:/usr/bin:/bin", "HOME": str(e2e.home)}, cwd=e2e.tmp)
    assert_ok(r)
    r = e2e.run_pex(out, "x", "y z")
    assert_ok(r)
    assert r.stdout.strip() == "HELLO xn--bcher-kva.example ['x', 'y z']", describe(r)
    r = run([dpex, "info", out], env={"PATH": "/usr/bin:/bin", "HOME": str(e2e.home)}, cwd=e2e.tmp)
    assert "launchers: x86_64, aarch64 Linux" in r.stdout, describe(r)


def test_pip_installs_the_wheel_and_its_dpex_builds_a_running_app(e2e, dist):
    wheel, _ = dist
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith(".data/scripts/dpex") for n in names), names
    # A static dpex, installable on glibc hosts back to 2.17 (RHEL 7+) and on musl hosts.
    tags = wheel.name[:-len(".whl")].split("-")[-1].split(".")
    assert {"manylinux2014_x86_64", "musllinux_1_2_x86_64"} <= set(tags), wheel.name
    with zipfile.ZipFile(wheel) as zf:
        binary = zf.read(next(n for n in names if n.endswith(".data/scripts/dpex")))
    assert elf.is_static(binary), elf.describe(binary)
    venv = fresh_venv(e2e.tmp / "venv")
    pip_install(venv, wheel)
    dpex = venv / "bin" / "dpex"
    assert os.access(dpex, os.X_OK)
    r = run([dpex, "--version"], env={"PATH": "/usr/bin:/bin"})
    assert_ok(r)
    assert r.stdout.startswith("dpex "), describe(r)
    # scripts/build-wheel turns on the isal feature where nasm and autotools are (CI has them).
    if os.environ.get("CI") == "true" and platform.machine() == "x86_64":
        assert "x86_64 inflates with isa-l" in r.stdout, describe(r)
        assert "dpex inflates with isa-l" in r.stdout, describe(r)
    build_and_run_with(e2e, dpex, "from-wheel")


def test_the_sdist_builds_the_same_dpex_from_source(e2e, dist, tmp_path):
    _, sdist = dist
    with tarfile.open(sdist) as tf:
        members = tf.getnames()
    top = members[0].split("/")[0]
    for needed in ("pyproject.toml", "Cargo.lock", "packer/build.rs", "launcher/src/main.rs",
                   "packer/python-shim/__dpex__/__init__.py", "packer/python-shim/__dpex__/rare.py"):
        assert f"{top}/{needed}" in members, needed
    # pip builds the wheel from the sdist with the maturin this venv has (no index: no
    # build isolation); cargo keeps its downloads in ~/.cargo, so nothing is fetched again.
    # A target dir of its own: the checkout's would count the sdist's crates as built (cargo
    # hashes workspace paths relative to the workspace), and nothing would be compiled.
    # It builds on a host without nasm (a PATH without it, DPEX_ISAL unset): packer/build.rs
    # finds ISA-L's tools missing and gives the x86_64 stub zlib-rs, the fallback a user
    # without them gets (the wheel above has the ISA-L stub).
    env = maturin_env(tmp_path, CARGO_TARGET_DIR=str(tmp_path / "target"))
    env.pop("DPEX_ISAL", None)
    env["PATH"] = path_without(tmp_path / "bin-without-nasm", env["PATH"], "nasm")
    out = tmp_path / "built"
    r = run([sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-cache-dir", "--no-index", "--no-build-isolation", "--no-deps", "-w", out,
             sdist], env=env, timeout=1800)
    assert_ok(r)
    built = list(out.glob("dpex-*.whl"))
    assert len(built) == 1, describe(r)
    venv = fresh_venv(e2e.tmp / "venv-sdist")
    pip_install(venv, built[0])
    dpex = venv / "bin" / "dpex"
    r = run([dpex, "--version"], env={"PATH": "/usr/bin:/bin"})
    assert_ok(r)
    if platform.machine() == "x86_64":
        assert "x86_64 inflates with zlib-rs" in r.stdout, describe(r)
    # The app's cold start below inflates its wheels with that stub.
    build_and_run_with(e2e, dpex, "from-sdist")


def path_without(bin_dir, path, *programs):
    """A PATH of one folder linking every program of `path` but `programs` (the first of each
    name, as a lookup finds it)."""
    bin_dir.mkdir()
    for folder in path.split(":"):
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            link = bin_dir / name
            if name not in programs and not os.path.lexists(link):
                os.symlink(os.path.join(folder, name), link)
    assert not any((bin_dir / p).exists() for p in programs)
    return str(bin_dir)
