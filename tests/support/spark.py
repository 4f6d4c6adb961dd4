"""A standalone Spark cluster started from an app's own pyspark, and the pandas-UDF job that
tests/test_spark.py and bench/engines.py run on it (docs/distributed.md)."""

import json
import time

from support.harness import free_port, start_service, stop_service

JOB = '''\
import json
import os
import sys
import time

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql.functions import pandas_udf

master, app = sys.argv[1], os.path.abspath(sys.argv[2])
started = time.monotonic()
spark = (SparkSession.builder.master(master).appName("dpex-" + sys.argv[3])
         .config("spark.files", app)
         .config("spark.executor.memory", "512m")
         .config("spark.executor.cores", "1")
         .config("spark.cores.max", "2")
         .config("spark.scheduler.minRegisteredResourcesRatio", "1.0")
         .config("spark.scheduler.maxRegisteredResourcesWaitingTime", "300s")
         .config("spark.task.maxFailures", "4")
         .config("spark.ui.enabled", "false")
         .getOrCreate())


@pandas_udf("long")
def plus_one(s: pd.Series) -> pd.Series:
    return s + 1


def where(_):
    import os
    import sys

    yield {"prefix": sys.prefix, "cwd": os.getcwd(), "pid": os.getpid(), "ppid": os.getppid()}


session = time.monotonic() - started
total = spark.range(0, 1000, numPartitions=4).select(plus_one("id").alias("x")).groupBy().sum("x").collect()[0][0]
udf = time.monotonic() - started - session
places = spark.sparkContext.parallelize(range(8), 8).mapPartitions(where).collect()
print("RESULT " + json.dumps({"total": total, "places": places, "seconds": time.monotonic() - started,
                              "session": session, "udf": udf}), flush=True)
spark.stop()
'''


def job_result(stdout):
    """The job's RESULT line, parsed."""
    return json.loads(stdout.split("RESULT ", 1)[1].splitlines()[0])


class SparkCluster:
    """A standalone master and workers from the app's own pyspark (spark-class), in the foreground."""

    def __init__(self, tmp, spark_home, java_env):
        self.tmp, self.home, self.base_env = tmp, spark_home, java_env
        self.port = free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self.procs = {}

    def _start(self, name, cls, args, env):
        full = {k: str(v) for k, v in {**self.base_env, **env}.items() if v is not None}
        self.procs[name] = start_service(["bash", self.home / "bin" / "spark-class", cls, *args],
                                         self.tmp / f"{name}.log", env=full, cwd=self.tmp)
        return self.procs[name][0]

    def master(self):
        self._start("master", "org.apache.spark.deploy.master.Master",
                    ["--host", "127.0.0.1", "--port", str(self.port), "--webui-port", str(free_port())], {})
        self._wait_for(lambda: "I have been elected leader" in self.log("master"), "the master")

    def worker(self, name, env):
        work = self.tmp / f"{name}-work"
        work.mkdir(exist_ok=True)
        self._start(name, "org.apache.spark.deploy.worker.Worker",
                    [self.url, "--host", "127.0.0.1", "--cores", "1", "--memory", "1g",
                     "--work-dir", str(work), "--webui-port", str(free_port())], env)
        self._wait_for(lambda: "Successfully registered with master" in self.log(name), name)

    def log(self, name):
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def _wait_for(self, ready, what, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.2)
        raise AssertionError(f"{what} did not come up:\n" + "\n".join(
            f"--- {n}.log ---\n{self.log(n)[-3000:]}" for n in self.procs))

    def stop(self):
        for service in self.procs.values():
            stop_service(*service)
        self.procs.clear()
