"""A caching nginx in front of a test index on 127.0.0.1: the fleet recipe of
docs/operations.md ("A caching proxy for a fleet"), with the origin's address
filled in. Files are cached by path with `proxy_cache_lock`, so concurrent misses
of one file make one origin request; project pages are passed through with their
file links rewritten to the proxy (as a PyPI proxy must: PyPI links its files
on another host)."""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from support.harness import free_port

CONFIG = """\
{user}worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    proxy_cache_path {prefix}/cache levels=1:2 keys_zone=wheels:10m max_size=20g inactive=30d use_temp_path=off;

    server {{
        listen 127.0.0.1:{port};

        # Wheel files never change (their URLs pin them): cache them for good, and let
        # one request per file reach the origin however many hosts miss it at once.
        location /files/ {{
            proxy_pass {origin};
            proxy_cache wheels;
            proxy_cache_key $uri;
            proxy_cache_valid 200 30d;
            proxy_cache_lock on;
            proxy_cache_lock_timeout 10m;
            proxy_cache_lock_age 10m;
            add_header X-Cache-Status $upstream_cache_status;
        }}

        # Project pages (PEX_BOOTSTRAP_HYDRATION_INDICES): short-lived, their file links
        # pointed at this proxy.
        location /simple/ {{
            proxy_pass {origin};
            proxy_set_header Accept-Encoding "";
            sub_filter '{origin}/files/' 'http://127.0.0.1:{port}/files/';
            sub_filter_once off;
            sub_filter_types application/vnd.pypi.simple.v1+json;
            proxy_cache wheels;
            proxy_cache_key $uri|$http_accept;
            proxy_cache_valid 200 1m;
            proxy_cache_lock on;
            proxy_cache_lock_timeout 10m;
            proxy_cache_lock_age 10m;
        }}
    }}
}}
"""


class Nginx:
    def __init__(self, prefix, origin):
        self.prefix = Path(prefix)
        self.origin = origin.rstrip("/")
        self.port = free_port()
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        for d in ("tmp", "cache"):
            (self.prefix / d).mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        # As root, nginx's workers would switch to `nobody`, who cannot write pytest's folders.
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf.write_text(CONFIG.format(user=user, prefix=self.prefix, port=self.port, origin=self.origin))
        self.proc = subprocess.Popen([binary, "-p", str(self.prefix), "-c", str(conf), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start listening")

    def stop(self):
        """Fast shutdown (SIGTERM): open connections are closed at once."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None
