"""A real HTTP package index on 127.0.0.1, serving a directory of wheels.

Routes:
  /simple/                  project list (PEP 503 HTML / PEP 691 JSON)
  /simple/<project>/        the project's files; an unnormalized name redirects
                            (301) to the normalized one. Content negotiation on
                            Accept: `application/vnd.pypi.simple.v1+json` gives
                            JSON (filename, url, hashes.sha256, size,
                            requires-python when known); anything else HTML
                            with `#sha256=` fragments and data-requires-python.
  /files/                   flat HTML page linking every file (a find-links page)
  /files/<filename>         the wheel bytes (GET and HEAD)

Every request is appended to the log file as one line `METHOD PATH STATUS`,
so tests can count downloads. Files named in `corrupt` are served with some
bytes altered (same length), to test hash checking; the set can be changed
while the server runs.

In process:
    with IndexServer(wheel_dir, log_path) as idx:
        idx.url, idx.simple_url, idx.files_url, idx.file_gets()
As a script (prints the chosen port on stdout, then serves until killed):
    python tests/support/index_server.py --dir D --log L [--port 0] [--corrupt FILE]... [--rate BYTES_PER_S]
"""

import argparse
import hashlib
import html
import json
import os
import re
import sys
import threading
import time
import zipfile
from collections import Counter
from email.parser import HeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, parse_qs

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def corrupt_bytes(data):
    """The altered bytes served for a corrupt file: same length, different hash."""
    if not data:
        return data
    b = bytearray(data)
    for pos in {len(b) // 2, len(b) // 3, len(b) - 1}:
        b[pos] ^= 0xFF
    return bytes(b)


class _FileInfo:
    __slots__ = ("filename", "project", "version", "size", "sha256", "requires_python")


class _Catalog:
    """File facts cached by (name, size, mtime)."""

    def __init__(self, root):
        self.root = Path(root)
        self._cache = {}
        self._lock = threading.Lock()

    def _info(self, path):
        st = path.stat()
        key = (path.name, st.st_size, st.st_mtime_ns)
        with self._lock:
            hit = self._cache.get(key)
        if hit:
            return hit
        info = _FileInfo()
        info.filename = path.name
        parts = path.name[:-4].split("-")
        info.project = normalize(parts[0])
        info.version = parts[1] if len(parts) > 1 else ""
        info.size = st.st_size
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        info.sha256 = h.hexdigest()
        info.requires_python = None
        try:
            with zipfile.ZipFile(path) as zf:
                for n in zf.namelist():
                    p = n.split("/")
                    if len(p) == 2 and p[0].endswith(".dist-info") and p[1] == "METADATA":
                        meta = HeaderParser().parsestr(zf.read(n).decode("utf-8", "replace"))
                        rp = meta.get("Requires-Python")
                        info.requires_python = rp.strip() if rp else None
                        break
        except (zipfile.BadZipFile, OSError):
            pass
        with self._lock:
            self._cache[key] = info
        return info

    def files(self):
        out = []
        for p in sorted(self.root.iterdir()):
            if p.name.endswith(".whl") and p.is_file():
                out.append(self._info(p))
        return out

    def projects(self):
        by = {}
        for info in self.files():
            by.setdefault(info.project, []).append(info)
        return by


def _accepts_json(accept):
    """Pick JSON or HTML per the Accept header's q-values (PEP 691)."""
    best_json = best_html = -1.0
    for item in (accept or "").split(","):
        item = item.strip()
        if not item:
            continue
        fields = [f.strip() for f in item.split(";")]
        mtype, q = fields[0].lower(), 1.0
        for f in fields[1:]:
            if f.startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        if mtype in (JSON_TYPE, "application/vnd.pypi.simple.latest+json"):
            best_json = max(best_json, q)
        elif mtype in (HTML_TYPE, "application/vnd.pypi.simple.latest+html", "text/html", "*/*", "text/*"):
            best_html = max(best_html, q)
    return best_json > 0 and best_json >= best_html


class _Handler(BaseHTTPRequestHandler):
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle plus delayed ACKs
    # hold each body back ~40 ms on a reused connection.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "dpex-test-index/1"

    # -- logging: our own one-line format into the log file
    def log_request(self, code="-", size="-"):
        code = getattr(code, "value", code)
        self.server.index.record(self.command, self.path, code)

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def _send(self, status, body=b"", ctype="text/plain; charset=utf-8", headers=None, head=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_HEAD(self):
        self._route(head=True)

    def do_GET(self):
        self._route(head=False)

    def _route(self, head):
        idx = self.server.index
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = parse_qs(split.query)
        try:
            if path in ("/simple", "/simple/"):
                return self._root(head, query)
            m = re.fullmatch(r"/simple/([^/]+)/?", path)
            if m:
                name = m.group(1)
                if name != normalize(name) or not path.endswith("/"):
                    return self._send(301, b"", headers={"Location": f"/simple/{normalize(name)}/"}, head=head)
                return self._project(name, head, query)
            if path in ("/files", "/files/"):
                return self._flat(head)
            m = re.fullmatch(r"/files/([^/]+)", path)
            if m:
                return self._file(m.group(1), head)
            return self._send(404, b"not found\n", head=head)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _want_json(self, query):
        fmt = query.get("format", [None])[0]
        if fmt:
            return fmt == JSON_TYPE
        return _accepts_json(self.headers.get("Accept"))

    def _root(self, head, query):
        projects = sorted(self.server.index.catalog.projects())
        if self._want_json(query):
            doc = {"meta": {"api-version": "1.1"}, "projects": [{"name": p} for p in projects]}
            return self._send(200, json.dumps(doc).encode(), JSON_TYPE, head=head)
        links = "".join(f'<a href="/simple/{p}/">{p}</a><br/>\n' for p in projects)
        body = ("<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.1\">"
                f"<title>Simple index</title></head><body>\n{links}</body></html>\n")
        return self._send(200, body.encode(), "text/html; charset=utf-8", head=head)

    def _project(self, name, head, query):
        idx = self.server.index
        files = idx.catalog.projects().get(name)
        if not files:
            return self._send(404, f"no project {name}\n".encode(), head=head)
        if self._want_json(query):
            entries = []
            for f in files:
                e = {"filename": f.filename, "url": idx.file_url(f.filename),
                     "hashes": {"sha256": f.sha256}, "size": f.size, "yanked": False}
                if f.requires_python:
                    e["requires-python"] = f.requires_python
                entries.append(e)
            doc = {"meta": {"api-version": "1.1"}, "name": name,
                   "versions": sorted({f.version for f in files}), "files": entries}
            return self._send(200, json.dumps(doc).encode(), JSON_TYPE, head=head)
        links = []
        for f in files:
            attrs = f'href="{html.escape(idx.file_url(f.filename))}#sha256={f.sha256}"'
            if f.requires_python:
                attrs += f' data-requires-python="{html.escape(f.requires_python)}"'
            links.append(f"<a {attrs}>{html.escape(f.filename)}</a><br/>\n")
        body = ("<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.1\">"
                f"<title>Links for {name}</title></head><body>\n<h1>Links for {name}</h1>\n"
                + "".join(links) + "</body></html>\n")
        return self._send(200, body.encode(), "text/html; charset=utf-8", head=head)

    def _flat(self, head):
        idx = self.server.index
        links = "".join(
            f'<a href="{html.escape(idx.file_url(f.filename))}#sha256={f.sha256}">{html.escape(f.filename)}</a><br/>\n'
            for f in idx.catalog.files())
        body = f"<!DOCTYPE html>\n<html><head><title>Files</title></head><body>\n{links}</body></html>\n"
        return self._send(200, body.encode(), "text/html; charset=utf-8", head=head)

    def _file(self, filename, head):
        idx = self.server.index
        p = idx.catalog.root / filename
        if "/" in filename or filename.startswith(".") or not p.is_file():
            return self._send(404, b"no such file\n", head=head)
        data = p.read_bytes()
        if filename in idx.corrupt:
            data = corrupt_bytes(data)
        if idx.link is None or head:
            return self._send(200, data, "application/octet-stream", head=head)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        view = memoryview(data)
        for at in range(0, len(data), _Link.CHUNK):
            chunk = view[at:at + _Link.CHUNK]
            idx.link.wait_for(len(chunk))
            self.wfile.write(chunk)


class _Link:
    """A link of `rate` bytes per second shared by every response body (a
    token bucket over all connections): the benchmark's 1 and 10 Gbit/s
    mirror, without traffic control."""

    CHUNK = 256 << 10

    def __init__(self, rate):
        self.rate = rate
        self._lock = threading.Lock()
        self._free_at = time.monotonic()

    def wait_for(self, n):
        with self._lock:
            now = time.monotonic()
            start = max(now, self._free_at)
            self._free_at = start + n / self.rate
        if start > now:
            time.sleep(start - now)


class _Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True
    allow_reuse_address = True


class IndexServer:
    """A PEP 503/691 index over `wheel_dir`, on 127.0.0.1:`port` (0 = any free port)."""

    def __init__(self, wheel_dir, log_path=None, corrupt=(), host="127.0.0.1", port=0, rate=None):
        self.catalog = _Catalog(wheel_dir)
        self.link = _Link(rate) if rate else None
        self.log_path = Path(log_path) if log_path else None
        self.corrupt = set(corrupt)
        self.host = host
        self._port = port
        self._httpd = None
        self._thread = None
        self._log_lock = threading.Lock()
        self._records = []

    # -- lifecycle
    def _make_server(self):
        """The HTTP server to run (subclasses change the handler or add TLS)."""
        return _Server((self.host, self._port), _Handler)

    def start(self):
        if self._httpd is not None:
            raise RuntimeError(f"{type(self).__name__} already running")
        self._httpd = self._make_server()
        self._httpd.index = self
        self._port = self._httpd.server_address[1]
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self.log_path.touch()
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{type(self).__name__}-{self._port}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)
        self._httpd = None
        self._thread = None

    @property
    def running(self):
        return self._httpd is not None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- addresses (the port stays known after stop, for "dead URL" tests)
    @property
    def port(self):
        return self._port

    @property
    def url(self):
        return f"http://{self.host}:{self._port}"

    @property
    def simple_url(self):
        return f"{self.url}/simple"

    @property
    def files_url(self):
        return f"{self.url}/files/"

    def file_url(self, filename):
        return f"{self.url}/files/{quote(filename)}"

    # -- request log
    def record(self, method, path, status):
        line = f"{method} {path} {status}"
        with self._log_lock:
            self._records.append((method, path, int(status) if str(status).isdigit() else status))
            if self.log_path:
                with open(self.log_path, "a") as f:
                    f.write(line + "\n")

    def requests(self):
        """[(method, path, status)] in arrival order, read from the log file when there is one."""
        if self.log_path and self.log_path.exists():
            out = []
            for line in self.log_path.read_text().splitlines():
                method, rest = line.split(" ", 1)
                path, status = rest.rsplit(" ", 1)
                out.append((method, path, int(status) if status.isdigit() else status))
            return out
        with self._log_lock:
            return list(self._records)

    def mark(self):
        """A position in the log: pass to file_gets(since=...) to count only later requests."""
        return len(self.requests())

    def file_gets(self, since=0):
        """Counter {filename: number of GET /files/<filename>} (any status)."""
        c = Counter()
        for method, path, _status in self.requests()[since:]:
            if method == "GET" and path.startswith("/files/") and len(path) > len("/files/"):
                c[unquote(urlsplit(path).path[len("/files/"):])] += 1
        return c

    def simple_gets(self, since=0):
        c = Counter()
        for method, path, _status in self.requests()[since:]:
            if method == "GET" and path.startswith("/simple/"):
                c[urlsplit(path).path] += 1
        return c


def main(argv=None):
    ap = argparse.ArgumentParser(description="Serve a wheel directory as a PEP 503/691 simple index.")
    ap.add_argument("--dir", required=True, help="directory of .whl files")
    ap.add_argument("--log", help="append one line per request here")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    ap.add_argument("--corrupt", action="append", default=[], help="serve this file name with altered bytes")
    ap.add_argument("--rate", type=float, help="bytes per second of wheel bodies, over all connections together")
    args = ap.parse_args(argv)
    if not os.path.isdir(args.dir):
        ap.error(f"--dir {args.dir}: not a directory")
    srv = IndexServer(args.dir, args.log, corrupt=args.corrupt, host=args.host, port=args.port,
                      rate=args.rate).start()
    print(srv.port, flush=True)
    print(f"serving {args.dir} at {srv.simple_url}/ (files under {srv.files_url})", file=sys.stderr, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
