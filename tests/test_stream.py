"""Wheels unpacked while their bytes arrive (launcher/src/install/stream.rs):
the same cache entries, byte for byte and mode for mode, as downloading each
wheel whole and then unpacking it (DPEX_STREAM_UNPACK=0), with one GET per
wheel; a wheel the stream reader defers (data descriptors) is fetched again and
unpacked whole, and runs."""

import hashlib
import os
import zipfile

from support import apps
from support.apps import FULL_PROJECTS
from support.harness import PY311, assert_ok, describe, tagged_json
from support.pylock import write_pylock


def entries_tree(root):
    """{wheel entry/relative path: (sha256, mode)} of every file in the cache's wheel entries."""
    out = {}
    wheels = root / "1" / "wheels"
    for entry in sorted(os.listdir(wheels)):
        if entry.startswith("."):
            continue
        base = wheels / entry
        for folder, _dirs, files in os.walk(base):
            for name in files:
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, wheels)
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                out[rel] = (digest, os.lstat(path).st_mode)
    return out


def test_streamed_entries_equal_whole_downloads(e2e):
    files = e2e.files(*FULL_PROJECTS)
    pex = e2e.build_app(files, imports=apps.FULL_IMPORTS)
    env = {"APP_FETCH_URL": e2e.index.simple_url + "/", "PEX_VERBOSE": "2"}
    streamed = e2e.run_pex(pex, env=env)
    assert streamed.returncode == 0, describe(streamed)
    wanted = {f.name for f in files if "musllinux" not in f.name}
    for name in wanted:
        assert f"dpex: {name}: fetched and unpacked in" in streamed.stderr, name + describe(streamed)
    assert "unpacking after the download instead" not in streamed.stderr, describe(streamed)
    assert e2e.index.file_gets() == {n: 1 for n in wanted}

    whole_root = e2e.tmp / "whole-root"
    mark = e2e.index.mark()
    whole = e2e.run_pex(pex, env={**env, "DPEX_STREAM_UNPACK": "0", "DPEX_ROOT": str(whole_root)})
    assert whole.returncode == 0, describe(whole)
    assert "fetched and unpacked in" not in whole.stderr, describe(whole)
    assert e2e.index.file_gets(since=mark) == {n: 1 for n in wanted}
    assert tagged_json(streamed.stdout, "APP")["modules"].keys() == tagged_json(whole.stdout, "APP")["modules"].keys()

    a, b = entries_tree(e2e.root), entries_tree(whole_root)
    assert len(a) > 1000, len(a)  # numpy and friends: real wheels, thousands of files
    differ = sorted(set(a) ^ set(b)) + sorted(k for k in set(a) & set(b) if a[k] != b[k])
    assert not differ, differ[:20]


class _Unseekable:
    """A write-only stream: zipfile then writes a data descriptor after each entry."""

    def __init__(self):
        self.data = bytearray()

    def write(self, b):
        self.data += b
        return len(b)

    def flush(self):
        pass


def descriptor_wheel(folder):
    """A wheel written as a stream: sizes and CRCs after each entry's data."""
    stream = _Unseekable()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("ddmod/__init__.py", "VALUE = 'descriptor wheel imported'\n" + "# padding\n" * 500)
        script = zipfile.ZipInfo("ddmod-1.0.data/scripts/dd-tool")
        script.external_attr = 0o100755 << 16
        script.create_system = 3
        z.writestr(script, "#!python\nprint('dd-tool')\n")
        z.writestr("ddmod-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: ddmod\nVersion: 1.0\n")
        z.writestr("ddmod-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr("ddmod-1.0.dist-info/RECORD", "")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ddmod-1.0-py3-none-any.whl"
    path.write_bytes(bytes(stream.data))
    # The general-purpose flag's bit 3 (data descriptor) is set in the local headers.
    assert zipfile.ZipFile(path).infolist()[0].flag_bits & 0x08
    return path


def test_a_wheel_with_data_descriptors_is_fetched_again_and_unpacked_whole(e2e, index_factory):
    whl = descriptor_wheel(e2e.tmp / "served")
    srv = index_factory("descriptors", directory=whl.parent)
    lock = write_pylock(e2e.tmp / "dd.toml", [whl], srv.files_url)
    pex, _ = e2e.build("--lock", lock, out="dd.pex")
    r = assert_ok(e2e.run_pex(pex, "-c", "import ddmod; print(ddmod.VALUE)", env={"PEX_VERBOSE": "2"}))
    assert "descriptor wheel imported" in r.stdout, describe(r)
    assert f"dpex: {whl.name}: unpacking after the download instead" in r.stderr, describe(r)
    assert "gives its sizes after its data" in r.stderr, describe(r)
    # Streamed once (deferred), then downloaded whole: two GETs, both hash-checked.
    assert srv.file_gets() == {whl.name: 2}
    entry = e2e.root / "1" / "wheels" / hashlib.sha256(whl.read_bytes()).hexdigest()
    tool = entry / "scripts" / "dd-tool"
    assert tool.is_file() and os.stat(tool).st_mode & 0o777 == 0o755, sorted(os.listdir(entry))
    assert not (entry / "site" / "ddmod-1.0.data").exists()


def test_the_stub_inflates_with_what_dpex_reports_and_ci_ships_isa_l(e2e):
    """launcher/src/install/inflate.rs: `dpex --version` says what each embedded launcher
    and dpex itself (hydrate) inflate with, and a cold start's and a `dpex hydrate`'s
    PEX_VERBOSE=2 logs agree. CI installs nasm and
    autotools, so there the x86_64 launcher must be ISA-L's. Its entries are checked
    independently of any inflater by `dpex cache verify` (every file against its wheel's
    RECORD sha256), streamed and unpacked whole."""
    import platform
    import re

    version = assert_ok(e2e.dpex_cmd("--version")).stdout
    arch = {"x86_64": "x86_64", "aarch64": "aarch64"}[platform.machine()]
    inflater = re.search(rf"{arch} (?:inflates )?with ([a-z-]+)", version)  # "..., aarch64 with X"
    assert inflater, version
    inflater = inflater.group(1)
    if os.environ.get("CI") == "true" and arch == "x86_64":
        assert inflater == "isa-l", version
    files = e2e.files(*FULL_PROJECTS)
    pex = e2e.build_app(files, imports=apps.FULL_IMPORTS)
    env = {"APP_FETCH_URL": e2e.index.simple_url + "/", "PEX_VERBOSE": "2"}
    for stream in ("1", "0"):
        root = e2e.tmp / f"root-{stream}"
        r = e2e.run_pex(pex, env={**env, "DPEX_STREAM_UNPACK": stream, "DPEX_ROOT": str(root)})
        assert r.returncode == 0, describe(r)
        assert f"inflating with {inflater}" in r.stderr, describe(r)
        assert "unpacking after the download instead" not in r.stderr, describe(r)
        verified = assert_ok(e2e.dpex_cmd("cache", "verify", env=e2e.env(root=root)))
        assert "all wheel entries match their RECORD" in verified.stdout, describe(verified)
    # `dpex hydrate` unpacks in dpex's own process: what --version says for it, checked the
    # same way (CI builds dpex with its isal feature: scripts/test).
    own = re.search(r"dpex inflates with ([a-z-]+)", version)
    assert own, version
    own = own.group(1)
    if os.environ.get("CI") == "true" and arch == "x86_64":
        assert own == "isa-l", version
    for stream in ("1", "0"):
        root = e2e.tmp / f"hydrated-{stream}"
        r = e2e.dpex_cmd("hydrate", pex, "--python", PY311, timeout=300, env=e2e.env(
            {"DPEX_STREAM_UNPACK": stream, "PEX_VERBOSE": "2"}, root=root, python=None))
        assert r.returncode == 0, describe(r)
        assert f"inflating with {own}" in r.stderr, describe(r)
        verified = assert_ok(e2e.dpex_cmd("cache", "verify", env=e2e.env(root=root)))
        assert "all wheel entries match their RECORD" in verified.stdout, describe(verified)
