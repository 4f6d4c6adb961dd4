"""Spark on dpex apps, as a standalone cluster runs them (issue 12, item 1; docs/distributed.md).

One interpreter-mode app (no entry point) locks pyspark (its wheel built from PyPI's sdist by
scripts/fetch-test-wheels), py4j, numpy, pandas and pyarrow (tests/spark.lock.txt). The app
also provides the Spark installation: a master and two workers run from pyspark's own
`bin/spark-class` in the driver's hydrated environment (Java 17 from Debian). The driver is
`./app.pex job.py`; the job ships the app with `spark.files`, and `PYSPARK_PYTHON=./app.pex`
makes every executor run it from its working directory as its Python (`./app.pex -m
pyspark.daemon`, whose workers fork). Each executor (one per worker, separate JVMs) hydrates
its own cold cache; the second worker's node has an unwritable HOME and cache (as under YARN),
so its executor runs from the per-user fallback, warning once. A pandas UDF job is checked
cold and warm; and an executor killed during its cold hydration does not break the next task
on that node.
"""

import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from support import locked_wheels
from support.harness import assert_ok, describe
from support.index_server import IndexServer, _Link
from support.spark import JOB, SparkCluster, job_result

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("java") is None, reason="no java (.ci/run installs openjdk-17)")]



@pytest.fixture(scope="module")
def spark_files():
    return locked_wheels.ensure("spark")


def spark_home_of(e2e, pex, root):
    r = e2e.run_pex(pex, "-c", "import os, pyspark; print(os.path.realpath(os.path.dirname(pyspark.__file__)))",
                    env={"DPEX_ROOT": root}, timeout=600)
    assert_ok(r)
    return Path(r.stdout.strip().splitlines()[-1])


def java_env(e2e):
    # The JVMs' own settings; everything else as clean as the apps'.
    return e2e.env({"SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1",
                    "SPARK_LOG_DIR": e2e.tmp / "spark-logs", "PYSPARK_PYTHON": "./app.pex"})


def run_job(e2e, pex, url, tag, root):
    # The app ships itself (spark.files) and is every executor's Python (PYSPARK_PYTHON).
    r = e2e.run_pex(pex, "job.py", url, pex, tag, env={"DPEX_ROOT": root, "PYSPARK_PYTHON": "./app.pex"},
                    timeout=900)
    assert r.returncode == 0 and "RESULT " in r.stdout, describe(r)
    return job_result(r.stdout)


def executor_stderr(work_dir):
    return "".join(p.read_text(errors="replace") for p in Path(work_dir).rglob("stderr"))


def build_app(e2e, files, files_url):
    src = e2e.sources({"udfs.py": "# the job's own modules would live here\n"}, name="spark-src")
    (e2e.tmp / "job.py").write_text(JOB)
    lock = e2e.pylock(files, base_url=files_url, name="spark-pylock.toml")
    pex, _ = e2e.build("--lock", lock, "-D", src, out="app.pex")
    return pex


@contextmanager
def spark_on_an_index(e2e, spark_files, tmp_path):
    """The wheels' index, the app built from them, the driver's cache folder, and a running
    master (from the app's own pyspark, hydrated into the driver's cache); all stopped after."""
    index = IndexServer(spark_files[0].parent, tmp_path / "spark-index.log").start()
    cluster = None
    try:
        pex = build_app(e2e, spark_files, index.files_url)
        driver_root = tmp_path / "driver-root"
        cluster = SparkCluster(tmp_path, spark_home_of(e2e, pex, driver_root), java_env(e2e))
        cluster.master()
        yield index, pex, driver_root, cluster
    finally:
        if cluster:
            cluster.stop()
        index.stop()


def test_a_standalone_spark_cluster_runs_a_pandas_udf_job_on_dpex_apps(e2e, spark_files, tmp_path):
    with spark_on_an_index(e2e, spark_files, tmp_path) as (index, pex, driver_root, cluster):
        node_b_tmp = tmp_path / "node-b-tmp"
        node_b_tmp.mkdir()
        cluster.worker("worker-a", {"DPEX_ROOT": tmp_path / "node-a-root"})
        # As under YARN: a HOME (and so a default cache) nobody can write; /sys refuses mkdir.
        cluster.worker("worker-b", {"HOME": "/sys/dpex-test-home", "DPEX_ROOT": None, "TMPDIR": node_b_tmp})
        fallback = node_b_tmp / f"dpex-{os.getuid()}"

        cold = run_job(e2e, pex, cluster.url, "cold", driver_root)
        assert cold["total"] == sum(range(1, 1001)), cold
        prefixes = {p["prefix"] for p in cold["places"]}
        a = [p for p in prefixes if p.startswith(str(tmp_path / "node-a-root"))]
        b = [p for p in prefixes if p.startswith(str(fallback))]
        assert len(a) == 1 and len(b) == 1 and len(prefixes) == 2, prefixes
        # The Python workers ran from the executors' working directories, forked by the daemon.
        for place in cold["places"]:
            assert Path(place["cwd"]).is_relative_to(tmp_path), place
            assert (Path(place["cwd"]) / "app.pex").is_file(), place

        warm = run_job(e2e, pex, cluster.url, "warm", driver_root)
        assert warm["total"] == cold["total"]
        assert {p["prefix"] for p in warm["places"]} == prefixes
        # Each cache fetched each wheel once (the driver's, node a's, node b's fallback).
        gets = index.file_gets()
        assert set(gets.values()) == {3}, gets
        # Node b's executors (one per job) each made or found the fallback environment: one warning in all.
        b_err = executor_stderr(tmp_path / "worker-b-work")
        assert b_err.count("cannot write the cache") == 1, b_err[-4000:]
        shipped = pex.stat().st_size
        wheels = sum(f.stat().st_size for f in spark_files)
        print(f"spark: shipped {shipped / 1e6:.1f} MB instead of {wheels / 1e6:.0f} MB of wheels; "
              f"cold job {cold['seconds']:.1f} s (session {cold['session']:.1f} s, pandas UDF {cold['udf']:.1f} s), "
              f"warm job {warm['seconds']:.1f} s (session {warm['session']:.1f} s, pandas UDF {warm['udf']:.1f} s)")


def test_an_executor_killed_during_its_cold_hydration_does_not_break_the_next_task(e2e, spark_files, tmp_path):
    # The driver's cache is filled at full speed first; then the origin slows down (40 MB/s for
    # every body together) so that executors are still hydrating when one is killed.
    with spark_on_an_index(e2e, spark_files, tmp_path) as (index, pex, driver_root, cluster):
        node_a = tmp_path / "node-a-root"
        cluster.worker("worker-a", {"DPEX_ROOT": node_a})
        cluster.worker("worker-b", {"DPEX_ROOT": tmp_path / "node-b-root"})
        index.link = _Link(40 << 20)
        since = index.mark()
        job = subprocess.Popen([str(pex), "job.py", cluster.url, str(pex), "killed"], cwd=e2e.tmp,
                               env=e2e.env({"DPEX_ROOT": driver_root, "PYSPARK_PYTHON": "./app.pex"}),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Node a's executor is hydrating: its app started (`./app.pex -m pyspark.daemon`) and wheels
        # are coming in. Kill the executor's JVM and everything it started.
        victim = None
        deadline = time.monotonic() + 300
        while victim is None and time.monotonic() < deadline and job.poll() is None:
            victim = hydrating_daemon(node_a) if index.file_gets(since) else None
            time.sleep(0.05)
        assert victim is not None, "no executor of node a was seen hydrating"
        executor_jvm = parent_of(victim)
        time.sleep(0.3)
        kill_tree(executor_jvm)
        index.link.rate = 1 << 40  # full speed again
        out, err = job.communicate(timeout=900)
        assert job.returncode == 0 and "RESULT " in out, f"the job failed after the kill:\n{out[-3000:]}\n{err[-6000:]}"
        result = job_result(out)
        assert result["total"] == sum(range(1, 1001)), result
        # The node's cache serves later tasks: a new executor there ran Python from it.
        assert any(p["prefix"].startswith(str(node_a)) for p in result["places"]), result["places"]
        again = run_job(e2e, pex, cluster.url, "after-kill", driver_root)
        assert again["total"] == result["total"]


def _environ(pid):
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def hydrating_daemon(root):
    """The pid of a `./app.pex -m pyspark.daemon` with DPEX_ROOT=root still in the launcher (its sh
    prelude or the native stub: not yet Python)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        try:
            exe = os.readlink(entry / "exe")
        except OSError:
            continue
        if b"pyspark.daemon" in argv and "python" not in os.path.basename(exe) \
                and _environ(entry.name).get("DPEX_ROOT") == str(root):
            return int(entry.name)
    return None


def parent_of(pid):
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def kill_tree(pid):
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if parent_of(entry.name) == pid:
                    children.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    for child in children:
        kill_tree(child)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
