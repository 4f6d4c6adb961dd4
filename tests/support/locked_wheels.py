"""Wheel sets of the engine tests (Spark, Dask), each from its own lock of real PyPI files,
kept in ${DPEX_TEST_CACHE:-<repo>/.dpex-test}/<name>-wheels by scripts/fetch-test-wheels
(which also builds the wheel of a locked sdist: pyspark publishes no wheel)."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def ensure(name):
    """The wheel files (Paths) of tests/<name>.lock.txt, fetched (and built) when missing."""
    lock = REPO / "tests" / f"{name}.lock.txt"
    dest = Path(os.environ.get("DPEX_TEST_CACHE") or REPO / ".dpex-test") / f"{name}-wheels"
    r = subprocess.run([sys.executable, str(REPO / "scripts" / "fetch-test-wheels"), "--lock", str(lock),
                        "--dest", str(dest)], capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"scripts/fetch-test-wheels --lock {lock} failed:\n{r.stdout}\n{r.stderr}")
    return sorted(dest.glob("*.whl"))
