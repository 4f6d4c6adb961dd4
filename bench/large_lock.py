#!/usr/bin/env python3
"""Make bench/large.lock.txt: the "large" workload of the benchmark, pinned.

    python3 bench/large_lock.py [--python PYTHON_WITH_PIP]

Run once (the lock is committed); `bench/bench.py --large` only reads the lock
and fetches exactly its files. This resolves the top-level pins below for
CPython 3.11 on manylinux x86_64 with `pip download --only-binary :all:` (with
dependencies, in a clean environment: no PIP_* from the caller), then writes
one `<filename> <sha256>` line per wheel (the format of tests/wheels.lock.txt)
and moves the wheels into the benchmark's cache
(.dpex-test/bench/large-wheels), so the first `--large` run has nothing left
to download.

The set is the "large" workload of the project's reference measurements
(numpy, scipy, pandas, python-dateutil, pytz, tzdata, six, scikit-learn,
pyarrow, matplotlib and their dependencies, plus the small set: requests,
pyyaml and theirs), ~150 MB of wheels.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "bench" / "large.lock.txt"
CACHE = REPO / ".dpex-test" / "bench" / "large-wheels"

sys.path.insert(0, str(REPO / "tests"))
from support.pylock import sha256_of  # noqa: E402

# The versions of the reference measurements; the rest is what pip resolves.
TOP = [
    "numpy==2.4.6", "scipy==1.17.1", "pandas==3.1.1", "python-dateutil", "pytz", "tzdata", "six",
    "scikit-learn==1.9.1", "pyarrow==26.0.1", "matplotlib==3.11.2",
    "requests", "pyyaml",
]
TARGET = ["--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
          "--platform", "manylinux_2_17_x86_64", "--python-version", "3.11", "--implementation", "cp",
          "--abi", "cp311", "--abi", "abi3", "--abi", "none"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", default=str(REPO / ".dpex-test" / "bench" / "tools" / "bin" / "python"),
                    help="an interpreter with pip (default: the benchmark's tools venv)")
    args = ap.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
              "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"):
        if k in os.environ:
            env[k] = os.environ[k]
    with tempfile.TemporaryDirectory(prefix=".resolve-", dir=CACHE) as tmp:
        cmd = [args.python, "-m", "pip", "download", "--only-binary", ":all:", "--no-cache-dir",
               "--progress-bar", "off", "--dest", tmp, *TARGET, *TOP]
        cert = os.environ.get("PIP_CERT")
        if cert and os.path.isfile(cert):
            cmd[4:4] = ["--cert", cert]
        print("large_lock: " + " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, env=dict(env, TMPDIR=tmp), check=True)
        lines = []
        for whl in sorted(Path(tmp).glob("*.whl")):
            lines.append(f"{whl.name} {sha256_of(whl)}")
            os.replace(whl, CACHE / whl.name)
    LOCK.write_text("# The benchmark's large workload (bench/bench.py --large): cp311 manylinux x86_64 wheels.\n"
                    "# One line per file: <filename> <sha256>. Made by bench/large_lock.py.\n"
                    + "\n".join(lines) + "\n")
    total = sum((CACHE / line.split()[0]).stat().st_size for line in lines)
    print(f"large_lock: wrote {LOCK} ({len(lines)} wheels, {total / 1e6:.1f} MB; files in {CACHE})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
