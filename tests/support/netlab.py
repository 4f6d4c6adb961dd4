"""Network fixtures for the network-policy tests: a test CA and server
certificates (made with the `openssl` CLI), an index server that can speak TLS,
require Basic auth, redirect its files elsewhere and records the Authorization
header of every request, and a small forward proxy that counts what passes
through it.

    pki = Pki(tmp_path / "pki")                     # a fresh CA
    cert, key = pki.server_cert("localhost", dns=["localhost"], ips=[])
    srv = LabServer(wheel_dir, log, tls=(cert, key), name="localhost").start()
    srv.url -> "https://localhost:PORT"; srv.seen -> [(method, path, authorization or None)]

    proxy = CountingProxy().start()
    proxy.url -> "http://127.0.0.1:PORT"; proxy.events -> [("CONNECT", "host:port") | ("GET", absolute URL)]
"""

import http.client
import select
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from support.fault_server import FaultServer, _FaultHandler, _QuietServer


# -- certificates -------------------------------------------------------------------

def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"openssl {' '.join(map(str, args))} failed:\n{r.stderr}"


class Pki:
    """A throwaway CA in `directory`: ca.pem (the certificate to trust) and its key."""

    def __init__(self, directory, name="dpex test CA"):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca_cert = self.dir / "ca.pem"
        self.ca_key = self.dir / "ca.key"
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", self.ca_key, "-out", self.ca_cert, "-days", "3", "-subj", f"/CN={name}",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=self.dir)

    def server_cert(self, stem, dns=(), ips=()):
        """(cert.pem, key.pem) for a server, valid for these DNS names and IP addresses only."""
        key = self.dir / f"{stem}.key"
        csr = self.dir / f"{stem}.csr"
        cert = self.dir / f"{stem}.pem"
        ext = self.dir / f"{stem}.ext"
        sans = [f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips]
        assert sans, "a server certificate needs at least one name"
        ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                       "extendedKeyUsage=serverAuth\nsubjectAltName=" + ",".join(sans) + "\n")
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-out", csr, "-subj", f"/CN={stem}", cwd=self.dir)
        _openssl("x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key,
                 "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext, cwd=self.dir)
        return cert, key


# -- an index that can speak TLS, require auth and redirect --------------------------

class _LabHandler(_FaultHandler):
    def _route(self, head):
        srv = self.server.index
        with srv._plan_lock:
            srv.seen.append((self.command, self.path, self.headers.get("Authorization")))
        hop = self.path.split("/")
        if len(hop) == 4 and hop[1] == "hop" and hop[2].isdigit():  # /hop/<k>/<name>
            k = int(hop[2])
            if k < srv.redirect_hops:
                srv.note(self.command, self.path, "redirect")
                return self._send(302, b"", headers={"Location": f"/hop/{k + 1}/{hop[3]}"}, head=head)
            return super()._file(unquote(hop[3]), head)
        return super()._route(head)

    def _file(self, filename, head):
        srv = self.server.index
        if srv.redirect_hops:
            srv.note(self.command, self.path, "redirect")
            return self._send(302, b"", headers={"Location": f"/hop/1/{quote(filename)}"}, head=head)
        if srv.redirect_files:
            srv.note(self.command, self.path, "redirect")
            return self._send(302, b"", headers={"Location": srv.redirect_files + quote(filename)}, head=head)
        return super()._file(filename, head)


def _finish_over_tls(server, finish, request, client_address, on_handshake_failure):
    """Serve one connection over TLS with the server's context; count failed handshakes."""
    request.settimeout(10)
    try:
        tls = server.ssl_context.wrap_socket(request, server_side=True)
    except (ssl.SSLError, OSError):
        on_handshake_failure()
        return
    try:
        finish(tls, client_address)
    finally:
        try:
            tls.close()
        except OSError:
            pass


class _TLSServer(_QuietServer):
    ssl_context = None
    handshake_failures = 0

    def finish_request(self, request, client_address):
        def failed():
            self.handshake_failures += 1
        _finish_over_tls(self, super().finish_request, request, client_address, failed)


class LabServer(FaultServer):
    """A FaultServer (same routes, `auth=(user, password)`, plans) that also:

    - speaks TLS when `tls=(certfile, keyfile)` (URLs then start with https://);
    - names itself `name` in its URLs (it always listens on 127.0.0.1);
    - answers GET /files/<name> with a 302 to `redirect_files + <name>` when set
      (after the auth check: a private index that sends downloads elsewhere);
    - keeps `seen`: (method, path, Authorization header or None) of every request;
    - links its files on its pages as `link_files_to + <name>` when set (an index
      whose files live on another server);
    - with `redirect_hops=n`, answers GET /files/<name> through a chain of exactly n
      redirects (/files/<name> -> /hop/1/<name> -> ... -> /hop/n/<name>, which serves it).
    """

    def __init__(self, wheel_dir, log_path=None, *, tls=None, name="127.0.0.1", redirect_files=None,
                 link_files_to=None, redirect_hops=0, **kw):
        super().__init__(wheel_dir, log_path, **kw)
        self.redirect_hops = redirect_hops
        self.tls = tls
        self.name = name
        self.redirect_files = redirect_files
        self.link_files_to = link_files_to
        self.seen = []

    def file_url(self, filename):
        if self.link_files_to:
            return self.link_files_to + quote(filename)
        return super().file_url(filename)

    def _make_server(self):
        if not self.tls:
            return _QuietServer((self.host, self._port), _LabHandler)
        httpd = _TLSServer((self.host, self._port), _LabHandler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*map(str, self.tls))
        httpd.ssl_context = ctx
        return httpd

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    @property
    def url(self):
        return f"{self.scheme}://{self.name}:{self._port}"

    def url_with_credentials(self, user, password):
        return f"{self.scheme}://{user}:{password}@{self.name}:{self._port}"

    @property
    def handshake_failures(self):
        return self._httpd.handshake_failures if self._httpd is not None else 0

    def authorizations(self, prefix=""):
        """The Authorization headers (None when absent) of the requests whose path starts with prefix."""
        with self._plan_lock:
            return [a for _m, p, a in self.seen if p.startswith(prefix)]


# -- a forward proxy that counts ----------------------------------------------------

_HOP_HEADERS = {"connection", "proxy-connection", "keep-alive", "proxy-authorization", "te", "trailer",
                "transfer-encoding", "upgrade"}


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def _record(self, kind, target):
        p = self.server.proxy
        with p.lock:
            p.events.append((kind, target))
            p.proxy_auth_seen.append(self.headers.get("Proxy-Authorization"))

    def _refuse(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if status == 407:
            self.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def _authorized(self):
        want = self.server.proxy.auth_header
        return want is None or self.headers.get("Proxy-Authorization") == want

    def do_CONNECT(self):
        self._record("CONNECT", self.path)
        if not self._authorized():
            return self._refuse(407, "proxy credentials required\n")
        host, _, port = self.path.rpartition(":")
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except (OSError, ValueError) as e:
            return self._refuse(502, f"cannot reach {self.path}: {e}\n")
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        client = self.connection
        try:
            socks = [client, upstream]
            while True:
                # A TLS socket may hold decrypted bytes select() cannot see.
                ready = [s for s in socks if isinstance(s, ssl.SSLSocket) and s.pending()]
                if not ready:
                    ready, _, _ = select.select(socks, [], [], 30)
                if not ready:
                    break
                for s in ready:
                    data = s.recv(1 << 16)
                    if not data:
                        return
                    (upstream if s is client else client).sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()

    def _forward(self, head):
        if not self.path.startswith("http://"):
            # Origin form (`GET /path`): a client that forgot it talks to a proxy.
            self._record("ORIGIN-FORM", self.path)
            return self._refuse(400, "a proxy needs an absolute URL\n")
        self._record(self.command, self.path)
        if not self._authorized():
            return self._refuse(407, "proxy credentials required\n")
        u = urlsplit(self.path)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
        try:
            conn.request(self.command, (u.path or "/") + (f"?{u.query}" if u.query else ""), headers=headers)
            resp = conn.getresponse()
            body = resp.read()
        except OSError as e:
            return self._refuse(502, f"cannot reach {u.netloc}: {e}\n")
        finally:
            conn.close()
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in _HOP_HEADERS and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_GET(self):
        self._forward(head=False)

    def do_HEAD(self):
        self._forward(head=True)


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    ssl_context = None  # set: clients speak TLS to the proxy (an https:// proxy URL)

    def finish_request(self, request, client_address):
        if self.ssl_context is None:
            return super().finish_request(request, client_address)
        def failed():
            with self.proxy.lock:
                self.proxy.handshake_failures += 1
        _finish_over_tls(self, super().finish_request, request, client_address, failed)

    def handle_error(self, request, client_address):
        pass


class CountingProxy:
    """An HTTP proxy on 127.0.0.1: CONNECT tunnels (https) and absolute-form GET/HEAD
    (plain http). `events` lists what passed: ("CONNECT", "host:port"), ("GET", url),
    ("HEAD", url), or ("ORIGIN-FORM", path) for a request a proxy cannot serve.
    With auth=(user, password), requests without that Proxy-Authorization get 407.
    With tls=(certfile, keyfile), clients must speak TLS to it (an https:// proxy);
    refused handshakes are counted in `handshake_failures`."""

    def __init__(self, auth=None, tls=None):
        import base64
        self.auth_header = None
        if auth:
            self.auth_header = "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode()
        self.tls = tls
        self.handshake_failures = 0
        self.events = []
        self.proxy_auth_seen = []
        self.lock = threading.Lock()
        self._httpd = None
        self._thread = None

    def start(self):
        self._httpd = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
        self._httpd.proxy = self
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*map(str, self.tls))
            self._httpd.ssl_context = ctx
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=10)
            self._httpd = None

    @property
    def port(self):
        return self._httpd.server_address[1]

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def url_with_credentials(self, user, password):
        return f"{'https' if self.tls else 'http'}://{user}:{password}@127.0.0.1:{self.port}"

    def kinds(self):
        with self.lock:
            return [k for k, _ in self.events]

    def targets(self, kind):
        with self.lock:
            return [t for k, t in self.events if k == kind]


# -- a listener that never answers a connect ----------------------------------------

class Blackhole:
    """A port on 127.0.0.1 whose connects hang: a listener with backlog 0 that never
    accepts, its accept queue filled by our own connections, so the kernel drops
    further SYNs (the client's connect times out, as with a firewalled host)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.fillers = []
        for _ in range(16):
            c = socket.socket()
            c.settimeout(0.3)
            try:
                c.connect(("127.0.0.1", self.port))
            except OSError:
                c.close()
                break
            self.fillers.append(c)
        else:
            raise AssertionError("the accept queue never filled: connects would not hang")

    def close(self):
        for c in self.fillers:
            c.close()
        self.sock.close()
