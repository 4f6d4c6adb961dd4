"""Hostile input: wheels that try to escape or lie (with correct hashes, so the
hash check passes) and damaged or forged app files. Each is refused with a
clear error, never a panic, and leaves no cache entry."""

import io
import json
import os
import stat
import struct
import zipfile
import zlib

import pytest

from support.harness import assert_clean_error, assert_no_panic, assert_ok, describe, pex_info
from support.pylock import write_pylock

WHEEL_META = "Wheel-Version: {v}\nGenerator: dpex-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def wheel_bytes(entries, *, project="evil", version="1.0", wheel_version="1.0", dist_name=None):
    """A wheel of `project` with `entries` [(ZipInfo or name, bytes)], plus its metadata."""
    buf = io.BytesIO()
    dist = f"{dist_name or project}-{version}.dist-info"
    with zipfile.ZipFile(buf, "w") as z:
        for info, data in entries:
            z.writestr(info, data)
        z.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n")
        z.writestr(f"{dist}/WHEEL", WHEEL_META.format(v=wheel_version))
        z.writestr(f"{dist}/RECORD", "")
    return buf.getvalue()


def patch_name(data, old, new):
    """Rename an entry in both its local header and the central directory."""
    assert len(old) == len(new) and data.count(old) == 2, (old, data.count(old))
    return data.replace(old, new)


def run_wheel(e2e, tripwire, tmp_path, data, *, env=None, project="evil", version="1.0", code="import evil"):
    wheels = tmp_path / "wheels"
    wheels.mkdir(exist_ok=True)
    whl = wheels / f"{project}-{version}-py3-none-any.whl"
    whl.write_bytes(data)
    lock = write_pylock(tmp_path / f"{whl.name}.toml", [whl], tripwire.url + "/files")
    pex, _ = e2e.build("--lock", lock, out=f"{whl.name}.pex")
    r = e2e.run_pex(pex, "-c", code, env={"DPEX_FIND_LINKS": str(wheels), **(env or {})})
    return r, whl


def assert_refused(e2e, r, whl, *needles):
    import hashlib
    assert_clean_error(r, whl.name, *needles)
    sha = hashlib.sha256(whl.read_bytes()).hexdigest()
    wheels = e2e.root / "1" / "wheels"
    if wheels.exists():
        assert sha not in os.listdir(wheels), "a refused wheel was published"
        assert not [p for p in os.listdir(wheels) if ".work" in p], os.listdir(wheels)


def symlink_info(name):
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


REFUSING = "refusing to unpack evil-1.0-py3-none-any.whl: "

# case: (builder, the reason the launcher gives for refusing it)
CASES = {
    "absolute path": (lambda: wheel_bytes([("/tmp/dpex-escape-abs.py", b"x")]),
                      REFUSING + 'the entry "/tmp/dpex-escape-abs.py" has an absolute or backslash path'),
    "dot-dot": (lambda: wheel_bytes([("evil/../../dpex-escape-dd.py", b"x")]),
                REFUSING + 'the entry "evil/../../dpex-escape-dd.py" points outside the archive'),
    "drive prefix": (lambda: wheel_bytes([("C:/dpex-escape.py", b"x")]),
                     REFUSING + 'the entry "C:/dpex-escape.py" has a drive prefix'),
    "NUL in a name": (lambda: patch_name(wheel_bytes([("evil/aXb.py", b"x")]), b"evil/aXb.py", b"evil/a\0b.py"),
                      REFUSING + 'the entry "evil/a\\0b.py" has a control character in its name'),
    "control char in a name": (lambda: patch_name(wheel_bytes([("evil/aXb.py", b"x")]), b"evil/aXb.py", b"evil/a\nb.py"),
                               REFUSING + 'the entry "evil/a\\nb.py" has a control character in its name'),
    "duplicate names": (lambda: wheel_bytes([("evil/__init__.py", b"A = 1"), ("evil/__init__.py", b"A = 2")]),
                        REFUSING + 'the entry "evil/__init__.py" appears twice'),
    "symlink out of the tree": (lambda: wheel_bytes([(symlink_info("evil/link"), b"../../../../etc/passwd")]),
                                REFUSING + 'the entry "evil/link" is a symbolic link'),
    "symlink inside the tree": (lambda: wheel_bytes([("evil/__init__.py", b""), (symlink_info("evil/link.py"), b"__init__.py")]),
                                REFUSING + 'the entry "evil/link.py" is a symbolic link'),
    "dist-info of another project": (lambda: wheel_bytes([("evil/__init__.py", b"")], dist_name="other"),
                                     'evil-1.0-py3-none-any.whl is not a valid wheel: it must hold exactly one '
                                     '.dist-info folder for project "evil", and it holds ["other-1.0.dist-info"]'),
    "unknown Wheel-Version": (lambda: wheel_bytes([("evil/__init__.py", b"")], wheel_version="2.0"),
                              'evil-1.0-py3-none-any.whl has Wheel-Version "2.0"; dpex installs only version 1 wheels'),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_wheel_is_refused(e2e, tripwire, tmp_path, case):
    build, reason = CASES[case]
    escapes = ("/tmp/dpex-escape-abs.py", str(tmp_path.parent / "dpex-escape-dd.py"))
    for escaped in escapes:  # a leftover of an earlier run would fail this one
        if os.path.lexists(escaped):
            os.remove(escaped)
    with pytest.warns(UserWarning) if case == "duplicate names" else _nothing():
        data = build()
    r, whl = run_wheel(e2e, tripwire, tmp_path, data)
    assert_refused(e2e, r, whl, "dpex: error: " + reason)
    for escaped in escapes:
        assert not os.path.lexists(escaped), escaped
    assert tripwire.hits == 0


def test_harmless_wheel_from_the_same_builder_is_accepted(e2e, tripwire, tmp_path):
    """The control for the cases above: what gets refused there is the hostile part,
    not something about how wheel_bytes builds a wheel."""
    data = wheel_bytes([("evil/__init__.py", b"A = 'harmless'\n"), ("evil/sub/mod.py", b"B = 2\n")])
    r, whl = run_wheel(e2e, tripwire, tmp_path, data,
                       code="import evil, evil.sub.mod; print(evil.A, evil.sub.mod.B, evil.__file__)")
    assert_ok(r)
    a, b, where = r.stdout.split()
    assert (a, b) == ("harmless", "2"), describe(r)
    import hashlib
    sha = hashlib.sha256(whl.read_bytes()).hexdigest()
    assert os.path.isdir(e2e.root / "1" / "wheels" / sha / "site" / "evil"), describe(r)
    assert tripwire.hits == 0


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_wrong_crc_is_refused(e2e, tripwire, tmp_path):
    data = bytearray(wheel_bytes([("evil/__init__.py", b"print('hello world')\n" * 20)]))
    # Flip the stored CRC-32 of the first entry in its local header and in the central directory.
    crc = struct.pack("<I", zlib.crc32(b"print('hello world')\n" * 20))
    assert data.count(crc) == 2
    data = bytes(data).replace(crc, struct.pack("<I", zlib.crc32(b"other")))
    r, whl = run_wheel(e2e, tripwire, tmp_path, data)
    assert_refused(e2e, r, whl, REFUSING + 'the entry "evil/__init__.py" is corrupt (CRC-32 mismatch)')


def test_local_header_disagreeing_with_central_directory_is_refused(e2e, tripwire, tmp_path):
    data = wheel_bytes([("evil/aaaa.py", b"x = 1\n")])
    first = data.index(b"evil/aaaa.py")  # the local header's copy comes first
    data = data[:first] + b"evil/bbbb.py" + data[first + len(b"evil/aaaa.py"):]
    r, whl = run_wheel(e2e, tripwire, tmp_path, data)
    assert_refused(e2e, r, whl, REFUSING + 'the local header names "evil/bbbb.py" where the central directory says "evil/aaaa.py"')


def test_zip_bomb_is_capped(e2e, tripwire, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("evil/__init__.py", b"")
        z.writestr("evil/bomb.bin", b"\0" * (64 << 20))
        z.writestr("evil-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n")
        z.writestr("evil-1.0.dist-info/WHEEL", WHEEL_META.format(v="1.0"))
        z.writestr("evil-1.0.dist-info/RECORD", "")
    r, whl = run_wheel(e2e, tripwire, tmp_path, buf.getvalue(), env={"DPEX_MAX_UNPACKED_SIZE": str(16 << 20)})
    assert_refused(e2e, r, whl, REFUSING + f"it would unpack to more than {16 << 20} bytes (DPEX_MAX_UNPACKED_SIZE)")


def test_declared_size_that_lies_is_refused(e2e, tripwire, tmp_path):
    payload = b"x = 1\n" * 100
    data = bytearray(wheel_bytes([("evil/__init__.py", payload)]))
    size = struct.pack("<I", len(payload))
    # Stored entries carry the size twice per header (compressed, uncompressed): claim 4 GiB - 1.
    data = bytes(data).replace(size + size, size + struct.pack("<I", 0xFFFFFFFF))
    r, whl = run_wheel(e2e, tripwire, tmp_path, data)
    assert_refused(e2e, r, whl, REFUSING + 'the entry "evil/__init__.py" holds 600 bytes, not the 4294967295 its header says')


@pytest.mark.parametrize("bits", [stat.S_ISUID, stat.S_ISGID], ids=["setuid", "setgid"])
def test_setuid_bits_are_refused(e2e, tripwire, tmp_path, bits):
    info = zipfile.ZipInfo("evil/tool")
    info.external_attr = (stat.S_IFREG | bits | 0o755) << 16
    data = wheel_bytes([("evil/__init__.py", b""), (info, b"#!/bin/sh\n")])
    r, whl = run_wheel(e2e, tripwire, tmp_path, data)
    assert_refused(e2e, r, whl, REFUSING + 'the entry "evil/tool" has setuid or setgid bits')


# -- the app file ------------------------------------------------------------

@pytest.fixture
def good_app(e2e):
    return e2e.build_app(e2e.files("idna"), entry_point=None)


def forge(good, tmp_path, name, mutate_info=None, drop_info=False, raw=None):
    """A copy of `good` whose zip is rewritten (PEX-INFO changed or dropped)."""
    data = good.read_bytes()
    stub_len = zipfile.ZipFile(good).infolist()[0].header_offset
    out = tmp_path / name
    if raw is not None:
        out.write_bytes(raw(data))
    else:
        zin = zipfile.ZipFile(good)
        buf = io.BytesIO()
        buf.write(data[:stub_len])
        with zipfile.ZipFile(buf, "a") as zout:
            for item in zin.infolist():
                body = zin.read(item)
                if item.filename == "PEX-INFO":
                    if drop_info:
                        continue
                    body = mutate_info(body) if mutate_info else body
                zout.writestr(item.filename, body)
        out.write_bytes(buf.getvalue())
    out.chmod(0o755)
    return out


def edit_info(change):
    def mutate(body):
        info = json.loads(body)
        change(info)
        return json.dumps(info).encode()
    return mutate


def first_wheel(info):
    return info["dehydrated_requirements"][0]["wheels"][0]


# case: (how the file is forged, what the error says is wrong with it)
APP_CASES = {
    "truncated": (dict(raw=lambda d: d[:-100]),
                  "has no readable app zip at its end"),
    "PEX-INFO missing": (dict(drop_info=True),
                         "has no PEX-INFO in its zip: it is not a dpex app"),
    "PEX-INFO not JSON": (dict(mutate_info=lambda b: b"{not json"),
                          "PEX-INFO is not valid (key must be a string at line 1"),
    "inherit_path of a wrong type": (dict(mutate_info=edit_info(lambda i: i.update(inherit_path=5))),
                                     "PEX-INFO is not valid (inherit_path must be a string, not 5"),
    "requirements of a wrong type": (dict(mutate_info=edit_info(lambda i: i.update(dehydrated_requirements="idna"))),
                                     'PEX-INFO is not valid (invalid type: string "idna", expected a sequence'),
    "a pin without a hash": (dict(mutate_info=edit_info(lambda i: first_wheel(i).pop("sha256"))),
                             "PEX-INFO is not valid (missing field `sha256`"),
    "a hash that is not sha256 hex": (dict(mutate_info=edit_info(lambda i: first_wheel(i).update(sha256="zz" * 32))),
                                      f'PEX-INFO is not valid ("{"z" * 64}" is not a sha256 digest (64 lowercase hex digits)'),
    # Read as a pin that fits no interpreter: refused when the wheel is chosen, before any download.
    "a file name that is not a wheel name": (
        dict(mutate_info=edit_info(lambda i: first_wheel(i).update(filename="idna.tar.gz"))),
        "no locked wheel of idna 3.20 fits the interpreter /usr/bin/python3.11 (Python 3.11.2). Locked files: idna.tar.gz."),
    # Refused by the fetcher, which never opens a connection for it.
    "a URL with an unsupported scheme": (
        dict(mutate_info=edit_info(lambda i: first_wheel(i).update(url="ftp://index.example.com/idna.whl"))),
        "ftp://index.example.com/idna.whl: unsupported URL scheme in ftp://index.example.com/idna.whl"),
}


# Refused after the app zip was extracted to apps/ but before any wheel was fetched.
REFUSED_AFTER_READ = {"a file name that is not a wheel name", "a URL with an unsupported scheme"}


def cache_entries(root):
    """The published and in-progress entries of wheels/, sites/ and envs/ (lock files aside)."""
    out = []
    for kind in ("wheels", "sites", "envs"):
        d = root / "1" / kind
        if d.is_dir():
            out += [f"{kind}/{n}" for n in os.listdir(d) if not n.endswith((".lck", ".use"))]
    return out


@pytest.mark.parametrize("case", sorted(APP_CASES))
def test_damaged_or_forged_app_file(e2e, good_app, tmp_path, case):
    how, reason = APP_CASES[case]
    bad = forge(good_app, tmp_path, "bad.pex", **how)
    since = e2e.index.mark()
    r = e2e.run_pex(bad, "-c", "import idna")
    assert r.returncode != 0, describe(r)
    assert_no_panic(r)
    err = r.stderr.strip()
    assert err.startswith("dpex: error:") and len(err.splitlines()) <= 6, describe(r)
    assert reason in err, describe(r)
    assert cache_entries(e2e.root) == [], describe(r)
    if case not in REFUSED_AFTER_READ:  # refused while PEX-INFO is read: the cache is not even created
        # (but for launchers/, where a multi-arch app's prelude keeps its launcher, checked by its sha256)
        assert not (e2e.root / "1").exists(), os.listdir(e2e.root)
    assert e2e.index.requests()[since:] == [], "refused, yet it asked the index"


def test_zip_appended_twice_reads_the_last_zip(e2e, tmp_path):
    """Two app zips one after the other: the launcher reads the last one (its
    end-of-central-directory is the file's tail, as for every zip reader,
    Python's zipimport included), PEX-INFO and code alike, never a mix."""
    idna = e2e.files("idna")
    first = e2e.build_app(idna, entry_point="which:main", out="first.pex", lock_name="first.toml",
                          sources=e2e.sources({"which.py": "def main():\n    print('FIRST')\n"}, "src-first"))
    second = e2e.build_app(idna, entry_point="other:main", out="second.pex", lock_name="second.toml",
                           sources=e2e.sources({"which.py": "def main():\n    print('SECOND-CODE, FIRST INFO')\n",
                                                "other.py": "def main():\n    print('SECOND')\n"}, "src-second"))
    stub_len = zipfile.ZipFile(second).infolist()[0].header_offset
    twice = tmp_path / "twice.pex"
    twice.write_bytes(first.read_bytes() + second.read_bytes()[stub_len:])
    twice.chmod(0o755)
    assert_ok(e2e.run_pex(first))  # each app alone runs (and warms the wheel cache)
    r = assert_ok(e2e.run_pex(twice))
    assert r.stdout == "SECOND\n", describe(r)
