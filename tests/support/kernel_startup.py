"""Measure how long a Jupyter kernel started from a dpex kernelspec takes to be ready.

Not a test: run it by hand (numbers for docs/jupyter.md), with the test venv
(it needs jupyter_client):

    .dpex-test/venv/bin/python tests/support/kernel_startup.py [--reps 5] [--dpex PATH] [--kernels 4]

It builds an app from the Jupyter wheel set (tests/jupyter.lock.txt, ipykernel
and its dependencies) served by an index server on 127.0.0.1, installs its
kernelspec with `dpex kernelspec install --prefix`, and starts kernels the way
Jupyter does (jupyter_client's KernelManager from the kernelspec, a clean
environment, PEX_PYTHON=/usr/bin/python3.11). "Ready" is the moment the first
kernel_info_reply arrives on the shell channel, measured from just before
start_kernel(); a kernel_info_request is sent every 50 ms until then, and
wait_for_ready()'s own 0.2 s IOPub flush is left out. Scenarios, each
repeated --reps times (medians, min and max printed):

- cold: a fresh DPEX_ROOT (downloads over loopback, unpacks, builds the venv,
  then Python compiles every module it imports);
- warm: the same DPEX_ROOT after one kernel ran (wheels, venv and bytecode in
  place), twice per repetition, each followed by a run of
- plain venv: the same wheels pip-installed into a venv (pip compiles all
  bytecode), kernelspec `venv/bin/python -m ipykernel_launcher`: what a Jupyter
  host without dpex has, run alternately with `warm` so both see the same load;
- cold xN: N kernels started at once on a fresh DPEX_ROOT (first and last ready);
- `dpex hydrate` on a fresh DPEX_ROOT (the launcher's cold work alone), then the
  first kernel (Python's lazy compile of what it imports);
- `dpex hydrate --compile` on a fresh DPEX_ROOT, then the first kernel.

`--skip cold|warm|venv|coldN|hydrated` leaves a scenario out (skip coldN for a
dpex whose concurrent cold starts wait for each other).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import jupyter  # noqa: E402
from support.harness import PY311, REPO, clean_env  # noqa: E402
from support.index_server import IndexServer  # noqa: E402

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402


def start_kernels(ksm, name, env, work, n, timeout=120):
    """Start n kernels at once; -> (seconds until each answered kernel_info, managers)."""
    kms, clients = [], []
    t0 = time.monotonic()
    for i in range(n):
        km = KernelManager(kernel_name=name, kernel_spec_manager=ksm,
                           connection_file=str(work / f"k-{time.monotonic_ns()}-{i}.json"))
        km.start_kernel(env=env, cwd=str(work), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kms.append(km)
    ready = [None] * n
    for i, km in enumerate(kms):
        kc = km.client()
        kc.start_channels()
        clients.append(kc)
    last_sent = [0.0] * n
    while any(r is None for r in ready):
        now = time.monotonic()
        if now - t0 > timeout:
            raise RuntimeError(f"kernels not ready after {timeout}s: {ready}")
        for i, kc in enumerate(clients):
            if ready[i] is not None:
                continue
            if now - last_sent[i] >= 0.05:
                kc.kernel_info()
                last_sent[i] = now
            try:
                msg = kc.shell_channel.get_msg(timeout=0.005)
            except Exception:
                continue
            if msg["msg_type"] == "kernel_info_reply":
                ready[i] = time.monotonic() - t0
    for kc in clients:
        kc.stop_channels()
    return ready, kms


def shutdown(kms):
    for km in kms:
        km.shutdown_kernel(now=False)


def summary(values):
    return (f"median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f}, "
            f"n={len(values)})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--kernels", type=int, default=4, help="kernels started at once in the 'cold xN' scenario")
    ap.add_argument("--dpex", default=os.environ.get("DPEX_BIN") or str(REPO / "target" / "release" / "dpex"))
    ap.add_argument("--skip", action="append", default=[], help="skip a scenario (cold, warm, venv, coldN, hydrated)")
    ap.add_argument("--json", help="also write the raw figures here")
    args = ap.parse_args()

    files = jupyter.ensure_wheels()
    results = {}
    loads = []
    with tempfile.TemporaryDirectory(prefix="dpex-kernel-startup-") as tmp:
        tmp = Path(tmp)
        srv = IndexServer(jupyter.wheel_dir(), tmp / "index.log").start()
        try:
            app = jupyter.build_app(args.dpex, tmp, files, srv.files_url)
            kernels_dir = jupyter.install_kernelspec(args.dpex, app, tmp / "prefix")
            for k, v in jupyter.jupyter_dirs_env(tmp / "jupyter").items():
                os.environ[k] = v
            ksm = KernelSpecManager(kernel_dirs=[str(kernels_dir)])
            name = jupyter.KERNEL_NAME
            home = tmp / "home"
            home.mkdir()

            def fresh_root(tag):
                return tmp / f"root-{tag}-{time.monotonic_ns()}"

            def record(key, values):
                results.setdefault(key, []).extend(values)
                print(f"{key}: {', '.join(f'{v:.2f}' for v in values)}", file=sys.stderr, flush=True)

            def one(spec_manager, kernel, env):
                ready, kms = start_kernels(spec_manager, kernel, env, tmp, 1)
                shutdown(kms)
                return ready

            def hydrate(root, *extra):
                t = time.monotonic()
                r = subprocess.run([args.dpex, "hydrate", *extra, "--python", PY311, str(app)],
                                   env=jupyter.kernel_env(home, root), capture_output=True, text=True)
                if r.returncode != 0:
                    raise RuntimeError(f"dpex hydrate failed: {r.stderr}")
                return time.monotonic() - t

            # The baseline: the same wheels pip-installed into a plain venv (pip compiles bytecode).
            vksm = None
            if "venv" not in args.skip:
                venv = tmp / "venv"
                subprocess.run([PY311, "-m", "venv", str(venv)], check=True, env=clean_env(home))
                subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
                                "--find-links", str(jupyter.wheel_dir()), "ipykernel"],
                               check=True, env=clean_env(home, {"PIP_DISABLE_PIP_VERSION_CHECK": "1"}))
                vdir = tmp / "venv-kernels" / "venv-kernel"
                vdir.mkdir(parents=True)
                (vdir / "kernel.json").write_text(json.dumps({
                    "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    "display_name": "plain venv", "language": "python", "interrupt_mode": "signal"}))
                vksm = KernelSpecManager(kernel_dirs=[str(vdir.parent)])

            for rep in range(args.reps):
                loads.append(os.getloadavg()[0])
                if "cold" not in args.skip:
                    root = fresh_root("cold")
                    record("cold", one(ksm, name, jupyter.kernel_env(home, root)))
                    # Warm: the same cache after that kernel ran, alternating with the baseline so
                    # both see the same machine load.
                    for _ in range(2):
                        if "warm" not in args.skip:
                            record("warm", one(ksm, name, jupyter.kernel_env(home, root)))
                        if vksm:
                            record("plain venv", one(vksm, "venv-kernel", clean_env(home)))
                    shutil.rmtree(root, ignore_errors=True)
                if "coldN" not in args.skip and args.kernels > 1:
                    root = fresh_root("coldN")
                    ready, kms = start_kernels(ksm, name, jupyter.kernel_env(home, root), tmp, args.kernels)
                    shutdown(kms)
                    record(f"cold x{args.kernels} at once (first ready)", [min(ready)])
                    record(f"cold x{args.kernels} at once (last ready)", [max(ready)])
                    shutil.rmtree(root, ignore_errors=True)
                if "hydrated" not in args.skip:
                    root = fresh_root("hydrate")
                    record("dpex hydrate (the launcher's cold work alone)", [hydrate(root)])
                    record("first kernel after dpex hydrate (lazy bytecode)", one(ksm, name, jupyter.kernel_env(home, root)))
                    shutil.rmtree(root, ignore_errors=True)
                    root = fresh_root("compiled")
                    record("dpex hydrate --compile", [hydrate(root, "--compile")])
                    record("first kernel after dpex hydrate --compile", one(ksm, name, jupyter.kernel_env(home, root)))
                    shutil.rmtree(root, ignore_errors=True)
        finally:
            srv.stop()

    print(f"dpex: {args.dpex}; python: {PY311}; {os.cpu_count()} CPUs; "
          f"1-minute load average {min(loads):.1f}-{max(loads):.1f} during the runs")
    print("| scenario | time to kernel_info_reply |")
    print("|---|---|")
    for key, values in results.items():
        print(f"| {key} | {summary(values)} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "load": loads}, indent=1))


if __name__ == "__main__":
    main()
