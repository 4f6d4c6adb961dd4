"""Dask on dpex apps (issue 12, item 2; docs/distributed.md, "Dask").

One interpreter-mode app (no entry point) locks distributed, dask, numpy and pandas
(tests/dask.lock.txt, real PyPI wheels) and carries the job's module. A scheduler and two
workers are started from it as dask documents them (`python -m distributed.cli.dask_scheduler`,
`... dask_worker`, here `./app.pex -m ...`), each with its own cold cache: one worker's cache
is unwritable (its HOME and DPEX_ROOT under /sys), so it runs from the per-user fallback
with one warning. A client (`./app.pex client.py`) maps a numpy/pandas function over the
workers, then restarts them through their nannies: the new worker processes reuse the
hydrated environments (no new download, no new environment). A worker killed during its
cold hydration leaves a cache the next worker on that node starts from.
"""

import json
import os
import signal
import time

import pytest

from support import locked_wheels
from support.dask import CLIENT, JOBS, DaskCluster
from support.harness import describe
from support.index_server import IndexServer

pytestmark = pytest.mark.slow




@pytest.fixture(scope="module")
def dask_files():
    return locked_wheels.ensure("dask")


@pytest.fixture
def dask_index(tmp_path, dask_files):
    srv = IndexServer(dask_files[0].parent, tmp_path / "dask-index.log").start()
    yield srv
    srv.stop()


@pytest.fixture
def dask_app(e2e, dask_files, dask_index):
    src = e2e.sources({"jobs.py": JOBS, "client.py": CLIENT}, name="dask-src")
    (e2e.tmp / "client.py").write_text(CLIENT)
    lock = e2e.pylock(dask_files, base_url=dask_index.files_url, name="dask-pylock.toml")
    pex, _ = e2e.build("--lock", lock, "-D", src, out="dask-app.pex")
    return pex


@pytest.fixture
def cluster(e2e, dask_app):
    c = DaskCluster(e2e.tmp, dask_app, e2e.env)
    yield c
    c.stop_all()


def client(e2e, pex, address, *args, root):
    r = e2e.run_pex(pex, "client.py", address, *args, env={"DPEX_ROOT": root}, timeout=600)
    assert r.returncode == 0 and "RESULT " in r.stdout, describe(r)
    return json.loads(r.stdout.split("RESULT ", 1)[1].splitlines()[0]), r


def envs_of(root):
    d = root / "1" / "envs"
    return sorted(p.name for p in d.iterdir() if not p.name.startswith(".")) if d.is_dir() else []


def test_a_dask_cluster_runs_from_dpex_apps_with_cold_caches(e2e, dask_app, dask_index, cluster, tmp_path):
    roots = {name: tmp_path / f"{name}-root" for name in ("scheduler", "worker-a", "client")}
    # The second worker's node: a HOME and DPEX_ROOT nobody can write (/sys refuses mkdir, even to
    # root), as in a YARN container; the per-user fallback cache lives in its TMPDIR.
    node_b_tmp = tmp_path / "node-b-tmp"
    node_b_tmp.mkdir()
    unwritable = {"HOME": "/sys/dpex-test-home", "DPEX_ROOT": "/sys/dpex-test-home/cache", "TMPDIR": node_b_tmp}
    fallback = node_b_tmp / f"dpex-{os.getuid()}"

    cluster.scheduler({"DPEX_ROOT": roots["scheduler"]})
    cluster.worker("worker-a", {"DPEX_ROOT": roots["worker-a"]})
    cluster.worker("worker-b", unwritable)
    started = time.monotonic()
    out, r = client(e2e, dask_app, cluster.address, "restart", root=roots["client"])
    cold_s = time.monotonic() - started

    # The job ran on both workers, each in a dpex environment of its own cache.
    assert [x["sum"] for x in out["results"]] == [n * (n + 1) // 2 for n in range(8)], out
    assert [x["sum"] for x in out["after"]] == [n * (n + 1) // 2 for n in range(8, 16)], out
    prefixes = {w["prefix"] for w in out["workers"].values()}
    assert len(out["workers"]) == 2 and len(prefixes) == 2, out["workers"]
    a_prefix = next(p for p in prefixes if p.startswith(str(roots["worker-a"])))
    b_prefix = next(p for p in prefixes if p.startswith(str(fallback)))
    assert {x["prefix"] for x in out["results"] + out["after"]} <= {a_prefix, b_prefix}, out

    # The nannies restarted the workers: new processes, the same environments, nothing fetched again.
    assert {w["prefix"] for w in out["workers_after"].values()} == prefixes, out["workers_after"]
    pids_before = {w["pid"] for w in out["workers"].values()}
    assert not pids_before & {w["pid"] for w in out["workers_after"].values()}, "the workers were not restarted"
    assert envs_of(roots["worker-a"]) == [os.path.basename(a_prefix)]
    assert envs_of(fallback) == [os.path.basename(b_prefix)]
    gets = dask_index.file_gets()
    hydrated = [roots["scheduler"], roots["worker-a"], fallback, roots["client"]]
    wheels_per_cache = {str(r): len(list((r / "1" / "wheels").iterdir())) for r in hydrated}
    assert max(gets.values()) == len(hydrated), (gets, wheels_per_cache)  # one download per cache

    # The unwritable node warned once (its one cold start), not per task or restart.
    b_log = cluster.log("worker-b")
    assert b_log.count("cannot write the cache") == 1, b_log[-3000:]

    # Warm: a second client, the same cluster.
    started = time.monotonic()
    out2, _ = client(e2e, dask_app, cluster.address, root=roots["client"])
    warm_s = time.monotonic() - started
    assert [x["sum"] for x in out2["results"]] == [n * (n + 1) // 2 for n in range(8)]
    print(f"dask: cold cluster + job + restart {cold_s:.1f} s; warm job {warm_s:.1f} s")


def test_a_worker_killed_during_its_cold_hydration_leaves_a_node_that_starts(e2e, dask_files, tmp_path):
    # A slow origin (8 MB/s): the worker is killed while its wheels are still coming in.
    origin = IndexServer(dask_files[0].parent, tmp_path / "slow.log", rate=8 << 20).start()
    try:
        src = e2e.sources({"jobs.py": JOBS}, name="dask-src")
        (e2e.tmp / "client.py").write_text(CLIENT)
        lock = e2e.pylock(dask_files, base_url=origin.files_url, name="dask-pylock.toml")
        pex, _ = e2e.build("--lock", lock, "-D", src, out="dask-app.pex")
        c = DaskCluster(e2e.tmp, pex, e2e.env)
        root = tmp_path / "node-root"
        try:
            proc = c.worker("worker-killed", {"DPEX_ROOT": root})
            deadline = time.monotonic() + 60
            while not origin.file_gets() and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.5)
            assert proc.poll() is None, "the worker finished hydrating before the kill: " + c.log("worker-killed")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            assert not envs_of(root), "an environment was published by a killed hydration"
        finally:
            c.stop_all()
        # The next worker on that node (same cache) and a whole cluster run the job.
        origin.link.rate = 1 << 40  # full speed again
        c = DaskCluster(e2e.tmp, pex, e2e.env)
        try:
            c.scheduler({"DPEX_ROOT": tmp_path / "sched-root"})
            c.worker("worker-a", {"DPEX_ROOT": root})
            c.worker("worker-b", {"DPEX_ROOT": tmp_path / "other-root"})
            out, _ = client(e2e, pex, c.address, root=tmp_path / "client-root")
            assert [x["sum"] for x in out["results"]] == [n * (n + 1) // 2 for n in range(8)]
            assert any(w["prefix"].startswith(str(root)) for w in out["workers"].values()), out["workers"]
        finally:
            c.stop_all()
    finally:
        origin.stop()
