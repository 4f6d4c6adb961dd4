"""Differential testing against real pex.

Each test app is built twice from the same local index and the same pins: once
with real `pex` (installed from PyPI, pinned, into the test cache) and once with
`dpex build`. Both are run with the same argv, environment, stdin and working
directory, and the tests compare what a caller sees: stdout, the exit status
and the essential stderr (for a traceback, the exception line).

    lab = TwinLab(...)                          # one per test module (fixture `lab`)
    app = lab.build("ep", lab.files("idna"), entry_point="myapp.main:show")
    pair = app.run("a", "b", env={"PEX_VERBOSE": "1"})
    pair.assert_same()                          # stdout, exit code, stderr's last line

The two apps live in `<lab>/<name>/pex/app.pex` and `<lab>/<name>/dpex/app.pex`;
outputs are compared after replacing each app's folder with `<DIR>` and each
tool's extracted-code folder (pex: `$PEX_ROOT/unzipped_pexes/..`, dpex:
`$PEX_ROOT/dpex/1/apps/..`) with `<CODE>`. Both tools share one PEX_ROOT per lab
(dpex keeps its cache in `$PEX_ROOT/dpex`), so the environment is identical.
"""

import concurrent.futures
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

from . import pylock
from .harness import PY311, REPO, assert_no_panic, clean_env, describe, run

# The pex the suite compares against; docs/compat.md describes dpex against this version.
PEX_REQUIREMENT = "pex==2.100.7"


# -- installing real pex ---------------------------------------------------------

def _pip_env():
    """A clean environment for pip: nothing from the caller's PIP_* (no find-links, no
    index overrides), only what reaching PyPI needs (proxies, CA files)."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
              "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"):
        if os.environ.get(k):
            env[k] = os.environ[k]
    return env


def test_cache_dir():
    return Path(os.environ.get("DPEX_TEST_CACHE") or REPO / ".dpex-test")


def ensure_real_pex(cache=None):
    """bin/pex of a venv with PEX_REQUIREMENT, made once and reused while the pin holds."""
    cache = Path(cache or test_cache_dir())
    venv = cache / "pex-venv"
    marker = venv / ".pinned"
    pex_bin = venv / "bin" / "pex"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".pex-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file() and marker.read_text() == PEX_REQUIREMENT and pex_bin.is_file():
            ok = subprocess.run([str(venv / "bin" / "python"), "-c", "import pex"], env=_pip_env(),
                                capture_output=True, timeout=60).returncode == 0
            if ok:
                return pex_bin
        shutil.rmtree(venv, ignore_errors=True)
        env = _pip_env()
        r = subprocess.run([PY311, "-m", "venv", str(venv)], env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"python -m venv failed:\n{r.stdout}\n{r.stderr}"
        cmd = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--only-binary", ":all:",
               "--isolated", PEX_REQUIREMENT]
        cert = os.environ.get("PIP_CERT")
        if cert and os.path.isfile(cert):
            cmd[5:5] = ["--cert", cert]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, f"installing {PEX_REQUIREMENT} from PyPI failed:\n{r.stdout}\n{r.stderr}"
        r = subprocess.run([str(pex_bin), "--version"], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and r.stdout.strip() == PEX_REQUIREMENT.split("==")[1], describe(r)
        marker.write_text(PEX_REQUIREMENT)
        return pex_bin


# -- the test app ----------------------------------------------------------------

MAIN = textwrap.dedent('''
    import json
    import os
    import sys
    import time


    def report(**extra):
        """What a caller of the app can observe, minus what differs by design
        (sys.executable, the cache layout)."""
        root = os.environ.get("COMPAT_ROOT") or "/nonexistent"
        out = {
            "name": __name__,
            "argv": sys.argv,
            "PEX": os.environ.get("PEX"),
            "pex_env": {k: v for k, v in sorted(os.environ.items()) if k.startswith("PEX_")},
            "injected": os.environ.get("INJECTED"),
            "pythonpath": os.environ.get("PYTHONPATH"),
            "test_paths": [p for p in sys.path if p.startswith(root) and "/pex-root/" not in p],
            "cwd_first": sys.path[0] in ("", os.getcwd()),
        }
        out.update(extra)
        return out


    def show():
        print("APP " + json.dumps(report()), flush=True)


    def ret_int():
        show()
        return int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 5


    def ret_str():
        show()
        return "a message from the app"


    def ret_none():
        show()
        return None


    def exit_n():
        show()
        raise SystemExit(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 3)


    def boom():
        show()
        raise RuntimeError("boom from the app")


    def which():
        """Where conflicting packages come from (PYTHONPATH, site-packages, the wheel)."""
        import importlib
        import idna
        seen = {"idna": getattr(idna, "ORIGIN", "wheel")}
        for name in ("only_on_pythonpath", "only_in_site"):
            try:
                seen[name] = importlib.import_module(name).ORIGIN
            except ImportError:
                seen[name] = None
        print("WHICH " + json.dumps(report(seen=seen)), flush=True)


    def sleeper():
        import signal
        print("READY", flush=True)
        signal.signal(signal.SIGUSR1, lambda *a: None)
        time.sleep(120)
        print("WOKE", flush=True)


    if __name__ == "__main__":
        print("MAIN " + json.dumps(report()), flush=True)
''')

MODMAIN = textwrap.dedent('''
    import json
    import sys

    from myapp.main import report

    if __name__ == "__main__":
        print("MODMAIN " + json.dumps(report(name=__name__)), flush=True)
        if len(sys.argv) > 1 and sys.argv[1].isdigit():
            sys.exit(int(sys.argv[1]))
''')

FLAGS = textwrap.dedent('''
    import json
    import sys

    print("FLAGS " + json.dumps({
        "argv": sys.argv,
        "optimize": sys.flags.optimize,
        "dev_mode": sys.flags.dev_mode,
        "dont_write_bytecode": sys.flags.dont_write_bytecode,
        "warnoptions": sys.warnoptions,
        "unbuffered": type(sys.stdout.buffer).__name__ == "FileIO",
    }), flush=True)
''')


def app_sources():
    return {
        "myapp/__init__.py": "",
        "myapp/main.py": MAIN,
        "myapp/modmain.py": MODMAIN,
        "myapp/flags.py": FLAGS,
    }


def write_tree(root, files):
    root = Path(root)
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


# -- results ---------------------------------------------------------------------

def last_line(text):
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def tagged(stdout, tag):
    for line in reversed(stdout.splitlines()):
        if line.startswith(tag + " "):
            return json.loads(line[len(tag) + 1:])
    raise AssertionError(f"no {tag!r} line in:\n{stdout[-3000:]}")


class Result:
    """One run, with outputs normalized (app folder -> <DIR>, code folder -> <CODE>)."""

    def __init__(self, proc, norm):
        self.proc = proc
        self.returncode = proc.returncode
        self.stdout = norm(proc.stdout or "")
        self.stderr = norm(proc.stderr or "")

    def tagged(self, tag):
        return tagged(self.stdout, tag)

    @property
    def exception(self):
        return last_line(self.stderr)


class Pair:
    def __init__(self, pex, dpex, what):
        self.pex = pex
        self.dpex = dpex
        self.what = what

    def describe(self):
        return (f"\n=== {self.what}\n--- pex: exit {self.pex.returncode}\n{describe(self.pex.proc)}"
                f"\n--- dpex: exit {self.dpex.returncode}\n{describe(self.dpex.proc)}")

    def assert_same(self, stderr="last", stdout=True):
        """Same exit status and stdout; stderr: "last" (the last line, when either failed),
        "same" (all of it), "empty" (nothing on either) or None (not compared)."""
        assert_no_panic(self.dpex.proc)
        assert self.pex.returncode == self.dpex.returncode, "exit status differs" + self.describe()
        if stdout:
            assert self.pex.stdout == self.dpex.stdout, "stdout differs" + self.describe()
        if stderr == "last":
            if self.pex.returncode or self.dpex.returncode:
                assert self.pex.exception == self.dpex.exception, "stderr's last line differs" + self.describe()
        elif stderr == "same":
            assert self.pex.stderr == self.dpex.stderr, "stderr differs" + self.describe()
        elif stderr == "empty":
            assert not self.pex.stderr.strip() and not self.dpex.stderr.strip(), "stderr not empty" + self.describe()
        return self

    def both(self, check):
        """Run check(result) on each, with both outputs in the failure message."""
        for r in (self.pex, self.dpex):
            try:
                check(r)
            except AssertionError as e:
                raise AssertionError(f"{e}{self.describe()}") from None
        return self


# -- the lab -----------------------------------------------------------------------

class Twin:
    """One app, built by pex and by dpex."""

    def __init__(self, lab, name, pex, dpex):
        self.lab = lab
        self.name = name
        self.pex = pex
        self.dpex = dpex

    def apps(self):
        return {"pex": self.pex, "dpex": self.dpex}

    def _norm(self, kind, invoked=None):
        app_dir = str(self.apps()[kind].parent)
        root = str(self.lab.pex_root)
        code = re.compile(re.escape(root) + (r"/unzipped_pexes/\d+/[0-9a-f]+" if kind == "pex"
                                             else r"/dpex/1/apps/[0-9a-f]+"))

        def norm(text):
            text = code.sub("<CODE>", text)
            if invoked:
                text = text.replace(invoked, "<INVOKED>")
            return text.replace(app_dir, "<DIR>")
        return norm

    def command(self, kind, args, via=None, invoke=None):
        app = self.apps()[kind]
        target = invoke(app) if invoke else app
        return [str(c) for c in ([*via] if via else []) + [target, *args]]

    def run(self, *args, env=None, input=None, via=None, invoke=None, cwd=None, timeout=120, home=None,
            env_for=None):
        """Run both apps (concurrently) with the same argv/env/stdin/cwd; returns a Pair.

        via: interpreter argv put before the app (["/usr/bin/python3.11", "-u"]);
        invoke(app_path) -> what to run instead of the app's absolute path (a
        relative path, a symlink beside it); cwd(app_path) or a path: where to run;
        env_for(app_path) -> more variables, for what must name the app's own folder.
        """
        def one(kind):
            app = self.apps()[kind]
            where = cwd(app) if callable(cwd) else (cwd or self.lab.cwd)
            environment = self.lab.env({**(env or {}), **(env_for(app) if env_for else {})}, home=home)
            return run(self.command(kind, args, via, invoke), env=environment, cwd=where, input=input,
                       timeout=timeout)

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            fp, fd = pool.submit(one, "pex"), pool.submit(one, "dpex")
            rp, rd = fp.result(), fd.result()
        what = " ".join(map(str, args)) + (f"  env={env}" if env else "")
        # A relative path that differs between the two (`../x/pex/app.pex`) reads <INVOKED>.
        targets = {k: str(invoke(app)) if invoke else None for k, app in self.apps().items()}
        differ = invoke and targets["pex"] != targets["dpex"]
        inv = {k: t if differ and not os.path.isabs(t) else None for k, t in targets.items()}
        return Pair(Result(rp, self._norm("pex", inv["pex"])), Result(rd, self._norm("dpex", inv["dpex"])), what)

    def popen(self, kind, *args, env=None, **kw):
        return subprocess.Popen(self.command(kind, args), env=self.lab.env(env), cwd=self.lab.cwd,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, **kw)


class TwinLab:
    """Builds twins into one folder, runs them with one HOME and one PEX_ROOT."""

    def __init__(self, root, *, pex_bin, dpex_bin, index, served_dir, build_root):
        self.root = Path(root)
        self.pex_bin = Path(pex_bin)
        self.dpex_bin = Path(dpex_bin)
        self.index = index
        self.served = Path(served_dir)
        self.build_root = Path(build_root)
        self.home = self.root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.pex_root = self.root / "pex-root"
        self.cwd = self.root / "cwd"
        self.cwd.mkdir(exist_ok=True)
        self.sources = write_tree(self.root / "src", app_sources())

    def env(self, extra=None, home=None):
        base = {"PEX_ROOT": self.pex_root, "COMPAT_ROOT": self.root}
        base.update(extra or {})
        return clean_env(home or self.home, base)

    def make_wheel(self, name, version, files, **kw):
        """A synthetic wheel (support/wheelmaker.py) served by this lab's index."""
        from .wheelmaker import make_wheel
        return make_wheel(self.served, name, version, files, **kw)

    def files(self, *projects):
        want = {pylock.normalize(p) for p in projects}
        out = sorted(p for p in self.served.iterdir()
                     if p.name.endswith(".whl") and "musllinux" not in p.name
                     and pylock.parse_wheel_filename(p.name)[0] in want)
        assert {pylock.parse_wheel_filename(p.name)[0] for p in out} == want, (projects, out)
        return out

    def build(self, name, files=(), *, entry_point=None, script=None, opts=(), pex_opts=(), dpex_opts=(),
              sources=None):
        """Build <name>/pex/app.pex with pex and <name>/dpex/app.pex with dpex; returns a Twin.

        files: the wheels to pin (pex resolves `name==version` of each from the index, dpex
        locks exactly these files); opts: build options both tools share."""
        d = self.root / name
        src = sources or self.sources
        entry = (["-e", entry_point] if entry_point else []) + (["-c", script] if script else [])
        reqs = sorted({"{}=={}".format(*pylock.parse_wheel_filename(f.name)[:2]) for f in files})

        pex_out = d / "pex" / "app.pex"
        pex_out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [self.pex_bin, "--no-pypi", "--index", self.index.simple_url, "--python", PY311,
               *reqs, "-D", src, *entry, *opts, *pex_opts, "-o", pex_out]
        env = clean_env(self.home, {"PEX_ROOT": self.build_root})
        r = run(cmd, env=env, cwd=self.root, timeout=300)
        assert r.returncode == 0 and pex_out.is_file(), "pex build failed" + describe(r)

        dpex_out = d / "dpex" / "app.pex"
        dpex_out.parent.mkdir(parents=True, exist_ok=True)
        lock = pylock.write_pylock(d / "pylock.toml", files, self.index.files_url)
        cmd = [self.dpex_bin, "build", "--lock", lock, "-D", src, *entry, *opts, *dpex_opts, "-o", dpex_out]
        r = run(cmd, env=clean_env(self.home), cwd=self.root, timeout=120)
        assert r.returncode == 0 and dpex_out.is_file(), "dpex build failed" + describe(r)
        return Twin(self, name, pex_out, dpex_out)


    def build_many(self, specs):
        """{key: (name, files, build kwargs)} -> {key: Twin}, two builds at a time (pex's
        build is mostly one busy process)."""
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = {k: pool.submit(self.build, name, files, **kw) for k, (name, files, kw) in specs.items()}
            return {k: f.result() for k, f in futures.items()}


def rewrite_pex_info(path, **changes):
    """Rewrite a pex's PEX-INFO in place (keeping the shebang in front of the zip).

    pex refuses to build for interpreter constraints nothing on the machine meets, so a
    test that needs such a pex edits a good one. pex_hash changes with the content, so
    the edited pex never shares cache entries with the original.
    """
    path = Path(path)
    data = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        # The shebang (or launcher) in front of the first entry.
        prefix_len = data.find(b"PK\x03\x04")
        assert prefix_len >= 0
        info = json.loads(zf.read("PEX-INFO"))
        old_hash = info.pop("pex_hash")
        info.update(changes)
        info["pex_hash"] = hashlib.sha1(json.dumps(info, sort_keys=True).encode()).hexdigest()
        # pex's __main__.py repeats some PEX-INFO facts as literals: its cache key and
        # whether there are interpreter constraints.
        main = zf.read("__main__.py").decode()
        assert f"pex_hash={old_hash!r}" in main, "unexpected pex __main__.py"
        main = main.replace(f"pex_hash={old_hash!r}", f"pex_hash={info['pex_hash']!r}")
        main = main.replace("has_interpreter_constraints=False",
                            f"has_interpreter_constraints={bool(info.get('interpreter_constraints'))}")
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as out:
            out.write(data[:prefix_len])
        with zipfile.ZipFile(tmp, "a") as new:
            for item in zf.infolist():
                body = zf.read(item.filename)
                if item.filename == "PEX-INFO":
                    body = json.dumps(info, sort_keys=True, separators=(",", ":")).encode()
                elif item.filename == "__main__.py":
                    body = main.encode()
                new.writestr(item, body)
    os.chmod(tmp, 0o755)
    tmp.replace(path)
    return info


# -- signals -------------------------------------------------------------------------

def signal_run(twin, kind, sig, *args, env=None, timeout=60):
    """Start the app (which prints READY, then sleeps), send `sig` once it is ready;
    return (returncode, stdout, stderr)."""
    p = twin.popen(kind, *args, env=env)
    try:
        deadline = time.monotonic() + timeout
        line = p.stdout.readline()
        assert line.strip() == "READY", f"{kind}: no READY line, got {line!r}; stderr: {p.stderr.read()[-3000:]}"
        time.sleep(0.2)
        p.send_signal(sig)
        out, err = p.communicate(timeout=max(1, deadline - time.monotonic()))
        return p.returncode, out, err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


# -- fixtures (import them into a test module: `from support.pexcompat import lab, real_pex`) --

import pytest  # noqa: E402

from .index_server import IndexServer  # noqa: E402


@pytest.fixture(scope="session")
def real_pex():
    """bin/pex of the pinned pex (installed from PyPI into the test cache on first use)."""
    return ensure_real_pex()


@pytest.fixture(scope="session")
def pex_build_root(tmp_path_factory):
    """pex's own cache for builds, shared by every lab of the session."""
    return tmp_path_factory.mktemp("pex-build-root")


@pytest.fixture(scope="module")
def lab(request, tmp_path_factory, real_pex, pex_build_root, dpex_bin, served_dir, synth):
    """One TwinLab per test module: its own index server, HOME and PEX_ROOT."""
    name = request.module.__name__.rsplit(".", 1)[-1].replace("test_pex_compat_", "compat-")
    root = tmp_path_factory.mktemp(name)
    # The session's wheels, plus whatever the module adds with lab.make_wheel.
    served = root / "served"
    served.mkdir()
    for f in Path(served_dir).iterdir():
        (served / f.name).symlink_to(f)
    srv = IndexServer(served, root / "index.log").start()
    failed_before = request.session.testsfailed
    try:
        yield TwinLab(root, pex_bin=real_pex, dpex_bin=dpex_bin, index=srv, served_dir=served,
                      build_root=pex_build_root)
    finally:
        srv.stop()
    # Like tmp_path (tests/pytest.ini): a module whose tests all passed leaves no folder behind.
    if request.session.testsfailed == failed_before:
        shutil.rmtree(root, ignore_errors=True)
