"""`dpex build`: the CLI, the app.pex layout, PEX-INFO, determinism. No app is run here."""

import json
import os
import platform
import re
import shutil
import stat
import tomllib
import zipfile
from pathlib import Path

import pytest

from support import elf, pylock
from support.apps import FULL_PROJECTS, REQUESTS_PROJECTS
from support.harness import REPO, assert_clean_error, assert_ok, describe, pex_info, pex_info_bytes, run


def workspace_version():
    return tomllib.loads((REPO / "Cargo.toml").read_text())["workspace"]["package"]["version"]


def expected_dehydrated(files, base_url):
    """{name: (version, requires_python, {(filename, url, sha256, size)})} for these wheel files."""
    out = {}
    for name, version, fs in pylock.group_wheels(files):
        wheels = {(f.name, base_url + f.name, pylock.sha256_of(f), f.stat().st_size) for f in fs}
        out[name] = (version, pylock.requires_python_of(fs[0]), wheels)
    return out


def actual_dehydrated(info, with_size=True):
    out = {}
    for req in info["dehydrated_requirements"]:
        assert req["name"] not in out, f"{req['name']} listed twice"
        wheels = set()
        for w in req["wheels"]:
            wheels.add((w["filename"], w["url"], w["sha256"], w.get("size") if with_size else None))
        out[req["name"]] = (req["version"], req.get("requires_python"), wheels)
    return out


def test_version_and_help(e2e):
    r = assert_ok(e2e.dpex_cmd("--version"))
    assert workspace_version() in r.stdout, describe(r)
    # pex's spelling, for pipelines that check the build tool's version: `pex --version`.
    for flag in ("--version", "-V"):
        r = assert_ok(e2e.dpex_cmd("build", flag))
        assert workspace_version() in r.stdout, describe(r)
    r = assert_ok(e2e.dpex_cmd("--help"))
    assert "build" in r.stdout, describe(r)
    r = assert_ok(e2e.dpex_cmd("build", "--help"))
    for flag in ("--lock", "--index-url", "--interpreter-constraint", "--inherit-path", "--inject-args",
                 "--inject-env", "--launcher", "-D", "-e", "-c", "-o", "-r"):
        assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", r.stdout), \
            f"{flag} not in `dpex build --help`" + describe(r)


def musl_target_installed():
    """Whether rustup has the musl target of this machine (then the stub dpex embeds is static)."""
    target = f"{platform.machine()}-unknown-linux-musl"
    rustup_home = Path(os.environ.get("RUSTUP_HOME") or Path.home() / ".rustup")
    return any(rustup_home.glob(f"toolchains/*/lib/rustlib/{target}"))


def test_the_stub_is_static(e2e):
    """README: with the musl target installed, the stub in every app is a static-pie
    executable (no program interpreter, no shared libraries), so it runs on any Linux of
    its architecture whatever its libc. CI installs the target, and fails on a skip."""
    if not musl_target_installed():
        pytest.skip("the musl target is not installed: dpex embeds a glibc-linked stub")
    pex, _ = e2e.build("--lock", e2e.pylock(e2e.files("idna")), "-D", e2e.app_sources([]), "-e", "myapp.main:run",
                       "--platform", "manylinux2014_x86_64-cp-311-cp311")
    with zipfile.ZipFile(pex) as zf:
        stub_len = min(i.header_offset for i in zf.infolist())
    stub = elf.describe(pex.read_bytes()[:stub_len])
    assert stub == {"type": "DYN", "interp": None, "needed": 0}, f"the stub is not static-pie: {stub}"
    # A lock of pure wheels gets every launcher (x86_64 and aarch64, docs/format.md): each static.
    pex, _ = e2e.build("--lock", e2e.pylock(e2e.files("idna")), "-D", e2e.app_sources([]), "-e", "myapp.main:run",
                       out="multi.pex")
    data = pex.read_bytes()
    ranges = re.findall(rb"\n(\w+)\|\w+\) b=(\d+) c=(\d+) ", data[:4096])
    assert [arch for arch, _, _ in ranges] == [b"x86_64", b"aarch64"], data[:4096]
    for arch, first, count in ranges:
        launcher = elf.describe(data[int(first) * 4096:(int(first) + int(count)) * 4096])
        assert launcher["interp"] is None and launcher["needed"] == 0, (arch, launcher)


def test_build_from_pylock_is_fast_offline_and_well_formed(e2e):
    files = e2e.files(*FULL_PROJECTS)
    lock = e2e.pylock(files)
    src = e2e.app_sources(["numpy"])
    before = e2e.index.mark()
    pex, r = e2e.build("--lock", lock, "-D", src, "-e", "myapp.main:run")

    # Fast, and nothing downloaded: the lock has every URL and hash.
    assert r.elapsed < 10, f"build took {r.elapsed:.1f}s"
    assert not e2e.index.file_gets(since=before), f"build downloaded: {e2e.index.file_gets(since=before)}"

    # An executable native stub with a zip appended.
    mode = pex.stat().st_mode
    assert mode & stat.S_IXUSR and os.access(pex, os.X_OK), oct(mode)
    assert pex.read_bytes()[:4] == b"\x7fELF", "app.pex does not start with the native launcher (ELF)"

    # Python's zipfile reads it; CRCs are right; sources and PEX-INFO are at the root.
    with zipfile.ZipFile(pex) as zf:
        names = zf.namelist()
        assert zf.testzip() is None
        for want in ("PEX-INFO", "myapp/__init__.py", "myapp/main.py", "myapp/cli.py", "myapp/data.txt"):
            assert want in names, f"{want} not in app.pex: {names}"
        assert zf.read("myapp/main.py") == (src / "myapp/main.py").read_bytes()
    # No wheel is embedded: the pex is dehydrated.
    assert not [n for n in names if n.endswith(".whl")], names
    assert pex.stat().st_size < 8 * 1024 * 1024, f"app.pex is {pex.stat().st_size} bytes"

    # unzip lists it too, with no complaint about the prepended stub (offsets are absolute).
    unzip = shutil.which("unzip")
    assert unzip, "unzip is not installed (.ci/run installs it)"
    u = run([unzip, "-l", pex], env=e2e.env(), timeout=60)
    assert u.returncode == 0, describe(u)
    for want in ("PEX-INFO", "myapp/main.py"):
        assert want in u.stdout, describe(u)
    t = run([unzip, "-tq", pex], env=e2e.env(), timeout=60)
    assert t.returncode == 0, describe(t)

    # PEX-INFO: compact JSON with sorted keys, as pex writes it.
    raw = pex_info_bytes(pex)
    info = json.loads(raw)
    assert raw.decode() == json.dumps(info, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for key in ("entry_point", "requirements", "interpreter_constraints", "inherit_path", "inject_args",
                "inject_env", "strip_pex_env", "dehydrated_requirements"):
        assert key in info, f"PEX-INFO lacks {key}: {sorted(info)}"
    assert info["entry_point"] == "myapp.main:run"
    assert info["inherit_path"] == "false"
    assert info["interpreter_constraints"] == []
    assert info["inject_args"] == [] and info["inject_env"] == {}

    # Every locked file of every package, with its URL, hash and size.
    assert actual_dehydrated(info) == expected_dehydrated(files, e2e.index.files_url)
    numpy = next(r for r in info["dehydrated_requirements"] if r["name"] == "numpy")
    assert {w["filename"] for w in numpy["wheels"]} == {e2e.wheels.numpy_manylinux.name, e2e.wheels.numpy_musl.name}


def test_build_is_byte_identical_for_same_inputs(e2e):
    files = e2e.files(*REQUESTS_PROJECTS, "pyyaml")
    lock = e2e.pylock(files)
    src = e2e.app_sources(["yaml"])
    a, _ = e2e.build("--lock", lock, "-D", src, "-e", "myapp.main:run", out="a/app.pex")
    b, _ = e2e.build("--lock", lock, "-D", src, "-e", "myapp.main:run", out="b/app.pex")
    assert a.read_bytes() == b.read_bytes(), "two builds of the same inputs differ"


def test_build_makes_the_output_folder(e2e):
    """`-o dist/deep/app.pex` in a clean checkout: the folders are made, as pex makes them."""
    lock = e2e.pylock(e2e.files("idna"))
    src = e2e.app_sources(["idna"])
    out = e2e.tmp / "dist" / "deep" / "app.pex"
    r = e2e.dpex_cmd("build", "--lock", lock, "-D", src, "-e", "myapp.main:run", "-o", out)
    assert_ok(r)
    assert_ok(e2e.run_pex(out))
    # A folder that cannot be made: one error naming it.
    (e2e.tmp / "file").write_text("")
    r = e2e.dpex_cmd("build", "--lock", lock, "-D", src, "-e", "myapp.main:run", "-o", e2e.tmp / "file" / "app.pex")
    assert_clean_error(r, str(e2e.tmp / "file"), "-o")


def test_build_ignores_source_mtimes(e2e):
    files = e2e.files("idna")
    lock = e2e.pylock(files)
    src = e2e.app_sources(["idna"])
    a, _ = e2e.build("--lock", lock, "-D", src, "-e", "myapp.main:run", out="a/app.pex")
    for p in src.rglob("*"):
        os.utime(p, (1_700_000_000, 1_700_000_000))
    b, _ = e2e.build("--lock", lock, "-D", src, "-e", "myapp.main:run", out="b/app.pex")
    assert a.read_bytes() == b.read_bytes(), "touching the sources changed app.pex (timestamps leak into the zip)"


def test_build_from_requirements_matches_pylock(e2e):
    files = e2e.files(*FULL_PROJECTS)
    req = e2e.requirements(files)
    src = e2e.app_sources(["yaml"])
    before = e2e.index.mark()
    pex_r, r = e2e.build("-r", req, "--index-url", e2e.index.simple_url, "-D", src, "-e", "myapp.main:run",
                         out="r/app.pex")
    assert not e2e.index.file_gets(since=before), "build from requirements downloaded wheels"
    assert e2e.index.simple_gets(since=before), "build from requirements never asked the index"
    pex_l, _ = e2e.build("--lock", e2e.pylock(files), "-D", src, "-e", "myapp.main:run", out="l/app.pex")
    assert actual_dehydrated(pex_info(pex_r)) == actual_dehydrated(pex_info(pex_l))


def test_build_records_options(e2e):
    lock = e2e.pylock(e2e.files("idna"))
    src = e2e.app_sources(["idna"])
    pex, _ = e2e.build("--lock", lock, "-D", src, "-e", "myapp.main:run",
                       "--interpreter-constraint", "CPython==3.11.*", "--inherit-path", "fallback",
                       "--inject-args=--from-inject x", "--inject-env", "GREETING=hello")
    info = pex_info(pex)
    assert info["interpreter_constraints"] == ["CPython==3.11.*"]
    assert info["inherit_path"] == "fallback"
    assert info["inject_args"] == ["--from-inject", "x"]
    assert info["inject_env"] == {"GREETING": "hello"}

    pex, _ = e2e.build("--lock", lock, "-D", src, "-m", "myapp.cli", out="m/app.pex")
    assert pex_info(pex)["entry_point"] == "myapp.cli"
    pex, _ = e2e.build("--lock", lock, "-D", src, out="none/app.pex")
    info = pex_info(pex)
    assert not info.get("entry_point") and not info.get("script"), info

    tool_lock = e2e.pylock(e2e.files("toolpkg", "pyyaml"), name="tool.toml")
    pex, _ = e2e.build("--lock", tool_lock, "-D", src, "-c", "toolcli", out="c/tool.pex")
    assert pex_info(pex)["script"] == "toolcli"


def test_pylock_marker_is_recorded(e2e):
    files = e2e.files("idna", "certifi")
    lock = e2e.pylock(files, markers={"certifi": 'sys_platform == "win32"'})
    pex, _ = e2e.build("--lock", lock, "-D", e2e.app_sources(["idna"]), "-e", "myapp.main:run")
    reqs = {r["name"]: r for r in pex_info(pex)["dehydrated_requirements"]}
    assert reqs["certifi"]["marker"] == 'sys_platform == "win32"'
    assert not reqs["idna"].get("marker")
