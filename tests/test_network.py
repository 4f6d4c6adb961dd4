"""Network policy (issue 5): TLS, proxies, credentials, http and https.

- TLS is verified against the platform's trust store, or SSL_CERT_FILE /
  SSL_CERT_DIR (which replace it), plus DPEX_CA_BUNDLE (which adds to it): an
  HTTPS index on 127.0.0.1 whose certificate a test CA signed is refused
  without that CA, with a message naming the URL and how to add a CA; accepted
  with it; refused when the certificate is for another host name.
- Proxies are read as curl reads them (HTTPS_PROXY / https_proxy, lowercase
  http_proxy only, ALL_PROXY / all_proxy, NO_PROXY / no_proxy) and tested with a
  proxy on 127.0.0.1 that counts the CONNECT tunnels (https) and absolute-form
  requests (http) passing through it.
- Credentials from an index URL or from ~/.netrc (or $NETRC) go only to their own
  origin: a redirect to another port or host gets none (two servers, each
  recording the Authorization headers it saw).
- A redirect from https to http is refused.
- `dpex build` records no credentials in the app (the bytes of app.pex are
  searched), and neither dpex nor the launcher prints them.
- Also each remaining claim of docs/security.md's network policy: the first index
  that has a project wins (`dpex build --index-url A --index-url B`), at most 10
  redirects, credentials in a `Location` header dropped, reading stops one byte past
  the locked size, pages capped at 256 MiB, DPEX_CONNECT_TIMEOUT, an https:// proxy
  (verified), what PEX_VERBOSE=2 says, the platform store of this host, DPEX_CA_BUNDLE
  from a pexrc file, credentials in DPEX_FIND_LINKS. "Not retried" is counted at the
  server (handshakes, requests), not read from stderr.

The servers are in support/netlab.py.
"""

import base64
import os
import time
from urllib.parse import quote

import pytest

from support import wheelmaker
from support.fault_server import HUGE, PAD, STATUS
from support.harness import (assert_clean_error, assert_ok, describe, eventually, pex_info, pex_info_bytes, tagged_json,
                             under)
from support.netlab import Blackhole, CountingProxy, LabServer, Pki
from support.pylock import sha256_of

PASSWORD = "s3cret-Pw"
# Percent-encoded in URLs: `%21` is `!`. Neither form may appear anywhere.
ODD_PASSWORD = "p%21ss-9z7"
ODD_DECODED = "p!ss-9z7"


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A test CA, a second unrelated CA, and server certificates."""
    d = tmp_path_factory.mktemp("pki")

    class P:
        ca = Pki(d / "ca")
        other = Pki(d / "other", name="another test CA")
        ip = ca.server_cert("ip-only", ips=["127.0.0.1"])
        localhost = ca.server_cert("localhost-only", dns=["localhost"])

    return P


@pytest.fixture
def lab(tmp_path, served_dir, synth):
    """lab(label, **kw) -> a running LabServer over the served wheels, logging to tmp/<label>.log."""
    started = []

    def make(label="lab", **kw):
        srv = LabServer(served_dir, tmp_path / f"{label}.log", **kw).start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture
def proxy():
    p = CountingProxy().start()
    yield p
    p.stop()


def idna_app(e2e, base_url, out="app.pex"):
    """A small app locking idna (about 70 kB), its PEX-INFO URLs under base_url."""
    return e2e.build_app(e2e.files("idna"), imports=["idna"], base_url=base_url, out=out,
                         lock_name=out + ".pylock.toml")


def idna_name(e2e):
    return e2e.wheels.one("idna").name


def assert_ran(e2e, r):
    out = tagged_json(assert_ok(r).stdout, "APP")
    f = out["modules"]["idna"]["file"]
    assert f and under(f, e2e.root), f"idna imported from {f}, not the cache" + describe(r)


def assert_not_shown(r, *secrets):
    print("\n=== STDERR ===\n" + r.stderr)
    for s in secrets:
        assert s not in r.stdout + r.stderr, f"{s!r} was printed" + describe(r)


# -- TLS -------------------------------------------------------------------------

def test_https_with_an_unknown_ca_is_refused_with_a_hint(e2e, pki, lab):
    srv = lab("tls", tls=pki.ip)
    pex = idna_app(e2e, srv.files_url)
    url = srv.file_url(idna_name(e2e))

    r = e2e.run_pex(pex)
    assert_clean_error(r, url, "DPEX_CA_BUNDLE", "SSL_CERT_FILE", "not signed by a CA")
    assert eventually(lambda: srv.handshake_failures >= 1), "the server saw no refused handshake"
    assert srv.seen == [], "a request was sent over a connection that was not verified"
    # Refused once: a certificate error is not retried (counted at the server).
    assert srv.handshake_failures == 1, f"{srv.handshake_failures} handshakes: a certificate error was retried"
    assert r.stderr.count("not signed by a CA") == 1, describe(r)


@pytest.mark.parametrize("how", ["SSL_CERT_FILE", "DPEX_CA_BUNDLE", "SSL_CERT_DIR", "DPEX_CA_BUNDLE-dir"])
def test_https_with_the_ca_configured_is_accepted(e2e, pki, lab, how):
    srv = lab("tls", tls=pki.ip)
    pex = idna_app(e2e, srv.files_url)
    ca = pki.ca.ca_cert
    var, value = {"SSL_CERT_FILE": ("SSL_CERT_FILE", ca), "DPEX_CA_BUNDLE": ("DPEX_CA_BUNDLE", ca),
                  "SSL_CERT_DIR": ("SSL_CERT_DIR", ca.parent),
                  "DPEX_CA_BUNDLE-dir": ("DPEX_CA_BUNDLE", ca.parent)}[how]

    r = e2e.run_pex(pex, env={var: value})
    assert_ran(e2e, r)
    assert srv.file_gets() == {idna_name(e2e): 1}


def test_ssl_cert_file_replaces_the_store_and_dpex_ca_bundle_adds_to_it(e2e, pki, lab):
    """Checked with `dpex build -r` (the packer reads the index through the same client)."""
    srv = lab("tls", tls=pki.ip)
    req = e2e.requirements(e2e.files("idna"))
    src = e2e.app_sources(["idna"])
    args = ["-r", req, "--index-url", srv.simple_url, "-D", src, "-e", "myapp.main:run", "-o", e2e.tmp / "b.pex"]

    r = e2e.dpex_cmd("build", *args, env=e2e.env({"SSL_CERT_FILE": pki.other.ca_cert}))
    assert_clean_error(r, srv.simple_url + "/idna/", f"SSL_CERT_FILE={pki.other.ca_cert}", "not signed by a CA")

    r = e2e.dpex_cmd("build", *args, env=e2e.env({"SSL_CERT_FILE": pki.other.ca_cert,
                                                   "DPEX_CA_BUNDLE": pki.ca.ca_cert}))
    assert_ok(r)


@pytest.mark.parametrize("cert,name", [("localhost", "127.0.0.1"), ("ip", "localhost")],
                         ids=["localhost-cert-as-ip", "ip-cert-as-localhost"])
def test_https_with_a_wrong_host_name_is_refused(e2e, pki, lab, cert, name):
    srv = lab("tls", tls=getattr(pki, cert), name=name)
    pex = idna_app(e2e, srv.files_url)

    r = e2e.run_pex(pex, env={"DPEX_CA_BUNDLE": pki.ca.ca_cert})
    assert_clean_error(r, srv.file_url(idna_name(e2e)), f"not valid for the host name {name}")
    assert srv.seen == []

    # The same certificate, asked for by the name it was issued for, is fine.
    good = lab("tls-good", tls=getattr(pki, cert), name={"localhost": "localhost", "ip": "127.0.0.1"}[cert])
    pex = idna_app(e2e, good.files_url, out="good.pex")
    assert_ran(e2e, e2e.run_pex(pex, env={"DPEX_CA_BUNDLE": pki.ca.ca_cert}))


@pytest.mark.parametrize("var", ["SSL_CERT_FILE", "DPEX_CA_BUNDLE"])
def test_a_trust_store_variable_naming_nothing_is_a_clear_error(e2e, pki, lab, var):
    srv = lab("tls", tls=pki.ip)
    pex = idna_app(e2e, srv.files_url)
    missing = e2e.tmp / "no-such-ca.pem"
    r = e2e.run_pex(pex, env={var: missing})
    assert_clean_error(r, f"{var}={missing}", srv.file_url(idna_name(e2e)))


# -- proxies -----------------------------------------------------------------------

@pytest.mark.parametrize("var", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
def test_https_goes_through_a_connect_tunnel(e2e, pki, lab, proxy, var):
    srv = lab("tls", tls=pki.ip)
    pex = idna_app(e2e, srv.files_url)

    r = e2e.run_pex(pex, env={var: proxy.url, "DPEX_CA_BUNDLE": pki.ca.ca_cert})
    assert_ran(e2e, r)
    tunnels = proxy.targets("CONNECT")
    assert tunnels and set(tunnels) == {f"127.0.0.1:{srv.port}"}, proxy.events
    assert set(proxy.kinds()) == {"CONNECT"}, proxy.events
    assert srv.file_gets() == {idna_name(e2e): 1}


@pytest.mark.parametrize("var", ["http_proxy", "ALL_PROXY", "all_proxy"])
def test_plain_http_goes_through_the_proxy_in_absolute_form(e2e, proxy, var):
    pex = idna_app(e2e, e2e.index.files_url)

    r = e2e.run_pex(pex, env={var: proxy.url})
    assert_ran(e2e, r)
    assert proxy.kinds() == ["GET"], proxy.events
    assert proxy.targets("GET") == [e2e.index.file_url(idna_name(e2e))]


def test_uppercase_http_proxy_is_not_read_for_http_and_https_proxy_not_for_http(e2e, proxy):
    """curl reads only lowercase http_proxy (HTTP_PROXY may come from a request's `Proxy:`
    header in CGI programs), and https_proxy applies to https URLs only."""
    pex = idna_app(e2e, e2e.index.files_url)
    r = e2e.run_pex(pex, env={"HTTP_PROXY": proxy.url, "HTTPS_PROXY": proxy.url, "https_proxy": proxy.url})
    assert_ran(e2e, r)
    assert proxy.events == []


@pytest.mark.parametrize("no_proxy", ["NO_PROXY=127.0.0.1", "no_proxy=example.com,127.0.0.0/8",
                                      "NO_PROXY=*"])
@pytest.mark.parametrize("scheme", ["https", "http"])
def test_no_proxy_bypasses_the_proxy(e2e, pki, lab, proxy, no_proxy, scheme):
    srv = lab("srv", tls=pki.ip if scheme == "https" else None)
    pex = idna_app(e2e, srv.files_url)
    var, value = no_proxy.split("=", 1)
    env = {"HTTPS_PROXY": proxy.url, "http_proxy": proxy.url, "ALL_PROXY": proxy.url, var: value,
           "DPEX_CA_BUNDLE": pki.ca.ca_cert}

    r = e2e.run_pex(pex, env=env)
    assert_ran(e2e, r)
    assert proxy.events == []
    assert srv.file_gets() == {idna_name(e2e): 1}


def test_no_proxy_matches_names_as_written(e2e, proxy):
    """`localhost` in NO_PROXY is not 127.0.0.1: the proxy is used."""
    pex = idna_app(e2e, e2e.index.files_url)
    r = e2e.run_pex(pex, env={"http_proxy": proxy.url, "NO_PROXY": "localhost,.example.com"})
    assert_ran(e2e, r)
    assert proxy.kinds() == ["GET"]


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_proxy_credentials_are_sent_to_the_proxy_and_never_shown(e2e, pki, lab, scheme):
    p = CountingProxy(auth=("puser", PASSWORD)).start()
    try:
        srv = lab("srv", tls=pki.ip if scheme == "https" else None)
        pex = idna_app(e2e, srv.files_url)
        var = "HTTPS_PROXY" if scheme == "https" else "http_proxy"
        env = {"DPEX_CA_BUNDLE": pki.ca.ca_cert, "PEX_VERBOSE": "2"}

        r = e2e.run_pex(pex, env={**env, var: p.url_with_credentials("puser", PASSWORD)})
        assert_ran(e2e, r)
        assert_not_shown(r, PASSWORD)
        assert p.proxy_auth_seen and set(p.proxy_auth_seen) == {basic("puser", PASSWORD)}
        assert set(p.kinds()) == ({"CONNECT"} if scheme == "https" else {"GET"}), p.events
        # The server behind the proxy never sees the proxy's credentials.
        assert all(a is None for a in srv.authorizations())

        # Wrong password: the proxy refuses (407), the error shows the proxy masked.
        bad = e2e.run_pex(pex, env={**env, var: p.url_with_credentials("puser", "wr0ng-pass"),
                                    "DPEX_ROOT": e2e.tmp / "root2"})
        assert_clean_error(bad, "407")
        assert_not_shown(bad, "wr0ng-pass", PASSWORD)
    finally:
        p.stop()


@pytest.mark.parametrize("scheme", ["http://", ""], ids=["url", "no-scheme"])
def test_a_dead_proxy_is_named_in_the_error(e2e, pki, lab, tripwire, scheme):
    srv = lab("tls", tls=pki.ip)
    pex = idna_app(e2e, srv.files_url)
    dead = f"{scheme}puser:{PASSWORD}@127.0.0.1:{tripwire.port}"
    r = e2e.run_pex(pex, env={"HTTPS_PROXY": dead, "DPEX_CA_BUNDLE": pki.ca.ca_cert})
    assert_clean_error(r, f"{scheme}puser:****@127.0.0.1:{tripwire.port}", "HTTPS_PROXY", "NO_PROXY")
    assert tripwire.hits >= 1, "the proxy was not used"
    assert_not_shown(r, PASSWORD)
    assert srv.seen == []


def test_a_proxy_variable_that_is_not_a_url_is_a_clear_error(e2e, lab):
    srv = lab("srv")
    pex = idna_app(e2e, srv.files_url)
    r = e2e.run_pex(pex, env={"http_proxy": "socks5://127.0.0.1:1"})
    assert_clean_error(r, "http_proxy=socks5://127.0.0.1:1", "HTTP and HTTPS proxies")


# -- credentials -------------------------------------------------------------------

def test_index_url_credentials_go_to_their_origin_only(e2e, lab, tripwire):
    """A private index (Basic auth) whose downloads redirect to another port: the
    other server gets no Authorization header."""
    files = lab("files")
    private = lab("private", auth=("user", ODD_DECODED), redirect_files=files.files_url)
    pex = idna_app(e2e, tripwire.url + "/files/")
    index = private.url_with_credentials("user", ODD_PASSWORD) + "/simple"

    r = e2e.run_pex(pex, env={"PEX_BOOTSTRAP_HYDRATION_INDICES": index, "PEX_VERBOSE": "2"})
    assert_ran(e2e, r)
    assert_not_shown(r, ODD_PASSWORD, ODD_DECODED)
    want = basic("user", ODD_DECODED)
    assert private.authorizations("/simple/") and set(private.authorizations("/simple/")) == {want}
    assert private.authorizations("/files/") and set(private.authorizations("/files/")) == {want}
    assert files.seen and files.authorizations() == [None] * len(files.seen), files.seen
    assert files.file_gets() == {idna_name(e2e): 1}
    assert tripwire.hits == 0


@pytest.mark.parametrize("where", ["home", "NETRC"])
def test_netrc_credentials_go_to_their_host_only(e2e, lab, where):
    """~/.netrc (or the file $NETRC names) holds the password of 127.0.0.1; the index
    redirects downloads to `localhost` (another host name), which must get nothing."""
    files = lab("files", name="localhost")
    private = lab("private", auth=("user", PASSWORD), redirect_files=files.files_url)
    pex = idna_app(e2e, private.files_url)
    name = idna_name(e2e)

    # Without credentials: a clear 401, nothing cached.
    r = e2e.run_pex(pex, env={"DPEX_ROOT": e2e.tmp / "root-none"})
    assert_clean_error(r, name, "401")
    before = len(private.seen)

    netrc_text = (f"machine localhost.example login other password other-pw\n"
                  f"machine 127.0.0.1\n  login user\n  password {PASSWORD}\n"
                  f"default login anon password default-pw\n")
    env = {}
    if where == "home":
        (e2e.home / ".netrc").write_text(netrc_text)
    else:
        path = e2e.tmp / "my-netrc"
        path.write_text(netrc_text)
        env["NETRC"] = path
    r = e2e.run_pex(pex, env={**env, "PEX_VERBOSE": "2"})
    assert_ran(e2e, r)
    assert_not_shown(r, PASSWORD, "default-pw")
    assert {a for _m, p, a in private.seen[before:]} == {basic("user", PASSWORD)}
    assert files.seen and files.authorizations() == [None] * len(files.seen), files.seen
    assert files.file_gets() == {name: 1}


def test_a_wrong_netrc_password_is_never_printed(e2e, lab):
    private = lab("private", auth=("user", PASSWORD))
    pex = idna_app(e2e, private.files_url)
    (e2e.home / ".netrc").write_text("machine 127.0.0.1 login user password Wr0ng-netrc-pw\n")
    r = e2e.run_pex(pex, env={"PEX_VERBOSE": "2"})
    assert_clean_error(r, idna_name(e2e), "401")
    assert_not_shown(r, "Wr0ng-netrc-pw", PASSWORD)


def test_build_with_a_credentialed_index_records_and_prints_no_credentials(e2e, lab):
    private = lab("private", auth=("user", ODD_DECODED))
    req = e2e.requirements(e2e.files("idna"))
    src = e2e.app_sources(["idna"])
    index = private.url_with_credentials("user", ODD_PASSWORD) + "/simple"

    pex, r = e2e.build("-r", req, "--index-url", index, "-D", src, "-e", "myapp.main:run")
    assert_not_shown(r, ODD_PASSWORD, ODD_DECODED)
    assert set(private.authorizations("/simple/")) == {basic("user", ODD_DECODED)}
    data = pex.read_bytes()
    for s in (ODD_PASSWORD, ODD_DECODED, quote(ODD_DECODED, safe="")):
        assert s.encode() not in data, f"{s!r} is in app.pex"
    assert ODD_PASSWORD.encode() not in pex_info_bytes(pex)

    # The launcher, given the index again at run time, gets the files with its credentials.
    r = e2e.run_pex(pex, env={"PEX_BOOTSTRAP_HYDRATION_INDICES": index})
    assert_ran(e2e, r)
    assert_not_shown(r, ODD_PASSWORD, ODD_DECODED)


def test_build_from_a_lock_with_credentialed_urls_records_and_prints_no_credentials(e2e, lab):
    private = lab("private", auth=("user", PASSWORD))
    base = private.url_with_credentials("user", PASSWORD) + "/files/"
    lock = e2e.pylock(e2e.files("idna"), base_url=base)
    src = e2e.app_sources(["idna"])

    pex, r = e2e.build("--lock", lock, "-D", src, "-e", "myapp.main:run")
    assert_not_shown(r, PASSWORD)
    assert f"user:****@127.0.0.1:{private.port}" in r.stderr, "no warning about the removed credentials" + describe(r)
    assert PASSWORD.encode() not in pex.read_bytes()

    # At run time the password comes from ~/.netrc.
    (e2e.home / ".netrc").write_text(f"machine 127.0.0.1 login user password {PASSWORD}\n")
    assert_ran(e2e, e2e.run_pex(pex))


def test_build_errors_mask_credentials(e2e, lab, tripwire):
    req = e2e.requirements(e2e.files("idna"))
    src = e2e.app_sources(["idna"])
    private = lab("private", auth=("user", PASSWORD))
    private.always_page("idna", STATUS(500))
    for index, masked in [
        (f"http://user:{PASSWORD}@127.0.0.1:{tripwire.port}/simple", f"http://user:****@127.0.0.1:{tripwire.port}"),
        (private.url_with_credentials("user", PASSWORD) + "/simple", f"http://user:****@127.0.0.1:{private.port}"),
    ]:
        _, r = e2e.build("-r", req, "--index-url", index, "-D", src, "-e", "myapp.main:run", ok=False)
        assert_clean_error(r, masked)
        assert_not_shown(r, PASSWORD)


# -- plain http and redirects ---------------------------------------------------------

def test_a_redirect_from_https_to_http_is_refused(e2e, pki, lab):
    plain = lab("plain")
    tls = lab("tls", tls=pki.ip, redirect_files=plain.files_url)
    pex = idna_app(e2e, tls.files_url)

    r = e2e.run_pex(pex, env={"DPEX_CA_BUNDLE": pki.ca.ca_cert})
    assert_clean_error(r, tls.file_url(idna_name(e2e)), plain.file_url(idna_name(e2e)), "refused")
    assert plain.seen == [], "the plain-http server was contacted after an https redirect"
    # Not retried: the https server saw the download once (counted at the server).
    assert tls.file_gets() == {idna_name(e2e): 1}, tls.requests()
    assert r.stderr.count("refused") == 1, describe(r)


def test_an_https_index_linking_plain_http_files_is_not_followed(e2e, pki, lab, tripwire):
    """A page read over https whose file links say http:// is a downgrade, like a
    redirect to http: refused when building and when hydrating."""
    plain = lab("plain")
    tls = lab("tls", tls=pki.ip, link_files_to=plain.files_url)
    name = idna_name(e2e)
    trust = {"DPEX_CA_BUNDLE": str(pki.ca.ca_cert)}

    req = e2e.requirements(e2e.files("idna"))
    out = e2e.tmp / "downgraded.pex"
    r = e2e.dpex_cmd("build", "-r", req, "--index-url", tls.url + "/simple", "-D", e2e.app_sources(["idna"]),
                     "-e", "myapp.main:run", "-o", out, env=e2e.env(trust))
    assert_clean_error(r, "requirements.txt", "idna", plain.file_url(name), "plain http")
    assert not out.exists()

    pex = idna_app(e2e, tripwire.url + "/files/")
    r = e2e.run_pex(pex, env={**trust, "PEX_BOOTSTRAP_HYDRATION_INDICES": tls.url + "/simple"})
    assert_clean_error(r, name, plain.file_url(name), "plain http")
    assert plain.seen == [], "the plain-http server was contacted"
    assert tls.simple_gets() and tls.file_gets() == {}

    # The same page over plain http says what it means: followed.
    plain_index = lab("plain-index", link_files_to=plain.files_url)
    hits = tripwire.hits
    r = e2e.run_pex(pex, env={"PEX_BOOTSTRAP_HYDRATION_INDICES": plain_index.url + "/simple"})
    assert_ran(e2e, r)
    assert plain.file_gets() == {name: 1} and tripwire.hits == hits


def test_a_redirect_from_http_to_https_is_followed(e2e, pki, lab):
    tls = lab("tls", tls=pki.ip)
    plain = lab("plain", redirect_files=tls.files_url)
    pex = idna_app(e2e, plain.files_url)

    r = e2e.run_pex(pex, env={"DPEX_CA_BUNDLE": pki.ca.ca_cert})
    assert_ran(e2e, r)
    assert tls.file_gets() == {idna_name(e2e): 1}


# -- several indexes when building (dependency confusion) -------------------------------

def _confused_wheel(directory, who):
    """confusedpkg 1.0, same file name on every index, different bytes per index."""
    return wheelmaker.make_wheel(directory, "confusedpkg", "1.0", {"confusedpkg/__init__.py": f"WHO = {who!r}\n"})


def _recorded(pex):
    (req,) = [r for r in pex_info(pex)["dehydrated_requirements"] if r["name"] == "confusedpkg"]
    return [(w["url"], w["sha256"]) for w in req["wheels"]]


def test_build_with_several_index_urls_uses_the_first_index_that_has_the_project(e2e, tmp_path):
    """`--index-url A --index-url B`: A has confusedpkg 1.0; B serves a different file of the
    same name. The build records A's file and never even asks B; pinning B's hash fails
    (the first index that has the project is the only one used); when A lacks the project,
    B's file is used."""
    a_dir, b_dir, empty_dir = tmp_path / "a", tmp_path / "b", tmp_path / "empty"
    a_whl, b_whl = _confused_wheel(a_dir, "A"), _confused_wheel(b_dir, "B")
    _confused_wheel(empty_dir / "unused", "x")  # the folder exists and lists nothing
    assert a_whl.name == b_whl.name and sha256_of(a_whl) != sha256_of(b_whl)
    a = LabServer(a_dir, tmp_path / "a.log").start()
    b = LabServer(b_dir, tmp_path / "b.log").start()
    none = LabServer(empty_dir, tmp_path / "none.log").start()
    try:
        src = e2e.app_sources([])
        req_a = e2e.requirements([a_whl], name="req-a.txt")
        req_b = e2e.requirements([b_whl], name="req-b.txt")

        pex, r = e2e.build("-r", req_a, "--index-url", a.simple_url, "--index-url", b.simple_url,
                           "-D", src, "-e", "myapp.main:run", out="first.pex")
        assert _recorded(pex) == [(a.file_url(a_whl.name), sha256_of(a_whl))]
        assert b.requests() == [], f"the second index was asked: {b.requests()}"

        # The lock pins B's file, but A has the project: refused, B never consulted.
        _, r = e2e.build("-r", req_b, "--index-url", a.simple_url, "--index-url", b.simple_url,
                         "-D", src, "-e", "myapp.main:run", out="confused.pex", ok=False)
        assert_clean_error(r, sha256_of(b_whl), a.simple_url, "the first index that has confusedpkg")
        assert not (e2e.tmp / "confused.pex").exists()
        assert b.requests() == [], f"the second index was asked: {b.requests()}"

        # A lacks the project (404): B's file is used.
        pex, r = e2e.build("-r", req_b, "--index-url", none.simple_url, "--index-url", b.simple_url,
                           "-D", src, "-e", "myapp.main:run", out="second.pex")
        assert _recorded(pex) == [(b.file_url(b_whl.name), sha256_of(b_whl))]
        assert none.simple_gets() == {"/simple/confusedpkg/": 1}
    finally:
        for srv in (a, b, none):
            srv.stop()


# -- redirects ---------------------------------------------------------------------------

def test_at_most_10_redirects_are_followed(e2e, lab):
    """MAX_REDIRECTS (launcher/crates/net/src/http.rs) is 10: a chain of exactly 10 works,
    a chain of 11 fails naming the URL, and the 11th redirect is not followed."""
    name = idna_name(e2e)
    ten = lab("ten", redirect_hops=10)
    r = e2e.run_pex(idna_app(e2e, ten.files_url, out="ten.pex"))
    assert_ran(e2e, r)
    paths = [p for m, p, _a in ten.seen if m == "GET"]
    assert len(paths) == 11 and paths[-1].startswith("/hop/10/"), paths

    eleven = lab("eleven", redirect_hops=11)
    r = e2e.run_pex(idna_app(e2e, eleven.files_url, out="eleven.pex"),
                    env={"DPEX_ROOT": e2e.tmp / "root-11"})
    assert_clean_error(r, eleven.file_url(name), "more than 10 redirects")
    paths = [p for m, p, _a in eleven.seen if m == "GET"]
    # One request and 10 redirects followed; /hop/11/ (the 11th redirect's target) is never asked,
    # and a redirect loop is not worth a retry.
    assert len(paths) == 11 and paths[-1].startswith("/hop/10/"), paths


def test_credentials_in_a_location_header_are_dropped(e2e, lab):
    """A server redirects a download to `http://user:pw@other.example.com/...`: dpex follows it without
    sending those credentials (they never come from a server), and never prints them."""
    files = lab("files")
    redirector = lab("redirector", redirect_files=files.url_with_credentials("injected", "L0cation-pw") + "/files/")
    r = e2e.run_pex(idna_app(e2e, redirector.files_url), env={"PEX_VERBOSE": "2"})
    assert_ran(e2e, r)
    assert files.file_gets() == {idna_name(e2e): 1}
    assert files.authorizations() == [None] * len(files.seen) and files.seen, files.seen
    assert_not_shown(r, "L0cation-pw")


# -- size caps ------------------------------------------------------------------------------

def test_reading_stops_at_the_locked_size(e2e, lab):
    """A server that sends 64 MiB more than the locked size: dpex stops reading just past
    the locked size, hangs up (the server could not send it all), and refuses the file
    without retrying."""
    name = idna_name(e2e)
    size = e2e.wheels.path(name).stat().st_size
    srv = lab("pad")
    srv.always(name, PAD(64 << 20))
    r = e2e.run_pex(idna_app(e2e, srv.files_url))
    assert_clean_error(r, srv.file_url(name), f"expected {size} bytes, got {size + 1}")
    assert [a for _t, a in srv.file_events(name)] == [f"pad(+{64 << 20})"], "wrong bytes are not retried"
    assert eventually(lambda: srv.sent), "the server never finished its answer"
    ((_, written, total),) = srv.sent
    # The kernel buffers a few MB on loopback; a client that read everything takes all 64 MiB.
    assert written < total - (32 << 20), f"the server sent {written} of {total} bytes: dpex kept reading"


@pytest.mark.parametrize("where", ["index", "find-links"])
def test_pages_are_capped_at_256_mib(e2e, lab, tripwire, where):
    """A hydration index whose project page (or a find-links page) is 255 MiB, the links
    last: read and used. At 272 MiB: dpex stops at 256 MiB (index.rs MAX_PAGE_BYTES) and
    skips the source."""
    srv = lab("huge")
    pex = idna_app(e2e, tripwire.url + "/files/")

    def serve(size):
        if where == "index":
            srv.always_page("idna", HUGE(size))
            return {"PEX_BOOTSTRAP_HYDRATION_INDICES": srv.simple_url}, srv.page_url("idna")
        srv.always_flat(HUGE(size))
        return {"DPEX_FIND_LINKS": srv.files_url}, srv.files_url

    env, _ = serve((256 << 20) - (1 << 20))
    assert_ran(e2e, e2e.run_pex(pex, env=env, timeout=120))
    assert srv.file_gets() == {idna_name(e2e): 1}
    assert tripwire.hits == 0
    srv.sent.clear()
    before = srv.mark()

    env, named = serve((256 << 20) + (16 << 20))
    r = e2e.run_pex(pex, env={**env, "DPEX_ROOT": e2e.tmp / "root2"}, timeout=120)
    assert_clean_error(r, named)
    assert srv.file_gets(since=before) == {}, "a file linked past the cap was used"
    assert eventually(lambda: srv.sent), "the server never finished its answer"
    ((_, written, total),) = srv.sent
    assert written < total, f"the server sent all {total} bytes of the page"


# -- timeouts -------------------------------------------------------------------------------

def test_connect_timeout_is_dpex_connect_timeout(e2e):
    """A host that never answers a connect (a listener whose accept queue is full): with
    DPEX_CONNECT_TIMEOUT=1 each of the 3 attempts gives up after about 1 s (default 10 s:
    30 s and more), and the error names the URL and says it timed out."""
    hole = Blackhole()
    try:
        name = idna_name(e2e)
        pex = idna_app(e2e, hole.url + "/files/")
        t0 = time.monotonic()
        r = e2e.run_pex(pex, env={"DPEX_CONNECT_TIMEOUT": "1"}, timeout=120)
        elapsed = time.monotonic() - t0
        assert_clean_error(r, f"{hole.url}/files/{name}", "after 3 attempts")
        line = [l for l in r.stderr.splitlines() if f"{hole.url}/files/{name}" in l and "attempts" in l]
        assert line and "time" in line[0].lower(), describe(r)
        # 3 connects of 1 s plus 0.5 s and 1 s of backoff: about 4.5 s.
        assert 2.5 < elapsed < 12, f"gave up after {elapsed:.1f}s with DPEX_CONNECT_TIMEOUT=1"
    finally:
        hole.close()


# -- an https proxy ---------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["https", "http"])
def test_an_https_proxy_is_spoken_to_over_tls_and_verified(e2e, pki, lab, scheme):
    """HTTPS_PROXY=https://127.0.0.1:PORT: dpex speaks TLS to the proxy (its certificate
    verified against the same trust store), then tunnels (https) or forwards (http)."""
    proxy = CountingProxy(tls=pki.ip).start()
    try:
        srv = lab("srv", tls=pki.ip if scheme == "https" else None)
        pex = idna_app(e2e, srv.files_url)
        var = "HTTPS_PROXY" if scheme == "https" else "http_proxy"
        r = e2e.run_pex(pex, env={var: proxy.url, "DPEX_CA_BUNDLE": pki.ca.ca_cert, "PEX_VERBOSE": "2"})
        assert_ran(e2e, r)
        assert set(proxy.kinds()) == ({"CONNECT"} if scheme == "https" else {"GET"}), proxy.events
        assert proxy.handshake_failures == 0
        assert srv.file_gets() == {idna_name(e2e): 1}
        assert f"using the proxy {proxy.url} (from {var})" in r.stderr, describe(r)

        # A proxy whose certificate no trusted CA signed: refused, nothing passes through it.
        events = len(proxy.events)
        bad = e2e.run_pex(pex, env={var: proxy.url, "DPEX_CA_BUNDLE": pki.other.ca_cert,
                                    "DPEX_ROOT": e2e.tmp / "root2"})
        assert_clean_error(bad, f"through the proxy {proxy.url} from {var}", "not signed by a CA")
        assert eventually(lambda: proxy.handshake_failures >= 1), "the proxy saw no refused handshake"
        assert proxy.handshake_failures == 1, f"{proxy.handshake_failures} handshakes: retried"
        assert len(proxy.events) == events, proxy.events
    finally:
        proxy.stop()


# -- what PEX_VERBOSE=2 says, and the platform trust store --------------------------------------

# docs/security.md, in order (launcher/crates/net/src/tls.rs BUNDLE_FILES and CERT_DIRS).
PLATFORM_BUNDLES = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem",
                    "/etc/pki/tls/cacert.pem", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
                    "/etc/ssl/cert.pem"]


def _platform_store():
    """What this host's platform store should be named (a bundle is used only if it holds a certificate)."""
    for f in PLATFORM_BUNDLES:
        try:
            if b"-----BEGIN CERTIFICATE-----" in open(f, "rb").read():
                return f"the platform's trust store ({f})"
        except OSError:
            pass
    for d in ["/etc/ssl/certs", "/etc/pki/tls/certs"]:
        if os.path.isdir(d):
            for n in os.listdir(d):
                try:
                    if b"-----BEGIN CERTIFICATE-----" in open(os.path.join(d, n), "rb").read():
                        return f"the platform's trust store ({d})"
                except OSError:
                    pass
    return "the Mozilla roots built into dpex"


def test_verbose_names_the_platform_trust_store_and_the_proxy(e2e, pki, lab, proxy):
    """With no SSL_CERT_FILE / SSL_CERT_DIR, the platform store of this host is used (the first
    bundle of the documented list; discovery with other files is unit-tested in tls.rs), and
    PEX_VERBOSE=2 names it and the proxy. Without the test CA the server is refused."""
    srv = lab("tls", tls=pki.ip)
    pex = idna_app(e2e, srv.files_url)
    store = _platform_store()
    env = {"HTTPS_PROXY": proxy.url, "PEX_VERBOSE": "2", "SSL_CERT_FILE": None, "SSL_CERT_DIR": None}

    r = e2e.run_pex(pex, env={**env, "DPEX_CA_BUNDLE": pki.ca.ca_cert})
    assert_ran(e2e, r)
    assert f"HTTPS servers are verified against {store} plus DPEX_CA_BUNDLE={pki.ca.ca_cert}" in r.stderr \
        or (store.startswith("the Mozilla") and
            f"HTTPS servers are verified against DPEX_CA_BUNDLE={pki.ca.ca_cert}" in r.stderr), describe(r)
    assert f"using the proxy {proxy.url} (from HTTPS_PROXY)" in r.stderr, describe(r)

    r = e2e.run_pex(pex, env={**env, "DPEX_ROOT": e2e.tmp / "root2"})
    assert_clean_error(r, srv.file_url(idna_name(e2e)), "not signed by a CA", f"checked against {store}")
    assert f"HTTPS servers are verified against {store}" in r.stderr, describe(r)


# -- DPEX_CA_BUNDLE from a pexrc file ------------------------------------------------------------

@pytest.mark.parametrize("where", ["home", "beside-the-app"])
def test_dpex_ca_bundle_from_a_pexrc_file(e2e, pki, lab, where):
    """`DPEX_CA_BUNDLE=...` in ~/.pexrc (HOME is a temp folder) or in the .pexrc beside the
    app is used like the variable (/etc/pexrc is read the same way; tests do not write it)."""
    srv = lab("tls", tls=pki.ip)
    pex = idna_app(e2e, srv.files_url)
    rc = (e2e.home if where == "home" else pex.parent) / ".pexrc"

    r = e2e.run_pex(pex, env={"DPEX_ROOT": e2e.tmp / "root-none"})
    assert_clean_error(r, "not signed by a CA")

    rc.write_text(f"# a private CA\nDPEX_CA_BUNDLE={pki.ca.ca_cert}\n")
    r = e2e.run_pex(pex, env={"PEX_VERBOSE": "2"})
    assert_ran(e2e, r)
    assert f"DPEX_CA_BUNDLE={pki.ca.ca_cert}" in r.stderr, describe(r)


# -- credentials in DPEX_FIND_LINKS ----------------------------------------------------------------

def test_find_links_credentials_go_to_their_origin_only(e2e, lab, tripwire):
    """DPEX_FIND_LINKS=http://user:pw@private.example.com/files/ (a flat page behind Basic auth, whose
    files redirect to another port): the page and the files on that origin get the
    credentials, the other server none, and the password is never printed, also in errors."""
    files = lab("files")
    private = lab("private", auth=("user", ODD_DECODED), redirect_files=files.files_url)
    pex = idna_app(e2e, tripwire.url + "/files/")
    links = private.url_with_credentials("user", ODD_PASSWORD) + "/files/"
    want = basic("user", ODD_DECODED)

    r = e2e.run_pex(pex, env={"DPEX_FIND_LINKS": links, "PEX_VERBOSE": "2"})
    assert_ran(e2e, r)
    assert_not_shown(r, ODD_PASSWORD, ODD_DECODED)
    assert private.seen and {a for _m, _p, a in private.seen} == {want}, private.seen
    assert [p for _m, p, _a in private.seen][:2] == ["/files/", f"/files/{quote(idna_name(e2e))}"], private.seen
    assert files.seen and files.authorizations() == [None] * len(files.seen), files.seen
    assert tripwire.hits == 0

    # A failing source is named with the password masked.
    private.stop()
    r = e2e.run_pex(pex, env={"DPEX_FIND_LINKS": links, "PEX_VERBOSE": "2", "DPEX_ROOT": e2e.tmp / "root2"})
    assert_clean_error(r, f"http://user:****@127.0.0.1:{private.port}/files/")
    assert_not_shown(r, ODD_PASSWORD, ODD_DECODED)
