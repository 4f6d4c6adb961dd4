#!/usr/bin/env python3
"""Spark and Dask on a dehydrated app vs the same app as a full pex built by pex (issue 12;
docs/distributed.md). Writes bench/results-engines.md.

    /usr/bin/python3.11 bench/engines.py [--dpex target/release/dpex] [--rounds 3] [--only spark|dask|fleet]

Both apps are built from the same locked real wheels (tests/spark.lock.txt: pyspark built from
PyPI's sdist, py4j, numpy, pandas, pyarrow; tests/dask.lock.txt: distributed, dask, numpy,
pandas, ...), served by tests/support/index_server.py on 127.0.0.1, with the same sources, as
interpreter-mode apps (no entry point), run by /usr/bin/python3.11.

- Spark: the cluster and job of tests/test_spark.py (tests/support/spark.py): a standalone master
  and two workers (1 core each) from the app's pyspark; the job ships the app with `spark.files`
  and runs its Python workers as `./<app> -m pyspark.daemon` (PYSPARK_PYTHON). Per round and
  tool: a new cluster whose two nodes have empty caches (DPEX_ROOT / PEX_ROOT per worker), the
  job once (cold executors: the shipment, then each node's hydration or pex's unzip), then again
  (new executors on warm caches). The driver's cache is warm for both (filled before the rounds):
  what is compared is the executors' side. Timed by the job itself, from building the
  SparkSession to its results.
- Dask: the cluster and job of tests/test_dask.py (tests/support/dask.py): a scheduler and two
  workers started from the app (`-m distributed.cli.dask_scheduler` / `dask_worker`), each on its
  own empty cache, and a client mapping a numpy/pandas function over them. Timed from starting the
  scheduler to the client's results (cold), then the same with every cache warm.

- Fleet (dpex only; docs/operations.md, "A caching proxy for a fleet"): 16 cold hosts at once (each
  its own DPEX_ROOT and process) on the test wheels (tests/wheels.lock.txt), straight from the
  origin index, through a cold caching nginx (tests/support/nginx.py, named by DPEX_MIRROR), and
  through the same nginx once it holds the wheels. Timed from the first start to the last exit;
  the origin's request log gives the wheel requests and bytes it served.

Tools and rounds are interleaved (dpex, pex, dpex, pex, ...).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench  # noqa: E402  (also puts tests/ on sys.path)
from bench import REPO, base_env, die, machine_info, say, setup_dpex, setup_tools  # noqa: E402
from support import locked_wheels  # noqa: E402
from support.dask import CLIENT, JOBS, DaskCluster  # noqa: E402
from support.index_server import IndexServer  # noqa: E402
from support.nginx import Nginx  # noqa: E402
from support.pylock import write_pylock, write_requirements  # noqa: E402
from support.spark import JOB, SparkCluster, job_result  # noqa: E402

PYTHON = "/usr/bin/python3.11"


def build_apps(dpex, pex_bin, files, index, work, name, sources):
    """-> {tool: (app path, build seconds)} for dpex and pex, from the same wheels and sources."""
    src = work / f"{name}-src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    for rel, text in sources.items():
        (src / rel).write_text(text)
    lock = write_pylock(work / f"{name}-pylock.toml", files, index.files_url)
    req = write_requirements(work / f"{name}-requirements.txt", files)
    apps = {}
    out = work / f"{name}-dpex" / "app.pex"
    out.parent.mkdir(exist_ok=True)
    started = time.monotonic()
    bench.run([dpex, "build", "--lock", lock, "-D", src, "-o", out], env=base_env())
    apps["dpex"] = (out, time.monotonic() - started)
    out = work / f"{name}-pex" / "app.pex"
    out.parent.mkdir(exist_ok=True)
    started = time.monotonic()
    bench.run([pex_bin, "-r", req, "--no-pypi", "--index", index.simple_url, "-D", src, "--python", PYTHON,
               "-o", out], env=base_env(PEX_ROOT=work / "pex-build-root"))
    apps["pex"] = (out, time.monotonic() - started)
    return apps


def app_env(tool, root, **extra):
    """A process of `tool`'s app with its cache at `root` (the other tool's variable is unset)."""
    cache = {"DPEX_ROOT": root} if tool == "dpex" else {"PEX_ROOT": root}
    return base_env(PEX_PYTHON=PYTHON, **cache, **extra)


def spark_rounds(apps, rounds, work):
    # The Spark installation (the cluster's JVMs) comes from the dpex app's pyspark, the same for both.
    driver_roots = {tool: work / f"spark-driver-{tool}" for tool in apps}
    for tool, (app, _) in apps.items():
        r = subprocess.run([app, "-c", "import os, pyspark; print(os.path.realpath(os.path.dirname(pyspark.__file__)))"],
                           env=app_env(tool, driver_roots[tool]), capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            die(f"{tool}: the driver's app does not run:\n{r.stderr[-3000:]}")
        if tool == "dpex":
            spark_home = Path(r.stdout.split()[-1])
    samples = {(tool, phase): [] for tool in apps for phase in ("cold", "warm")}
    for n in range(rounds):
        for tool, (app, _) in apps.items():
            rd = work / f"spark-{tool}-{n}"
            shutil.rmtree(rd, ignore_errors=True)
            rd.mkdir(parents=True)
            (rd / "job.py").write_text(JOB)
            env = base_env(SPARK_LOCAL_IP="127.0.0.1", SPARK_NO_DAEMONIZE=1, SPARK_LOG_DIR=rd / "logs",
                           PEX_PYTHON=PYTHON)
            cluster = SparkCluster(rd, spark_home, env)
            try:
                cluster.master()
                for node in ("a", "b"):
                    cluster.worker(f"worker-{node}", {"DPEX_ROOT": rd / f"node-{node}-dpex",
                                                      "PEX_ROOT": rd / f"node-{node}-pex"})
                for phase in ("cold", "warm"):
                    r = subprocess.run([app, "job.py", cluster.url, app, f"{tool}-{phase}"], cwd=rd,
                                       env=app_env(tool, driver_roots[tool], PYSPARK_PYTHON=f"./{app.name}"),
                                       capture_output=True, text=True, timeout=1800)
                    if r.returncode != 0 or "RESULT " not in r.stdout:
                        die(f"spark {tool} {phase} round {n} failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
                    result = job_result(r.stdout)
                    if result["total"] != sum(range(1, 1001)):
                        die(f"spark {tool} {phase}: wrong total {result['total']}")
                    samples[(tool, phase)].append(result)
                    say(f"spark {tool} {phase} round {n + 1}: job {result['seconds']:.1f} s "
                        f"(session {result['session']:.1f} s, pandas UDF {result['udf']:.1f} s)")
            finally:
                cluster.stop()
            # Each round's caches and the executors' copies are GBs (pyspark is 456 MB).
            shutil.rmtree(rd, ignore_errors=True)
    return samples


def dask_rounds(apps, rounds, work):
    samples = {(tool, phase): [] for tool in apps for phase in ("cold", "warm")}
    for n in range(rounds):
        for tool, (app, _) in apps.items():
            rd = work / f"dask-{tool}-{n}"
            shutil.rmtree(rd, ignore_errors=True)
            rd.mkdir(parents=True)
            (rd / "client.py").write_text(CLIENT)
            roots = {name: rd / f"{name}-root" for name in ("scheduler", "worker-a", "worker-b", "client")}
            for phase in ("cold", "warm"):
                cluster = DaskCluster(rd, app, lambda extra: app_env(tool, extra.pop("ROOT"), **extra))
                started = time.monotonic()
                try:
                    cluster.scheduler({"ROOT": roots["scheduler"]})
                    cluster.worker("worker-a", {"ROOT": roots["worker-a"]})
                    cluster.worker("worker-b", {"ROOT": roots["worker-b"]})
                    r = subprocess.run([app, "client.py", cluster.address], cwd=rd,
                                       env=app_env(tool, roots["client"]), capture_output=True, text=True,
                                       timeout=1800)
                    elapsed = time.monotonic() - started
                finally:
                    cluster.stop_all()
                if r.returncode != 0 or "RESULT " not in r.stdout:
                    die(f"dask {tool} {phase} round {n} failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
                samples[(tool, phase)].append({"seconds": elapsed})
                say(f"dask {tool} {phase} round {n + 1}: cluster start + job {elapsed:.1f} s")
            shutil.rmtree(rd, ignore_errors=True)
    return samples


def fleet_rounds(dpex, tools, rounds, work, hosts=16):
    """-> markdown: 16 cold hosts straight from the origin, through a cold proxy, through a warm one."""
    files = [f for f in bench.setup_wheels(tools) if "musllinux" not in f.name]
    needed_mb = sum(f.stat().st_size for f in files) / 1e6
    origin = IndexServer(files[0].parent, work / "fleet-origin.log").start()
    samples = {k: [] for k in ("origin", "proxy, cold", "proxy, warm")}
    gets = {k: [] for k in samples}
    try:
        src = work / "fleet-src"
        src.mkdir(exist_ok=True)
        (src / "fleet_check.py").write_text(
            "import certifi, charset_normalizer, idna, numpy, requests, setuptools, urllib3, yaml\nprint('fleet-ok')\n")
        lock = write_pylock(work / "fleet-pylock.toml", files, origin.files_url)
        app = work / "fleet-app.pex"
        bench.run([dpex, "build", "--lock", lock, "-D", src, "-m", "fleet_check", "-o", app], env=base_env())
        for n in range(rounds):
            shutil.rmtree(work / f"fleet-nginx-{n}", ignore_errors=True)  # an empty proxy cache
            proxy = Nginx(work / f"fleet-nginx-{n}", origin.url).start()
            try:
                for scenario in samples:
                    rd = work / f"fleet-{n}-{scenario.replace(', ', '-')}"
                    shutil.rmtree(rd, ignore_errors=True)
                    rd.mkdir(parents=True)
                    mirror = {} if scenario == "origin" else {"DPEX_MIRROR": proxy.url}
                    since = origin.mark()
                    started = time.monotonic()
                    procs = [subprocess.Popen([app], env=base_env(PEX_PYTHON=PYTHON, DPEX_ROOT=rd / f"host-{i}",
                                                                  **mirror),
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                             for i in range(hosts)]
                    outs = [p.communicate(timeout=900) for p in procs]
                    elapsed = time.monotonic() - started
                    for p, (out, err) in zip(procs, outs):
                        if p.returncode != 0 or "fleet-ok" not in out:
                            die(f"fleet {scenario}: a host failed:\n{err[-3000:]}")
                    served = origin.file_gets(since)
                    samples[scenario].append(elapsed)
                    gets[scenario].append((sum(served.values()),
                                           sum((files[0].parent / f).stat().st_size * c for f, c in served.items())))
                    say(f"fleet {scenario} round {n + 1}: {elapsed:.2f} s, origin served {sum(served.values())} wheels")
                    shutil.rmtree(rd, ignore_errors=True)
            finally:
                proxy.stop()
    finally:
        origin.stop()
    lines = ["## Fleet: 16 cold hosts at once, straight or through a caching proxy", "",
             f"{rounds} rounds. {hosts} processes started at once, each its own empty DPEX_ROOT, on the test "
             f"wheels ({len(files)} wheels, {needed_mb:.1f} MB); the proxy is nginx with `proxy_cache` and "
             "`proxy_cache_lock` (tests/support/nginx.py), named by `DPEX_MIRROR`; a new, empty proxy cache each "
             "round for the cold row. Timed from the first start to the last exit. Loopback: the origin is "
             "not a bottleneck here, so the time shows the proxy's own cost, and the origin columns show "
             "what a fleet saves an index.", "",
             "| scenario | median s (min–max) | vs straight | origin wheel requests | origin MB |",
             "|---|---:|---:|---:|---:|"]
    base = statistics.median(samples["origin"])
    for scenario, xs in samples.items():
        reqs, sizes = zip(*gets[scenario])
        lines.append(f"| {scenario} | {statistics.median(xs):.2f} ({min(xs):.2f}–{max(xs):.2f}) | "
                     f"{statistics.median(xs) / base:.2f}× | {max(reqs)} | {max(sizes) / 1e6:.1f} |")
    return "\n".join(lines) + "\n"


def table(title, apps, samples, wheels_mb, note):
    def med(tool, phase, key="seconds"):
        return statistics.median(s[key] for s in samples[(tool, phase)])

    def rng(tool, phase):
        xs = [s["seconds"] for s in samples[(tool, phase)]]
        return f"{min(xs):.1f}–{max(xs):.1f}"

    lines = [f"## {title}", "", note, "",
             "| | dpex app | full pex | dpex / pex |", "|---|---:|---:|---:|"]
    d_size, p_size = (apps[t][0].stat().st_size / 1e6 for t in ("dpex", "pex"))
    lines.append(f"| shipped file (MB; the locked wheels: {wheels_mb:.0f} MB) | {d_size:.1f} | {p_size:.1f} | "
                 f"{d_size / p_size:.3f}× |")
    lines.append(f"| build (s) | {apps['dpex'][1]:.2f} | {apps['pex'][1]:.1f} | {apps['dpex'][1] / apps['pex'][1]:.3f}× |")
    for phase, what in (("cold", "first run, empty caches"), ("warm", "again, warm caches")):
        d, p = med("dpex", phase), med("pex", phase)
        lines.append(f"| {what}: median s (min–max) | **{d:.1f}** ({rng('dpex', phase)}) | {p:.1f} "
                     f"({rng('pex', phase)}) | **{d / p:.2f}×** |")
    if "session" in samples[("dpex", "cold")][0]:
        for key, what in (("session", "of which SparkSession and executors up"), ("udf", "of which the pandas UDF stage")):
            for phase in ("cold", "warm"):
                d, p = med("dpex", phase, key), med("pex", phase, key)
                lines.append(f"| {what}, {phase}: median s | {d:.1f} | {p:.1f} | {d / p:.2f}× |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", choices=["spark", "dask", "fleet"])
    ap.add_argument("--dpex", help="use this dpex binary (no build)")
    ap.add_argument("--no-build", action="store_true", help="use target/release/dpex as it is")
    ap.add_argument("--dpex-source", choices=["worktree", "head"], default="worktree")
    ap.add_argument("--out", default=str(HERE / "results-engines.md"))
    args = ap.parse_args()
    if shutil.which("java") is None and args.only in (None, "spark"):
        die("Spark needs java (Debian: openjdk-17-jre-headless)")
    started = time.monotonic()
    work = REPO / ".dpex-test" / "bench-engines"
    work.mkdir(parents=True, exist_ok=True)
    tools = setup_tools(REPO / ".dpex-test" / "bench", PYTHON)
    dpex, dpex_from = setup_dpex(args, work)
    sections = []
    for engine in ("spark", "dask", "fleet"):
        if args.only and args.only != engine:
            continue
        if engine == "fleet":
            sections.append(fleet_rounds(dpex, tools, args.rounds, work))
            continue
        files = locked_wheels.ensure(engine)
        wheels_mb = sum(f.stat().st_size for f in files) / 1e6
        index = IndexServer(files[0].parent, work / f"{engine}-index.log").start()
        try:
            sources = {"udfs.py": "# the job's own modules\n"} if engine == "spark" else {"jobs.py": JOBS}
            apps = build_apps(dpex, tools / "bin" / "pex", files, index, work, engine, sources)
            if engine == "spark":
                samples = spark_rounds(apps, args.rounds, work)
                note = (f"{args.rounds} rounds. A standalone cluster (master, 2 workers of 1 core, 512 MB executors) "
                        "from the app's pyspark 4.3.0; the pandas-UDF job of tests/support/spark.py "
                        "(`spark.range(1000)` in 4 partitions through a `pandas_udf`, then 8 partitions reporting "
                        "where they ran). Cold: a new cluster whose nodes' caches are empty; the app is shipped by "
                        "`spark.files`. Warm: the next job on that cluster (new executors, warm caches).")
                sections.append(table("Spark: a pandas-UDF job on a standalone cluster", apps, samples, wheels_mb, note))
            else:
                samples = dask_rounds(apps, args.rounds, work)
                note = (f"{args.rounds} rounds. A scheduler and 2 workers (1 thread, with nannies) started from the "
                        "app, each on its own cache, and `./<app> client.py` mapping a numpy/pandas function over "
                        "8 inputs (tests/support/dask.py). Timed from starting the scheduler to the client's "
                        "results; the apps reach the cluster from the same folder (no shipment step in Dask).")
                sections.append(table("Dask: a cluster started from the app, and a job", apps, samples, wheels_mb, note))
        finally:
            index.stop()
    info = machine_info(PYTHON, tools, dpex, dpex_from, argparse.Namespace(hyperfine=None))
    info["java"] = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0] \
        if shutil.which("java") else "none"
    groups = {"spark": "Spark", "dask": "Dask", "fleet": "a fleet behind a caching proxy"}
    names = [groups[g] for g in groups if not args.only or args.only == g]
    title = " and ".join(filter(None, [", ".join(names[:-1]), names[-1]]))
    header = [f"# dpex benchmark: {title} (bench/engines.py)", "",
              f"Generated by `{' '.join(['python3', 'bench/engines.py'] + sys.argv[1:])}` in "
              f"{time.monotonic() - started:.0f} s. Both apps are built from the same locked wheels and "
              "sources; every process runs /usr/bin/python3.11; the index is tests/support/index_server.py "
              "on 127.0.0.1 (loopback: shipment and downloads cost no network time here).", "",
              "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in info.items() if k not in ("uv", "pip", "timer")]
    Path(args.out).write_text("\n".join(header) + "\n\n" + "\n".join(sections))
    say(f"wrote {args.out}")


if __name__ == "__main__":
    main()
