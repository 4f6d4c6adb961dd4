"""Helpers shared by the end-to-end tests: a clean child environment, running
commands, reading app.pex files, and small checks."""

import json
import os
import signal
import socket
import subprocess
import threading
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PY311 = "/usr/bin/python3.11"
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"

# What a child may never inherit from the test runner's environment.
_NEVER = ("PIP_", "PYTHON", "PEX_", "DPEX_", "VIRTUAL_ENV", "CONDA", "PYENV")


def clean_env(home, extra=None):
    """A minimal environment: PATH, HOME, LANG, plus `extra` (a value of None removes a key)."""
    env = {"PATH": BASE_PATH, "HOME": str(home), "LANG": "C.UTF-8"}
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def run(cmd, *, env, cwd=None, timeout=180, input=None):
    """Run cmd (list) with exactly `env`; return CompletedProcess (text, captured), with .elapsed.

    A timeout is a test failure with the command line in the message.
    """
    cmd = [str(c) for c in cmd]
    for k in env:
        assert not any(k.startswith(p) for p in ("PIP_",)), f"leaked {k} into a child env"
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, env=env, cwd=cwd, input=input, capture_output=True, text=True,
                           timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"timed out after {timeout}s: {cmd}\nstdout: {e.stdout}\nstderr: {e.stderr}") from None
    r.elapsed = time.monotonic() - t0
    return r


def finish(proc, timeout=300):
    """(exit status, stdout, stderr) of a started Popen with pipes, read as it runs (a
    `wait()` first would hang on a child that fills a pipe)."""
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def describe(r):
    """A compact dump of a CompletedProcess for assertion messages."""
    return (f"\n$ {' '.join(map(str, r.args))}\nexit {r.returncode}"
            f"\n--- stdout ---\n{r.stdout[-6000:]}\n--- stderr ---\n{r.stderr[-6000:]}")


def assert_ok(r):
    assert r.returncode == 0, describe(r)
    assert_no_panic(r)
    return r


def assert_no_panic(r):
    for bad in ("panicked", "RUST_BACKTRACE", "stack backtrace"):
        assert bad not in r.stderr, f"Rust panic text {bad!r} in stderr" + describe(r)


def assert_clean_error(r, *needles, ci=False):
    """Non-zero exit, no panic text, and every needle in stderr."""
    assert r.returncode != 0, "expected failure" + describe(r)
    assert r.returncode < 128 and r.returncode > 0, "killed by a signal?" + describe(r)
    assert_no_panic(r)
    assert r.stderr.strip(), "error exit with nothing on stderr" + describe(r)
    hay = r.stderr.lower() if ci else r.stderr
    for n in needles:
        assert (n.lower() if ci else n) in hay, f"{n!r} missing from stderr" + describe(r)


def tagged_json(stdout, tag):
    """Parse the JSON after `TAG ` on the last stdout line starting with it."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(tag + " "):
            return json.loads(line[len(tag) + 1:])
    raise AssertionError(f"no line starting with {tag!r} in stdout:\n{stdout[-4000:]}")


def pex_info_bytes(pex):
    with zipfile.ZipFile(pex) as zf:
        return zf.read("PEX-INFO")


def pex_info(pex):
    return json.loads(pex_info_bytes(pex))


def under(path, root):
    """True if path (resolved) lies inside root (resolved)."""
    p = os.path.realpath(path)
    r = os.path.realpath(root)
    return p == r or p.startswith(r + os.sep)


def names_in_tree(root):
    """Every file and directory name under root (walks everything, follows nothing)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        out.extend(os.path.join(dirpath, n) for n in dirnames + filenames)
    return out


def start_service(cmd, log_path, *, env, cwd):
    """A long-running process (a cluster's master, worker, scheduler) in a session of its
    own, its output in log_path. Returns (process, log file) for stop_service."""
    log = open(log_path, "w")
    proc = subprocess.Popen([str(c) for c in cmd], env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    return proc, log


def stop_service(proc, log):
    """SIGTERM to the process's whole session (its children too), SIGKILL after 30 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    log.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Tripwire:
    """A TCP listener on 127.0.0.1 that counts connections and closes them at once.

    Point URLs at it to assert nothing touches them (`hits == 0`); to the
    client it looks like a dead server.
    """

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.hits = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.hits += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._t.join(timeout=5)
        self.sock.close()


def eventually(predicate, timeout=5.0, settle=0.2):
    """Wait until predicate() is true (a server thread may record what it saw just after
    the client exited), then `settle` seconds more so that a count can be pinned exactly.
    Returns the last value of predicate()."""
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(settle)
    return predicate()
