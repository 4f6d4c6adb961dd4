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
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
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
    def __init__(self, python, wheel_dir, log, nodelay=True):
        self.log = log
        self.nodelay = nodelay
        support = REPO / "tests" / "support"
        server = ["-c", NODELAY_SERVER, support] if nodelay else [support / "index_server.py"]
        self.proc = subprocess.Popen(
            [python, *server, "--dir", wheel_dir, "--log", log],
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
            return {c.key: res["times"][0] for c, res in zip(cmds, results)}
        times = {}
        for c in cmds:
            c.do_prepare()
            argv = c.full_argv()
            t0 = time.perf_counter()
            r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[c.key] = time.perf_counter() - t0
            if r.returncode != 0:
                die(f"{c.label} failed ({r.returncode}): {shlex.join(argv)}")
        return times


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


def group_table(title, rows, samples, baseline_key, note=None):
    """rows: [(key, label, shown_command)]; ratio and difference against baseline_key's median."""
    base = statistics.median(samples[baseline_key])
    out = [f"### {title}", ""]
    if note:
        out += [note, ""]
    out += ["| what | command | median s | min–max s | runs | vs baseline | Δ median |",
            "|---|---|---:|---:|---:|---:|---:|"]
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
        out.append(f"| {label} | `{shown}` | {fmt_s(med)} | {fmt_s(min(xs))}–{fmt_s(max(xs))} | {len(xs)} "
                   f"| {ratio} | {delta} |")
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
        "dpex": f"{out([dpex, '--version'])}, {dpex_from}",
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
    ap.add_argument("--runs", type=int, default=25,
                    help="rounds of the warm-start group (default 25); the cold and build groups get "
                         "max(3, N // 5) rounds")
    ap.add_argument("--cold-runs", type=int, help="rounds of the cold and build groups")
    ap.add_argument("--out", default=str(REPO / "bench" / "results.md"), help="markdown output file")
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
    args = ap.parse_args()
    cold_runs = args.cold_runs or max(3, args.runs // 5)
    python = args.python
    if not os.access(python, os.X_OK):
        die(f"{python} not found; pass --python")

    work = REPO / ".dpex-test" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    t_start = time.monotonic()

    tools = setup_tools(work, python)
    wheels = setup_wheels(tools)
    dpex, dpex_from = setup_dpex(args, work)

    rd = work / "run"
    shutil.rmtree(rd, ignore_errors=True)
    rd.mkdir()
    (rd / "tmp").mkdir()
    src = rd / "app-src"  # the sources every build packs (a clean copy, no __pycache__)
    shutil.copytree(APP_SRC, src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    plain_src = rd / "plain-app-src"  # the plain venv's copy (its .pyc get written here)
    shutil.copytree(APP_SRC, plain_src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # uv, pip and pex get the manylinux wheels only; dpex's pylock lists every wheel.
    req_wheels = [w for w in wheels if "musllinux" not in w.name]
    timer = Timer(not args.no_hyperfine, rd / "tmp")
    if not timer.hyperfine and not args.no_hyperfine:
        say("hyperfine not found (apt-get install -y hyperfine); timing with bench.py's own loop")

    index = IndexServer(python, wheels[0].parent, rd / "index.log", nodelay=not args.plain_index)
    try:
        report = bench(args, python, tools, dpex, wheels, req_wheels, src, plain_src, rd, index, timer,
                       cold_runs)
    finally:
        index.stop()

    info = machine_info(python, tools, dpex, dpex_from, timer)
    elapsed = time.monotonic() - t_start
    lines = ["# dpex benchmark", "",
             f"Generated by `python3 bench/bench.py {shlex.join(sys.argv[1:])}`".rstrip() + f" in {elapsed:.0f} s.",
             "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    lines += [f"| workload | examples/demo (`{ENTRY}`: imports numpy, requests, yaml) with "
              f"{len(req_wheels)} wheels, {sum(w.stat().st_size for w in req_wheels) / 1e6:.1f} MB: "
              + ", ".join(sorted({re.sub(r'-.*', '', w.name) for w in req_wheels})) + " |",
              f"| index | tests/support/index_server.py (threaded, PEP 503/691) on 127.0.0.1"
              + (", with TCP_NODELAY (see bench/README.md)" if not args.plain_index else ", unchanged") + " |", ""]
    lines += report
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    out = Path(args.out)
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
        Cmd("dpex_pass", "**dpex** launcher, warm", [app, "-c", "pass"], dict(dpex_env, PEX_INTERPRETER=1),
            shown="PEX_INTERPRETER=1 ./app.pex -c pass"),
        Cmd("pex_pass", "pex zipapp, warm", [app_pex, "-c", "pass"], dict(pex_run_env, PEX_INTERPRETER=1),
            shown="PEX_INTERPRETER=1 ./app-pex.pex -c pass"),
        Cmd("pexvenv_pass", "pex --venv --sh-boot, warm", [app_pex_venv, "-c", "pass"],
            dict(pex_run_env, PEX_INTERPRETER=1), shown="PEX_INTERPRETER=1 ./app-pex-venv.pex -c pass"),
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
                       rows(warm, ["venv_pass", "sys_pass", "dpex_pass", "pex_pass", "pexvenv_pass"]), samples,
                       "venv_pass")
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
            f"pex --venv --sh-boot {1000 * (med['pexvenv_pass'] - med['venv_pass']):+.0f} ms.",
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


if __name__ == "__main__":
    main()
