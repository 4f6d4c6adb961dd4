"""Shared by tests/test_jupyter.py and tests/support/kernel_startup.py: the
Jupyter wheel set, an app built from it, its kernelspec, and small helpers to
drive real kernels with jupyter_client.

The wheels are ipykernel and all its dependencies (tests/jupyter.lock.txt), kept
in ${DPEX_TEST_CACHE:-<repo>/.dpex-test}/jupyter-wheels, apart from wheels/
(which the demo and the benchmark glob). jupyter_client is imported lazily, so
this module loads without it.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from . import pylock
from .harness import PY311, REPO, clean_env, run

LOCK = REPO / "tests" / "jupyter.lock.txt"
KERNEL_NAME = "dpex-jupyter-test"


def cache_dir():
    return Path(os.environ.get("DPEX_TEST_CACHE") or REPO / ".dpex-test")


def wheel_dir():
    return cache_dir() / "jupyter-wheels"


def read_lock():
    """{filename: sha256} of tests/jupyter.lock.txt."""
    return pylock.read_hash_lock(LOCK)


def ensure_wheels():
    """The locked wheel files (Paths), fetched with scripts/fetch-test-wheels when missing or wrong."""
    lock = read_lock()
    d = wheel_dir()

    def bad():
        return pylock.missing_or_wrong(lock, d)

    if bad():
        r = subprocess.run([sys.executable, str(REPO / "scripts" / "fetch-test-wheels"),
                            "--lock", str(LOCK), "--dest", str(d)],
                           capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            raise RuntimeError(f"scripts/fetch-test-wheels failed:\n{r.stdout}\n{r.stderr}")
        still = bad()
        if still:
            raise RuntimeError(f"jupyter wheels missing or with wrong sha256 after fetching: {still}")
    return [d / f for f in sorted(lock)]


def locked_version(files, project):
    want = pylock.normalize(project)
    for f in files:
        name, version, _ = pylock.parse_wheel_filename(Path(f).name)
        if name == want:
            return version
    raise KeyError(project)


def build_app(dpex, workdir, files, files_url, out="app.pex"):
    """dpex build --lock (a pylock.toml of `files` at `files_url`), no entry point: interpreter mode."""
    workdir = Path(workdir)
    lock = pylock.write_pylock(workdir / "jupyter-pylock.toml", files, files_url)
    app = workdir / out
    r = run([dpex, "build", "--lock", lock, "-o", app], env=clean_env(workdir), cwd=workdir, timeout=120)
    if r.returncode != 0 or not app.is_file():
        raise AssertionError(f"dpex build failed: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return app


def install_kernelspec(dpex, app, prefix, name=KERNEL_NAME, display_name="dpex test kernel"):
    """dpex kernelspec install APP --name NAME --prefix PREFIX; returns the kernels/ folder."""
    r = run([dpex, "kernelspec", "install", app, "--name", name, "--display-name", display_name,
             "--prefix", prefix], env=clean_env(Path(prefix)), timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"dpex kernelspec install failed: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return Path(prefix) / "share" / "jupyter" / "kernels"


def kernel_env(home, dpex_root, python=PY311, extra=None):
    """What a kernel gets: a clean environment, its own DPEX_ROOT and HOME (the kernelspec adds PEX_INTERPRETER)."""
    base = {"DPEX_ROOT": dpex_root}
    if python:
        base["PEX_PYTHON"] = python
    base.update(extra or {})
    return clean_env(home, base)


def jupyter_dirs_env(base):
    """JUPYTER_* variables that keep jupyter_client's own files (runtime, data, config) under `base`."""
    base = Path(base)
    out = {}
    for var, sub in (("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_CONFIG_DIR", "config")):
        (base / sub).mkdir(parents=True, exist_ok=True)
        out[var] = str(base / sub)
    return out


def execute(client, code, timeout=60):
    """Run `code` in the kernel; -> (reply content, stdout text, stderr text)."""
    out, err = [], []

    def hook(msg):
        t = msg["header"]["msg_type"]
        c = msg["content"]
        if t == "stream":
            (out if c["name"] == "stdout" else err).append(c["text"])
        elif t == "error":
            err.append("\n".join(c.get("traceback", [])))

    reply = client.execute_interactive(code, timeout=timeout, output_hook=hook, allow_stdin=False)
    return reply["content"], "".join(out), "".join(err)


def tagged(stdout, tag):
    """The text after `TAG ` on the last line of stdout that starts with it."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(tag + " "):
            return line[len(tag) + 1:]
    raise AssertionError(f"no line starting with {tag!r} in kernel output:\n{stdout[-3000:]}")


def processes_mentioning(needle):
    """[(pid, cmdline)] of live processes whose command line contains `needle` (zombies excluded)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in cmd and state != "Z":
            found.append((int(entry), cmd.strip()))
    return found


def wait_gone(pids, timeout=10.0):
    """Pids still alive (not even zombies count as gone) after waiting up to `timeout`."""
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if os.path.exists(f"/proc/{p}")]
        if alive:
            time.sleep(0.05)
    return alive


def signal_state(pid):
    """The signal masks of a process and of each of its threads (/proc status lines), for failure messages."""
    lines = []
    try:
        with open(f"/proc/{pid}/status") as f:
            keep = [l.strip() for l in f if l.split(":")[0] in ("State", "ShdPnd", "SigIgn", "SigCgt", "SigBlk")]
        lines.append(f"pid {pid}: " + "; ".join(keep))
        for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
            try:
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    st = {l.split(":")[0]: l.split(":", 1)[1].strip() for l in f if ":" in l}
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    comm = f.read().strip()
            except OSError:
                continue
            lines.append(f"  thread {tid} ({comm}): State {st.get('State')}, SigPnd {st.get('SigPnd')}, "
                         f"SigBlk {st.get('SigBlk')}, wchan {_read(f'/proc/{pid}/task/{tid}/wchan')}")
    except OSError as e:
        lines.append(f"pid {pid}: {e}")
    return "\n".join(lines)


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return "?"
