#!/usr/bin/env python3
"""Benchmark dpex against a plain venv, uv, pip and pex, all in one run.

    python3 bench/bench.py [--runs N] [--out bench/results.md]

What it measures (see bench/README.md for the details and how to read it):
  1. warm start: ./app.pex with a warm cache versus the same app in a plain
     venv (the baseline), in the dpex venv without the launcher, and built by
     pex; and the launcher's own overhead, `PEX_INTERPRETER=1 ./app.pex -c pass`
     versus `<venv>/bin/python -c pass`;
  2. cold hydration: the first run with an empty DPEX_ROOT versus
     `uv venv` + `uv pip install` with a cold cache (the baseline), versus
     `python -m venv` + `pip install --no-cache-dir`, and pex's first run;
  3. build: `dpex build` versus `pex` building the same app from the same
     pins, with a warm (baseline) and a cold PEX_ROOT; and the output sizes.

Setup is cached under .dpex-test/bench/ (a tools venv with pinned pex and uv,
the test wheels from scripts/fetch-test-wheels); everything a run produces
goes to .dpex-test/bench/run/ and is rebuilt every time. A local index
(tests/support/index_server.py) is started on 127.0.0.1 and stopped at the
end; no timed command touches any other network address.

Every timed command runs under `env -i` with an explicit minimal environment
(PATH=/usr/bin:/bin, HOME, LANG, plus what it needs), on /usr/bin/python3.11,
with PYTHONDONTWRITEBYTECODE unset, so warm runs are warm. Timing is by
hyperfine (`-N`, one run per command per round) when it is installed, else by
a loop in this script; the commands of a group are interleaved round by round
in a shuffled order, so that drift of the machine hits every command alike.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import random
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from support.pylock import write_pylock, write_requirements  # noqa: E402

PEX_VERSION = "2.105.2"
UV_VERSION = "0.13.9"
PIP_VERSION = "26.3"  # the pip that installs the pip baseline (as in the reference measurements)
ENTRY = "demo_app.main:run"
APP_SRC = REPO / "examples" / "demo" / "src"
RUN_APP = "import sys; from demo_app.main import run; sys.exit(run())"
APP_OK = "matrix_sum: 66"  # in the demo app's output
MINIMAL_PATH = "/usr/bin:/bin"


def say(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def die(msg):
    print(f"bench: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def run(argv, *, env=None, cwd=None, check=True, capture=True):
    r = subprocess.run([str(a) for a in argv], env=env, cwd=cwd, text=True,
                       stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.STDOUT if capture else None)
    if check and r.returncode != 0:
        if capture:
            sys.stderr.write(r.stdout or "")
        die(f"command failed ({r.returncode}): {shlex.join(str(a) for a in argv)}")
    return r


def shim_cmd(key, env_dir, root, app, argv, base):
    """What the launcher execs on a warm start (the environment's python on the app's
    kept boot bytecode, __dpex_main__.<magic>.pyc, or on its __main__.py when a
    dpex before it has none; with the launcher's variables), run directly: the launcher's
    own native share is a launch minus this."""
    apps = sorted((Path(root) / "1" / "apps").glob("*/__main__.py"))
    if len(apps) != 1:
        die(f"expected one app entry under {root}/1/apps, found {len(apps)}")
    kept = sorted(apps[0].parent.glob("__dpex_main__.*.pyc"))
    script = kept[0] if kept else apps[0]
    env = {k: v for k, v in base.items() if not k.startswith("PEX_")}
    env.update(PEX=str(app), __DPEX_ARGV0=str(app), __DPEX_ENTRY="interpreter", __DPEX_INHERIT_PATH="false")
    return Cmd(key, "what the launcher execs, run directly", [env_dir / "bin/python", script, *argv], env,
               shown=f"$DPEX_ROOT/1/envs/<key>/bin/python $DPEX_ROOT/1/apps/<hash>/{script.name} "
                     + shlex.join(argv))


def base_env(**extra):
    """The explicit minimal environment of every timed command."""
    env = {"PATH": MINIMAL_PATH, "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
    # Same for every command; some VMs need it for numpy's OpenBLAS.
    if os.environ.get("OPENBLAS_CORETYPE"):
        env["OPENBLAS_CORETYPE"] = os.environ["OPENBLAS_CORETYPE"]
    env.update({k: str(v) for k, v in extra.items()})
    return env


# --------------------------------------------------------------------------- setup


def pip_install_env():
    """A clean environment for pip talking to PyPI: no PIP_* / PYTHON* from the caller."""
    env = {"PATH": MINIMAL_PATH, "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
              "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"):
        if k in os.environ:
            env[k] = os.environ[k]
    return env


def setup_tools(work, python):
    """A venv with pinned pex and uv (from PyPI), reused while the pins match."""
    tools = work / "tools"
    pins = f"python={python} pip=={PIP_VERSION} pex=={PEX_VERSION} uv=={UV_VERSION}\n"
    marker = tools / ".bench-pins"
    if marker.is_file() and marker.read_text() == pins and (tools / "bin" / "pex").exists() \
            and (tools / "bin" / "uv").exists():
        return tools
    say(f"creating the tools venv {tools} (pip=={PIP_VERSION}, pex=={PEX_VERSION}, uv=={UV_VERSION} from PyPI)")
    shutil.rmtree(tools, ignore_errors=True)
    env = pip_install_env()
    run([python, "-m", "venv", tools], env=env)
    cmd = [tools / "bin" / "python", "-m", "pip", "install", "--no-cache-dir", "--progress-bar", "off"]
    cert = os.environ.get("PIP_CERT")
    if cert and os.path.isfile(cert):
        cmd += ["--cert", cert]
    run(cmd + [f"pip=={PIP_VERSION}"], env=env)
    run(cmd + [f"pex=={PEX_VERSION}", f"uv=={UV_VERSION}"], env=env)
    marker.write_text(pins)
    return tools


def setup_wheels(tools):
    """scripts/fetch-test-wheels (cached in .dpex-test/wheels); it cleans pip's env itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON")) or k == "PIP_CERT"}
    run([tools / "bin" / "python", REPO / "scripts" / "fetch-test-wheels"], env=env)
    cache = Path(os.environ.get("DPEX_TEST_CACHE") or REPO / ".dpex-test")
    wheels = sorted((cache / "wheels").glob("*.whl"))
    if not wheels:
        die(f"no wheels in {cache / 'wheels'}")
    return wheels


def setup_dpex(args, work):
    """-> (path of the dpex binary, where it came from)."""
    if args.dpex:
        dpex = Path(args.dpex).resolve()
        if not os.access(dpex, os.X_OK):
            die(f"--dpex {dpex} is not an executable file")
        return dpex, f"given binary {dpex}"
    head = run(["git", "-C", REPO, "rev-parse", "--short=12", "HEAD"], check=False).stdout.strip() or "?"
    if args.dpex_source == "head":
        src = work / "src-head"
        say(f"building dpex from the committed HEAD {head} (git archive into {src}; own target dir)")
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD"], stdout=subprocess.PIPE, check=True)
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
        env = dict(os.environ, CARGO_TARGET_DIR=str(work / "target"))
        run(["cargo", "build", "--release", "--locked", "-p", "dpex"], cwd=src, env=env, capture=False)
        return work / "target" / "release" / "dpex", f"built from the committed HEAD {head}"
    dirty = run(["git", "-C", REPO, "status", "--porcelain", "--", "launcher", "packer", "python-shim",
                 "Cargo.toml", "Cargo.lock"], check=False).stdout.strip()
    note = f"working tree at {head}" + (" with uncommitted changes to the launcher/packer" if dirty else "")
    if args.no_build:
        dpex = REPO / "target" / "release" / "dpex"
        if not dpex.exists():
            die(f"--no-build: {dpex} does not exist")
        return dpex, note + " (not rebuilt: --no-build)"
    say("building dpex (cargo build --release --locked -p dpex)")
    run(["cargo", "build", "--release", "--locked", "-p", "dpex"], cwd=REPO, capture=False)
    return REPO / "target" / "release" / "dpex", note


# tests/support/index_server.py with TCP_NODELAY on its connections. Unchanged, it
# writes a response's headers and body in two send()s, so on a kept-alive
# connection Nagle's algorithm holds the body until the client's delayed ACK
# (40 ms): every request after a connection's first costs 40 ms more. nginx
# or PyPI's CDN do not do that; --plain-index keeps the server as it is.
NODELAY_SERVER = """
import sys
sys.path.insert(0, sys.argv.pop(1))
import index_server
index_server._Handler.disable_nagle_algorithm = True
index_server.main(sys.argv[1:])
"""


class IndexServer:
    def __init__(self, python, wheel_dir, log, nodelay=True, rate=None):
        self.log = log
        self.nodelay = nodelay
        support = REPO / "tests" / "support"
        server = ["-c", NODELAY_SERVER, support] if nodelay else [support / "index_server.py"]
        self.proc = subprocess.Popen(
            [python, *server, "--dir", wheel_dir, "--log", log, *(["--rate", str(rate)] if rate else [])],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=base_env())
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            die(f"the index server did not start (said {line!r})")
        self.url = f"http://127.0.0.1:{line}"

    def file_gets(self):
        try:
            return sum(1 for line in open(self.log) if line.startswith("GET /files/"))
        except FileNotFoundError:
            return 0

    def _lines(self):
        try:
            return open(self.log).read().splitlines()
        except FileNotFoundError:
            return []

    def mark(self):
        """A position in the request log, for file_get_counts(since=...)."""
        return len(self._lines())

    def file_get_counts(self, since=0):
        """Counter {wheel file name: GET /files/<name> requests} after the mark `since`."""
        from urllib.parse import unquote
        c = Counter()
        for line in self._lines()[since:]:
            parts = line.split(" ")
            if len(parts) >= 3 and parts[0] == "GET" and parts[1].startswith("/files/") and len(parts[1]) > 7:
                c[unquote(parts[1][len("/files/"):].split("?")[0])] += 1
        return c

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --------------------------------------------------------------------------- timing


class Cmd:
    def __init__(self, key, label, argv, env, *, prepare=None, expect=None, shown=None):
        self.key = key
        self.label = label  # what the table calls it
        self.argv = [str(a) for a in argv]
        self.env = env
        self.prepare = prepare  # a shell script run (untimed) before every run
        self.expect = expect  # text the output must contain (checked once, before timing)
        self.shown = shown or shlex.join(self.argv)  # the command, as the table shows it

    def full_argv(self):
        return ["env", "-i", *(f"{k}={v}" for k, v in sorted(self.env.items())), *self.argv]

    def do_prepare(self):
        if self.prepare:
            subprocess.run(["sh", "-c", self.prepare], check=True)

    def check(self):
        """One untimed run; fails loudly if the command fails or prints the wrong thing."""
        self.do_prepare()
        r = subprocess.run(self.full_argv(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0 or (self.expect and self.expect not in r.stdout):
            sys.stderr.write(r.stdout)
            die(f"{self.label}: {shlex.join(self.full_argv())} exited {r.returncode}"
                + (f" without printing {self.expect!r}" if self.expect and r.returncode == 0 else ""))
        return r.stdout


class Timer:
    def __init__(self, use_hyperfine, tmp):
        self.hyperfine = shutil.which("hyperfine") if use_hyperfine else None
        self.tmp = tmp
        self.cpu = {}  # key -> [(user s, system s)] of every timed run (the process and what it waited for)
        self.maxrss = {}  # key -> [peak RSS KiB] of every timed run (own loop only)
        self.busy = {}  # key -> [CPU seconds the whole machine was busy] of every timed run (own loop only)

    def round(self, cmds):
        """Run each command once, in the given order; -> {key: seconds}."""
        if self.hyperfine:
            out = self.tmp / "round.json"
            argv = [self.hyperfine, "-N", "--runs", "1", "--style", "none", "--export-json", str(out)]
            for c in cmds:
                argv += ["--prepare", shlex.join(["sh", "-c", c.prepare]) if c.prepare else "true"]
            argv += [shlex.join(c.full_argv()) for c in cmds]
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                sys.stderr.write(r.stdout)
                die("hyperfine failed on: " + ", ".join(c.label for c in cmds))
            results = json.loads(out.read_text())["results"]
            for c, res in zip(cmds, results):
                self.cpu.setdefault(c.key, []).append((res.get("user", 0.0), res.get("system", 0.0)))
            return {c.key: res["times"][0] for c, res in zip(cmds, results)}
        times = {}
        for c in cmds:
            c.do_prepare()
            argv = c.full_argv()
            busy0, t0 = machine_busy(), time.perf_counter()
            p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # wait4: this command's own CPU time and peak RSS (the largest of it and
            # every process it waited for), not the running totals of getrusage.
            _, status, ru = os.wait4(p.pid, 0)
            times[c.key] = time.perf_counter() - t0
            self.busy.setdefault(c.key, []).append(machine_busy() - busy0)
            p.returncode = os.waitstatus_to_exitcode(status)
            self.cpu.setdefault(c.key, []).append((ru.ru_utime, ru.ru_stime))
            self.maxrss.setdefault(c.key, []).append(ru.ru_maxrss)
            if p.returncode != 0:
                die(f"{c.label} failed ({p.returncode}): {shlex.join(argv)}")
        return times


def machine_busy():
    """CPU seconds every core of the machine has been busy since boot (/proc/stat: user,
    nice, system, irq, softirq, steal; not idle or iowait), or NaN where there is none."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def drop_page_cache():
    """Have every file read afresh from disk, so that the files of the paired commands are
    cached alike: on this VM a byte-identical copy of an app just written by `dpex build`
    started 0.23 ms faster than the original, paired over 2,000 rounds (after a drop, the
    copies agreed within 0.05 ms). Needs root; otherwise says so and goes on."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError as e:
        say(f"cannot drop the page cache ({e}): paired figures may carry a file's cache state")


def measure_paired(cmds, rounds, name):
    """Every command once per round, in a shuffled order, `rounds` times: spawned directly
    (no env(1) in front, so nothing but the command is timed), output to /dev/null.
    -> {key: [seconds by round]}: the k-th samples of two commands ran side by side, so
    their differences cancel the machine's drift."""
    devnull = os.open(os.devnull, os.O_RDWR)
    rng = random.Random(0xDE8)
    samples = {c.key: [] for c in cmds}

    def spawn(c):
        start = time.perf_counter()
        pid = os.posix_spawn(c.argv[0], c.argv, {k: str(v) for k, v in c.env.items()},
                             file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
        _, status = os.waitpid(pid, 0)
        if status != 0:
            die(f"{c.label} failed ({os.waitstatus_to_exitcode(status)}): {shlex.join(c.argv)}")
        return time.perf_counter() - start

    drop_page_cache()
    for c in cmds:
        for _ in range(20):
            spawn(c)
    t0 = time.monotonic()
    for i in range(rounds):
        order = list(cmds)
        rng.shuffle(order)
        for c in order:
            samples[c.key].append(spawn(c))
        if (i + 1) % 200 == 0:
            say(f"{name}: round {i + 1}/{rounds}")
    os.close(devnull)
    say(f"{name}: {time.monotonic() - t0:.0f} s")
    return samples


def paired_difference(samples, key, base_key):
    """(median, mean, half-width of the mean's 95 % interval), in seconds, of key's runs minus
    base_key's runs of the same rounds."""
    d = [a - b for a, b in zip(samples[key], samples[base_key])]
    return statistics.median(d), statistics.mean(d), 2 * statistics.stdev(d) / len(d) ** 0.5


def paired_table(title, rows, samples, baseline_key, note=None):
    """rows: [(key, label, shown_command)]; each against baseline_key, round by round."""
    base = statistics.median(samples[baseline_key])
    out = [f"### {title}", ""]
    if note:
        out += [note, ""]
    out += ["| what | command | median ms | vs baseline | Δ, median of the rounds' differences ms "
            "| Δ, mean ± 95 % ms |", "|---|---|---:|---:|---:|---:|"]
    for key, label, shown in rows:
        med = statistics.median(samples[key])
        if key == baseline_key:
            out.append(f"| {label} | `{shown}` | {med * 1000:.2f} | **baseline** | | |")
            continue
        d_med, d_mean, d_ci = paired_difference(samples, key, baseline_key)
        out.append(f"| {label} | `{shown}` | {med * 1000:.2f} | {med / base:.3f}× | {d_med * 1000:+.3f} "
                   f"| {d_mean * 1000:+.3f} ± {d_ci * 1000:.3f} |")
    return out + [""]


def measure(timer, cmds, rounds, name, warmup=0):
    samples = {c.key: [] for c in cmds}
    rng = random.Random(0xDE7)
    t0 = time.monotonic()
    for i in range(warmup + rounds):
        order = list(cmds)
        rng.shuffle(order)
        t = timer.round(order)
        if i >= warmup:
            for k, v in t.items():
                samples[k].append(v)
        say(f"{name}: round {i + 1}/{warmup + rounds}" + (" (warm-up)" if i < warmup else ""))
    say(f"{name}: {time.monotonic() - t0:.0f} s")
    return samples


# --------------------------------------------------------------------------- report


def fmt_s(x):
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def fmt_mb(n):
    return f"{n / 1e6:.2f}" if n >= 1e5 else f"{n / 1e6:.4f}"


def group_table(title, rows, samples, baseline_key, note=None, cpu=None, rss=None, busy=None):
    """rows: [(key, label, shown_command)]; ratio and difference against baseline_key's median.
    cpu: Timer.cpu, to add the median user and system CPU seconds of each row; rss: Timer.maxrss,
    to add the largest peak resident memory of any run of each row; busy: Timer.busy, to add the
    median CPU seconds the whole machine was busy during a run of each row."""
    base = statistics.median(samples[baseline_key])
    out = [f"### {title}", ""]
    if note:
        out += [note, ""]
    out += ["| what | command | median s | min–max s | runs | vs baseline | Δ median |"
            + (" user s | sys s |" if cpu else "") + (" machine busy CPU s |" if busy else "")
            + (" peak RSS MiB |" if rss else ""),
            "|---|---|---:|---:|---:|---:|---:|" + ("---:|---:|" if cpu else "") + ("---:|" if busy else "")
            + ("---:|" if rss else "")]
    for key, label, shown in rows:
        xs = samples[key]
        med = statistics.median(xs)
        if key == baseline_key:
            ratio, delta = "**baseline**", ""
        else:
            r = med / base
            ratio = f"{r:.2f}×" if r >= 0.1 else f"{r:.3f}×"
            d = med - base
            delta = f"{d * 1000:+.0f} ms" if abs(d) < 1 else f"{d:+.2f} s"
        line = (f"| {label} | `{shown}` | {fmt_s(med)} | {fmt_s(min(xs))}–{fmt_s(max(xs))} | {len(xs)} "
                f"| {ratio} | {delta} |")
        if cpu:
            us = cpu.get(key) or [(float("nan"), float("nan"))]
            line += (f" {fmt_s(statistics.median(u for u, _ in us))} |"
                     f" {fmt_s(statistics.median(y for _, y in us))} |")
        if busy:
            line += f" {fmt_s(statistics.median(busy[key]))} |" if busy.get(key) else " |"
        if rss:
            line += f" {max(rss[key]) / 1024:,.0f} |" if rss.get(key) else " |"
        out.append(line)
    return out + [""]


def machine_info(python, tools, dpex, dpex_from, timer):
    def out(argv):
        try:
            return subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, env=base_env()).stdout.strip()
        except OSError:
            return "?"
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs (nproc {out(['nproc'])}), {cpu}, {mem} RAM, "
                   f"{platform.system()} {platform.release()}",
        "python": f"{python} ({out([python, '--version'])})",
        # `dpex --version` has more lines (what each launcher, and dpex itself, inflates with).
        "dpex": f"{'; '.join(out([dpex, '--version']).splitlines())}, {dpex_from}",
        "pex": out([tools / "bin" / "pex", "--version"]),
        "uv": out([tools / "bin" / "uv", "--version"]),
        "pip": out([tools / "bin" / "python", "-m", "pip", "--version"]).split(" from ")[0],
        "timer": (out([timer.hyperfine, "--version"]) + " (-N, 1 run per command per round)")
                 if timer.hyperfine else "bench.py's own loop (time.perf_counter around subprocess.run)",
    }


def launcher_stub_size(app_pex):
    with zipfile.ZipFile(app_pex) as zf:
        return min(i.header_offset for i in zf.infolist())


# --------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int,
                    help="rounds of the warm-start group (default 25; 10 with --large); the cold and build "
                         "groups get max(3, N // 5) rounds")
    ap.add_argument("--cold-runs", type=int, help="rounds of the cold, build and fleet groups")
    ap.add_argument("--pairs", type=int, default=1000,
                    help="rounds of the paired warm `-c pass` group (1d; default 1000, 0 to skip): the "
                         "launcher's overhead, its native share and the multi-arch prelude to about 0.1 ms")
    ap.add_argument("--large", action="store_true",
                    help="instead of the default groups: the large workload of bench/large.lock.txt (numpy, "
                         "scipy, pandas, scikit-learn, pyarrow, matplotlib, ...; ~157 MB of wheels): cold "
                         "hydration vs uv and the floors, warm and first `import pandas, ...` vs a pip venv "
                         "(default output bench/results-large.md)")
    ap.add_argument("--torch", action="store_true",
                    help="instead of the default groups: cold hydration of bench/torch.lock.txt (torch 2.10 and "
                         "its biggest CUDA wheels, ~2.1 GB) vs uv over loopback and 1 and 10 Gbit/s links, with "
                         "peak memory (default output bench/results-torch.md)")
    ap.add_argument("--fleet", action="store_true",
                    help="32 launches of 4 apps sharing most wheels, all at once on one cold cache, vs one "
                         "launch (with --large on the large wheels; default output bench/results-fleet.md, "
                         "or with --large into bench/results-large.md)")
    ap.add_argument("--profile", action="store_true",
                    help="with --large: also one cold dpex and one cold uv run under `strace -f -c` "
                         "(syscall counts)")
    ap.add_argument("--out", help="markdown output file (default bench/results.md, results-large.md with "
                                  "--large, results-fleet.md with --fleet alone)")
    ap.add_argument("--python", default="/usr/bin/python3.11", help="the interpreter of every run")
    ap.add_argument("--dpex", help="use this dpex binary (no build)")
    ap.add_argument("--dpex-source", choices=["worktree", "head"], default="worktree",
                    help="build dpex from the working tree (cargo build in the repo, default) or from the "
                         "committed HEAD (git archive into .dpex-test/bench/src-head, own target dir)")
    ap.add_argument("--no-build", action="store_true", help="use target/release/dpex as it is")
    ap.add_argument("--plain-index", action="store_true",
                    help="serve with tests/support/index_server.py unchanged (no TCP_NODELAY: +40 ms per "
                         "request on a kept-alive connection)")
    ap.add_argument("--no-hyperfine", action="store_true", help="time with bench.py's own loop")
    ap.add_argument("--fresh-fs", choices=["auto", "yes", "no"], default="auto",
                    help="with --torch: run every cold command on an ext4 image made anew for it and "
                         "loop-mounted (needs root; auto: when it can)")
    args = ap.parse_args()
    if args.fresh_fs == "yes" and not args.torch:
        ap.error("--fresh-fs goes with --torch")
    why_not = fresh_fs_usable()
    if args.fresh_fs == "yes" and why_not:
        ap.error(f"--fresh-fs yes: {why_not}")
    if args.torch and args.fresh_fs == "auto" and why_not:
        say(f"no fresh filesystem per cold run: {why_not}")
    args.fresh_fs = args.fresh_fs != "no" and not why_not
    if args.profile and not args.large:
        ap.error("--profile goes with --large")
    default_mode = not (args.large or args.fleet or args.torch)
    runs = args.runs or (10 if args.large else 25)
    cold_runs = args.cold_runs or max(3, runs // 5)
    args.runs = runs
    python = args.python
    if not os.access(python, os.X_OK):
        die(f"{python} not found; pass --python")
    out_default = ("results.md" if default_mode else "results-large.md" if args.large
                   else "results-torch.md" if args.torch else "results-fleet.md")
    out = Path(args.out or REPO / "bench" / out_default)

    work = REPO / ".dpex-test" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    t_start = time.monotonic()

    tools = setup_tools(work, python)
    wheels = setup_wheels(tools)
    dpex, dpex_from = setup_dpex(args, work)

    rd = work / ("run" if default_mode else "run-large" if args.large else "run-torch" if args.torch
                 else "run-fleet")
    unmount_fresh_fs_under(rd)  # a run that died mid-way leaves its images mounted
    shutil.rmtree(rd, ignore_errors=True)
    rd.mkdir()
    (rd / "tmp").mkdir()
    # --torch reports peak memory, which only bench.py's own loop (wait4) measures.
    timer = Timer(not args.no_hyperfine and not args.torch, rd / "tmp")
    if not timer.hyperfine and not args.no_hyperfine and not args.torch:
        say("hyperfine not found (apt-get install -y hyperfine); timing with bench.py's own loop")
    nodelay = ", with TCP_NODELAY (see bench/README.md)" if not args.plain_index else ", unchanged"
    load_before = os.getloadavg()

    if default_mode:
        src = rd / "app-src"  # the sources every build packs (a clean copy, no __pycache__)
        shutil.copytree(APP_SRC, src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        plain_src = rd / "plain-app-src"  # the plain venv's copy (its .pyc get written here)
        shutil.copytree(APP_SRC, plain_src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        # uv, pip and pex get the manylinux wheels only; dpex's pylock lists every wheel.
        req_wheels = [w for w in wheels if "musllinux" not in w.name]
        index = IndexServer(python, wheels[0].parent, rd / "index.log", nodelay=not args.plain_index)
        try:
            report = bench(args, python, tools, dpex, wheels, req_wheels, src, plain_src, rd, index, timer,
                           cold_runs)
        finally:
            index.stop()
        workload = [f"| workload | examples/demo (`{ENTRY}`: imports numpy, requests, yaml) with "
                    f"{len(req_wheels)} wheels, {sum(w.stat().st_size for w in req_wheels) / 1e6:.1f} MB: "
                    + ", ".join(sorted({re.sub(r'-.*', '', w.name) for w in req_wheels})) + " |",
                    f"| index | tests/support/index_server.py (threaded, PEP 503/691) on 127.0.0.1{nodelay} |"]
    else:
        report, workload = [], []
        if args.torch:
            torch = setup_large_wheels(tools, work, lock=TORCH_LOCK, folder="torch-wheels")
            report += bench_torch(args, python, tools, dpex, torch, rd, timer, cold_runs)
            workload.append(f"| workload | bench/torch.lock.txt: {len(torch)} wheels, "
                            f"{sum(w.stat().st_size for w in torch) / 1e6:.1f} MB: "
                            + ", ".join(project_of(w.name) for w in torch) + " |")
        if args.large:
            large = setup_large_wheels(tools, work)
            index = IndexServer(python, large[0].parent, rd / "index.log", nodelay=not args.plain_index)
            try:
                report += bench_large(args, python, tools, dpex, large, rd, index, timer, runs, cold_runs)
                if args.fleet:
                    report += bench_fleet(args, python, dpex, large, rd, index, cold_runs, large=True)
                    report += bench_fleet_versions(python, dpex, large, rd, index, cold_runs)
            finally:
                index.stop()
            workload.append(f"| workload | bench/large.lock.txt: {len(large)} wheels, "
                            f"{sum(w.stat().st_size for w in large) / 1e6:.1f} MB: "
                            + ", ".join(project_of(w.name) for w in large) + " |")
        elif not args.torch:
            fleet_wheels = fleet_small_wheels(tools, work, wheels, rd)
            index = IndexServer(python, fleet_wheels[0].parent, rd / "index.log", nodelay=not args.plain_index)
            try:
                report += bench_fleet(args, python, dpex, fleet_wheels, rd, index, cold_runs, large=False)
            finally:
                index.stop()
            workload.append(f"| workload | the test wheels (tests/wheels.lock.txt, manylinux) and "
                            f"{', '.join(FLEET_SMALL_EXTRAS)} from bench/large.lock.txt: {len(fleet_wheels)} "
                            f"wheels, {sum(w.stat().st_size for w in fleet_wheels) / 1e6:.1f} MB |")
        workload.append(f"| index | tests/support/index_server.py (threaded, PEP 503/691, listen backlog 256) "
                        f"on 127.0.0.1{nodelay} |")
    load_after = os.getloadavg()

    info = machine_info(python, tools, dpex, dpex_from, timer)
    if not default_mode:
        info["filesystem"] = filesystem_info(rd)
        if args.torch and args.fresh_fs:
            info["filesystem"] = ("every cold run on an ext4 made anew for it (12 GB image, journal, loop-mounted "
                                  "with direct I/O; `--fresh-fs`), the image on " + info["filesystem"])
        info["load average"] = (f"{load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end (1-minute; "
                                "other work on the machine shows here)")
    elapsed = time.monotonic() - t_start
    lines = ["# dpex benchmark" + (" (large workload)" if args.large else " (torch-sized lock)" if args.torch
                                  else " (fleet)" if args.fleet else ""), "",
             f"Generated by `python3 bench/bench.py {shlex.join(sys.argv[1:])}`".rstrip() + f" in {elapsed:.0f} s.",
             "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    lines += workload + [""]
    lines += report
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    say(f"wrote {out} ({elapsed:.0f} s in all)")


def bench(args, python, tools, dpex, wheels, req_wheels, src, plain_src, rd, index, timer, cold_runs):
    pylock = write_pylock(rd / "pylock.toml", wheels, index.url + "/files/")
    req = write_requirements(rd / "requirements.txt", req_wheels)
    simple = index.url + "/simple"
    pex_bin = tools / "bin" / "pex"
    uv_bin = tools / "bin" / "uv"
    tools_py = tools / "bin" / "python"
    pex_args = ["-r", req, "--no-pypi", "--index", simple, "-D", src, "-e", ENTRY, "--python", python]

    # ---- the artifacts the warm and cold runs use (untimed builds, checked once) ----
    say("building the apps: dpex build, pex (zipapp and --venv --sh-boot), a plain venv")
    app = rd / "app.pex"
    Cmd("b", "dpex build", [dpex, "build", "--lock", pylock, "-D", src, "-e", ENTRY, "-o", app],
        base_env()).check()
    pex_build_root = rd / "pex-root-build"
    app_pex = rd / "app-pex.pex"
    Cmd("b", "pex build", [pex_bin, *pex_args, "-o", app_pex], base_env(PEX_ROOT=pex_build_root)).check()
    app_pex_venv = rd / "app-pex-venv.pex"
    Cmd("b", "pex build --venv --sh-boot", [pex_bin, *pex_args, "--venv", "--sh-boot", "-o", app_pex_venv],
        base_env(PEX_ROOT=pex_build_root)).check()

    # The same app on the pure wheels only (a lock every architecture can run): the default
    # build carries x86_64 and aarch64 launchers behind the sh prelude; --platform gives one.
    pure_lock = write_pylock(rd / "pylock-pure.toml", [w for w in wheels if w.name.endswith("-none-any.whl")],
                             index.url + "/files/")
    app_2arch, app_1arch = rd / "app-2arch.pex", rd / "app-1arch.pex"
    Cmd("b", "dpex build (both architectures)", [dpex, "build", "--lock", pure_lock, "-o", app_2arch],
        base_env()).check()
    Cmd("b", "dpex build --platform (x86_64 only)",
        [dpex, "build", "--lock", pure_lock, "--platform", "manylinux2014_x86_64-cp-311-cp311", "-o", app_1arch],
        base_env()).check()
    if not app_2arch.read_bytes().startswith(b"#!/bin/sh") or not app_1arch.read_bytes().startswith(b"\x7fELF"):
        die("this dpex does not have both launchers (see README.md, Install): no multi-arch row")

    pip_env = base_env(PIP_DISABLE_PIP_VERSION_CHECK=1, PIP_NO_INPUT=1, PIP_CONFIG_FILE=os.devnull)
    pip_install = [tools_py, "-m", "pip", "--python", "{venv}/bin/python", "install", "-q", "--no-deps",
                   "--require-hashes", "--no-cache-dir", "-r", req, "--index-url", simple]
    plain = rd / "plain-venv"
    run([python, "-m", "venv", "--without-pip", plain], env=base_env())
    run([a if a != "{venv}/bin/python" else plain / "bin" / "python" for a in pip_install], env=pip_env)
    (plain / "lib" / "python3.11" / "site-packages" / "demo_app.pth").write_text(f"{plain_src}\n")

    # ---- 1. warm start ----
    warm_root = rd / "dpex-root-warm"
    dpex_env = base_env(DPEX_ROOT=warm_root, PEX_PYTHON=python)
    before = index.file_gets()
    first = Cmd("w", "dpex first run", [app], dpex_env, expect=APP_OK)
    t0 = time.perf_counter()
    first.check()
    say(f"dpex first run (hydrates {warm_root}): {time.perf_counter() - t0:.2f} s, "
        f"{index.file_gets() - before} wheel downloads")
    envs = sorted((warm_root / "1" / "envs").glob("*/bin/python"), key=lambda p: p.parent.parent.stat().st_mtime)
    if not envs:
        die(f"no venv under {warm_root}/1/envs after the first run")
    dpex_venv = envs[-1].parent.parent
    pex_run_env = base_env(PEX_ROOT=rd / "pex-root-run")
    warm = [
        Cmd("venv_app", "plain venv (pip-installed), app", [plain / "bin/python", "-c", RUN_APP], base_env(),
            expect=APP_OK, shown="<venv>/bin/python -c 'from demo_app.main import run; run()'"),
        Cmd("dpexenv_app", "dpex's venv without the launcher, app", [dpex_venv / "bin/python", "-c", RUN_APP],
            base_env(), expect=APP_OK,
            shown="$DPEX_ROOT/1/envs/<key>/bin/python -c 'from demo_app.main import run; run()'"),
        Cmd("dpex_app", "**dpex** app.pex, warm", [app], dpex_env, expect=APP_OK, shown="./app.pex"),
        Cmd("pex_app", "pex zipapp, warm", [app_pex], pex_run_env, expect=APP_OK, shown="./app-pex.pex"),
        Cmd("pexvenv_app", "pex --venv --sh-boot, warm", [app_pex_venv], pex_run_env, expect=APP_OK,
            shown="./app-pex-venv.pex"),
        Cmd("venv_pass", "plain venv python", [plain / "bin/python", "-c", "pass"], base_env(),
            shown="<venv>/bin/python -c pass"),
        Cmd("sys_pass", "bare interpreter", [python, "-c", "pass"], base_env(), shown=f"{python} -c pass"),
        shim_cmd("dpexshim_pass", dpex_venv, warm_root, app, ["-c", "pass"], dpex_env),
        Cmd("dpex_pass", "**dpex** launcher, warm", [app, "-c", "pass"], dict(dpex_env, PEX_INTERPRETER=1),
            shown="PEX_INTERPRETER=1 ./app.pex -c pass"),
        Cmd("pex_pass", "pex zipapp, warm", [app_pex, "-c", "pass"], dict(pex_run_env, PEX_INTERPRETER=1),
            shown="PEX_INTERPRETER=1 ./app-pex.pex -c pass"),
        Cmd("pexvenv_pass", "pex --venv --sh-boot, warm", [app_pex_venv, "-c", "pass"],
            dict(pex_run_env, PEX_INTERPRETER=1), shown="PEX_INTERPRETER=1 ./app-pex-venv.pex -c pass"),
        Cmd("pass_1arch", "**dpex** single-architecture app (`--platform`), warm", [app_1arch, "-c", "pass"],
            dpex_env, shown="./app-1arch.pex -c pass"),
        Cmd("pass_2arch", "**dpex** x86_64 + aarch64 app (sh prelude), warm", [app_2arch, "-c", "pass"],
            dpex_env, shown="./app-2arch.pex -c pass"),
    ]
    for c in warm:
        c.check()  # also warms pex's PEX_ROOT and writes every .pyc

    # ---- 2. cold hydration ----
    cold = rd / "cold"
    cold.mkdir()
    cold_dpex = cold / "dpex-root"
    cold_pex = cold / "pex-root"
    uv_venv, uv_cache, pip_venv = cold / "uv-venv", cold / "uv-cache", cold / "pip-venv"
    uv_env = base_env(UV_CACHE_DIR=uv_cache, UV_NO_CONFIG=1, UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS=1)
    q = shlex.quote
    uv_script = (f"{q(str(uv_bin))} venv -q --python {q(python)} {q(str(uv_venv))} && "
                 f"{q(str(uv_bin))} pip install -q --python {q(str(uv_venv / 'bin/python'))} --no-deps "
                 f"--require-hashes -r {q(str(req))} --index-url {q(simple)}")
    pip_script = (f"{q(python)} -m venv --without-pip {q(str(pip_venv))} && "
                  + shlex.join(str(a) if a != "{venv}/bin/python" else str(pip_venv / "bin/python")
                               for a in pip_install))
    coldcmds = [
        Cmd("uv", "uv venv + uv pip install, cold UV_CACHE_DIR", ["sh", "-c", uv_script], uv_env,
            prepare=f"rm -rf {q(str(uv_venv))} {q(str(uv_cache))} && sync",
            shown="uv venv V && uv pip install --no-deps --require-hashes -r requirements.txt --index-url <local>"),
        Cmd("pip", "python -m venv + pip install --no-cache-dir", ["sh", "-c", pip_script], pip_env,
            prepare=f"rm -rf {q(str(pip_venv))} && sync",
            shown="python -m venv --without-pip V && pip --python V/bin/python install --no-deps "
                  "--require-hashes --no-cache-dir -r requirements.txt --index-url <local>"),
        Cmd("dpex_cold_pass", "**dpex** launcher, empty DPEX_ROOT", [app, "-c", "pass"],
            base_env(DPEX_ROOT=cold_dpex, PEX_PYTHON=python, PEX_INTERPRETER=1),
            prepare=f"rm -rf {q(str(cold_dpex))} && sync", shown="PEX_INTERPRETER=1 ./app.pex -c pass"),
        Cmd("dpex_cold_app", "**dpex** app first run (+ .pyc of its imports), empty DPEX_ROOT", [app],
            base_env(DPEX_ROOT=cold_dpex, PEX_PYTHON=python), expect=APP_OK,
            prepare=f"rm -rf {q(str(cold_dpex))} && sync", shown="./app.pex"),
        Cmd("pex_cold_pass", "pex zipapp, empty PEX_ROOT (wheels inside the .pex)", [app_pex, "-c", "pass"],
            base_env(PEX_ROOT=cold_pex, PEX_INTERPRETER=1),
            prepare=f"rm -rf {q(str(cold_pex))} && sync", shown="PEX_INTERPRETER=1 ./app-pex.pex -c pass"),
    ]
    downloads = {}
    for c in coldcmds:
        before = index.file_gets()
        c.check()
        downloads[c.key] = index.file_gets() - before
    ok = run([uv_venv / "bin/python", "-c", RUN_APP], env=base_env(PYTHONPATH=src), check=False)
    if APP_OK not in ok.stdout:
        die(f"the uv-installed venv cannot run the app:\n{ok.stdout}")

    # ---- 3. build ----
    bd = rd / "build"
    bd.mkdir()
    pex_cold_build_root = cold / "pex-root-build"
    buildcmds = [
        Cmd("pex_build_warm", "pex, warm PEX_ROOT", [pex_bin, *pex_args, "-o", bd / "pex-warm.pex"],
            base_env(PEX_ROOT=pex_build_root), prepare=f"rm -f {q(str(bd / 'pex-warm.pex'))}",
            shown="pex -r requirements.txt --no-pypi --index <local>/simple -D src -e demo_app.main:run "
                  "--python /usr/bin/python3.11 -o app-pex.pex"),
        Cmd("pex_build_cold", "pex, empty PEX_ROOT", [pex_bin, *pex_args, "-o", bd / "pex-cold.pex"],
            base_env(PEX_ROOT=pex_cold_build_root),
            prepare=f"rm -rf {q(str(pex_cold_build_root))} {q(str(bd / 'pex-cold.pex'))} && sync",
            shown="(same, PEX_ROOT removed first)"),
        Cmd("dpex_build_lock", "**dpex** build from pylock.toml",
            [dpex, "build", "--lock", pylock, "-D", src, "-e", ENTRY, "-o", bd / "dpex-lock.pex"], base_env(),
            prepare=f"rm -f {q(str(bd / 'dpex-lock.pex'))}",
            shown="dpex build --lock pylock.toml -D src -e demo_app.main:run -o app.pex"),
        Cmd("dpex_build_req", "**dpex** build from requirements.txt (hashes looked up on the index)",
            [dpex, "build", "-r", req, "-i", simple, "-D", src, "-e", ENTRY, "-o", bd / "dpex-req.pex"],
            base_env(), prepare=f"rm -f {q(str(bd / 'dpex-req.pex'))}",
            shown="dpex build -r requirements.txt -i <local>/simple -D src -e demo_app.main:run -o app.pex"),
    ]
    for c in buildcmds:
        before = index.file_gets()
        c.check()
        downloads[c.key] = index.file_gets() - before

    # ---- timing ----
    samples = {}
    samples.update(measure(timer, warm, args.runs, "warm start", warmup=1))
    samples.update(measure(timer, coldcmds, cold_runs, "cold hydration"))
    samples.update(measure(timer, buildcmds, cold_runs, "build"))
    by_key = {c.key: c for c in warm}
    paired_keys = ["venv_pass", "dpexshim_pass", "dpex_pass", "pass_1arch", "pass_2arch"]
    paired = measure_paired([by_key[k] for k in paired_keys], args.pairs, "paired warm start") if args.pairs else None

    def rows(cmds, keys):
        by = {c.key: c for c in cmds}
        return [(k, by[k].label, by[k].shown) for k in keys]

    out = ["## Results", "",
           "Medians in seconds; *vs baseline* is median / the group's baseline median, *Δ median* the "
           "difference. The commands of a group ran interleaved, one run each per round in a shuffled order.",
           ""]
    out += group_table("1a. Warm start of the app", rows(warm, ["venv_app", "dpexenv_app", "dpex_app", "pex_app",
                                                                "pexvenv_app"]), samples, "venv_app",
                       note="Cache warm, .pyc written. Baseline: a plain venv where pip installed the same wheels, "
                            "the app's sources on a .pth (as dpex's venv has them).")
    out += group_table("1b. Launcher overhead (`-c pass`, no app imports)",
                       rows(warm, ["venv_pass", "sys_pass", "dpexshim_pass", "dpex_pass", "pex_pass", "pexvenv_pass"]), samples,
                       "venv_pass")
    out += group_table("1c. Multi-arch app vs single-architecture app (`-c pass`, pure wheels)",
                       rows(warm, ["pass_1arch", "pass_2arch"]), samples, "pass_1arch",
                       note="The same lock (the workload's pure wheels) built twice: by default (launchers for "
                            "x86_64 and aarch64 behind the sh prelude, docs/format.md) and with `--platform "
                            "manylinux2014_x86_64-cp-311-cp311` (the ELF stub in front).")
    if paired:
        out += paired_table(
            f"1d. Warm `-c pass`, paired ({args.pairs} rounds)",
            rows(warm, ["venv_pass", "dpexshim_pass", "dpex_pass"]), paired, "venv_pass",
            note="1b's and 1c's commands to about 0.1 ms: each round runs every command once, "
                 "in a shuffled order, each spawned directly (no `env -i` in front), and a command is compared "
                 "with the baseline run of the same round, which cancels the machine's drift. The 95 % "
                 "interval is ± 2 standard errors of the mean difference.")
        out += paired_table(f"1e. Multi-arch app vs single-architecture app, paired (same {args.pairs} rounds)",
                            rows(warm, ["pass_1arch", "pass_2arch"]), paired, "pass_1arch")
    out += group_table("2. Cold hydration (empty cache, every wheel fetched from the local index)",
                       rows(coldcmds, ["uv", "pip", "dpex_cold_pass", "dpex_cold_app", "pex_cold_pass"]),
                       samples, "uv",
                       note="Removed before every run (untimed, then `sync`): the tool's cache and the target "
                            "venv. uv does not byte-compile (its default); pip does; dpex's `-c pass` row writes "
                            "no .pyc of the app's imports, its app row does. pex's row unpacks the wheels it "
                            "carries (nothing is downloaded). Wheel downloads per run: "
                            + ", ".join(f"{k} {downloads[k]}" for k in ["uv", "pip", "dpex_cold_pass",
                                                                         "dpex_cold_app", "pex_cold_pass"]) + ".")
    out += group_table("3. Build", rows(buildcmds, ["pex_build_warm", "pex_build_cold", "dpex_build_lock",
                                                    "dpex_build_req"]), samples, "pex_build_warm",
                       note="Same pins, same sources. Wheel downloads per build: "
                            + ", ".join(f"{k} {downloads[k]}" for k in ["pex_build_warm", "pex_build_cold",
                                                                         "dpex_build_lock", "dpex_build_req"])
                            + ".")

    # ---- sizes ----
    stub = launcher_stub_size(app)
    size_rows = [
        ("dpex app.pex (from pylock.toml)", (bd / "dpex-lock.pex").stat().st_size),
        ("dpex app.pex (from requirements.txt)", (bd / "dpex-req.pex").stat().st_size),
        ("  of which the launcher stub (bytes before the zip's first local header)", stub),
        ("  of which the zip (sources, PEX-INFO, python shim)", app.stat().st_size - stub),
        ("pex zipapp app-pex.pex", (bd / "pex-warm.pex").stat().st_size),
        ("pex --venv --sh-boot app-pex-venv.pex", app_pex_venv.stat().st_size),
        ("the wheels themselves (what pip/uv/dpex download)", sum(w.stat().st_size for w in req_wheels)),
    ]
    pex_size = (bd / "pex-warm.pex").stat().st_size
    out += ["### Sizes", "", "| artifact | bytes | MB | vs pex zipapp |", "|---|---:|---:|---:|"]
    for label, n in size_rows:
        out.append(f"| {label} | {n:,} | {fmt_mb(n)} | {n / pex_size:.3f}× |")
    built = sorted(glob.glob(str(dpex.parent / "build" / "dpex-*" / "out" / "dpex-launcher")), key=os.path.getmtime)
    if built:
        out.append(f"| the launcher binary as built (`{Path(built[-1]).relative_to(dpex.parent.parent.parent)}`) "
                   f"| {Path(built[-1]).stat().st_size:,} | {fmt_mb(Path(built[-1]).stat().st_size)} | |")
    out.append("")

    # ---- derived ----
    med = {k: statistics.median(v) for k, v in samples.items()}
    out += ["### Derived", "",
            f"- launcher overhead, warm: dpex {1000 * (med['dpex_pass'] - med['venv_pass']):+.0f} ms over a "
            f"venv's `python -c pass`; pex zipapp {1000 * (med['pex_pass'] - med['venv_pass']):+.0f} ms; "
            f"pex --venv --sh-boot {1000 * (med['pexvenv_pass'] - med['venv_pass']):+.0f} ms. The native "
            f"launcher's own share (reading PEX-INFO, the stat calls, exec): "
            f"{1000 * (med['dpex_pass'] - med['dpexshim_pass']):+.1f} ms over running what it execs directly.",
            f"- multi-arch app, warm: {1000 * (med['pass_2arch'] - med['pass_1arch']):+.1f} ms "
            f"({med['pass_2arch'] / med['pass_1arch']:.3f}×) over the single-architecture app of the same lock "
            f"(the prelude's `sh`).",
            *(paired_goals(paired) if paired else []),
            f"- app warm start: dpex {1000 * (med['dpex_app'] - med['venv_app']):+.0f} ms over the plain venv, "
            f"{1000 * (med['dpex_app'] - med['dpexenv_app']):+.0f} ms over its own venv without the launcher.",
            f"- cold: dpex `-c pass` {med['dpex_cold_pass'] / med['uv']:.2f}× uv, "
            f"{med['dpex_cold_pass'] / med['pip']:.2f}× pip; first app run "
            f"{med['dpex_cold_app'] - med['dpex_cold_pass']:+.2f} s over `-c pass` (importing numpy, requests, "
            f"yaml for the first time, writing their .pyc).",
            f"- build: dpex {med['dpex_build_lock'] * 1000:.0f} ms from pylock.toml, "
            f"{med['dpex_build_req'] * 1000:.0f} ms from requirements.txt, vs pex {fmt_s(med['pex_build_warm'])} s "
            f"warm / {fmt_s(med['pex_build_cold'])} s cold; output {fmt_mb(app.stat().st_size)} MB vs "
            f"{fmt_mb(pex_size)} MB, {100 * stub / app.stat().st_size:.1f} % of it the launcher stub.",
            ""]
    return out


def paired_goals(paired):
    """The derived lines of the paired group: issue 10's warm-start goals and issue 11's
    multi-arch one, each with its figure and interval."""
    def diff(key, base):
        d_med, d_mean, d_ci = paired_difference(paired, key, base)
        return d_med * 1000, f"{d_med * 1000:+.3f} ms (mean {d_mean * 1000:+.3f} ± {d_ci * 1000:.3f})"

    ratio = statistics.median(paired["dpex_pass"]) / statistics.median(paired["venv_pass"])
    native, native_text = diff("dpex_pass", "dpexshim_pass")
    arch, arch_text = diff("pass_2arch", "pass_1arch")
    _, arch_mean, arch_ci = paired_difference(paired, "pass_2arch", "pass_1arch")
    met = lambda ok: "**met**" if ok else "**not met**"  # noqa: E731
    return [
        f"- paired (1d): dpex `-c pass` {ratio:.3f}× a venv's `python -c pass` (goal ≤ 1.05×: {met(ratio <= 1.05)}), "
        f"{diff('dpex_pass', 'venv_pass')[1]} over it; the native launcher's own share, a launch minus running "
        f"what it execs directly: {native_text} (goal ≤ 0.3 ms: {met(native <= 0.3)}).",
        f"- paired (1e): the multi-arch app {arch_text} over the single-architecture one "
        f"({statistics.median(paired['pass_2arch']) / statistics.median(paired['pass_1arch']):.3f}×): "
        + ("measurably slower (the interval excludes 0)" if arch_mean - arch_ci > 0 else
           "not measurably slower (the interval includes 0)") + ".",
    ]


# --------------------------------------------------------------------------- --large

LARGE_LOCK = REPO / "bench" / "large.lock.txt"
TORCH_LOCK = REPO / "bench" / "torch.lock.txt"
LARGE_IMPORTS = "import pandas, numpy, scipy, sklearn, pyarrow"
# One process per wheel, two at a time (xargs -P 2), largest wheel first: the
# unpacking floor of the reference measurements (bench/README.md).
UNZIP_ONE = ("import os, sys, zipfile; w = sys.argv[2]; "
             "zipfile.ZipFile(w).extractall(os.path.join(sys.argv[1], os.path.basename(w)[:-4]))")
# The same with 8 threads of urllib, when there is no curl with -Z.
FETCH_ALL_PY = ("import sys, urllib.request; from concurrent.futures import ThreadPoolExecutor\n"
                "def get(u):\n"
                "    with urllib.request.urlopen(u) as r:\n"
                "        while r.read(1 << 20): pass\n"
                "list(ThreadPoolExecutor(8).map(get, sys.argv[1:]))\n")


def fetch_floor(python, index, wheels):
    """(argv, shown): fetch every wheel from `index`, 8 at a time, bodies dropped."""
    urls = [f"{index.url}/files/{w.name}" for w in wheels]
    curl = shutil.which("curl")
    if curl and "--parallel-immediate" in subprocess.run([curl, "--help", "all"], stdout=subprocess.PIPE,
                                                          stderr=subprocess.DEVNULL, text=True).stdout:
        argv = [curl, "-sS", "--fail", "-Z", "--parallel-max", "8", "--parallel-immediate"]
        for u in urls:
            argv += [u, "-o", "/dev/null"]
        return argv, f"curl -Z --parallel-max 8 --parallel-immediate <{len(urls)} wheel URLs> -o /dev/null each"
    return ([python, "-c", FETCH_ALL_PY, *urls],
            f"python: 8 threads of urllib, <{len(urls)} wheel URLs>, bodies read and dropped")


CORES = os.cpu_count() or 1
TORCH_LINKS = [("loopback", None), ("10 Gbit/s", 10e9 / 8), ("1 Gbit/s", 1e9 / 8)]


# A fresh filesystem for every cold run (--fresh-fs): the image is recreated, formatted
# (ext4 with its default journal) and loop-mounted with direct I/O (the backing file's page
# cache would otherwise hold every write twice) before each run, untimed. Without it every
# round's deletes leave the VM's journal-less root ext4 scanning past recently freed inodes,
# which slowed whichever command ran next (bench/README.md, "Pitfalls").
# Unmount the image, detach every loop device still on it (a mount that failed leaves one
# attached), delete it: the start of every preparation and FreshFs.remove.
FRESH_FS_TEARDOWN = r"""set -e
mnt=$1 img=$2
if mountpoint -q "$mnt"; then umount "$mnt"; fi
for dev in $(losetup -n -O NAME -j "$img"); do losetup -d "$dev"; done
rm -f "$img"
"""
FRESH_FS_SCRIPT = FRESH_FS_TEARDOWN + r"""mkdir -p "$mnt"
truncate -s 12G "$img"
mkfs.ext4 -q -F -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 "$img"
dev=$(losetup -f --show --direct-io=on "$img")
mount "$dev" "$mnt" || { losetup -d "$dev"; exit 1; }
sync
"""


def fresh_fs_usable():
    """None when every cold run can get a fresh loop-mounted ext4, else why not."""
    if os.geteuid() != 0:
        return "not root (mounting a loop image needs it)"
    missing = [t for t in ("losetup", "mkfs.ext4", "mount", "umount", "mountpoint") if not shutil.which(t)]
    if missing:
        return "missing " + ", ".join(missing)
    if subprocess.run(["losetup", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        return "no free loop device (losetup -f)"
    return None


class FreshFs:
    """One mount point whose filesystem is made anew before every run (FRESH_FS_SCRIPT)."""

    def __init__(self, folder):
        self.mnt, self.img = folder / "mnt", folder / "fs.img"

    def prepare(self):
        return shlex.join(["sh", "-c", FRESH_FS_SCRIPT, "fresh-fs", str(self.mnt), str(self.img)])

    def remove(self):
        subprocess.run(["sh", "-c", FRESH_FS_TEARDOWN, "fresh-fs", str(self.mnt), str(self.img)], check=True)


def unmount_fresh_fs_under(folder):
    """Unmount, detach and delete every FreshFs image a run left under `folder`
    (bench_torch makes them as <folder>/link-N/fs-TOOL)."""
    for fs_folder in folder.glob("link-*/fs-*"):
        FreshFs(fs_folder).remove()


def bench_torch(args, python, tools, dpex, wheels, rd, timer, rounds):
    """Cold hydration of bench/torch.lock.txt against uv, over loopback and
    over a 10 and a 1 Gbit/s link (the index paces every body through one
    shared token bucket), with each command's peak resident memory."""
    q = shlex.quote
    total = sum(w.stat().st_size for w in wheels)
    uv_bin = tools / "bin" / "uv"
    biggest = sorted(wheels, key=lambda w: -w.stat().st_size)[:3]
    out = ["## Torch-sized lock", "",
           f"{len(wheels)} wheels, {total / 1e6:,.0f} MB (bench/torch.lock.txt; the biggest: "
           + ", ".join(f"{project_of(w.name)} {w.stat().st_size / 1e6:.0f} MB" for w in biggest)
           + "). Medians in seconds; the commands of a group ran interleaved, one run each per round in a "
             "shuffled order, each after its cache and venv were removed (then `sync`, untimed)"
           + (", on a filesystem of its own made anew for every run (a 12 GB ext4 image with its journal, "
              "loop-mounted with direct I/O; `--fresh-fs`)" if args.fresh_fs else
              ", on the machine's filesystem (no `--fresh-fs`)")
           + ". *peak RSS*: "
             "the largest resident set of the command and the processes it waited for (wait4), over its runs.",
           ""]
    derived = []
    for i, (name, rate) in enumerate(TORCH_LINKS, 1):
        ld = rd / f"link-{i}"
        ld.mkdir()
        index = IndexServer(python, wheels[0].parent, ld / "index.log", nodelay=not args.plain_index, rate=rate)
        try:
            pylock = write_pylock(ld / "pylock.toml", wheels, index.url + "/files/")
            req = write_requirements(ld / "requirements.txt", wheels)
            app = ld / "torch.pex"
            Cmd("b", "dpex build", [dpex, "build", "--lock", pylock, "-o", app], base_env()).check()
            if args.fresh_fs:
                fs_uv, fs_dpex = FreshFs(ld / "fs-uv"), FreshFs(ld / "fs-dpex")
                root, uv_venv, uv_cache = fs_dpex.mnt / "dpex-root", fs_uv.mnt / "uv-venv", fs_uv.mnt / "uv-cache"
                prep_uv, prep_dpex = fs_uv.prepare(), fs_dpex.prepare()
            else:
                root, uv_venv, uv_cache = ld / "dpex-root", ld / "uv-venv", ld / "uv-cache"
                prep_uv = f"rm -rf {q(str(uv_venv))} {q(str(uv_cache))} && sync"
                prep_dpex = f"rm -rf {q(str(root))} && sync"
            uv_env = base_env(UV_CACHE_DIR=uv_cache, UV_NO_CONFIG=1, UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS=1)
            uv_script = (f"{q(str(uv_bin))} venv -q --python {q(python)} {q(str(uv_venv))} && "
                         f"{q(str(uv_bin))} pip install -q --python {q(str(uv_venv / 'bin/python'))} --no-deps "
                         f"--require-hashes -r {q(str(req))} --index-url {q(index.url + '/simple')}")
            fetch_argv, fetch_shown = fetch_floor(python, index, wheels)
            keys = (f"t{i}_uv", f"t{i}_dpex", f"t{i}_fetch")
            cmds = [
                Cmd(keys[0], "uv venv + uv pip install, cold UV_CACHE_DIR", ["sh", "-c", uv_script], uv_env,
                    prepare=prep_uv,
                    shown="uv venv V && uv pip install --no-deps --require-hashes -r requirements.txt "
                          "--index-url <local>"),
                Cmd(keys[1], "**dpex** cold hydration, empty DPEX_ROOT", [app, "-c", "pass"],
                    base_env(DPEX_ROOT=root, PEX_PYTHON=python, PEX_INTERPRETER=1),
                    prepare=prep_dpex, shown="PEX_INTERPRETER=1 ./torch.pex -c pass"),
                Cmd(keys[2], "floor: fetch every wheel, 8 in parallel", fetch_argv, base_env(), shown=fetch_shown),
            ]
            for c in cmds:
                c.check()
            samples = measure(timer, cmds, rounds, f"torch over {name}")
        finally:
            index.stop()
        # What the last round left: the lock unpacked twice (~4 GB each) and uv's cache: 8 GB a
        # link, 24 GB a run, removed once measured (kept when a command fails, for a look).
        if args.fresh_fs:
            fs_uv.remove()
            fs_dpex.remove()
        else:
            for d in (root, uv_venv, uv_cache):
                shutil.rmtree(d, ignore_errors=True)
        note = ("The index serves from 127.0.0.1 " + (f"at {name} for all bodies together (a token bucket "
                f"in tests/support/index_server.py --rate): the {total / 1e6:,.0f} MB take "
                f"{total / rate:.2f} s at that rate." if rate else "as fast as it can (no pacing)."))
        out += group_table(f"T{i}. Cold hydration over {name}", [(c.key, c.label, c.shown) for c in cmds],
                           samples, keys[0], note=note, cpu=timer.cpu, rss=timer.maxrss, busy=timer.busy)
        med = {k: statistics.median(samples[k]) for k in keys}
        # The own loop (main() picks it for --torch) records every run's peak RSS; a
        # missing record is a KeyError here, never a goal "met" by a 0.
        rss = max(timer.maxrss[keys[1]]) / 1024
        line = (f"- {name}: dpex {fmt_s(med[keys[1]])} s = {med[keys[1]] / med[keys[0]]:.2f}× uv "
                f"(goal ≤ 0.80×: {'**met**' if med[keys[1]] <= 0.8 * med[keys[0]] else '**not met**'}), "
                f"peak RSS {rss:,.0f} MiB (goal ≤ 512: {'**met**' if rss <= 512 else '**not met**'})")
        # What no dpex run can beat here: the machine's CPU work during one (dpex, the index
        # server, the kernel's writeback) spread over every core, and the bytes at the link's rate.
        busy = statistics.median(timer.busy[keys[1]])
        floor = max(busy / CORES, total / rate if rate else 0)
        line += (f"; the machine was busy {busy:.1f} CPU-s during a dpex run, {busy / CORES:.2f} s on {CORES} cores "
                 f"kept busy throughout" + (f", and the bytes take {total / rate:.2f} s" if rate else "")
                 + f": that floor, {floor:.2f} s, is " + (
                     f"above 0.8× uv ({0.8 * med[keys[0]]:.2f} s): the goal cannot be met on this machine"
                     if floor > 0.8 * med[keys[0]] else f"below 0.8× uv ({0.8 * med[keys[0]]:.2f} s)"))
        if rate:
            ideal = total / rate
            line += (f"; {med[keys[1]] / ideal:.2f}× the time of the bytes at {name} ({ideal:.2f} s; goal ≤ "
                     f"1.15×: {'**met**' if med[keys[1]] <= 1.15 * ideal else '**not met**'})")
        derived.append(line + ".")
    return out + ["### Derived", ""] + derived + [""]


def project_of(filename):
    return re.sub(r"[-_.]+", "_", filename.split("-")[0]).lower()


def load_fetcher():
    """scripts/fetch-test-wheels as a module (its pinned, hash-checked `pip download --no-deps`)."""
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("fetch_test_wheels", str(REPO / "scripts" / "fetch-test-wheels"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def setup_large_wheels(tools, work, only=None, lock=None, folder="large-wheels"):
    """The files of bench/large.lock.txt (or `lock`; or those of the projects in `only`), in
    .dpex-test/bench/<folder>, each checked against its sha256; missing ones are
    fetched once with pip (clean environment, --only-binary :all: --no-deps, pinned by hash)."""
    ftw = load_fetcher()
    entries = ftw.read_lock(lock or LARGE_LOCK)
    if only is not None:
        entries = [e for e in entries if project_of(e[0]) in only]
    dest = work / folder
    dest.mkdir(parents=True, exist_ok=True)
    for filename, sha in entries:
        path = dest / filename
        if path.is_file() and ftw.sha256_of(path) == sha:
            continue
        if path.exists():
            path.unlink()
        say(f"fetching {filename} from PyPI (pip download --no-deps --only-binary :all:, pinned by its sha256)")
        ftw.fetch_one(str(tools / "bin" / "python"), filename, sha, dest)
    return [dest / f for f, _ in entries]


def filesystem_info(path):
    r = subprocess.run(["findmnt", "-n", "-T", str(path), "-o", "SOURCE,FSTYPE,OPTIONS"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    parts = r.stdout.split()
    if len(parts) < 2:
        return "?"
    source, fstype, options = parts[0], parts[1], parts[2] if len(parts) > 2 else ""
    text = f"{fstype} on {source} ({options})"
    journal = Path("/sys/fs/ext4") / Path(source).name / "journal_task"
    if fstype == "ext4" and journal.is_file():
        if journal.read_text().strip() == "<none>":
            text += ", **no journal** (see bench/README.md: inode allocation after mass deletes)"
    return text


def pip_bench_env():
    return base_env(PIP_DISABLE_PIP_VERSION_CHECK=1, PIP_NO_INPUT=1, PIP_CONFIG_FILE=os.devnull)


def find_env(root):
    envs = sorted((root / "1" / "envs").glob("*/bin/python"), key=lambda p: p.parent.parent.stat().st_mtime)
    if not envs:
        die(f"no venv under {root}/1/envs after a first run")
    return envs[-1].parent.parent


def tree_stats(path):
    """(files, symlinks, dirs, bytes of regular files) under path."""
    files = links = dirs = size = 0
    for base, dnames, fnames in os.walk(path):
        dirs += len(dnames)
        for n in fnames:
            st = os.lstat(os.path.join(base, n))
            if os.path.islink(os.path.join(base, n)):
                links += 1
            else:
                files += 1
                size += st.st_size
    return files, links, dirs, size


def phases_run(cmd):
    """One extra cold run with PEX_VERBOSE=2, stderr lines time-stamped as they arrive:
    where the time of a cold hydration goes, as far as the launcher reports it."""
    cmd.do_prepare()
    env = dict(cmd.env, PEX_VERBOSE="2")
    argv = ["env", "-i", *(f"{k}={v}" for k, v in sorted(env.items())), *cmd.argv]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = [(time.perf_counter() - t0, line.rstrip("\n")) for line in p.stderr]
    rc = p.wait()
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc != 0:
        die(f"the PEX_VERBOSE=2 cold run failed ({rc}):\n" + "\n".join(l for _, l in lines[-20:]))
    out = ["### Where the time goes: one cold hydration with PEX_VERBOSE=2", "",
           f"`PEX_VERBOSE=2 PEX_INTERPRETER=1 ./large.pex -c pass`, empty DPEX_ROOT, one run outside the rounds "
           f"(stderr lines time-stamped by bench.py as they arrive): **{wall:.2f} s** wall, "
           f"{ru1.ru_utime - ru0.ru_utime:.2f} s user + {ru1.ru_stime - ru0.ru_stime:.2f} s system CPU.", ""]
    fetch_start = [t for t, l in lines if re.match(r"dpex: fetching ", l)]
    # "NAME: fetched in F ms, unpacked in U ms" (whole-file path) or "NAME: fetched and
    # unpacked in T ms" (unpacked while the bytes stream in: one figure).
    done = []
    for t, l in lines:
        if m := re.match(r"dpex: (\S+): fetched in (\d+) ms, unpacked in (\d+) ms", l):
            done.append((t, m.group(1), int(m.group(2)), int(m.group(3))))
        elif m := re.match(r"dpex: (\S+): fetched and unpacked in (\d+) ms", l):
            done.append((t, m.group(1), None, int(m.group(2))))
    env_built = [(t, int(m.group(1))) for t, l in lines if (m := re.search(r"environment built in (\d+) ms", l))]
    synced = [(t, int(m.group(1)), int(m.group(2))) for t, l in lines
              if (m := re.search(r"(\d+) wheels written to disk \(syncfs\) and published in (\d+) ms", l))]
    if not done:
        out += ["This dpex reports no per-wheel timings under PEX_VERBOSE=2; its last stderr lines:", "", "```"]
        out += [l for _, l in lines[-15:]] + ["```", ""]
        return out
    per = sorted(((name, f, u) for _, name, f, u in done), key=lambda x: -((x[1] or 0) + x[2]))
    t_first = fetch_start[0] if fetch_start else None
    t_last = max(t for t, *_ in done)
    rows = [("start → first wheel fetch begins (read PEX-INFO, probe the interpreter, select wheels, extract "
             "the app)", t_first if t_first is not None else float("nan"))]
    rows.append(("first fetch → last wheel unpacked (8 workers, each wheel unpacked as its bytes arrive and "
                 "hashed)", t_last - (t_first or 0.0)))
    t_wheels = t_last
    if synced:
        t_synced, count, ms = synced[-1]
        rows.append((f"→ the {count} wheels written to disk (one `syncfs`) and published: {ms} ms as reported",
                     t_synced - t_last))
        t_wheels = t_synced
    if env_built:
        t_env, env_ms = env_built[-1]
        rows.append(("→ environment built (the site and venv: folders and one hard link per file; syncfs each)",
                     t_env - t_wheels))
        rows.append(("environment built → exit (exec python, `-c pass`)", wall - t_env))
    else:
        rows.append(("→ exit (environment, exec python, `-c pass`)", wall - t_wheels))
    out += ["| phase | s | share |", "|---|---:|---:|"]
    out += [f"| {name} | {x:.2f} | {100 * x / wall:.0f} % |" for name, x in rows]
    fetch_sum = sum(f for _, f, _ in per if f is not None)
    out += ["",
            f"Summed over the {len(per)} wheels (they overlap: 8 at a time on 2 cores): "
            + (f"fetch (download + sha256 as reported) {fetch_sum / 1000:.2f} s, unpack " if fetch_sum else
               "fetch and unpack together (streamed) ")
            + f"{sum(u for _, _, u in per) / 1000:.2f} s"
            + (f"; environment build {env_built[-1][1] / 1000:.2f} s as reported." if env_built else "."),
            "", "| wheel | MB | fetch ms | unpack ms (streamed: fetch + unpack) |", "|---|---:|---:|---:|"]
    sizes = {}
    for w in (LARGE_WHEEL_DIR[0].glob("*.whl") if LARGE_WHEEL_DIR else []):
        sizes[w.name] = w.stat().st_size
    for name, f, u in per[:6]:
        out.append(f"| {name} | {sizes.get(name, 0) / 1e6:.1f} | {'-' if f is None else f} | {u} |")
    out.append("")
    return out


LARGE_WHEEL_DIR = []  # set by bench_large (for phases_run's sizes)


def strace_profile(label, cmd, rd):
    """One cold run of cmd under `strace -f -c`: syscall counts (times are inflated by strace)."""
    if not shutil.which("strace"):
        return [f"- {label}: strace not installed", ""]
    cmd.do_prepare()
    out_file = rd / f"strace-{cmd.key}.txt"
    r = subprocess.run(["strace", "-f", "-c", "-o", str(out_file), *cmd.full_argv()], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        return [f"- {label}: failed under strace ({r.returncode})", ""]
    counts = {}
    for line in out_file.read_text().splitlines():
        f = line.split()
        if len(f) >= 5 and re.fullmatch(r"[\d.]+", f[0]) and f[-1] not in ("total",):
            calls = int(f[3])
            errors = int(f[4]) if len(f) == 6 else 0
            counts[f[-1]] = (calls, errors)
    return counts


def bench_large(args, python, tools, dpex, wheels, rd, index, timer, runs, cold_runs):
    LARGE_WHEEL_DIR[:] = [wheels[0].parent]
    q = shlex.quote
    pylock = write_pylock(rd / "pylock.toml", wheels, index.url + "/files/")
    req = write_requirements(rd / "requirements.txt", wheels)
    simple = index.url + "/simple"
    uv_bin = tools / "bin" / "uv"
    tools_py = tools / "bin" / "python"
    pip_env = pip_bench_env()
    total_mb = sum(w.stat().st_size for w in wheels) / 1e6

    say("large: dpex build (no entry point: the app behaves like the interpreter)")
    app = rd / "large.pex"
    Cmd("b", "dpex build", [dpex, "build", "--lock", pylock, "-o", app], base_env()).check()

    say("large: a venv with the same wheels pip-installed (pip compiles their .pyc)")
    plain = rd / "pip-venv"
    run([python, "-m", "venv", "--without-pip", plain], env=base_env())
    t0 = time.perf_counter()
    run([tools_py, "-m", "pip", "--python", plain / "bin" / "python", "install", "-q", "--no-deps",
         "--require-hashes", "--no-cache-dir", "-r", req, "--index-url", simple], env=pip_env)
    pip_secs = time.perf_counter() - t0

    warm_root = rd / "dpex-root-warm"
    dpex_env = base_env(DPEX_ROOT=warm_root, PEX_PYTHON=python, PEX_INTERPRETER=1)
    before = index.file_gets()
    t0 = time.perf_counter()
    Cmd("w", "dpex first run", [app, "-c", "pass"], dpex_env).check()
    say(f"large: dpex first run (hydrates {warm_root}): {time.perf_counter() - t0:.2f} s, "
        f"{index.file_gets() - before} wheel downloads")
    dpex_venv = find_env(warm_root)

    # ---- cold hydration: dpex vs uv vs the floors ----
    cold = rd / "cold"
    cold.mkdir()
    cold_dpex = cold / "dpex-root"
    uv_venv, uv_cache = cold / "uv-venv", cold / "uv-cache"
    uv_env = base_env(UV_CACHE_DIR=uv_cache, UV_NO_CONFIG=1, UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS=1)
    uv_script = (f"{q(str(uv_bin))} venv -q --python {q(python)} {q(str(uv_venv))} && "
                 f"{q(str(uv_bin))} pip install -q --python {q(str(uv_venv / 'bin/python'))} --no-deps "
                 f"--require-hashes -r {q(str(req))} --index-url {q(simple)}")
    fetch_argv, fetch_shown = fetch_floor(python, index, wheels)
    unzip_dest = cold / "unzip"
    unzip_list = rd / "unzip-list.txt"
    unzip_list.write_text("".join(f"{w}\n" for w in sorted(wheels, key=lambda w: -w.stat().st_size)))
    coldcmds = [
        Cmd("uv", "uv venv + uv pip install, cold UV_CACHE_DIR", ["sh", "-c", uv_script], uv_env,
            prepare=f"rm -rf {q(str(uv_venv))} {q(str(uv_cache))} && sync",
            shown="uv venv V && uv pip install --no-deps --require-hashes -r requirements.txt --index-url <local>"),
        Cmd("dpex_cold", "**dpex** cold hydration, empty DPEX_ROOT", [app, "-c", "pass"],
            base_env(DPEX_ROOT=cold_dpex, PEX_PYTHON=python, PEX_INTERPRETER=1),
            prepare=f"rm -rf {q(str(cold_dpex))} && sync", shown="PEX_INTERPRETER=1 ./large.pex -c pass"),
        Cmd("floor_fetch", "floor (a): fetch every wheel over loopback, 8 in parallel", fetch_argv, base_env(),
            shown=fetch_shown),
        Cmd("floor_unzip", "floor (b): unzip every wheel, 2 processes (zipfile.extractall, one per wheel)",
            ["xargs", "-P", "2", "-n", "1", "-a", unzip_list, python, "-S", "-c", UNZIP_ONE, unzip_dest],
            base_env(), prepare=f"rm -rf {q(str(unzip_dest))} && mkdir {q(str(unzip_dest))} && sync",
            shown="xargs -P 2 -n 1 python -S -c 'zipfile.ZipFile(w).extractall(D/<w>)' (largest first), "
                  "into a fresh folder beside the caches"),
    ]
    downloads = {}
    for c in coldcmds:
        before = index.file_gets()
        c.check()
        downloads[c.key] = index.file_gets() - before
    unz_files, _, unz_dirs, unz_bytes = tree_stats(unzip_dest)
    wf, _, wd, wb = tree_stats(cold_dpex / "1" / "wheels")
    ef, el, ed, _ = tree_stats(find_env(cold_dpex))
    sf, sl, sd_, _ = tree_stats(cold_dpex / "1" / "sites")
    uf, _, ud, ub = tree_stats(uv_cache)
    vf, vl, vd, _ = tree_stats(uv_venv)
    r = run([uv_venv / "bin/python", "-c", LARGE_IMPORTS], env=base_env(), check=False)
    if r.returncode != 0:
        die(f"the uv-installed venv cannot import the large set:\n{r.stdout}")

    # ---- cold, with bytecode compiled up front ----
    uvc_venv, uvc_cache = cold / "uvc-venv", cold / "uvc-cache"
    uvc_env = base_env(UV_CACHE_DIR=uvc_cache, UV_NO_CONFIG=1, UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS=1)
    uvc_script = (f"{q(str(uv_bin))} venv -q --python {q(python)} {q(str(uvc_venv))} && "
                  f"{q(str(uv_bin))} pip install -q --python {q(str(uvc_venv / 'bin/python'))} --no-deps "
                  f"--require-hashes --compile-bytecode -r {q(str(req))} --index-url {q(simple)}")
    cold_compiled = cold / "dpex-root-compiled"
    compilecmds = [
        Cmd("uvc", "uv venv + uv pip install --compile-bytecode, cold UV_CACHE_DIR", ["sh", "-c", uvc_script],
            uvc_env, prepare=f"rm -rf {q(str(uvc_venv))} {q(str(uvc_cache))} && sync",
            shown="uv venv V && uv pip install --no-deps --require-hashes --compile-bytecode -r requirements.txt "
                  "--index-url <local>"),
        Cmd("dpexc", "**dpex** hydrate --compile, empty DPEX_ROOT",
            [dpex, "hydrate", "--compile", "--python", python, app], base_env(DPEX_ROOT=cold_compiled),
            prepare=f"rm -rf {q(str(cold_compiled))} && sync",
            shown=f"dpex hydrate --compile --python {python} large.pex"),
    ]
    # No separate check run for this group and the first-import one (runtime): a failing command
    # stops hyperfine, and so the benchmark.

    # ---- warm: import pandas, ... and -c pass ----
    warm = [
        Cmd("pip_import", "venv, pip-installed (.pyc from pip's install)", [plain / "bin/python", "-c", LARGE_IMPORTS],
            base_env(), shown=f"<venv>/bin/python -c '{LARGE_IMPORTS}'"),
        Cmd("dpex_import", "**dpex** large.pex, warm", [app, "-c", LARGE_IMPORTS], dpex_env,
            shown=f"PEX_INTERPRETER=1 ./large.pex -c '{LARGE_IMPORTS}'"),
        Cmd("dpexenv_import", "dpex's venv without the launcher", [dpex_venv / "bin/python", "-c", LARGE_IMPORTS],
            base_env(), shown=f"$DPEX_ROOT/1/envs/<key>/bin/python -c '{LARGE_IMPORTS}'"),
        Cmd("pip_pass", "venv python, `-c pass`", [plain / "bin/python", "-c", "pass"], base_env(),
            shown="<venv>/bin/python -c pass"),
        Cmd("dpexenv_pass", "dpex's venv without the launcher, `-c pass`", [dpex_venv / "bin/python", "-c", "pass"],
            base_env(), shown="$DPEX_ROOT/1/envs/<key>/bin/python -c pass"),
        shim_cmd("dpexshim_pass", dpex_venv, warm_root, app, ["-c", "pass"], dpex_env),
        Cmd("dpex_pass", "**dpex** launcher, warm, `-c pass`", [app, "-c", "pass"], dpex_env,
            shown="PEX_INTERPRETER=1 ./large.pex -c pass"),
    ]
    for c in warm:
        c.check()
        c.check()  # the first writes the .pyc

    # ---- the first import after hydration (no .pyc yet) ----
    fi_root = cold / "dpex-root-first-import"
    fi_env = base_env(DPEX_ROOT=fi_root, PEX_PYTHON=python, PEX_INTERPRETER=1)
    hydrate = Cmd("h", "hydrate", [app, "-c", "pass"], fi_env)
    fic_root = cold / "dpex-root-first-import-compiled"
    fic_env = base_env(DPEX_ROOT=fic_root, PEX_PYTHON=python, PEX_INTERPRETER=1)
    hydrate_c = Cmd("hc", "hydrate --compile", [dpex, "hydrate", "--compile", "--python", python, app],
                    base_env(DPEX_ROOT=fic_root))
    first = [
        Cmd("fi_pip", "venv, pip-installed (.pyc from pip's install)", [plain / "bin/python", "-c", LARGE_IMPORTS],
            base_env(), shown=f"<venv>/bin/python -c '{LARGE_IMPORTS}'"),
        Cmd("fi_dpex", "**dpex**, first import after a cold hydration", [app, "-c", LARGE_IMPORTS], fi_env,
            prepare=f"rm -rf {q(str(fi_root))} && {shlex.join(hydrate.full_argv())} >/dev/null 2>&1 && sync",
            shown=f"PEX_INTERPRETER=1 ./large.pex -c '{LARGE_IMPORTS}' (hydrated just before, untimed)"),
        Cmd("fi_dpexc", "**dpex**, first import after `dpex hydrate --compile`", [app, "-c", LARGE_IMPORTS],
            fic_env,
            prepare=f"rm -rf {q(str(fic_root))} && {shlex.join(hydrate_c.full_argv())} >/dev/null 2>&1 && sync",
            shown=f"PEX_INTERPRETER=1 ./large.pex -c '{LARGE_IMPORTS}' (after `dpex hydrate --compile`, untimed)"),
        Cmd("fi_uv", "uv venv, first import (uv writes no .pyc)", [uv_venv / "bin/python", "-c", LARGE_IMPORTS],
            base_env(), prepare=f"find {q(str(uv_venv))} -name __pycache__ -type d -prune -exec rm -rf {{}} + && sync",
            shown=f"<uv venv>/bin/python -c '{LARGE_IMPORTS}' (its __pycache__ removed before each run)"),
    ]

    # ---- redeploy: a new version of an app on a host that runs the old one ----
    redeploy, redeploy_builds = setup_redeploy(python, tools, dpex, pylock, req, simple, rd)

    # ---- timing ----
    samples = {}
    samples.update(measure(timer, redeploy, cold_runs, "large: redeploy"))
    samples.update(measure(timer, coldcmds, cold_runs, "large: cold hydration"))
    samples.update(measure(timer, compilecmds, cold_runs, "large: cold install with bytecode"))
    samples.update(measure(timer, warm, runs, "large: warm import", warmup=1))
    samples.update(measure(timer, first, cold_runs, "large: first import after hydration"))
    phases = phases_run(coldcmds[1])
    profile = []
    if args.profile:
        say("large: one cold dpex and one cold uv run under strace -f -c")
        sd = strace_profile("dpex", coldcmds[1], rd)
        su = strace_profile("uv", coldcmds[0], rd)
        if isinstance(sd, dict) and isinstance(su, dict):
            keys = sorted(set(sd) | set(su), key=lambda k: -(sd.get(k, (0, 0))[0] + su.get(k, (0, 0))[0]))[:16]
            profile = ["### Syscalls of one cold run (`strace -f -c`, calls / errors)", "",
                       "| syscall | dpex | uv |", "|---|---:|---:|"]
            for k in keys:
                d, u = sd.get(k, (0, 0)), su.get(k, (0, 0))
                profile.append(f"| {k} | {d[0]:,} / {d[1]:,} | {u[0]:,} / {u[1]:,} |")
            profile.append("")
        else:
            profile = (sd if isinstance(sd, list) else []) + (su if isinstance(su, list) else [])

    med = {k: statistics.median(v) for k, v in samples.items()}
    floor_key = "floor_fetch" if med["floor_fetch"] >= med["floor_unzip"] else "floor_unzip"
    floor = med[floor_key]

    def rows(cmds, keys):
        by = {c.key: c for c in cmds}
        return [(k, by[k].label, by[k].shown) for k in keys]

    out = ["## Large workload", "",
           f"{len(wheels)} wheels, {total_mb:.1f} MB; unpacked {unz_files:,} files in {unz_dirs:,} folders, "
           f"{unz_bytes / 1e6:.0f} MB. Medians in seconds; the commands of a group ran interleaved, one run each "
           f"per round in a shuffled order. *user s* and *sys s*: median CPU time of the command and what it "
           f"waited for.", ""]
    out += group_table(
        "L1. Cold hydration (empty cache, every wheel fetched from the local index)",
        rows(coldcmds, ["uv", "dpex_cold", "floor_fetch", "floor_unzip"]), samples, "uv", cpu=timer.cpu,
        note="Removed before every run (untimed, then `sync`): the tool's cache and target venv, the unzip "
             "folder. uv does not byte-compile (its default); neither does dpex. Wheel downloads per run: "
             + ", ".join(f"{k} {downloads[k]}" for k in ["uv", "dpex_cold", "floor_fetch"]) + ".")
    ratio_floor = med["dpex_cold"] / floor
    def verdict(key, base_key, target):
        """Met only when every run of `key` beats every run of `base_key` scaled by
        `target`; overlapping ranges are parity within noise (see bench/README.md)."""
        runs, base = samples[key], [target * b for b in samples[base_key]]
        if max(runs) <= min(base):
            return "met (every run)"
        if min(runs) > max(base):
            return "**not met** (every run)"
        return f"at parity within noise ({med[key] / statistics.median(base) * target:.2f}×, ranges overlap)"

    out += ["**Targets (issue 4):** dpex ≤ uv, and ≤ 1.3× the floor (the slower of (a) and (b)). "
            "With a few runs each, a ratio whose min–max ranges overlap is not a result either way.", "",
            "| ratio | value | target | verdict |", "|---|---:|---:|---|",
            f"| dpex / uv | {med['dpex_cold'] / med['uv']:.2f}× | ≤ 1.00× | {verdict('dpex_cold', 'uv', 1.0)} |",
            f"| dpex / floor ({'fetch' if floor_key == 'floor_fetch' else 'unzip'}, {fmt_s(floor)} s) "
            f"| {ratio_floor:.2f}× | ≤ 1.30× | {verdict('dpex_cold', floor_key, 1.3)} |",
            f"| uv / floor | {med['uv'] / floor:.2f}× | | |", ""]
    out += [f"What each cold run leaves behind: dpex {wf:,} files in {wd:,} folders ({wb / 1e6:.0f} MB) in "
            f"`wheels/`, plus a shared site of {sd_:,} folders and {sf:,} files (hard links into `wheels/`: "
            f"no new inodes) and a venv of {ed:,} folders and {el:,} symlinks ({ef:,} regular files); uv "
            f"{uf:,} files in {ud:,} folders ({ub / 1e6:.0f} MB) in its cache, plus a venv of {vd:,} folders "
            f"and {vf:,} files (nearly all hard links into the cache: no new inodes); the unzip floor "
            f"{unz_files:,} files.",
            ""]
    out += phases
    out += profile
    out += group_table(
        "L1b. Cold install with bytecode compiled up front",
        rows(compilecmds, ["uvc", "dpexc"]), samples, "uvc", cpu=timer.cpu,
        note="As L1, but each tool also writes the .pyc of every module (`dpex hydrate --compile` runs "
             "`python -m compileall -j 0` on the environment after hydrating it). For reference, pip (which "
             f"always compiles) took {pip_secs:.1f} s for `python -m venv --without-pip V && pip --python "
             "V/bin/python install --no-deps --require-hashes --no-cache-dir -r requirements.txt --index-url "
             "<local>` once (the untimed setup of the L2 baseline; not interleaved).")
    out += group_table(
        f"L2. Warm `import pandas, numpy, scipy, sklearn, pyarrow`", rows(warm, ["pip_import", "dpex_import",
                                                                          "dpexenv_import"]),
        samples, "pip_import", cpu=timer.cpu,
        note=f"Both warm: .pyc written (pip compiles at install; dpex's venv got them from an earlier run). "
             f"Baseline: a `python -m venv` where pip installed the same {len(wheels)} wheels "
             f"(that install took {pip_secs:.1f} s, untimed).")
    out += group_table("L3. Launcher overhead on the large app (`-c pass`)",
                       rows(warm, ["pip_pass", "dpexenv_pass", "dpexshim_pass", "dpex_pass"]), samples, "pip_pass")
    out += group_table(
        "L4. The first import after hydration", rows(first, ["fi_pip", "fi_dpex", "fi_dpexc", "fi_uv"]), samples,
        "fi_pip",
        cpu=timer.cpu,
        note="dpex: a cold hydration just before each run (untimed), then the first import, which compiles "
             "and writes every .pyc it needs (Python's lazy compile, into the venv's own folders); or "
             "`dpex hydrate --compile` before it (untimed). uv: its venv from L1 with every `__pycache__` "
             "removed, as uv installs no .pyc. Baseline: the pip venv, whose install compiled everything.")
    out += group_table(
        "L5. Redeploy: the first run of a new version on a host that runs the old one",
        rows(redeploy, ["rd_dpex_v1", "rd_dpex_next", "rd_pex_v1", "rd_pex_next"]), samples, "rd_dpex_v1",
        cpu=timer.cpu,
        note="An app (one source file, no entry point) on the large wheels, run as `-c 'import redeploy_app, "
             "pandas, ...'`. v1 was run twice before timing (hydration, then Python's own bytecode writes), "
             "so its rows are warm. Before each *new version* run (untimed) the app's source changes one line "
             "and the tool builds it again (" + redeploy_builds + "); the timed run is that version's first, on "
             "the same cache (DPEX_ROOT / PEX_ROOT) as v1, with Python's default bytecode caching. "
             "Baseline: dpex v1 warm.")
    stub = launcher_stub_size(app)
    out += ["### Sizes", "", "| artifact | bytes | MB |", "|---|---:|---:|",
            f"| large.pex (no sources; PEX-INFO pins {len(wheels)} wheels) | {app.stat().st_size:,} "
            f"| {fmt_mb(app.stat().st_size)} |",
            f"|   of which the launcher stub | {stub:,} | {fmt_mb(stub)} |",
            f"|   of which the zip (PEX-INFO, python shim) | {app.stat().st_size - stub:,} "
            f"| {fmt_mb(app.stat().st_size - stub)} |",
            f"| the wheels | {sum(w.stat().st_size for w in wheels):,} | {total_mb:.1f} |", ""]
    lazy = med["fi_dpex"] - med["dpex_import"]
    out += ["### Derived", "",
            f"- cold hydration of {total_mb:.0f} MB: dpex {fmt_s(med['dpex_cold'])} s = "
            f"{med['dpex_cold'] / med['uv']:.2f}× uv ({fmt_s(med['uv'])} s; {verdict('dpex_cold', 'uv', 1.0)}) "
            f"and {ratio_floor:.2f}× the floor "
            f"({fmt_s(floor)} s: fetch {fmt_s(med['floor_fetch'])} s, unzip {fmt_s(med['floor_unzip'])} s).",
            f"- warm `{LARGE_IMPORTS}`: dpex {med['dpex_import'] / med['pip_import']:.2f}× the pip venv "
            f"({1000 * (med['dpex_import'] - med['pip_import']):+.0f} ms); dpex's venv without the launcher "
            f"{med['dpexenv_import'] / med['pip_import']:.2f}×; the launcher "
            f"{1000 * (med['dpex_pass'] - med['dpexenv_pass']):+.1f} ms over its venv's `python -c pass` "
            f"({med['dpex_pass'] / med['dpexenv_pass']:.2f}×), of which the native launcher "
            f"{1000 * (med['dpex_pass'] - med['dpexshim_pass']):+.1f} ms (reading PEX-INFO, the stat calls, exec; "
            f"the rest is the python-shim's own start).",
            f"- first import note: right after a cold hydration the same import takes {fmt_s(med['fi_dpex'])} s, "
            f"{med['fi_dpex'] / med['fi_pip']:.2f}× the pip venv and {lazy:+.2f} s over dpex warm: that is "
            f"Python compiling the .pyc of what it imports, once (uv's venv pays the same: "
            f"{fmt_s(med['fi_uv'])} s). pip pays it at install time instead (part of its {pip_secs:.0f} s). "
            f"A first run's hydration does not compile, so its first import is "
            + ("**not** as fast as from a pip install" if med["fi_dpex"] > 1.1 * med["fi_pip"]
               else "as fast as from a pip install")
            + f"; after `dpex hydrate --compile` it takes {fmt_s(med['fi_dpexc'])} s "
              f"({med['fi_dpexc'] / med['fi_pip']:.2f}× the pip venv).",
            f"- all in, cold cache to a first import: dpex {fmt_s(med['dpex_cold'] + med['fi_dpex'])} s (L1 + "
            f"L4 lazy), dpex hydrate --compile + first import {fmt_s(med['dpexc'] + med['fi_dpexc'])} s, uv "
            f"{fmt_s(med['uv'] + med['fi_uv'])} s (L1 + L4), uv --compile-bytecode + first import "
            f"{fmt_s(med['uvc'] + med['fi_pip'])} s (taking the pip venv's warm import for it), pip "
            f"~{fmt_s(pip_secs + med['fi_pip'])} s (its one untimed install).",
            f"- redeploy: the first run of a new version costs dpex "
            f"{1000 * (med['rd_dpex_next'] - med['rd_dpex_v1']):+.0f} ms over v1 warm (goal ≤ +300 ms: "
            + ("**met**" if med['rd_dpex_next'] - med['rd_dpex_v1'] <= 0.3 else "**not met**")
            + f"), pex --venv {1000 * (med['rd_pex_next'] - med['rd_pex_v1']):+.0f} ms over its own v1 warm.",
            ""]
    return out


REDEPLOY_CODE = "import redeploy_app, " + LARGE_IMPORTS[len("import "):]


def setup_redeploy(python, tools, dpex, pylock, req, simple, rd):
    """The L5 commands: v1 of a small app on the large wheels, warm, and the
    first run of a freshly built next version, for dpex and pex --venv. Each
    `*_next` run's prepare step edits the source (a counter) and rebuilds."""
    q = shlex.quote
    out = {}
    cmds = []
    for tool in ("dpex", "pex"):
        src = rd / f"redeploy-{tool}-src"
        (src / "redeploy_app").mkdir(parents=True)
        init = src / "redeploy_app" / "__init__.py"
        init.write_text("VERSION = 0\n")
        v1, nxt = rd / f"redeploy-{tool}-v1.pex", rd / f"redeploy-{tool}-next.pex"
        if tool == "dpex":
            build = [dpex, "build", "--lock", pylock, "-D", src, "-o"]
            benv = base_env()
            renv = base_env(DPEX_ROOT=rd / "redeploy-dpex-root", PEX_PYTHON=python, PEX_INTERPRETER=1)
        else:
            build = [tools / "bin" / "pex", "-r", req, "--no-pypi", "--index", simple, "-D", src, "--python",
                     python, "--venv", "--sh-boot", "-o"]
            benv = base_env(PEX_ROOT=rd / "redeploy-pex-build-root")
            renv = base_env(PEX_ROOT=rd / "redeploy-pex-root", PEX_INTERPRETER=1)
        t0 = time.perf_counter()
        Cmd("b", f"{tool} build", [*build, v1], benv).check()
        first_build = time.perf_counter() - t0
        v1cmd = Cmd(f"rd_{tool}_v1", f"{'**dpex**' if tool == 'dpex' else 'pex --venv --sh-boot'} v1, warm",
                    [v1, "-c", REDEPLOY_CODE], renv, shown=f"PEX_INTERPRETER=1 ./v1.pex -c '{REDEPLOY_CODE}'")
        v1cmd.check()
        v1cmd.check()
        edit = (f"n=$(($(sed -n 's/^VERSION = //p' {q(str(init))}) + 1)) && "
                f"echo \"VERSION = $n\" > {q(str(init))} && ")
        build_next = Cmd("b", "", [*build, nxt], benv)
        prepare = edit + shlex.join(build_next.full_argv()) + " >/dev/null 2>&1"
        t0 = time.perf_counter()
        subprocess.run(["sh", "-c", prepare], check=True)
        out[tool] = (first_build, time.perf_counter() - t0)
        cmds += [v1cmd,
                 Cmd(f"rd_{tool}_next", f"{'**dpex**' if tool == 'dpex' else 'pex --venv --sh-boot'} new "
                     "version, its first run", [nxt, "-c", REDEPLOY_CODE], renv, prepare=prepare,
                     shown=f"PEX_INTERPRETER=1 ./next.pex -c '{REDEPLOY_CODE}' (edited and rebuilt just before)")]
    builds = ", ".join(f"{tool} build: {fmt_s(a)} s for v1, {fmt_s(b)} s for a next version"
                       for tool, (a, b) in out.items())
    return cmds, builds


# --------------------------------------------------------------------------- --fleet

FLEET_LAUNCHES = 32
FLEET_BASE = ["numpy", "requests", "certifi", "charset_normalizer", "idna", "urllib3"]
# app -> (extra projects, modules whose presence each launch checks)
FLEET_APPS_SMALL = {
    "a": (["pyyaml"], ["yaml"]),
    "b": (["setuptools"], ["setuptools"]),
    "c": (["six", "python_dateutil"], ["six", "dateutil"]),
    "d": (["packaging", "pyparsing"], ["packaging", "pyparsing"]),
}
FLEET_SMALL_EXTRAS = ["six", "python_dateutil", "packaging", "pyparsing"]  # from bench/large.lock.txt
FLEET_APPS_LARGE = {
    "a": (["pandas", "python_dateutil", "six", "pytz", "tzdata"], ["pandas", "dateutil", "pytz"]),
    "b": (["scipy"], ["scipy"]),
    "c": (["matplotlib", "contourpy", "cycler", "fonttools", "kiwisolver", "packaging", "pillow", "pyparsing",
           "python_dateutil", "six"], ["matplotlib", "PIL"]),
    "d": (["scikit_learn", "scipy", "joblib", "threadpoolctl"], ["sklearn", "scipy", "joblib"]),
}


def fleet_small_wheels(tools, work, test_wheels, rd):
    """The manylinux test wheels and a few small pure wheels of the large lock, in one served folder."""
    extras = setup_large_wheels(tools, work, only=set(FLEET_SMALL_EXTRAS))
    d = rd / "fleet-wheels"
    d.mkdir()
    out = []
    for w in [w for w in test_wheels if "musllinux" not in w.name] + extras:
        if (d / w.name).exists():
            continue
        try:
            os.link(w, d / w.name)
        except OSError:
            shutil.copy2(w, d / w.name)
        out.append(d / w.name)
    return sorted(out)


def fleet_check_code(modules):
    # find_spec: the package is in the environment, without importing it (the wall
    # time stays the launcher's, not 32 first imports of pandas on 2 cores).
    return ("import importlib.util, sys; mods = " + repr(modules) + "; "
            "missing = [m for m in mods if importlib.util.find_spec(m) is None]; "
            "print('fleet-ok' if not missing else 'missing: ' + ' '.join(missing)); sys.exit(1 if missing else 0)")


def run_launches(python, fd, index, mode, launches, label, expected):
    """Start `launches` with bench/fleet_run.py (`mode`: parallel or sequential) and
    check them: every one exited 0 and printed its text, and the index served exactly
    the wheel files of `expected` (a Counter of file names). -> the driver's result."""
    spec = fd / "spec.json"
    spec.write_text(json.dumps({"mode": mode, "tmp": str(fd / "out"), "launches": launches}))
    mark = index.mark()
    r = subprocess.run([python, REPO / "bench" / "fleet_run.py", spec], stdout=subprocess.PIPE, text=True,
                       env=base_env())
    if r.returncode != 0:
        die(f"fleet driver failed on {label}")
    res = json.loads(r.stdout)
    bad = [x for x in res["results"] if not x["ok"]]
    if bad:
        die(f"fleet: {len(bad)} of {len(launches)} launches failed ({label}); first:\n{bad[0]['tail']}")
    gets = index.file_get_counts(since=mark)
    if gets != expected:
        extra = {k: v for k, v in gets.items() if v != expected.get(k)}
        lacking = [k for k in expected if k not in gets]
        die(f"fleet: {label}: wheel downloads differ from one per wheel: {extra or ''} "
            f"{'never fetched: ' + ', '.join(lacking) if lacking else ''}")
    return res


def bench_fleet(args, python, dpex, wheels, rd, index, rounds, large):
    apps_spec = FLEET_APPS_LARGE if large else FLEET_APPS_SMALL
    by_project = {}
    for w in wheels:
        by_project.setdefault(project_of(w.name), []).append(w)
    fd = rd / "fleet"
    fd.mkdir()
    apps = {}
    for name, (extra, modules) in apps_spec.items():
        projects = list(dict.fromkeys(FLEET_BASE + extra))
        missing = [p for p in projects if p not in by_project]
        if missing:
            die(f"fleet app {name}: no wheel for {', '.join(missing)}")
        app_wheels = [w for p in projects for w in by_project[p]]
        lock = write_pylock(fd / f"pylock-{name}.toml", app_wheels, index.url + "/files/")
        app = fd / f"app-{name}.pex"
        Cmd("b", f"dpex build {name}", [dpex, "build", "--lock", lock, "-o", app], base_env()).check()
        apps[name] = (app, app_wheels, fleet_check_code(["numpy", "requests"] + modules))
    # For reference: one app with every wheel of the four (the same bytes to fetch and unpack, one venv).
    union_wheels = list(dict.fromkeys(w for n in sorted(apps) for w in apps[n][1]))
    lock = write_pylock(fd / "pylock-all.toml", union_wheels, index.url + "/files/")
    Cmd("b", "dpex build all", [dpex, "build", "--lock", lock, "-o", fd / "app-all.pex"], base_env()).check()
    all_modules = list(dict.fromkeys(["numpy", "requests"] + [m for n in sorted(apps_spec) for m in apps_spec[n][1]]))
    root = fd / "dpex-root"
    env = base_env(DPEX_ROOT=root, PEX_PYTHON=python)
    names = sorted(apps)
    apps["all"] = (fd / "app-all.pex", union_wheels, fleet_check_code(all_modules))

    def launch(name):
        app, _, code = apps[name]
        return {"argv": [str(app), "-c", code], "env": env, "expect": "fleet-ok"}

    scenarios = {
        "one": ("one cold launch of app a", "parallel", [launch("a")]),
        "union": (f"one cold launch of an app with all {len(union_wheels)} wheels of the 4 apps", "parallel",
                  [launch("all")]),
        "fleet": (f"{FLEET_LAUNCHES} launches at once, {FLEET_LAUNCHES // len(names)} of each app",
                  "parallel", [launch(names[i % len(names)]) for i in range(FLEET_LAUNCHES)]),
    }
    expected = {
        "one": Counter(w.name for w in apps["a"][1]),
        "union": Counter(w.name for w in union_wheels),
    }
    expected["fleet"] = expected["union"]
    samples = {k: [] for k in scenarios}
    per_launch = []
    rng = random.Random(0xF1EE7)
    t_start = time.monotonic()
    for i in range(rounds):  # every round is checked (exit status, output, downloads)
        order = list(scenarios)
        rng.shuffle(order)
        for key in order:
            label, mode, launches = scenarios[key]
            subprocess.run(["sh", "-c", f"rm -rf {shlex.quote(str(root))} && sync"], check=True)
            res = run_launches(python, fd, index, mode, launches, label, expected[key])
            samples[key].append(res["wall"])
            if key == "fleet":
                per_launch += [x["seconds"] for x in res["results"]]
        say(f"fleet: round {i + 1}/{rounds}")
    say(f"fleet: {time.monotonic() - t_start:.0f} s")

    union = expected["fleet"]
    union_mb = sum((wheels[0].parent / n).stat().st_size for n in union) / 1e6
    a_mb = sum(w.stat().st_size for w in apps["a"][1]) / 1e6
    rows = [(k, scenarios[k][0], "") for k in ["one", "union", "fleet"]]
    out = [f"## Fleet: {FLEET_LAUNCHES} launches of 4 apps at once on one cold cache"
           + (" (large wheels)" if large else ""), ""]
    out += ["Apps (built by `dpex build --lock`, no entry point), all sharing " + ", ".join(FLEET_BASE) + ": "
            + "; ".join(f"**{n}** adds {', '.join(apps_spec[n][0])}" for n in names)
            + f". Every launch is `./app-X.pex -c <check>` with the same DPEX_ROOT and PEX_PYTHON; the check "
              f"finds each of the app's packages with importlib.util.find_spec (without importing them, so "
              f"the time is the launcher's, not {FLEET_LAUNCHES} concurrent first imports) and prints "
              f"`fleet-ok`. Before each run (untimed) the cache is removed, then `sync`; "
              f"`bench/fleet_run.py` starts the launches (fork + exec, no shell) and times from the first "
              f"start to the last exit. Scenarios interleaved in a shuffled order per round.", ""]
    out += [f"Checked in every round: every launch exited 0 and printed `fleet-ok`; the index's log shows "
            f"exactly one `GET /files/<wheel>` for each of the {len(union)} wheel files of the 4 apps "
            f"({union_mb:.1f} MB; app a alone: {len(expected['one'])} files, {a_mb:.1f} MB) and no other "
            f"download.", ""]
    out += ["| scenario | median s | min–max s | runs | vs one launch | vs the all-wheels app |",
            "|---|---:|---:|---:|---:|---:|"]
    base = statistics.median(samples["one"])
    ubase = statistics.median(samples["union"])
    for key, label, _ in rows:
        xs = samples[key]
        m = statistics.median(xs)
        out.append(f"| {label} | {fmt_s(m)} | {fmt_s(min(xs))}–{fmt_s(max(xs))} | {len(xs)} | "
                   + ("**baseline**" if key == "one" else f"{m / base:.2f}×") + " | "
                   + ("" if key == "one" else "1.00×" if key == "union" else f"{m / ubase:.2f}×") + " |")
    if per_launch:
        pl = sorted(per_launch)
        out += ["", f"Each of the {FLEET_LAUNCHES} launches of the fleet runs, from its start to its exit "
                    f"(all rounds pooled): median {fmt_s(statistics.median(pl))} s, "
                    f"fastest {fmt_s(pl[0])} s, slowest {fmt_s(pl[-1])} s."]
    out.append("")
    return out


def bench_fleet_versions(python, dpex, wheels, rd, index, rounds):
    """32 launches of 4 versions of one app (the large wheels, each launch
    importing them) at once on a cold cache, against the same warm, and one
    launch cold and warm: how the cold share grows with the fleet."""
    fd = rd / "fleet-versions"
    fd.mkdir()
    lock = write_pylock(fd / "pylock.toml", wheels, index.url + "/files/")
    code = REDEPLOY_CODE + "; print('fleet-ok', redeploy_app.VERSION)"
    apps = []
    for v in range(4):
        src = fd / f"src-{v}"
        (src / "redeploy_app").mkdir(parents=True)
        (src / "redeploy_app" / "__init__.py").write_text(f"VERSION = {v}\n")
        app = fd / f"app-v{v}.pex"
        Cmd("b", f"dpex build v{v}", [dpex, "build", "--lock", lock, "-D", src, "-o", app], base_env()).check()
        apps.append(app)
    root = fd / "dpex-root"
    env = base_env(DPEX_ROOT=root, PEX_PYTHON=python, PEX_INTERPRETER=1)

    def launches(n):
        return [{"argv": [str(apps[i % len(apps)]), "-c", code], "env": env, "expect": "fleet-ok"}
                for i in range(n)]

    # Cold before warm in every round (the warm run reuses what the cold one left).
    scenarios = [("one_cold", "one launch, cold cache", launches(1), True),
                 ("one_warm", "one launch, warm", launches(1), False),
                 ("fleet_cold", f"{FLEET_LAUNCHES} launches at once, 8 of each version, cold cache",
                  launches(FLEET_LAUNCHES), True),
                 ("fleet_warm", f"{FLEET_LAUNCHES} launches at once, warm", launches(FLEET_LAUNCHES), False)]
    samples = {k: [] for k, *_ in scenarios}
    t_start = time.monotonic()
    for i in range(rounds):
        for key, label, todo, cold in scenarios:
            if cold:
                subprocess.run(["sh", "-c", f"rm -rf {shlex.quote(str(root))} && sync"], check=True)
            want = Counter(w.name for w in wheels) if cold else Counter()
            res = run_launches(python, fd, index, "parallel", todo, label, want)
            samples[key].append(res["wall"])
        say(f"fleet versions: round {i + 1}/{rounds}")
    say(f"fleet versions: {time.monotonic() - t_start:.0f} s")
    med = {k: statistics.median(v) for k, v in samples.items()}
    out = [f"## Fleet of versions: {FLEET_LAUNCHES} launches of 4 versions of one app at once", "",
           f"Four versions of an app on the {len(wheels)} large wheels (one source file each, different), "
           f"every launch `PEX_INTERPRETER=1 ./app-vN.pex -c '{code}'` (so each imports pandas, numpy, "
           f"scipy, sklearn and pyarrow), all with one DPEX_ROOT and Python's default bytecode caching. "
           f"Cold: the cache removed (then `sync`) just before; warm: right after the cold run of the same "
           f"scenario. Checked every run: every launch exited 0 and printed `fleet-ok`; cold runs fetched each "
           f"wheel exactly once, warm runs none. Wall time from the first start to the last exit "
           f"(bench/fleet_run.py).", "",
           "| scenario | median s | min–max s | runs |", "|---|---:|---:|---:|"]
    for key, label, *_ in scenarios:
        xs = samples[key]
        out.append(f"| {label} | {fmt_s(med[key])} | {fmt_s(min(xs))}–{fmt_s(max(xs))} | {len(xs)} |")
    one = med["one_cold"] - med["one_warm"]
    fleet = med["fleet_cold"] - med["fleet_warm"]
    growth = fleet / one if one > 0 else float("inf")
    out += ["", f"The cold share (cold − warm): one launch {fmt_s(one)} s, {FLEET_LAUNCHES} launches "
                f"{fmt_s(fleet)} s: it grows {growth:.1f}× from 1 to {FLEET_LAUNCHES} launches (goal ≤ 3×: "
                + ("**met**" if growth <= 3 else "**not met**") + ").", ""]
    return out


if __name__ == "__main__":
    main()
