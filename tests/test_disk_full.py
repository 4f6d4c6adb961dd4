"""A cache on a small, full filesystem (ENOSPC): a clear error, nothing
half-published, and the next run on a roomier cache works."""

import os
import subprocess

import pytest

from support.harness import assert_clean_error, assert_ok


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4M", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_disk_full_is_a_clear_error_and_leaves_nothing_half_published(e2e, small_fs, tmp_path):
    files = e2e.files("numpy", "idna")
    pex = e2e.build_app(files, entry_point=None)
    root = small_fs / "cache"
    r = e2e.run_pex(pex, "-c", "import numpy", env={"DPEX_ROOT": str(root)})
    assert_clean_error(r, "disk is full", "DPEX_ROOT")
    numpy_sha = e2e.wheels.sha256(e2e.wheels.numpy_manylinux.name)
    wheels = root / "1" / "wheels"
    published = [p.name for p in wheels.iterdir() if not p.name.startswith(".")] if wheels.exists() else []
    assert numpy_sha not in published, published
    leftovers = [p.name for p in wheels.iterdir() if ".work" in p.name] if wheels.exists() else []
    assert leftovers == [], leftovers
    for kind in ("sites", "envs"):
        assert not (root / "1" / kind).exists() or not any(
            not p.name.startswith(".") for p in (root / "1" / kind).iterdir()), kind
    # A roomier cache: works.
    r = assert_ok(e2e.run_pex(pex, "-c", "import numpy; print(numpy.arange(4).sum())",
                              env={"DPEX_ROOT": str(tmp_path / "roomy")}))
    assert r.stdout.strip() == "6"
