"""Cold-start progress: on stderr when it is a terminal, never on stdout, and
nothing at all off a terminal unless PEX_VERBOSE asks."""

import os
import pty
import subprocess

from support.apps import REQUESTS_PROJECTS
from support.harness import assert_ok, tagged_json


def run_with_tty_stderr(cmd, env):
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([str(c) for c in cmd], env=env, stdout=subprocess.PIPE, stderr=slave,
                             stdin=subprocess.DEVNULL)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        stdout = p.stdout.read().decode()
        p.wait(timeout=120)
        return p.returncode, stdout, b"".join(chunks).decode(errors="replace")
    finally:
        os.close(master)


def test_progress_on_a_terminal_only(e2e):
    files = e2e.files(*REQUESTS_PROJECTS)
    pex = e2e.build_app(files)
    rc, stdout, stderr = run_with_tty_stderr([pex, "0"], e2e.env())
    assert rc == 0, stderr
    assert f"{len(files)}/{len(files)} wheels" in stderr and "MB/s" in stderr, stderr
    assert "wheels" not in stdout and tagged_json(stdout, "APP")
    # Off a terminal, a cold start prints nothing on stderr...
    r = assert_ok(e2e.run_pex(pex, "0", env={"DPEX_ROOT": str(e2e.tmp / "root2")}))
    assert r.stderr == "", r.stderr
    # ...unless PEX_VERBOSE asks, and still nothing on stdout.
    r = assert_ok(e2e.run_pex(pex, "0", env={"DPEX_ROOT": str(e2e.tmp / "root3"), "PEX_VERBOSE": "1"}))
    assert f"{len(files)}/{len(files)} wheels" in r.stderr, r.stderr
    assert "wheels" not in r.stdout
