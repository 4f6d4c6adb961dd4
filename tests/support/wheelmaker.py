"""Build small synthetic wheels with a correct RECORD, for edge cases.

    make_wheel(out_dir, "splitpkg-core", "1.0", {"splitpkg/__init__.py": "..."})
    make_wheel(out_dir, "datapkg", "1.0", {...}, data={"purelib": {"datapkg/extra.py": "..."}})
    make_wheel(out_dir, "toolpkg", "1.0", {...},
               entry_points={"console_scripts": {"toolcli": "toolpkg.cli:main"}})
    make_wheel(out_dir, "winonly", "1.0", {...}, tag="py3-none-win_amd64")

The archive is deterministic (fixed timestamps, sorted entries), so the same
arguments give the same bytes and the same sha256.
"""

import base64
import hashlib
import re
import zipfile
from pathlib import Path

_EPOCH = (1980, 1, 1, 0, 0, 0)


def normalize(name):
    """PEP 503 project name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


def dist_name(name):
    """The distribution part of a wheel file name (PEP 427 escaping)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _b(content):
    return content.encode() if isinstance(content, str) else bytes(content)


def _record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel_filename(name, version, tag="py3-none-any", build=None):
    parts = [dist_name(name), version]
    if build:
        parts.append(str(build))
    parts.append(tag)
    return "-".join(parts) + ".whl"


def make_wheel(out_dir, name, version, files, *, tag="py3-none-any", data=None, entry_points=None,
               requires_python=None, requires_dist=(), root_is_purelib=None, summary=None,
               build=None, extra_dist_info=None):
    """Write a wheel into out_dir and return its Path.

    files: {archive path: str|bytes} at the wheel root (package files).
    data: {scheme: {path: str|bytes}} for `<name>-<version>.data/<scheme>/<path>`,
          scheme one of purelib, platlib, scripts, data, headers.
    entry_points: {group: {name: "module:attr"}} -> entry_points.txt.
    tag: "py3-none-any", "cp311-cp311-manylinux_2_17_x86_64", ... (may be a compressed tag set).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dn = dist_name(name)
    dist_info = f"{dn}-{version}.dist-info"
    data_dir = f"{dn}-{version}.data"
    if root_is_purelib is None:
        root_is_purelib = tag.split("-")[-2] == "none" and tag.split("-")[-1] == "any"

    entries = {}
    for path, content in files.items():
        entries[path] = _b(content)
    for scheme, scheme_files in (data or {}).items():
        if scheme not in ("purelib", "platlib", "scripts", "data", "headers"):
            raise ValueError(f"unknown wheel data scheme {scheme!r}")
        for path, content in scheme_files.items():
            entries[f"{data_dir}/{scheme}/{path}"] = _b(content)

    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if summary:
        meta.append(f"Summary: {summary}")
    if requires_python:
        meta.append(f"Requires-Python: {requires_python}")
    for req in requires_dist:
        meta.append(f"Requires-Dist: {req}")
    entries[f"{dist_info}/METADATA"] = ("\n".join(meta) + "\n\n").encode()

    wheel = ["Wheel-Version: 1.0", "Generator: dpex-tests wheelmaker",
             f"Root-Is-Purelib: {'true' if root_is_purelib else 'false'}"]
    py, abi, plats = tag.split("-")[-3:]
    for p in py.split("."):
        for a in abi.split("."):
            for pl in plats.split("."):
                wheel.append(f"Tag: {p}-{a}-{pl}")
    if build:
        wheel.append(f"Build: {build}")
    entries[f"{dist_info}/WHEEL"] = ("\n".join(wheel) + "\n").encode()

    if entry_points:
        lines = []
        for group in sorted(entry_points):
            lines.append(f"[{group}]")
            for ep_name, target in sorted(entry_points[group].items()):
                lines.append(f"{ep_name} = {target}")
            lines.append("")
        entries[f"{dist_info}/entry_points.txt"] = "\n".join(lines).encode()
    for path, content in (extra_dist_info or {}).items():
        entries[f"{dist_info}/{path}"] = _b(content)

    record_path = f"{dist_info}/RECORD"
    record = []
    for path in sorted(entries):
        record.append(f"{path},{_record_hash(entries[path])},{len(entries[path])}")
    record.append(f"{record_path},,")
    entries[record_path] = ("\n".join(record) + "\n").encode()

    # dist-info last, as the wheel spec recommends; RECORD very last.
    order = sorted(p for p in entries if not p.startswith(dist_info + "/"))
    order += sorted(p for p in entries if p.startswith(dist_info + "/") and p != record_path)
    order.append(record_path)

    target = out_dir / wheel_filename(name, version, tag, build)
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in order:
            info = zipfile.ZipInfo(path, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            is_script = path.startswith(f"{data_dir}/scripts/")
            info.external_attr = ((0o100755 if is_script else 0o100644) << 16)
            info.create_system = 3
            zf.writestr(info, entries[path])
    tmp.replace(target)
    return target
