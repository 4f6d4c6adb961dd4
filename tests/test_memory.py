"""A cold start's memory: a wheel is unpacked as it streams in, holding only
the buffers of the entry being written; downloaded whole instead
(DPEX_STREAM_UNPACK=0), a wheel bigger than the download budget goes to a file,
and unpacking it keeps only the part being inflated resident (the map's pages
are dropped as they are used). Either way a torch-sized wheel does not cost its
size in RSS (bench/results-torch.md measures the real one)."""

import os
import subprocess

import pytest

from support.harness import PY311
from support.pylock import write_pylock
from support.wheelmaker import make_wheel

BIG = 128 << 20  # random bytes: the wheel is as big as its entry


# Started from a fresh small python, not from pytest: a child's peak RSS counts
# the memory of the process it was forked from, before its exec.
MEASURE = ("import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:]); _, status, usage = os.wait4(p.pid, 0); "
           "print('PEAK', usage.ru_maxrss, file=sys.stderr); sys.exit(os.waitstatus_to_exitcode(status))")


def peak_rss_kib(argv, env):
    """Run argv; (exit status, stdout, stderr, peak RSS of the process in KiB).
    The launcher and the python it execs are one process: its peak covers both."""
    r = subprocess.run([PY311, "-S", "-c", MEASURE, *argv], env=env, capture_output=True, text=True,
                       timeout=300)
    peak = int(r.stderr.rsplit("PEAK ", 1)[1].split()[0])
    return r.returncode, r.stdout, r.stderr, peak


# Streamed: a few 256 KiB buffers beside the launcher and python. Through a file: a few
# 16 MiB pieces of the map. A whole-file map, or the wheel in memory: over 128 MiB.
@pytest.mark.parametrize("how,limit_mib", [
    ({}, 64),
    ({"DPEX_STREAM_UNPACK": "0", "DPEX_DOWNLOAD_MEMORY": "0"}, 96),
], ids=["stream", "file"])
def test_unpacking_a_big_wheel_does_not_hold_it_in_memory(e2e, tripwire, tmp_path, how, limit_mib):
    wheels = tmp_path / "wheels"
    big = make_wheel(wheels, "bigblob", "1.0", {"bigblob/__init__.py": "", "bigblob/blob.bin": os.urandom(BIG)})
    assert big.stat().st_size > BIG
    lock = write_pylock(tmp_path / "pylock.toml", [big], tripwire.url + "/files")
    pex, _ = e2e.build("--lock", lock)
    code = ("import bigblob, os; "
            "print('SIZE', os.path.getsize(os.path.join(os.path.dirname(bigblob.__file__), 'blob.bin')))")
    env = e2e.env({"DPEX_FIND_LINKS": str(wheels), "PEX_VERBOSE": "2", **how})
    status, out, err, peak = peak_rss_kib([str(pex), "-c", code], env)
    assert status == 0 and f"SIZE {BIG}" in out, (status, out, err)
    assert tripwire.hits == 0
    streamed = "fetched and unpacked in" in err
    assert streamed == (not how), err
    assert peak < limit_mib * 1024, f"peak RSS {peak // 1024} MiB for a {BIG >> 20} MiB wheel"
