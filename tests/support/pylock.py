"""Write lock inputs for `dpex build`: a PEP 751 pylock.toml, or a hashed
requirements.txt, for a list of wheel files.

Package name and version come from each wheel's file name; files of the same
(name, version) become one [[packages]] entry with several [[packages.wheels]].
`requires-python` is read from the wheel's METADATA when it has one.

    write_pylock("pylock.toml", [Path(".../numpy-2.2.6-...whl"), ...], "http://127.0.0.1:8000/files/")
    write_requirements("requirements.txt", [...])

Run as a script to print a pylock.toml: `python pylock.py BASE_URL WHEEL...`.
"""

import hashlib
import json
import re
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_wheel_filename(filename):
    """-> (normalized name, version, tags string) from `name-version(-build)?-py-abi-plat.whl`."""
    if not filename.endswith(".whl"):
        raise ValueError(f"not a wheel: {filename}")
    parts = filename[:-4].split("-")
    if len(parts) not in (5, 6):
        raise ValueError(f"not a wheel file name: {filename}")
    return normalize(parts[0]), parts[1], "-".join(parts[-3:])


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_hash_lock(path):
    """{filename: sha256} of a lock file of `filename sha256` lines (# comments)."""
    out = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sha = line.split()
            out[name] = sha
    return out


def missing_or_wrong(lock, directory):
    """The file names of `lock` that `directory` lacks or holds with another hash."""
    directory = Path(directory)
    return [f for f, sha in lock.items() if not (directory / f).is_file() or sha256_of(directory / f) != sha]


def wheel_metadata(path):
    """The METADATA headers of a wheel (email.message.Message), or None."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            parts = name.split("/")
            if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
                return HeaderParser().parsestr(zf.read(name).decode("utf-8", "replace"))
    return None


def requires_python_of(path):
    meta = wheel_metadata(path)
    if meta is None:
        return None
    value = meta.get("Requires-Python")
    return value.strip() if value else None


def _toml_str(s):
    # A JSON string of ASCII text is a valid TOML basic string.
    return json.dumps(str(s), ensure_ascii=True)


def group_wheels(wheel_files):
    """[(name, version, [Path, ...])] in a stable order."""
    groups = {}
    for f in wheel_files:
        f = Path(f)
        name, version, _ = parse_wheel_filename(f.name)
        groups.setdefault((name, version), []).append(f)
    return [(n, v, sorted(fs, key=lambda p: p.name)) for (n, v), fs in sorted(groups.items())]


def pylock_text(wheel_files, base_url, *, markers=None, requires_python=None, created_by="dpex-tests",
                url_for=None, include_size=True, include_requires_python=True):
    """Return the text of a pylock.toml.

    base_url: prefix of every wheel URL (a trailing `/` is added if missing);
    url_for(filename) overrides it per file. markers: {name: PEP 508 marker}.
    """
    markers = {normalize(k): v for k, v in (markers or {}).items()}
    if not base_url.endswith("/"):
        base_url += "/"
    out = ['lock-version = "1.0"', f"created-by = {_toml_str(created_by)}"]
    if requires_python:
        out.append(f"requires-python = {_toml_str(requires_python)}")
    out.append("")
    for name, version, files in group_wheels(wheel_files):
        out.append("[[packages]]")
        out.append(f"name = {_toml_str(name)}")
        out.append(f"version = {_toml_str(version)}")
        if name in markers:
            out.append(f"marker = {_toml_str(markers[name])}")
        rp = requires_python_of(files[0]) if include_requires_python else None
        if rp:
            out.append(f"requires-python = {_toml_str(rp)}")
        out.append("")
        for f in files:
            url = url_for(f.name) if url_for else base_url + f.name
            out.append("[[packages.wheels]]")
            out.append(f"name = {_toml_str(f.name)}")
            out.append(f"url = {_toml_str(url)}")
            if include_size:
                out.append(f"size = {f.stat().st_size}")
            out.append(f"hashes = {{sha256 = {_toml_str(sha256_of(f))}}}")
            out.append("")
    return "\n".join(out)


def write_pylock(path, wheel_files, base_url, **kw):
    path = Path(path)
    path.write_text(pylock_text(wheel_files, base_url, **kw))
    return path


def requirements_text(wheel_files, *, style="continuation", comments=True):
    """`name==version --hash=sha256:...` with one --hash per file of the package.

    style "continuation" is pip-compile's layout (backslash-continued lines);
    "single" puts each requirement on one line.
    """
    out = []
    if comments:
        out.append("# Generated by the dpex end-to-end tests; hashes are sha256 of each wheel file.")
    for name, version, files in group_wheels(wheel_files):
        hashes = [f"--hash=sha256:{sha256_of(f)}" for f in files]
        if style == "continuation":
            out.append(f"{name}=={version} \\")
            for i, h in enumerate(hashes):
                out.append(f"    {h}" + (" \\" if i + 1 < len(hashes) else ""))
            if comments:
                out.append(f"    # via dpex-tests")
        elif style == "single":
            out.append(" ".join([f"{name}=={version}", *hashes]))
        else:
            raise ValueError(style)
    return "\n".join(out) + "\n"


def write_requirements(path, wheel_files, **kw):
    path = Path(path)
    path.write_text(requirements_text(wheel_files, **kw))
    return path


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: pylock.py BASE_URL WHEEL...")
    sys.stdout.write(pylock_text(sys.argv[2:], sys.argv[1]))
