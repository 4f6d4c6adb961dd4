"""Jupyter kernels from app.pex, driven by the real jupyter_client.

An app is built from a pylock.toml of ipykernel and all its dependencies (real
PyPI wheels, tests/jupyter.lock.txt, served by an index server on 127.0.0.1),
without an entry point; `dpex kernelspec install --prefix` writes its
kernelspec, and jupyter_client finds it through JUPYTER_PATH like a Jupyter
server would. Four kernels start at once on a cold cache and must all become
ready, with every wheel downloaded once; each runs code that imports a locked
package, and a child `sys.executable` imports it too; a kernel busy in
time.sleep is interrupted (KeyboardInterrupt in its reply), restarted and used
again; all shut down cleanly and no kernel process is left.

Needs jupyter_client in the test venv (scripts/test pins it in TOOLING).
"""

import os
import time
from pathlib import Path

import pytest

from support import jupyter
from support.index_server import IndexServer

jupyter_client = pytest.importorskip("jupyter_client", reason="jupyter_client is not in the test venv (see scripts/test)")
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

N_KERNELS = 4
COLD_READY_TIMEOUT = 90  # seconds; a cold start here takes a few seconds
PACKAGE = "psutil"  # a locked package with a compiled extension, not imported by ipykernel at start


@pytest.fixture(scope="module")
def jupyter_wheels():
    return jupyter.ensure_wheels()


@pytest.fixture
def jupyter_index(tmp_path, jupyter_wheels):
    # A separate server over the Jupyter wheel folder (not the default test wheels).
    srv = IndexServer(jupyter.wheel_dir(), tmp_path / "jupyter-index.log").start()
    yield srv
    srv.stop()


def test_four_cold_kernels_from_the_kernelspec(dpex_bin, tmp_path, jupyter_wheels, jupyter_index, monkeypatch):
    files = jupyter_wheels
    version = jupyter.locked_version(files, PACKAGE)
    app = jupyter.build_app(dpex_bin, tmp_path, files, jupyter_index.files_url)
    prefix = tmp_path / "prefix"
    kernels_dir = jupyter.install_kernelspec(dpex_bin, app, prefix)

    # jupyter_client in this process: finds the kernelspec through JUPYTER_PATH, keeps its own
    # files (connection files) under tmp_path.
    for k in [k for k in os.environ if k.startswith("JUPYTER")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    for k, v in jupyter.jupyter_dirs_env(tmp_path / "jupyter").items():
        monkeypatch.setenv(k, v)
    ksm = KernelSpecManager()
    specs = ksm.find_kernel_specs()
    assert Path(specs.get(jupyter.KERNEL_NAME, "")) == kernels_dir / jupyter.KERNEL_NAME, specs
    spec = ksm.get_kernel_spec(jupyter.KERNEL_NAME)
    assert spec.argv[0] == str(app.resolve()) and spec.env == {"PEX_INTERPRETER": "1"}, spec.to_dict()

    # The kernels' environment: clean, a fresh (cold) cache, a temporary HOME.
    home = tmp_path / "home"
    home.mkdir()
    root = tmp_path / "dpex-root"
    env = jupyter.kernel_env(home, root)

    kms, clients, logs, procs = [], [], [], []
    try:
        # --- start 4 kernels at once on the cold cache
        t0 = time.monotonic()
        for i in range(N_KERNELS):
            # shutdown_wait_time: the polite shutdown below waits half of it before a SIGTERM
            # (default 5 s, little for 4 kernels saving their history on a busy 2-core host).
            km = KernelManager(kernel_name=jupyter.KERNEL_NAME, kernel_spec_manager=ksm,
                               connection_file=str(tmp_path / f"kernel-{i}.json"),
                               shutdown_wait_time=60)
            log = open(tmp_path / f"kernel-{i}.log", "w")
            logs.append(log)
            km.start_kernel(env=env, cwd=str(tmp_path), stdout=log, stderr=log)
            kms.append(km)
            procs.append(km.provisioner.process)
        ready_after = []
        for i, km in enumerate(kms):
            kc = km.client()
            kc.start_channels()
            clients.append(kc)
            try:
                kc.wait_for_ready(timeout=COLD_READY_TIMEOUT)
            except RuntimeError as e:
                # Still `app.pex ...` = the launcher never exec'd Python (waiting on a download or a lock).
                running = "\n".join(f"  {pid}: {cmd}" for pid, cmd in jupyter.processes_mentioning(str(tmp_path)))
                pytest.fail(f"kernel {i} not ready {time.monotonic() - t0:.1f}s after a cold start: {e}\n"
                            f"processes:\n{running}\n" + _log_tail(tmp_path, i))
            ready_after.append(time.monotonic() - t0)
        print(f"cold: {N_KERNELS} kernels ready after {', '.join(f'{t:.2f}s' for t in ready_after)}")

        # Every wheel downloaded exactly once for the 4 concurrent cold starts.
        gets = jupyter_index.file_gets()
        assert gets == {f.name: 1 for f in files}, (
            f"downloads: {dict(gets)}; expected each of the {len(files)} locked wheels once")

        # --- in each kernel: a locked package imports, has the locked version, and a child
        # sys.executable imports it too; the kernel is the process Jupyter started (exec, same PID).
        code = (
            "import os, subprocess, sys\n"
            f"import {PACKAGE}\n"
            f"print('VERSION', {PACKAGE}.__version__)\n"
            "print('PID', os.getpid())\n"
            "print('EXE', sys.executable)\n"
            f"r = subprocess.run([sys.executable, '-c', 'import {PACKAGE}; print({PACKAGE}.__version__)'],"
            " capture_output=True, text=True)\n"
            "print('CHILD', r.returncode, r.stdout.strip(), repr(r.stderr[-500:]))\n"
        )
        for i, (km, kc) in enumerate(zip(kms, clients)):
            reply, out, err = jupyter.execute(kc, code)
            assert reply["status"] == "ok", (i, reply, out, err)
            assert jupyter.tagged(out, "VERSION") == version, out
            assert int(jupyter.tagged(out, "PID")) == km.provisioner.pid, (out, km.provisioner.pid)
            exe = jupyter.tagged(out, "EXE")
            assert exe.startswith(str(root) + os.sep), f"sys.executable {exe} is not the app's venv under {root}"
            assert jupyter.tagged(out, "CHILD") == f"0 {version} ''", out

        # --- interrupt a kernel busy in time.sleep(60)
        km, kc = kms[0], clients[0]
        # stop_on_error=False: else ipykernel aborts execute requests that reach it shortly after
        # the error reply (its stop_on_error_timeout), and the next one could come back "aborted".
        msg_id = kc.execute("import time\nprint('SLEEPING', flush=True)\ntime.sleep(60)\nprint('WOKE')",
                            stop_on_error=False)
        _wait_for_stream(kc, msg_id, "SLEEPING", timeout=30)
        t_int = time.monotonic()
        km.interrupt_kernel()
        reply = _shell_reply(kc, msg_id, timeout=30,
                             why=lambda: jupyter.signal_state(km.provisioner.pid) + "\n" + _log_tail(tmp_path, 0))
        took = time.monotonic() - t_int
        assert reply["content"]["status"] == "error", reply["content"]
        assert reply["content"]["ename"] == "KeyboardInterrupt", reply["content"]
        assert took < 20, f"the interrupt took {took:.1f}s"
        # The kernel survives the interrupt.
        reply, out, err = jupyter.execute(kc, "print('AFTER', 6 * 7)")
        assert reply["status"] == "ok" and jupyter.tagged(out, "AFTER") == "42", (reply, out, err)

        # --- restart it (warm now) and run code again
        old_pid = km.provisioner.pid
        kc.stop_channels()
        t_restart = time.monotonic()
        km.restart_kernel(now=False)
        kc = km.client()
        kc.start_channels()
        clients[0] = kc
        kc.wait_for_ready(timeout=60)
        print(f"restart (warm): ready after {time.monotonic() - t_restart:.2f}s")
        new_pid = km.provisioner.pid
        assert new_pid != old_pid
        assert not jupyter.wait_gone([old_pid], timeout=10), f"the kernel before the restart (pid {old_pid}) lives on"
        procs.append(km.provisioner.process)
        reply, out, err = jupyter.execute(kc, code)
        assert reply["status"] == "ok", (reply, out, err)
        assert jupyter.tagged(out, "VERSION") == version
        assert int(jupyter.tagged(out, "PID")) == new_pid
        assert jupyter.tagged(out, "CHILD") == f"0 {version} ''", out

        # The restart and the runs touched no network.
        assert jupyter_index.file_gets() == gets

        # --- shut all down cleanly
        pids = [km.provisioner.pid for km in kms]
        final = [km.provisioner.process for km in kms]
        for kc in clients:
            kc.stop_channels()
        for km in kms:
            km.shutdown_kernel(now=False)
        for i, km in enumerate(kms):
            assert not km.is_alive(), f"kernel {i} still alive after shutdown_kernel"
        assert not jupyter.wait_gone(pids, timeout=10), "kernel processes left after shutdown"
        # A polite shutdown: each kernel exited by itself with status 0 (not killed by jupyter_client).
        codes = [p.poll() for p in final]
        assert codes == [0] * N_KERNELS, f"exit statuses after shutdown_kernel: {codes}"
        left = jupyter.processes_mentioning(str(tmp_path))
        assert not left, f"processes left: {left}"
    finally:
        for kc in clients:
            try:
                kc.stop_channels()
            except Exception:
                pass
        for km in kms:
            try:
                if km.has_kernel:
                    km.shutdown_kernel(now=True)
            except Exception:
                pass
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        for log in logs:
            log.close()


def _log_tail(tmp_path, i):
    p = tmp_path / f"kernel-{i}.log"
    text = p.read_text(errors="replace") if p.exists() else ""
    return f"--- kernel-{i}.log ---\n{text[-4000:]}"


def _wait_for_stream(kc, msg_id, marker, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        except Exception:
            continue
        if (msg["parent_header"].get("msg_id") == msg_id and msg["header"]["msg_type"] == "stream"
                and marker in msg["content"]["text"]):
            return
    pytest.fail(f"no {marker!r} from the kernel within {timeout}s")


def _shell_reply(kc, msg_id, timeout, why=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        except Exception:
            continue
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg
    pytest.fail(f"no execute reply within {timeout}s\n{why()}")
