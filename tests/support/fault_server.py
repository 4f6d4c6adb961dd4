"""A fault-injecting index server for the fault tests.

FaultServer is an IndexServer (same routes: /simple/, /simple/<project>/,
/files/, /files/<filename>) whose answers can be made to misbehave, request by
request. A *plan* is a queue of actions per wheel file (GET /files/<name>) or per
project page (GET /simple/<project>/); each request takes the next action, and
when the queue is empty the server's `default` action applies (normally OK).

Actions (build them with the functions below):

    OK()                      the real bytes
    STATUS(503)               that status, a short text body
    RESET(after)              headers with the real Content-Length, `after` bytes
                              of the body, then a TCP reset (SO_LINGER 0)
    TRUNCATE(after, honest)   `after` bytes of the body, then close. honest=True:
                              Content-Length says `after`; False: it says the full size
    SLOW(chunk, delay, burst) the real bytes: `burst` bytes at once, then `chunk`
                              bytes at a time, sleeping `delay` seconds before each
                              chunk (a trickle when the delay is longer than the
                              client's read timeout)
    STALL(seconds)            accept the request, send nothing for `seconds`, then close
    WRONG()                   other bytes of the same length (a different sha256)
    PAD(extra)                the real bytes followed by `extra` more (Content-Length
                              says the total); how many were written before the
                              client hung up is kept in `sent`
    HUGE(size)                (pages only) a valid project or flat page padded to `size`
                              bytes (the links come last), bytes written kept in `sent`

`after` may be an int (bytes) or a float in (0, 1) (a fraction of the file).

Every request is logged like IndexServer's (`METHOD PATH STATUS`, so
`file_gets()` works) and also kept in `events` as (monotonic time, method,
path, action name) for timing checks. `auth=("user", "secret")` makes every
route answer 401 without those Basic credentials; `auth_seen` collects the
Authorization headers received. `relative_links=True` makes project pages (HTML
and JSON) link files as `../../files/<name>` (as devpi and Artifactory do), so a
client resolves them against the index URL it used, credentials included; without
it, links are absolute URLs on the same host, without credentials.
"""

import base64
import html
import json
import socket
import struct
import threading
import time
from collections import deque
from urllib.parse import quote

from support.index_server import JSON_TYPE, IndexServer, _Handler, _Server, corrupt_bytes, normalize


class Action:
    __slots__ = ("kind", "status", "after", "honest", "chunk", "delay", "burst")

    def __init__(self, kind, status=200, after=None, honest=True, chunk=0, delay=0.0, burst=0):
        self.kind, self.status, self.after, self.honest = kind, status, after, honest
        self.chunk, self.delay, self.burst = chunk, delay, burst

    def __repr__(self):
        extra = {"status": f"({self.status})", "pad": f"(+{self.after})", "huge": f"({self.after})", "reset": f"(after={self.after})",
                 "truncate": f"(after={self.after}, honest={self.honest})",
                 "slow": f"(chunk={self.chunk}, delay={self.delay}, burst={self.burst})", "stall": f"({self.delay}s)"}
        return self.kind + extra.get(self.kind, "")

    @property
    def name(self):
        return repr(self)


def OK():
    return Action("ok")


def STATUS(code):
    return Action("status", status=int(code))


def RESET(after=0.5):
    return Action("reset", after=after)


def TRUNCATE(after=0.5, honest=True):
    return Action("truncate", after=after, honest=honest)


def SLOW(chunk=64 * 1024, delay=0.05, burst=0):
    return Action("slow", chunk=int(chunk), delay=float(delay), burst=burst)


def STALL(seconds):
    return Action("stall", delay=float(seconds))


def WRONG():
    return Action("wrong")


def PAD(extra):
    return Action("pad", after=int(extra))


def HUGE(size):
    return Action("huge", after=int(size))


def _stream(handler, srv, key, head_bytes, total, tail=b"", chunk=1 << 20):
    """Send head_bytes, padding, then tail (total bytes in all), recording in srv.sent
    (key, bytes written, total) when done or when the client hung up."""
    written = 0
    try:
        handler.wfile.write(head_bytes)
        written += len(head_bytes)
        pad = total - len(head_bytes) - len(tail)
        block = b" " * chunk
        while pad > 0:
            n = min(chunk, pad)
            handler.wfile.write(block[:n])
            written += n
            pad -= n
        handler.wfile.write(tail)
        written += len(tail)
        handler.wfile.flush()
    except OSError:
        handler.close_connection = True
    with srv._plan_lock:
        srv.sent.append((key, written, total))


def _cut(after, size):
    if isinstance(after, float) and 0 < after < 1:
        return max(1, min(size - 1, int(size * after)))
    return max(0, min(size, int(after)))


class _FaultHandler(_Handler):
    def _route(self, head):
        srv = self.server.index
        if srv.auth is not None:
            got = self.headers.get("Authorization")
            with srv._plan_lock:
                srv.auth_seen.append(got)
            want = "Basic " + base64.b64encode(("%s:%s" % srv.auth).encode()).decode()
            if got != want:
                srv.note(self.command, self.path, "401")
                return self._send(401, b"credentials required\n", head=head,
                                  headers={"WWW-Authenticate": 'Basic realm="faults"'})
        return super()._route(head)

    def _project(self, name, head, query):
        srv = self.server.index
        action = srv.take(("page", normalize(name)))
        srv.note(self.command, self.path, action.name)
        if action.kind == "status":
            return self._send(action.status, f"injected HTTP {action.status}\n".encode(), head=head)
        if action.kind == "stall":
            time.sleep(action.delay)
            self.close_connection = True
            return None
        if action.kind == "huge":
            files = srv.catalog.projects().get(name) or []
            return self._huge_page("page:" + normalize(name), files, action.after, head)
        if not srv.relative_links:
            return super()._project(name, head, query)
        files = srv.catalog.projects().get(name)
        if not files:
            return self._send(404, f"no project {name}\n".encode(), head=head)
        rel = {f.filename: "../../files/" + quote(f.filename) for f in files}
        if self._want_json(query):
            doc = {"meta": {"api-version": "1.1"}, "name": name,
                   "files": [{"filename": f.filename, "url": rel[f.filename], "hashes": {"sha256": f.sha256},
                              "size": f.size} for f in files]}
            return self._send(200, json.dumps(doc).encode(), JSON_TYPE, head=head)
        links = "".join(
            f'<a href="{html.escape(rel[f.filename])}#sha256={f.sha256}">{html.escape(f.filename)}</a><br/>\n'
            for f in files)
        body = f"<!DOCTYPE html>\n<html><body>\n<h1>Links for {name}</h1>\n{links}</body></html>\n"
        return self._send(200, body.encode(), "text/html; charset=utf-8", head=head)

    def _flat(self, head):
        srv = self.server.index
        action = srv.take(("flat", ""))
        if action.kind != "huge":
            return super()._flat(head)
        return self._huge_page("flat", srv.catalog.files(), action.after, head)

    def _huge_page(self, label, files, size, head):
        """An HTML page of `size` bytes: padding in a comment, then the links to `files`."""
        srv = self.server.index
        links = "".join(f'<a href="{html.escape(srv.file_url(f.filename))}#sha256={f.sha256}">'
                        f'{html.escape(f.filename)}</a><br/>\n' for f in files)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if head:
            return None
        return _stream(self, srv, label, b"<!DOCTYPE html>\n<html><body>\n<!-- padding", size,
                       f"-->\n{links}</body></html>\n".encode())

    def _file(self, filename, head):
        srv = self.server.index
        p = srv.catalog.root / filename
        if "/" in filename or filename.startswith(".") or not p.is_file():
            srv.note(self.command, self.path, "missing")
            return self._send(404, b"no such file\n", head=head)
        action = srv.take(("file", filename)) if not head else OK()
        srv.note(self.command, self.path, action.name)
        data = p.read_bytes()
        kind = action.kind
        if kind == "status":
            return self._send(action.status, f"injected HTTP {action.status}\n".encode(), head=head)
        if kind == "wrong":
            return self._send(200, corrupt_bytes(data), "application/octet-stream", head=head)
        if kind == "pad":
            self._headers(200, len(data) + action.after)
            return _stream(self, srv, filename, data, len(data) + action.after)
        if kind == "stall":
            time.sleep(action.delay)
            self.close_connection = True
            return None
        if kind == "ok" or head:
            return self._send(200, data, "application/octet-stream", head=head)
        if kind == "slow":
            self._headers(200, len(data))
            start = _cut(action.burst, len(data)) if action.burst else 0
            if start:
                self.wfile.write(data[:start])
                self.wfile.flush()
            step = action.chunk or len(data)
            for i in range(start, len(data), step):
                time.sleep(action.delay)
                self.wfile.write(data[i:i + step])
                self.wfile.flush()
            return None
        cut = _cut(action.after, len(data))
        if kind == "truncate":
            self._headers(200, cut if action.honest else len(data))
            self.wfile.write(data[:cut])
            self.wfile.flush()
            self.close_connection = True
            return None
        if kind == "reset":
            self._headers(200, len(data))
            self.wfile.write(data[:cut])
            self.wfile.flush()
            time.sleep(0.05)  # let the bytes leave before the reset
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return None
        raise AssertionError(f"unknown fault action {action!r}")

    def _headers(self, status, length):
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.flush()


class _QuietServer(_Server):
    def handle_error(self, request, client_address):
        pass  # clients that reset or are killed mid-request are the point of these tests


class FaultServer(IndexServer):
    """An IndexServer over `wheel_dir` whose answers follow per-file and per-page plans."""

    def __init__(self, wheel_dir, log_path=None, *, default=None, auth=None, relative_links=False,
                 host="127.0.0.1", port=0):
        super().__init__(wheel_dir, log_path, host=host, port=port)
        self.default = default or OK()
        self.auth = auth
        self.auth_seen = []
        self.relative_links = relative_links
        self.events = []
        self.sent = []  # (filename or "page:<project>", bytes written, bytes meant) of PAD/HUGE answers
        self._plans = {}
        self._plan_lock = threading.Lock()

    def _make_server(self):
        return _QuietServer((self.host, self._port), _FaultHandler)

    # -- plans
    def plan_file(self, filename, *actions):
        """Queue actions for the next GETs of /files/<filename>."""
        with self._plan_lock:
            self._plans.setdefault(("file", filename), deque()).extend(actions)
        return self

    def plan_page(self, project, *actions):
        """Queue actions for the next GETs of /simple/<project>/ (OK serves the page)."""
        with self._plan_lock:
            self._plans.setdefault(("page", normalize(project)), deque()).extend(actions)
        return self

    def always(self, filename, action):
        """Every GET of /files/<filename> gets `action` (until clear())."""
        with self._plan_lock:
            self._plans[("file", filename)] = _Forever(action)
        return self

    def always_page(self, project, action):
        with self._plan_lock:
            self._plans[("page", normalize(project))] = _Forever(action)
        return self

    def always_flat(self, action):
        """Every GET of the flat page /files/ gets `action` (OK or HUGE)."""
        with self._plan_lock:
            self._plans[("flat", "")] = _Forever(action)
        return self

    def clear(self):
        with self._plan_lock:
            self._plans.clear()

    def take(self, key):
        with self._plan_lock:
            q = self._plans.get(key)
            if q:
                return q.popleft()
        return self.default if key[0] == "file" else OK()

    # -- what happened
    def note(self, method, path, action):
        with self._plan_lock:
            self.events.append((time.monotonic(), method, path, action))

    def file_events(self, filename):
        """[(time, action name)] of the GETs of /files/<filename>, in order."""
        path = "/files/" + quote(filename)
        with self._plan_lock:
            return [(t, a) for t, m, p, a in self.events if m == "GET" and p in (path, "/files/" + filename)]

    def page_url(self, project):
        return f"{self.simple_url}/{normalize(project)}/"

    def url_with_credentials(self, user, password):
        return f"http://{user}:{password}@{self.host}:{self.port}"


class _Forever:
    """A plan queue that never runs out."""

    def __init__(self, action):
        self.action = action

    def __bool__(self):
        return True

    def popleft(self):
        return self.action
