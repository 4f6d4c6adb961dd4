"""A Dask cluster (scheduler, workers with nannies) started from an app, and the job and
client that tests/test_dask.py and bench/engines.py run on it (docs/distributed.md)."""

from pathlib import Path

from support.harness import free_port, start_service, stop_service

JOBS = '''\
import os
import sys


def summarize(n):
    import numpy
    import pandas

    frame = pandas.DataFrame({"x": numpy.arange(n + 1)})
    return {"n": n, "sum": int(frame["x"].sum()), "prefix": sys.prefix, "pid": os.getpid()}
'''

CLIENT = '''\
import json
import sys
import time

from distributed import Client

from jobs import summarize


def where():
    import os
    import sys

    return {"prefix": sys.prefix, "pid": os.getpid()}


started = time.monotonic()
client = Client(sys.argv[1], timeout=120)
client.wait_for_workers(2, timeout=300)
out = {"wait": time.monotonic() - started}
out["results"] = client.gather(client.map(summarize, range(8), pure=False))
out["workers"] = client.run(where)
if sys.argv[2:] == ["restart"]:
    client.restart(wait_for_workers=True, timeout=300)
    out["after"] = client.gather(client.map(summarize, range(8, 16), pure=False))
    out["workers_after"] = client.run(where)
print("RESULT " + json.dumps(out), flush=True)
client.close()
'''

class DaskCluster:
    """A scheduler and workers started from the app, each its own process and cache."""

    def __init__(self, tmp, pex, env):
        """`env(extra)`: the whole environment of a process, given its own variables."""
        self.tmp, self.pex, self.env = tmp, pex, env
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.procs = {}

    def start(self, name, args, env):
        # As a user types it: `./app.pex -m ...` from the app's folder.
        app = Path(self.pex)
        self.procs[name] = start_service([f"./{app.name}", *args], self.tmp / f"{name}.log", env=self.env(env),
                                         cwd=app.parent)
        return self.procs[name][0]

    def scheduler(self, env):
        return self.start("scheduler", ["-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                        "--port", str(self.port), "--no-dashboard"], env)

    def worker(self, name, env):
        workdir = self.tmp / f"{name}-space"
        workdir.mkdir(exist_ok=True)
        return self.start(name, ["-m", "distributed.cli.dask_worker", self.address, "--host", "127.0.0.1",
                                 "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                                 "--local-directory", str(workdir), "--name", name], env)

    def log(self, name):
        return (self.tmp / f"{name}.log").read_text()

    def stop(self, name):
        stop_service(*self.procs.pop(name))

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)
