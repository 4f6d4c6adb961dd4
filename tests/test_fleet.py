"""The fleet recipe (issue 12, item 3; docs/operations.md, "A caching proxy for a fleet"):
many cold hosts at once behind one caching nginx (support/nginx.py) make one origin request
per wheel, named either as a hydration index (pages through the proxy, file links rewritten)
or as a mirror of the files' host (DPEX_MIRROR: no pages at all). Each "host" is its own
DPEX_ROOT and process. When the proxy stops mid-run, every host falls back to the URLs
recorded in the app, with one warning line each.
"""

import os
import shutil
import subprocess
import time

import pytest

from support.apps import FULL_IMPORTS, FULL_PROJECTS
from support.harness import assert_no_panic
from support.nginx import Nginx

HOSTS = 16

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"),
                                reason="nginx is not installed (.ci/run installs it)")


@pytest.fixture
def proxy(tmp_path, index):
    n = Nginx(tmp_path / "nginx", index.url).start()
    yield n
    n.stop()


def start_hosts(e2e, pex, env, n=HOSTS):
    return [subprocess.Popen([str(pex)], env=e2e.env({**env, "DPEX_ROOT": e2e.tmp / f"host-{i}"}), cwd=e2e.tmp,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(n)]


def finish(procs):
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=600)
        out.append((p.returncode, stdout, stderr))
    return out


def needed_wheels(e2e):
    # The wheels a cp311 glibc host picks (numpy's musllinux wheel is locked but not chosen).
    return sorted(f.name for f in e2e.files(*FULL_PROJECTS) if "musllinux" not in f.name)


@pytest.mark.parametrize("named_as", ["hydration index", "mirror"])
def test_a_fleet_behind_a_caching_proxy_fetches_each_wheel_once(e2e, index, proxy, named_as):
    pex = e2e.build_app(e2e.files(*FULL_PROJECTS), imports=FULL_IMPORTS)
    env = ({"PEX_BOOTSTRAP_HYDRATION_INDICES": f"{proxy.url}/simple/"} if named_as == "hydration index"
           else {"DPEX_MIRROR": proxy.url})
    since = index.mark()
    results = finish(start_hosts(e2e, pex, env))
    for rc, stdout, stderr in results:
        assert rc == 0 and "APP " in stdout, stderr
        assert "dpex: warning" not in stderr, stderr
    # Every host hydrated its own cache, and the origin served each wheel once.
    for i in range(HOSTS):
        assert len(list((e2e.tmp / f"host-{i}" / "1" / "wheels").iterdir())) >= len(needed_wheels(e2e))
    gets = index.file_gets(since)
    assert gets == {name: 1 for name in needed_wheels(e2e)}, gets
    pages = index.simple_gets(since)
    if named_as == "mirror":
        assert not pages, "a mirror needs no project page"
    else:
        # The proxy keeps pages a minute and lets one request per page through at a time.
        assert len(pages) == len(FULL_PROJECTS) and set(pages.values()) == {1}, pages


def test_the_proxy_stopped_mid_run_falls_back_to_the_origin(e2e, index_factory, served_dir, tmp_path):
    # A slow origin (40 MB/s for every body together), so that the proxy is stopped while
    # the hosts still wait for it.
    origin = index_factory("slow-origin", rate=40 << 20)
    proxy = Nginx(tmp_path / "nginx", origin.url).start()
    try:
        pex = e2e.build_app(e2e.files(*FULL_PROJECTS), imports=FULL_IMPORTS, base_url=origin.files_url)
        procs = start_hosts(e2e, pex, {"DPEX_MIRROR": proxy.url})
        deadline = time.monotonic() + 60
        while not origin.file_gets() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert origin.file_gets(), "no host reached the origin through the proxy"
        proxy.stop()
        results = finish(procs)
    finally:
        proxy.stop()
    warned = 0
    for rc, stdout, stderr in results:
        assert rc == 0 and "APP " in stdout, stderr
        assert_no_panic(subprocess.CompletedProcess([], rc, stdout, stderr))
        lines = [l for l in stderr.splitlines() if l.startswith("dpex: warning")]
        assert len(lines) <= 1, f"more than one warning line for one failing proxy:\n{stderr}"
        if lines:
            assert proxy.url in lines[0] and "fetched from the next source" in lines[0], lines
            warned += 1
    assert warned >= 1, "the proxy stopped after every host was done: no fallback was exercised"
