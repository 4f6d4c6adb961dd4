#!/usr/bin/env python3
"""Start many launches at once (or one after another) and time them: the
driver of `bench/bench.py --fleet`.

    python3 fleet_run.py SPEC.json  ->  JSON on stdout

SPEC: {"mode": "parallel" | "sequential", "tmp": DIR,
       "launches": [{"argv": [...], "env": {...}, "expect": "text"}, ...]}

parallel: every launch is started (fork + exec, no shell, the given
environment only) before the first is waited for; the wall time runs from
just before the first start to the last exit. sequential: one after another.
Each launch's stdout and stderr go to a file in DIR (no pipe can fill up).
Output: {"wall": s, "results": [{"rc", "seconds", "ok", "tail"}]} where ok
means exit status 0 and `expect` in the output.
"""

import json
import os
import subprocess
import sys
import time


def main():
    spec = json.load(open(sys.argv[1]))
    tmp = spec["tmp"]
    os.makedirs(tmp, exist_ok=True)
    launches = spec["launches"]
    outs = [open(os.path.join(tmp, f"launch-{i}.out"), "w+b") for i in range(len(launches))]
    started = [0.0] * len(launches)
    ended = [0.0] * len(launches)
    rcs = [None] * len(launches)
    t0 = time.perf_counter()
    if spec["mode"] == "parallel":
        procs = {}
        for i, launch in enumerate(launches):
            started[i] = time.perf_counter()
            p = subprocess.Popen(launch["argv"], env=launch["env"], stdin=subprocess.DEVNULL, stdout=outs[i],
                                 stderr=subprocess.STDOUT)
            procs[p.pid] = (i, p)
        while procs:
            pid, status = os.wait()
            if pid not in procs:
                continue
            i, p = procs.pop(pid)
            ended[i] = time.perf_counter()
            p.returncode = os.waitstatus_to_exitcode(status)
            rcs[i] = p.returncode
    else:
        for i, launch in enumerate(launches):
            started[i] = time.perf_counter()
            rcs[i] = subprocess.run(launch["argv"], env=launch["env"], stdin=subprocess.DEVNULL, stdout=outs[i],
                                    stderr=subprocess.STDOUT).returncode
            ended[i] = time.perf_counter()
    wall = max(ended) - t0
    results = []
    for i, launch in enumerate(launches):
        outs[i].seek(0)
        text = outs[i].read().decode("utf-8", "replace")
        outs[i].close()
        ok = rcs[i] == 0 and launch.get("expect", "") in text
        results.append({"rc": rcs[i], "seconds": ended[i] - started[i], "ok": ok, "tail": text[-2000:]})
    json.dump({"wall": wall, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
