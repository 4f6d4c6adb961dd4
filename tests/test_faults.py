"""Hydration under faults (issue 4, "Faults"): a fault-injecting HTTP server on
127.0.0.1 (support/fault_server.py) answers 503 then succeeds, resets the
connection mid-body, cuts bodies short, trickles slower than the read timeout,
sends wrong bytes, or has no file on one index but on the next. dpex must retry
with backoff, fail over to the next source, and when it gives up print one clear
error naming the wheel, each URL tried (credentials masked) and why each failed.

Then `kill -9` of the launcher at random moments of cold hydrations: the next
normal run works, and no half-written cache entry is ever published or used.

Sources are tried in this order (docs/environment.md): DPEX_FIND_LINKS, then
PEX_BOOTSTRAP_HYDRATION_INDICES, then the URL recorded in PEX-INFO.
"""

import csv
import hashlib
import io
import os
import random
import shutil
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from support.apps import FULL_IMPORTS, FULL_PROJECTS
from support.fault_server import OK, RESET, SLOW, STALL, STATUS, TRUNCATE, WRONG, FaultServer
from support.harness import (assert_clean_error, assert_ok, describe, names_in_tree, tagged_json,
                             under)
from support import wheelmaker
from support.index_server import corrupt_bytes
from support.netlab import Blackhole
from support.pylock import write_pylock

# The read timeout the tests ask for (seconds without a byte); the default is 60 s.
READ_TIMEOUT = 2


@pytest.fixture
def faults(tmp_path, served_dir, synth):
    """faults(name, **kw) -> a running FaultServer over the served wheels, logging to tmp/<name>.log."""
    started = []

    def make(name="faults", **kw):
        srv = FaultServer(served_dir, tmp_path / f"{name}.log", **kw).start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


def app_json(r):
    return tagged_json(r.stdout, "APP")


def idna_app(e2e, base_url, imports=("idna",), projects=("idna",), out="app.pex"):
    """A small app locking idna (about 70 kB), built with PEX-INFO URLs under base_url."""
    return e2e.build_app(e2e.files(*projects), imports=list(imports), base_url=base_url, out=out,
                         lock_name=out + ".pylock.toml")


def idna_file(e2e):
    return e2e.wheels.one("idna")


def assert_runs_from_cache(e2e, r, root=None):
    out = app_json(assert_ok(r))
    for name, m in out["modules"].items():
        assert m["file"] and under(m["file"], root or e2e.root), f"{name} from {m['file']}" + describe(r)
    return out


def actions(srv, filename):
    return [a for _t, a in srv.file_events(filename)]


def lines_with(text, needle):
    return [line for line in text.splitlines() if needle in line]


def assert_nothing_cached_for(root, r, *hashes):
    """No directory and no non-empty file under root is named after any of these hashes.

    Empty `.<entry>.lck` files are not entries (docs/cache.md keeps them by design).
    """
    if not Path(root).exists():
        return
    for path in names_in_tree(root):
        base = os.path.basename(path)
        if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) == 0:
            continue
        for h in hashes:
            for frag in (h[:12], h[12:24], h[-12:]):
                assert frag not in base, f"{path} left in the cache" + describe(r)


# -- retries -------------------------------------------------------------------

@pytest.mark.parametrize("status", [503, 429])
def test_transient_status_then_success_is_retried_with_backoff(e2e, faults, status):
    srv = faults()
    whl = idna_file(e2e)
    srv.plan_file(whl.name, STATUS(status))
    pex = idna_app(e2e, srv.files_url)

    assert_runs_from_cache(e2e, e2e.run_pex(pex))
    events = srv.file_events(whl.name)
    assert [a for _t, a in events] == [f"status({status})", "ok"], events
    gap = events[1][0] - events[0][0]
    assert gap >= 0.3, f"retried {gap:.3f}s after HTTP {status}: no backoff"
    assert gap < 10, f"waited {gap:.1f}s before retrying"


def test_verbose_log_reports_the_retry(e2e, faults):
    """With PEX_VERBOSE, a retried download says so (URL and reason), so a slow start can be explained."""
    srv = faults()
    whl = idna_file(e2e)
    srv.plan_file(whl.name, STATUS(503))
    pex = idna_app(e2e, srv.files_url)

    r = e2e.run_pex(pex, env={"PEX_VERBOSE": "1"})
    assert_runs_from_cache(e2e, r)
    assert actions(srv, whl.name) == ["status(503)", "ok"]
    said = [line for line in r.stderr.splitlines() if "503" in line and whl.name in line or
            "503" in line and srv.file_url(whl.name) in line]
    assert said, "PEX_VERBOSE=1 stderr does not mention the retried HTTP 503 of " + whl.name + describe(r)
    assert "APP " not in r.stderr and not any(l.startswith("dpex:") for l in r.stdout.splitlines())


def test_connection_reset_mid_body_then_success(e2e, faults):
    srv = faults()
    whl = idna_file(e2e)
    srv.plan_file(whl.name, RESET(0.5))
    pex = idna_app(e2e, srv.files_url)

    assert_runs_from_cache(e2e, e2e.run_pex(pex))
    assert actions(srv, whl.name) == ["reset(after=0.5)", "ok"]


@pytest.mark.parametrize("honest", [True, False], ids=["content-length-honest", "content-length-dishonest"])
def test_truncated_body_then_success(e2e, faults, honest):
    """Content-Length honest: a complete short response (only the locked size tells). Dishonest: the
    connection closes before Content-Length bytes. Either way the bytes are not used; the retry works."""
    srv = faults()
    whl = idna_file(e2e)
    srv.plan_file(whl.name, TRUNCATE(0.6, honest=honest))
    pex = idna_app(e2e, srv.files_url)

    assert_runs_from_cache(e2e, e2e.run_pex(pex))
    assert actions(srv, whl.name) == [f"truncate(after=0.6, honest={honest})", "ok"]


@pytest.mark.parametrize("honest", [True, False], ids=["content-length-honest", "content-length-dishonest"])
def test_truncated_body_every_time_is_a_clear_error(e2e, faults, honest):
    srv = faults()
    whl = idna_file(e2e)
    srv.always(whl.name, TRUNCATE(0.6, honest=honest))
    pex = idna_app(e2e, srv.files_url)

    r = e2e.run_pex(pex)
    assert_clean_error(r, whl.name, srv.file_url(whl.name))
    assert "APP " not in r.stdout
    n = len(actions(srv, whl.name))
    # 3 attempts (launcher/src/install/fetch.rs ATTEMPTS; docs/operations.md), counted at the server.
    assert n == 3, f"{n} attempts at a URL whose body is always cut short" + describe(r)
    assert "after 3 attempts" in r.stderr, describe(r)
    assert_nothing_cached_for(e2e.root, r, e2e.wheels.sha256(whl.name))
    # A complete run afterwards.
    srv.clear()
    assert_runs_from_cache(e2e, e2e.run_pex(pex))


# -- a server slower than the read timeout ---------------------------------------

def test_trickle_slower_than_read_timeout_fails_over_to_next_source(e2e, faults):
    """The first source (a hydration index) sends part of the body, then a chunk every 3 s with
    DPEX_READ_TIMEOUT=2: dpex gives up on it and takes the wheel from the URL in PEX-INFO."""
    slow, good = faults("slow"), faults("good")
    whl = idna_file(e2e)
    slow.always(whl.name, SLOW(chunk=1024, delay=READ_TIMEOUT + 1.0, burst=0.3))
    pex = idna_app(e2e, good.files_url)

    t0 = time.monotonic()
    r = e2e.run_pex(pex, env={"PEX_BOOTSTRAP_HYDRATION_INDICES": slow.simple_url,
                              "DPEX_READ_TIMEOUT": str(READ_TIMEOUT)}, timeout=60)
    elapsed = time.monotonic() - t0
    assert_runs_from_cache(e2e, r)
    assert actions(slow, whl.name), "the slow index was never tried"
    assert actions(good, whl.name) == ["ok"]
    assert elapsed < 30, f"failing over from a trickling source took {elapsed:.1f}s"


@pytest.mark.parametrize("where", ["body", "headers"])
def test_trickle_with_no_other_source_names_url_and_timeout(e2e, faults, where):
    srv = faults()
    whl = idna_file(e2e)
    if where == "body":
        srv.always(whl.name, SLOW(chunk=1024, delay=READ_TIMEOUT + 1.0, burst=0.3))
    else:
        srv.always(whl.name, STALL(READ_TIMEOUT * 4))
    pex = idna_app(e2e, srv.files_url)

    t0 = time.monotonic()
    r = e2e.run_pex(pex, env={"DPEX_READ_TIMEOUT": str(READ_TIMEOUT)}, timeout=60)
    elapsed = time.monotonic() - t0
    assert_clean_error(r, whl.name, srv.file_url(whl.name))
    assert [line for line in lines_with(r.stderr, srv.file_url(whl.name)) if "time" in line.lower()], \
        "the error does not say the URL timed out" + describe(r)
    assert elapsed < 30, f"gave up after {elapsed:.1f}s with a {READ_TIMEOUT}s read timeout"
    assert_nothing_cached_for(e2e.root, r, e2e.wheels.sha256(whl.name))


# -- wrong bytes ---------------------------------------------------------------

def test_wrong_bytes_fail_over_to_next_source(e2e, faults):
    """A find-links page whose server sends other bytes: rejected once, not retried, and the
    URL recorded in PEX-INFO serves the right ones."""
    bad, good = faults("bad"), faults("good")
    whl = idna_file(e2e)
    bad.always(whl.name, WRONG())
    pex = idna_app(e2e, good.files_url)

    r = e2e.run_pex(pex, env={"DPEX_FIND_LINKS": bad.files_url})
    assert_runs_from_cache(e2e, r)
    assert actions(bad, whl.name) == ["wrong"], "bad bytes must fail the source at once (no retry)"
    assert actions(good, whl.name) == ["ok"]


def test_wrong_bytes_with_no_other_source_is_a_clear_error(e2e, faults):
    srv = faults()
    whl = idna_file(e2e)
    expected = e2e.wheels.sha256(whl.name)
    actual = hashlib.sha256(corrupt_bytes(whl.read_bytes())).hexdigest()
    srv.always(whl.name, WRONG())
    pex = idna_app(e2e, srv.files_url, imports=["idna", "yaml"], projects=["idna", "pyyaml"])

    r = e2e.run_pex(pex)
    assert_clean_error(r, whl.name, srv.file_url(whl.name), expected, actual)
    assert "APP " not in r.stdout
    assert_nothing_cached_for(e2e.root, r, expected, actual)
    assert actions(srv, whl.name) == ["wrong"]


# -- several indexes -------------------------------------------------------------

@pytest.mark.parametrize("missing", ["project-page", "file"])
def test_404_on_first_index_file_on_second(e2e, faults, tripwire, missing):
    first, second = faults("first"), faults("second")
    whl = idna_file(e2e)
    if missing == "project-page":
        first.always_page("idna", STATUS(404))
    else:
        first.always(whl.name, STATUS(404))
    pex = idna_app(e2e, tripwire.url + "/files/")

    r = e2e.run_pex(pex, env={"PEX_BOOTSTRAP_HYDRATION_INDICES": f"{first.simple_url},{second.simple_url}"})
    assert_runs_from_cache(e2e, r)
    assert actions(second, whl.name) == ["ok"]
    if missing == "file":
        assert actions(first, whl.name) == ["status(404)"], "a 404 is not worth a retry"
    assert first.simple_gets().get("/simple/idna/") == 1
    assert tripwire.hits == 0, "the URL in PEX-INFO was used although the second index had the file"


def test_all_sources_failing_is_one_clear_error(e2e, faults, tripwire, tmp_path):
    """Every kind of source fails in its own way; the one error names the wheel and each source
    with its reason, once."""
    flat, noproj, badidx = faults("flat"), faults("noproj"), faults("badidx")
    whl = idna_file(e2e)
    empty = tmp_path / "empty-wheelhouse"
    empty.mkdir()
    flat.always(whl.name, STATUS(503))
    noproj.always_page("idna", STATUS(404))
    badidx.always(whl.name, WRONG())
    pex = idna_app(e2e, tripwire.url + "/files/", imports=["idna", "certifi"], projects=["idna", "certifi"])

    r = e2e.run_pex(pex, env={
        "DPEX_FIND_LINKS": f"{empty} {flat.files_url}",
        "PEX_BOOTSTRAP_HYDRATION_INDICES": f"{noproj.simple_url},{badidx.simple_url}",
    })
    assert_clean_error(r, whl.name)
    assert "APP " not in r.stdout and r.stdout == "", "stdout must stay empty" + describe(r)
    expect = {  # a string that names the source -> words of which one must be on its line
        str(empty): ["no such file", "not found", "missing", "does not"],
        flat.file_url(whl.name): ["503"],
        noproj.page_url("idna"): ["404", "no project", "not found"],
        badidx.file_url(whl.name): ["sha256", "hash"],
        tripwire.url + "/files/" + whl.name: ["connect", "closed", "reset", "eof", "refused", "io"],
    }
    for source, reasons in expect.items():
        found = lines_with(r.stderr, source)
        assert found, f"the error does not name {source}" + describe(r)
        assert len(found) == 1, f"{source} is named on {len(found)} lines: one error, once each" + describe(r)
        assert any(w in found[0].lower() for w in reasons), \
            f"no reason ({' / '.join(reasons)}) given for {source}: {found[0]!r}" + describe(r)
    errors = [line for line in r.stderr.splitlines() if line.lower().startswith("dpex: error")]
    assert len(errors) == 1 and whl.name in errors[0], "expected one error, naming the wheel" + describe(r)
    assert actions(flat, whl.name) and actions(badidx, whl.name) == ["wrong"]
    assert tripwire.hits >= 1
    assert_nothing_cached_for(e2e.root, r, e2e.wheels.sha256(whl.name))


# -- a source that is down for the whole run -------------------------------------

# The launcher's download workers (MAX_WORKERS in install/hydrate.rs) and attempts per URL.
WORKERS, ATTEMPTS = 8, 3


@pytest.mark.parametrize("named_as", ["DPEX_MIRROR", "hydration index"])
def test_a_dead_source_costs_one_round_of_retries_per_run_not_one_per_wheel(
        e2e, index_factory, tripwire, tmp_path, named_as):
    """A fleet's proxy down from the start, in front of an app of 20 wheels: the wheels the
    8 workers started first each try it (a mirror 3 times with backoff, an index page once),
    then every later wheel goes straight to the next source. Before, each of the 20 wheels paid
    the full round (60 connects and 1.5 s of backoff per wheel for a mirror)."""
    d = tmp_path / "wheels"
    files = [wheelmaker.make_wheel(d, f"dead-src-{i:02d}", "1.0", {f"dead_src_{i:02d}.py": f"N = {i}\n"})
             for i in range(20)]
    origin = index_factory("origin", directory=d)
    lock = write_pylock(tmp_path / "pylock.toml", files, origin.files_url)
    pex, _ = e2e.build("--lock", lock)
    env = ({"DPEX_MIRROR": tripwire.url} if named_as == "DPEX_MIRROR"
           else {"PEX_BOOTSTRAP_HYDRATION_INDICES": tripwire.url + "/simple/"})
    r = assert_ok(e2e.run_pex(pex, "-c", "import dead_src_00, dead_src_19; print(dead_src_19.N)", env=env))
    assert r.stdout == "19\n", describe(r)
    per_wheel = ATTEMPTS if named_as == "DPEX_MIRROR" else 1
    assert 0 < tripwire.hits <= WORKERS * per_wheel < len(files) * per_wheel, (
        f"the dead source was asked {tripwire.hits} times for {len(files)} wheels" + describe(r))
    assert sum(origin.file_gets().values()) == len(files), origin.file_gets()
    warnings = [l for l in r.stderr.splitlines() if l.startswith("dpex: warning:")]
    assert len(warnings) == 1 and tripwire.url in warnings[0], describe(r)


def test_a_mirror_that_accepts_no_connection_is_given_up_after_one_connect_timeout(e2e, tmp_path):
    """A mirror that drops every connect (a firewalled or dead host): one DPEX_CONNECT_TIMEOUT,
    then the recorded URL, without the 2 more timeouts and 1.5 s of backoff a flaky answer gets
    (4.5 s with a 1 s timeout, before). The recorded URL, last, would still get all 3 attempts
    (test_network's connect-timeout test)."""
    hole = Blackhole()
    try:
        pex = idna_app(e2e, e2e.index.files_url)
        # The same cold start without the mirror, as the measure of the rest of the start (its
        # final syncfs can take seconds on a disk busy with earlier tests' writes).
        t0 = time.monotonic()
        assert_ok(e2e.run_pex(pex, env={"DPEX_ROOT": e2e.tmp / "no-mirror-root"}, timeout=120))
        cold = time.monotonic() - t0
        t0 = time.monotonic()
        r = e2e.run_pex(pex, env={"DPEX_MIRROR": hole.url, "DPEX_CONNECT_TIMEOUT": "2"}, timeout=120)
        elapsed = time.monotonic() - t0
        assert_runs_from_cache(e2e, r)
        warnings = [l for l in r.stderr.splitlines() if l.startswith("dpex: warning:")]
        assert len(warnings) == 1 and hole.url in warnings[0], describe(r)
        assert "not retried: another source follows" in warnings[0], describe(r)
        # One 2 s timeout; retried, it would be 3 and 0.75 s of backoff (+6.75 s).
        assert elapsed - cold < 4.5, (
            f"{elapsed:.1f}s against {cold:.1f}s without the mirror: the dead mirror was retried" + describe(r))
    finally:
        hole.close()


def test_a_source_that_answers_an_error_for_one_file_keeps_serving_the_others(e2e, index_factory, tmp_path):
    """A mirror that answers 503 for one wheel (the largest, so it starts first) and serves the
    other 19 slowly: that wheel falls back to the origin after its 3 attempts, and the mirror,
    which did answer, is not taken for dead: every other wheel, including those started after
    the 503s, still comes from it."""
    d = tmp_path / "wheels"
    big = wheelmaker.make_wheel(d, "dead-src-big", "1.0", {"dead_src_big.py": "# " + os.urandom(150_000).hex() + "\n"})
    files = [big] + [wheelmaker.make_wheel(d, f"dead-src-{i:02d}", "1.0", {f"dead_src_{i:02d}.py": f"N = {i}\n"})
                     for i in range(19)]
    origin = index_factory("origin", directory=d)
    # About 1.6 s per small wheel: 19 wheels on 7 workers take three rounds, the third starting
    # at ~3.2 s, well after the big one's retries end (~1.5 s; 0.8 s a wheel left 0.1 s to spare).
    mirror = FaultServer(d, tmp_path / "mirror.log", default=SLOW(chunk=256, delay=0.4)).start()
    try:
        mirror.always(big.name, STATUS(503))
        lock = write_pylock(tmp_path / "pylock.toml", files, origin.files_url)
        pex, _ = e2e.build("--lock", lock)
        r = assert_ok(e2e.run_pex(pex, "-c", "import dead_src_big, dead_src_18; print(dead_src_18.N)",
                                  env={"DPEX_MIRROR": mirror.url}))
        assert r.stdout == "18\n", describe(r)
        assert [a for _, a in mirror.file_events(big.name)] == ["status(503)"] * 3, describe(r)
        assert dict(origin.file_gets()) == {big.name: 1}, (
            f"wheels fetched from the origin although the mirror served them: {dict(origin.file_gets())}"
            + describe(r))
        last_503 = mirror.file_events(big.name)[-1][0]
        later = [f.name for f in files[1:] if mirror.file_events(f.name)[0][0] > last_503]
        assert later, "every wheel had started before the mirror's last 503: nothing checked"
    finally:
        mirror.stop()


# -- credentials ----------------------------------------------------------------

def _creds_index(faults, links="relative"):
    return faults("private", auth=("user", "secret"), relative_links=(links == "relative"))


@pytest.mark.parametrize("links", ["relative", "absolute"])
def test_credentials_in_index_url_are_used_and_never_shown(e2e, faults, tripwire, links):
    """A private index (Basic auth on pages and files, as Artifactory, Nexus, GitLab or devpi do):
    the index URL's credentials go with the downloads from the same host, whether the page links
    files relatively or by absolute URL (pip does the same), and even with PEX_VERBOSE=2 the
    password never reaches stdout or stderr."""
    srv = _creds_index(faults, links)
    whl = idna_file(e2e)
    pex = idna_app(e2e, tripwire.url + "/files/")
    index = srv.url_with_credentials("user", "secret") + "/simple"

    r = e2e.run_pex(pex, env={"PEX_BOOTSTRAP_HYDRATION_INDICES": index, "PEX_VERBOSE": "2"})
    assert "secret" not in r.stdout + r.stderr, "the index password was printed" + describe(r)
    assert_runs_from_cache(e2e, r)
    assert actions(srv, whl.name) == ["ok"]
    assert tripwire.hits == 0


@pytest.mark.parametrize("fault", ["page-500", "file-503", "file-wrong-bytes"])
def test_credentials_in_index_url_are_masked_in_errors(e2e, faults, tripwire, fault):
    srv = _creds_index(faults)
    whl = idna_file(e2e)
    if fault == "page-500":
        srv.always_page("idna", STATUS(500))
    elif fault == "file-503":
        srv.always(whl.name, STATUS(503))
    else:
        srv.always(whl.name, WRONG())
    pex = idna_app(e2e, tripwire.url + "/files/")
    index = srv.url_with_credentials("user", "secret") + "/simple"

    r = e2e.run_pex(pex, env={"PEX_BOOTSTRAP_HYDRATION_INDICES": index, "PEX_VERBOSE": "2"})
    assert "secret" not in r.stdout + r.stderr, "the index password was printed" + describe(r)
    masked = f"http://user:****@127.0.0.1:{srv.port}/"
    assert_clean_error(r, whl.name, masked)
    reason = {"page-500": "500", "file-503": "503", "file-wrong-bytes": "sha256"}[fault]
    assert [line for line in lines_with(r.stderr, masked) if reason in line], \
        f"no line names the failing index URL (as {masked}...) with its reason {reason!r}" + describe(r)


# -- kill -9 during cold hydration -------------------------------------------------

def _record_files(wheel_path):
    """[(relative path in the cache entry, size or None)] for every file in the wheel's RECORD,
    mapped to the entry layout of docs/cache.md (site/, scripts/, data/, headers/)."""
    with zipfile.ZipFile(wheel_path) as zf:
        record = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD") and n.count("/") == 1)
        data_dir = record.split("/")[0][:-len(".dist-info")] + ".data"
        rows = list(csv.reader(io.StringIO(zf.read(record).decode("utf-8"))))
    out = []
    for row in rows:
        if not row or not row[0]:
            continue
        path = row[0]
        size = int(row[2]) if len(row) > 2 and row[2].strip() else None
        parts = path.split("/")
        if parts[0] == data_dir:
            where = {"purelib": "site", "platlib": "site", "scripts": "scripts", "data": "data",
                     "headers": "headers"}[parts[1]]
            out.append((where + "/" + "/".join(parts[2:]), size))
        else:
            out.append(("site/" + path, size))
    return out


class CacheChecker:
    """Checks that every published entry under <root>/1 is whole."""

    def __init__(self, wheel_files):
        self.by_sha = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in wheel_files}
        self._records = {}

    def record(self, sha):
        if sha not in self._records:
            self._records[sha] = _record_files(self.by_sha[sha])
        return self._records[sha]

    def check(self, root, context=""):
        """Returns the names of stale work folders; fails on any incomplete published entry."""
        base = Path(root) / "1"
        stale = []
        wheels = base / "wheels"
        if wheels.is_dir():
            for entry in wheels.iterdir():
                if entry.name.startswith("."):
                    if entry.name.endswith(".work"):
                        stale.append("wheels/" + entry.name)
                    else:
                        assert entry.name.endswith(".lck"), f"unexpected {entry}{context}"
                    continue
                assert entry.name in self.by_sha, f"published wheel entry {entry.name} matches no locked wheel{context}"
                for rel, size in self.record(entry.name):
                    p = entry / rel
                    assert p.is_file(), f"published {entry} lacks {rel} (from RECORD){context}"
                    if size is not None:
                        assert p.stat().st_size == size, f"published {p} has {p.stat().st_size} bytes, RECORD says {size}{context}"
                leftovers = [n for n in os.listdir(entry) if n.endswith(".whl")]
                assert not leftovers, f"published {entry} holds download leftovers {leftovers}{context}"
        apps_dir = base / "apps"
        if apps_dir.is_dir():
            for entry in apps_dir.iterdir():
                if entry.name.startswith("."):
                    if entry.name.endswith(".work"):
                        stale.append("apps/" + entry.name)
                    continue
                for name in ("__main__.py", "PEX-INFO"):
                    assert (entry / name).is_file(), f"published app {entry} lacks {name}{context}"
        for kind, must_have in (("sites", ("dpex-site.json", "site-packages")),
                                ("envs", ("dpex-env.json", "pyvenv.cfg", "bin/python"))):
            if not (base / kind).is_dir():
                continue
            for entry in (base / kind).iterdir():
                if entry.name.startswith("."):
                    if entry.name.endswith(".work"):
                        stale.append(f"{kind}/{entry.name}")
                    continue
                for name in must_have:
                    assert os.path.exists(entry / name), f"published {entry} lacks {name}{context}"
                dangling = []
                for dirpath, dirnames, filenames in os.walk(entry):
                    for n in filenames + dirnames:
                        p = os.path.join(dirpath, n)
                        if os.path.islink(p) and not os.path.exists(p):
                            dangling.append(p)
                assert not dangling, f"published {entry} has dangling links {dangling[:5]}{context}"
        return stale


def published_twin(wheels, path):
    """Whether `path` is the same file (inode) as a file of a published wheel entry."""
    st = os.stat(path)
    for entry in os.listdir(wheels):
        if entry.startswith("."):
            continue
        for dirpath, _dirs, files in os.walk(os.path.join(wheels, entry)):
            if os.path.basename(path) in files:
                other = os.stat(os.path.join(dirpath, os.path.basename(path)))
                if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
                    return True
    return False


CHUNK = 256 * 1024


def _phase(work):
    """What a stale work folder shows of the moment of the kill."""
    if not work.name.endswith(".work") or not work.is_dir():
        return "?"
    names = os.listdir(work)
    if not names:
        return "empty"
    if ".download.whl" in names:
        return "downloading" if len(names) == 1 else "unpacking"
    return "building"


def test_kill_9_during_cold_hydration_then_normal_run(e2e, faults):
    """At least 20 trials: a cold start against a server that slows the bodies down (a different pace
    each trial) is killed with SIGKILL at a random moment of its hydration; every published entry
    must then be whole; a normal run must succeed, import everything from the cache, and leave no
    stale work folder behind."""
    srv = faults("slow")
    files = e2e.files(*FULL_PROJECTS)
    pex = e2e.build_app(files, imports=FULL_IMPORTS, base_url=srv.files_url)
    checker = CacheChecker(files)
    seed = int(os.environ.get("DPEX_FAULT_SEED") or time.time_ns() % 10**9)
    rng = random.Random(seed)
    seed_note = f" (repeat these trials with DPEX_FAULT_SEED={seed})"
    needed = [f for f in files if "musllinux" not in f.name]
    chunks = sum(-(-f.stat().st_size // CHUNK) for f in needed)

    # One unthrottled cold start, and one unthrottled hydration alone (`dpex hydrate`: the same
    # code, without the app's imports after it): the kills aim at the hydration, which is the
    # time not spent waiting for the server. (Wheels unpack as they stream in, so hydration is a
    # small part of a cold start: a window of the whole start would mostly hit the app's imports.)
    r0 = e2e.run_pex(pex, env={"DPEX_ROOT": e2e.tmp / "probe-root"})
    assert_runs_from_cache(e2e, r0, root=e2e.tmp / "probe-root")
    h0 = e2e.dpex_cmd("hydrate", pex, env=e2e.env({"DPEX_ROOT": e2e.tmp / "probe-hydrate"}))
    assert h0.returncode == 0, describe(h0)
    base = h0.elapsed

    # Under load many trials finish before their kill lands: allow enough trials to get 20 hits.
    want, max_trials = 20, 60
    landed = []  # (trial, delay, kill time, stale work folders) of kills that hit a running launcher
    trial = 0
    t_start = time.monotonic()
    while len(landed) < want and trial < max_trials:
        trial += 1
        root = e2e.tmp / f"kill-{trial}"
        # Seconds slept before each 256 kB of every body: from none to a few seconds per cold start.
        delay = rng.choice([0.0, 0.002, 0.005, 0.01, 0.02])
        srv.default = SLOW(chunk=CHUNK, delay=delay) if delay else OK()
        # Parallel downloads overlap their sleeps: the window is shorter than chunks * delay.
        window = base + chunks * delay / 2
        at = rng.uniform(0.01, window)
        proc = subprocess.Popen([str(pex)], env=e2e.env({"DPEX_ROOT": root}), cwd=e2e.tmp,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(at)
        alive = proc.poll() is None
        if alive:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        ctx = f"\ntrial {trial}: {delay}s before each 256 kB of a body, SIGKILL at {at:.3f}s{seed_note}"
        stale = checker.check(root, ctx)
        if alive:
            landed.append((trial, delay, round(at, 3), [f"{s} ({_phase(root / '1' / s)})" for s in stale]))

        srv.default = OK()
        r = e2e.run_pex(pex, env={"DPEX_ROOT": root})
        assert r.returncode == 0, "the run after a kill failed" + ctx + describe(r)
        out = assert_runs_from_cache(e2e, r, root=root)
        assert out["numpy"] == {"sum": 45, "matmul": 64.0 ** 3}, out["numpy"]
        assert out["yaml"]["roundtrip"] and out["requests"]["cacert_exists"], out
        for name, m in out["modules"].items():
            real = Path(os.path.realpath(m["file"]))
            rel = real.relative_to(Path(os.path.realpath(root)) / "1")
            assert rel.parts[0] in ("wheels", "apps", "sites") and not rel.parts[1].startswith("."), \
                f"{name} imported from {real}, not from a published entry" + ctx
            if rel.parts[0] == "sites":
                # A hard link: the same file as one in a published wheel entry.
                assert published_twin(root / "1" / "wheels", real), \
                    f"{name}: {real} is not a link to a published wheel's file" + ctx
        left = checker.check(root, ctx + " (after the normal run)")
        assert not left, f"stale work folders {left} remain after a successful run" + ctx

    summary = (f"{len(landed)} kills hit a running launcher in {trial} trials, "
               f"{time.monotonic() - t_start:.1f}s; unthrottled hydration {base:.2f}s; {seed_note}\n"
               + "\n".join(f"  trial {t}: delay {d}, kill at {a}s, in flight: {s}" for t, d, a, s in landed))
    print(summary)
    assert len(landed) >= want, summary
    mid_build = [x for x in landed if x[3]]
    assert len(mid_build) >= 5, "too few kills landed while an entry was being built\n" + summary


def _whole_calls(lines):
    """strace -f splits a call that another thread interrupts into "PID call(args <unfinished ...>"
    and, later, "PID <... call resumed>) = result". Yields (line where the call started, line where
    it returned, the call joined into one line)."""
    pending = {}
    for n, line in enumerate(lines):
        # strace pads the pid to five columns ("1234  mkdir(..."): split on the run of blanks.
        pid, _, rest = line.partition(" ")
        rest = rest.lstrip()
        if rest.endswith("<unfinished ...>"):
            pending[pid] = (n, rest[: -len("<unfinished ...>")])
        elif rest.startswith("<... ") and pid in pending:
            started, head = pending.pop(pid)
            yield started, n, head + rest.split("resumed>", 1)[1]
        else:
            yield n, n, rest


def test_every_entry_is_on_disk_before_it_is_published(e2e):
    """Power cuts (docs/cache.md, "Publishing: `atomic_dir`"): a published entry's files must not lose their
    contents, so the work folders' data is written to disk (one syncfs for a cold start's
    wheels, one for each later entry) before the rename that publishes them. Checked on the
    syscalls of a cold start: between the creation of each work folder and its rename into
    the entry, there was a syncfs."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed")
    pex = e2e.build_app(e2e.files("idna", "pyyaml"), imports=("idna", "yaml"))
    trace = e2e.tmp / "trace.log"
    r = subprocess.run([strace, "-f", "-qq", "-e", "trace=syncfs,mkdir,mkdirat,rename,renameat,renameat2",
                        "-e", "signal=none", "-o", trace, pex], env=e2e.env(), capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    created, syncs, published = {}, [], []
    for started, ended, line in _whole_calls(trace.read_text().splitlines()):
        if "= 0" not in line:
            continue
        if "syncfs(" in line:
            syncs.append(ended)
        elif "mkdir" in line and '.work"' in line:
            created[line.split('"')[1]] = ended
        elif "rename" in line and '.work"' in line:
            work = line.split('"')[1]
            assert work in created, f"renamed a work folder the trace did not see created: {line}"
            assert any(created[work] < s < started for s in syncs), f"published without a syncfs since its work folder was made: {line}"
            published.append(work)
    # The two wheels, the app, the site and the environment.
    assert len(published) >= 5, trace.read_text()
    assert len(syncs) < len(published), f"one syncfs for the wheels together, not one each: {len(syncs)}"
