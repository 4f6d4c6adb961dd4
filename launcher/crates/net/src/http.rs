//! One HTTP client for the launcher and the packer, and URL redaction for
//! every message that shows a URL.
//!
//! The network policy lives here (see docs/security.md):
//! - TLS is always verified, against the trust store of [`crate::tls`];
//! - proxies come from the environment, per URL, as curl picks them
//!   ([`crate::proxy`]); plain-http URLs go to an HTTP proxy in absolute form
//!   (`GET http://index.example.com/path`), https URLs through a `CONNECT` tunnel;
//! - credentials come from the URL's userinfo or from `~/.netrc`
//!   ([`crate::netrc`]) and are sent only to their own origin (scheme, host
//!   and port): redirects are followed here, not by ureq, so that a redirect
//!   to another host, or another port, never carries them;
//! - a redirect from https to plain http is refused; plain http is used only
//!   when a URL given to dpex (or a page it read over http) says so.

use crate::netrc::Netrc;
use crate::proxy::{Choice, ProxyEnv};
use std::fmt;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, Either, NextTimeout,
    RustlsConnector, TcpConnector, Transport,
};

/// Connect and read timeouts: a stalled server must fail the download (and
/// let the next source be tried), not hang a host's boot forever.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Redirects followed for one request.
pub const MAX_REDIRECTS: u32 = 10;

/// What the client is told by its caller (the launcher's settings, read once
/// at start).
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// `DPEX_CONNECT_TIMEOUT`.
    pub connect_timeout: Duration,
    /// `DPEX_READ_TIMEOUT`: seconds without a byte, per read.
    pub read_timeout: Duration,
    /// `PEX_VERBOSE`: at 2 and above the trust store and proxies are named.
    pub verbose: u32,
}

impl Default for NetConfig {
    fn default() -> NetConfig {
        NetConfig {
            connect_timeout: CONNECT_TIMEOUT,
            read_timeout: READ_TIMEOUT,
            verbose: 0,
        }
    }
}

/// A response: non-2xx statuses are responses (not errors) so callers can
/// report them; redirects have been followed.
pub type Response = ureq::http::Response<ureq::Body>;

/// The client. Cheap to create: the trust store, proxy settings and netrc
/// file are read at the first request (a warm start makes none).
pub struct Agent {
    config: NetConfig,
    client: OnceLock<Client>,
}

impl Agent {
    pub fn new(config: NetConfig) -> Agent {
        Agent {
            config,
            client: OnceLock::new(),
        }
    }

    pub fn get(&self, url: &str) -> Request<'_> {
        self.request(false, url)
    }

    pub fn head(&self, url: &str) -> Request<'_> {
        self.request(true, url)
    }

    fn request(&self, head: bool, url: &str) -> Request<'_> {
        Request {
            agent: self,
            head,
            url: url.to_string(),
            headers: Vec::new(),
        }
    }

    fn client(&self) -> &Client {
        self.client.get_or_init(|| Client::new(&self.config))
    }
}

/// A request being built: [`Request::header`], then [`Request::call`].
pub struct Request<'a> {
    agent: &'a Agent,
    head: bool,
    url: String,
    headers: Vec<(String, String)>,
}

/// Why a request failed, ready for users (URLs redacted), and whether trying
/// again may help.
#[derive(Clone, Debug)]
pub struct HttpError {
    message: String,
    transient: bool,
}

impl HttpError {
    fn fatal(message: impl Into<String>) -> HttpError {
        HttpError {
            message: message.into(),
            transient: false,
        }
    }

    /// A connection error, timeout or cut: the same URL may work next time.
    /// TLS verification failures, refused redirects and configuration
    /// errors are not.
    pub fn is_transient(&self) -> bool {
        self.transient
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HttpError {}

impl Request<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Send the request, following redirects (at most [`MAX_REDIRECTS`]).
    pub fn call(self) -> Result<Response, HttpError> {
        let client = self.agent.client();
        let first = Target::parse(&self.url)?;
        // The URL's own credentials, for its own origin only.
        let url_auth = first
            .userinfo
            .map(|u| (first.origin(), basic_from_userinfo(u)));
        let mut url = self.url.clone();
        for hop in 0..=MAX_REDIRECTS {
            let target = Target::parse(&url)?;
            let origin = target.origin();
            let auth = match &url_auth {
                Some((o, value)) if *o == origin => Some(value.clone()),
                _ => client
                    .netrc
                    .as_ref()
                    .and_then(|n| n.lookup(&target.host))
                    .map(|(user, password)| basic(user, password)),
            };
            let bare = target.bare_url();
            let in_redirect = |m: String| {
                if hop == 0 {
                    m
                } else {
                    format!("after a redirect to {}: {m}", redact_url(&bare))
                }
            };
            if target.scheme == "https" {
                if let Err(e) = &client.trust {
                    return Err(HttpError::fatal(in_redirect(format!(
                        "cannot verify HTTPS servers: {e}"
                    ))));
                }
            }
            let (agent, proxy) = client
                .agent_for(&target)
                .map_err(|e| HttpError::fatal(in_redirect(e)))?;
            let mut request = if self.head {
                agent.head(&bare)
            } else {
                agent.get(&bare)
            };
            for (name, value) in &self.headers {
                request = request.header(name, value);
            }
            if let Some(value) = &auth {
                request = request.header("Authorization", value);
            }
            let response = request.call().map_err(|e| {
                let mut err = client.describe(e, &target, proxy.as_ref());
                err.message = in_redirect(err.message);
                err
            })?;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let Some(location) = location.filter(|_| matches!(status, 301 | 302 | 303 | 307 | 308))
            else {
                return Ok(response);
            };
            // Credentials never come from a server: drop any in the Location.
            let (next, _) = crate::index::strip_userinfo(&crate::index::join_url(&bare, &location));
            if target.scheme == "https" && !next.to_ascii_lowercase().starts_with("https://") {
                return Err(HttpError::fatal(format!(
                    "{} redirected to {}: refused, dpex never follows a redirect from https to \
                     plain http (the index or mirror must serve its files over https)",
                    redact_url(&bare),
                    redact_url(&next)
                )));
            }
            // Read a short body so the connection can be reused.
            let _ = response
                .into_body()
                .with_config()
                .limit(64 * 1024)
                .read_to_vec();
            url = next;
        }
        Err(HttpError::fatal(format!(
            "{}: more than {MAX_REDIRECTS} redirects",
            redact_url(&self.url)
        )))
    }
}

/// What is built at the first request.
struct Client {
    /// The trust store's description, or why it could not be read.
    trust: Result<String, String>,
    config: NetConfig,
    tls: ureq::tls::TlsConfig,
    direct: ureq::Agent,
    proxies: ProxyEnv,
    /// One agent per proxy URL in use (each keeps its own connections).
    via: Mutex<Vec<(String, Result<ureq::Agent, String>)>>,
    netrc: Option<Netrc>,
}

impl Client {
    fn new(config: &NetConfig) -> Client {
        let (roots, trust) = match crate::tls::trust_store() {
            Ok(store) => (store.roots, Ok(store.description)),
            // https requests fail with this error; http ones still work.
            Err(e) => (ureq::tls::RootCerts::WebPki, Err(e)),
        };
        let tls = ureq::tls::TlsConfig::builder().root_certs(roots).build();
        let proxies = ProxyEnv::from_env();
        if config.verbose >= 2 {
            match &trust {
                Ok(d) => eprintln!("dpex: HTTPS servers are verified against {d}"),
                Err(e) => eprintln!("dpex: no trust store for HTTPS: {e}"),
            }
        }
        Client {
            trust,
            direct: build_agent(config, &tls, None),
            config: config.clone(),
            tls,
            proxies,
            via: Mutex::new(Vec::new()),
            netrc: Netrc::load(),
        }
    }

    /// The agent for a target: direct, or through the proxy its scheme and
    /// host call for.
    fn agent_for(&self, target: &Target) -> Result<(ureq::Agent, Option<Choice>), String> {
        let Some(choice) = self
            .proxies
            .for_url(&target.scheme, &target.host, target.port)
        else {
            return Ok((self.direct.clone(), None));
        };
        let mut via = self.via.lock().unwrap_or_else(|e| e.into_inner());
        let agent = match via.iter().find(|(url, _)| *url == choice.url) {
            Some((_, agent)) => agent.clone(),
            None => {
                let agent = self.proxied(choice);
                via.push((choice.url.clone(), agent.clone()));
                agent
            }
        };
        agent.map(|a| (a, Some(choice.clone())))
    }

    fn proxied(&self, choice: &Choice) -> Result<ureq::Agent, String> {
        let shown = redact_proxy(&choice.url);
        let proxy = ureq::Proxy::new(&choice.url).map_err(|_| {
            format!(
                "{}={shown} is not a proxy URL (expected a URL like http://proxy.example.com:3128 or https://proxy.example.com:3128)",
                choice.var
            )
        })?;
        if !matches!(
            proxy.protocol(),
            ureq::ProxyProtocol::Http | ureq::ProxyProtocol::Https
        ) {
            return Err(format!(
                "{}={shown}: dpex supports HTTP and HTTPS proxies, not {}",
                choice.var,
                proxy.protocol()
            ));
        }
        if self.config.verbose >= 2 {
            eprintln!("dpex: using the proxy {shown} (from {})", choice.var);
        }
        Ok(build_agent(&self.config, &self.tls, Some(proxy)))
    }

    /// A user-ready message for a failed request.
    fn describe(&self, e: ureq::Error, target: &Target, proxy: Option<&Choice>) -> HttpError {
        let text = e.to_string();
        let store = self.trust.as_deref().unwrap_or("the trust store");
        if let Some(detail) = text
            .find("invalid peer certificate")
            .map(|i| &text[i + "invalid peer certificate".len()..])
        {
            let detail = detail.trim_start_matches(':').trim();
            let host = &target.host;
            let message = if detail.contains("UnknownIssuer") || detail.contains("UnknownCA") {
                format!(
                    "the TLS certificate of {host} is not signed by a CA dpex trusts (checked against \
                     {store}); if the server uses a private or corporate CA, add its certificate: \
                     DPEX_CA_BUNDLE=/path/to/ca.pem (or SSL_CERT_FILE=/path/to/bundle.pem to replace \
                     the trust store)"
                )
            } else if detail.contains("not valid for name") {
                format!(
                    "the TLS certificate is not valid for the host name {host} ({detail}); use the \
                     host name the certificate was issued for in the URL"
                )
            } else {
                format!(
                    "the TLS certificate of {host} was refused ({detail}); check the server's \
                     certificate and this host's clock"
                )
            };
            return HttpError::fatal(message);
        }
        let mut message = text;
        if let Some(choice) = proxy {
            message = format!(
                "{message} (through the proxy {} from {}; NO_PROXY lists hosts to reach directly)",
                redact_proxy(&choice.url),
                choice.var
            );
        }
        HttpError {
            message,
            transient: true,
        }
    }
}

/// The ureq config: our timeouts, no redirects (see [`Request::call`]), no
/// error for HTTP statuses, the trust store, and the proxy if any.
fn ureq_config(
    config: &NetConfig,
    tls: &ureq::tls::TlsConfig,
    proxy: Option<ureq::Proxy>,
) -> ureq::config::Config {
    ureq::Agent::config_builder()
        .timeout_connect(Some(config.connect_timeout))
        .timeout_recv_response(Some(config.read_timeout))
        .timeout_recv_body(None)
        // An idle timeout per read, not a deadline for the whole body: a big
        // wheel may take long, a stalled server must not.
        .timeout_per_read(Some(config.read_timeout))
        .timeout_per_call(None)
        .http_status_as_error(false)
        // Redirects are followed by Request::call (credentials, https only).
        .max_redirects(0)
        // Set explicitly: ureq's default reads proxy variables its own way.
        .proxy(proxy)
        .tls_config(tls.clone())
        .user_agent(concat!("dpex/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// A ureq agent with our connector chain: a forward-proxy step for plain
/// http through an HTTP proxy, then ureq's CONNECT tunnel, TCP and rustls.
fn build_agent(
    config: &NetConfig,
    tls: &ureq::tls::TlsConfig,
    proxy: Option<ureq::Proxy>,
) -> ureq::Agent {
    let connector = ()
        .chain(ForwardProxy {
            direct: ureq_config(config, tls, None),
        })
        .chain(ConnectProxyConnector::default())
        .chain(TcpConnector::default())
        .chain(RustlsConnector::default());
    ureq::Agent::with_parts(
        ureq_config(config, tls, proxy),
        connector,
        DefaultResolver::default(),
    )
}

/// Plain-http URLs through an HTTP(S) proxy: connect to the proxy and send
/// each request with an absolute target (`GET http://index.example.com:8080/path`), as
/// curl and pip do. (ureq itself would open a CONNECT tunnel, which proxies
/// commonly allow only to port 443.)
#[derive(Debug)]
struct ForwardProxy {
    /// The agent's config without a proxy, to connect to the proxy itself.
    direct: ureq::config::Config,
}

impl<In: Transport> Connector<In> for ForwardProxy {
    type Out = Either<In, Box<dyn Transport>>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        if let Some(transport) = chained {
            return Ok(Some(Either::A(transport)));
        }
        let Some(proxy) = details.config.proxy() else {
            return Ok(None);
        };
        let is_http_proxy = matches!(
            proxy.protocol(),
            ureq::ProxyProtocol::Http | ureq::ProxyProtocol::Https
        );
        if details.uri.scheme_str() != Some("http") || !is_http_proxy {
            return Ok(None);
        }
        let addrs = details
            .resolver
            .resolve(proxy.uri(), &self.direct, details.timeout)?;
        let to_proxy = ConnectionDetails {
            uri: proxy.uri(),
            addrs,
            config: &self.direct,
            request_level: details.request_level,
            resolver: details.resolver,
            now: details.now,
            timeout: details.timeout,
            current_time: details.current_time.clone(),
            run_connector: details.run_connector.clone(),
            register_shutdown: details.register_shutdown.clone(),
        };
        let inner = (details.run_connector)(&to_proxy)?;
        let authority = details
            .uri
            .authority()
            .map(|a| a.as_str().rsplit('@').next().unwrap_or("").to_string())
            .unwrap_or_default();
        let proxy_auth = (proxy.username().is_some() || proxy.password().is_some()).then(|| {
            basic(
                proxy.username().unwrap_or_default(),
                proxy.password().unwrap_or_default(),
            )
        });
        Ok(Some(Either::B(Box::new(AbsoluteForm {
            inner,
            origin: format!("http://{authority}"),
            proxy_auth,
        }))))
    }
}

/// A connection to a forward proxy: rewrites each request line's target to
/// absolute form and adds `Proxy-Authorization` when the proxy URL has
/// credentials. dpex only sends GET and HEAD (no bodies), so every write
/// starts with a request line.
#[derive(Debug)]
struct AbsoluteForm {
    inner: Box<dyn Transport>,
    origin: String,
    proxy_auth: Option<String>,
}

impl Transport for AbsoluteForm {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let rewritten = absolute_form(
            &self.inner.buffers().output()[..amount],
            &self.origin,
            self.proxy_auth.as_deref(),
        );
        if let Some(head) = rewritten {
            let out = self.inner.buffers().output();
            if head.len() <= out.len() {
                out[..head.len()].copy_from_slice(&head);
                return self.inner.transmit_output(head.len(), timeout);
            }
        }
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }
}

/// `GET /p HTTP/1.1\r\n...` -> `GET http://index.example.com/p HTTP/1.1\r\n[Proxy-Authorization]...`;
/// `None` when `head` does not start with an origin-form request line.
fn absolute_form(head: &[u8], origin: &str, proxy_auth: Option<&str>) -> Option<Vec<u8>> {
    let line_end = head.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&head[..line_end]).ok()?;
    let (method, target) = line.split_once(' ')?;
    if method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
        || !target.starts_with('/')
    {
        return None;
    }
    let mut out = Vec::with_capacity(head.len() + origin.len() + 80);
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(origin.as_bytes());
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(value) = proxy_auth {
        out.extend_from_slice(format!("Proxy-Authorization: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(&head[line_end + 2..]);
    Some(out)
}

/// A URL split for the policy decisions.
struct Target<'a> {
    scheme: String,
    userinfo: Option<&'a str>,
    /// Lowercase, without the brackets of an IPv6 address.
    host: String,
    /// The authority without userinfo, as written.
    hostport: &'a str,
    port: u16,
    /// Path and query (the fragment dropped: it is never sent).
    rest: &'a str,
}

impl<'a> Target<'a> {
    fn parse(url: &'a str) -> Result<Target<'a>, HttpError> {
        let bad = |why: &str| HttpError::fatal(format!("{}: {why}", redact_url(url)));
        let (scheme, after) = url.split_once("://").ok_or_else(|| bad("not a URL"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => {
                return Err(bad(
                    "unsupported URL scheme (dpex fetches http and https URLs)",
                ))
            }
        };
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let (authority, rest) = after.split_at(end);
        let rest = rest.split('#').next().unwrap_or("");
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (addr, after) = v6.split_once(']').ok_or_else(|| bad("bad IPv6 address"))?;
            (addr, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host name"));
        }
        let port = match port {
            None | Some("") => default_port,
            Some(p) => p.parse().map_err(|_| bad("bad port"))?,
        };
        Ok(Target {
            scheme,
            userinfo,
            host: host.to_ascii_lowercase(),
            hostport,
            port,
            rest,
        })
    }

    fn origin(&self) -> (String, String, u16) {
        (self.scheme.clone(), self.host.clone(), self.port)
    }

    /// The URL without userinfo and fragment.
    fn bare_url(&self) -> String {
        let rest = if self.rest.is_empty() { "/" } else { self.rest };
        format!("{}://{}{}", self.scheme, self.hostport, rest)
    }
}

/// `Basic base64(user:password)`, from a URL's percent-encoded userinfo (a
/// bare token is a user name with an empty password, as pip sends it).
fn basic_from_userinfo(userinfo: &str) -> String {
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    basic(
        &crate::index::percent_decode(user),
        &crate::index::percent_decode(password),
    )
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A proxy variable's value, redacted: it may have no scheme (`user:pw@proxy:3128`).
fn redact_proxy(value: &str) -> String {
    if value.contains("://") {
        redact_url(value)
    } else {
        redact_url(&format!("http://{value}"))["http://".len()..].to_string()
    }
}

/// `https://user:secret@index.example.com/x` -> `https://user:****@index.example.com/x`; a bare token
/// (`https://token@host`) -> `https://****@host`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let userinfo = &authority[..at];
    let shown = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:****"),
        None => "****".to_string(),
    };
    format!("{}://{}@{}", &url[..scheme_end], shown, &rest[at + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_and_tokens() {
        assert_eq!(
            redact_url("https://u:p@index.example.com/s"),
            "https://u:****@index.example.com/s"
        );
        assert_eq!(
            redact_url("https://tok@index.example.com/s"),
            "https://****@index.example.com/s"
        );
        assert_eq!(
            redact_url("https://index.example.com/a@b"),
            "https://index.example.com/a@b"
        );
        assert_eq!(redact_url("/local/dir"), "/local/dir");
        assert_eq!(redact_proxy("u:pw@proxy:3128"), "u:****@proxy:3128");
        assert_eq!(
            redact_proxy("http://u:pw@proxy:3128"),
            "http://u:****@proxy:3128"
        );
        assert_eq!(redact_proxy("proxy:3128"), "proxy:3128");
    }

    #[test]
    fn basic_auth_values() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(basic("user", "secret"), "Basic dXNlcjpzZWNyZXQ=");
        assert_eq!(basic_from_userinfo("u%40x:p%3Ass"), basic("u@x", "p:ss"));
        assert_eq!(basic_from_userinfo("token"), basic("token", ""));
    }

    #[test]
    fn targets_and_origins() {
        let t = Target::parse("HTTPS://u:p@Index.Example.COM:8443/simple/x/?q=1#frag").unwrap();
        assert_eq!(
            t.origin(),
            ("https".into(), "index.example.com".into(), 8443)
        );
        assert_eq!(t.userinfo, Some("u:p"));
        assert_eq!(t.bare_url(), "https://Index.Example.COM:8443/simple/x/?q=1");
        let t = Target::parse("http://[::1]/x").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 80));
        assert_eq!(
            Target::parse("https://index.example.com")
                .unwrap()
                .bare_url(),
            "https://index.example.com/"
        );
        assert_eq!(
            Target::parse("https://index.example.com:443/")
                .unwrap()
                .origin()
                .2,
            443
        );
        for bad in [
            "ftp://index.example.com/x",
            "index.example.com/x",
            "https:///x",
            "https://index.example.com:port/",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
        let e = Target::parse("ftp://u:secret@h/x")
            .err()
            .unwrap()
            .to_string();
        assert!(!e.contains("secret") && e.contains("unsupported"), "{e}");
    }

    #[test]
    fn absolute_form_rewrites_the_request_line() {
        let head = b"GET /files/a.whl?x=1 HTTP/1.1\r\nhost: index.example.com:8080\r\n\r\n";
        let out = absolute_form(head, "http://index.example.com:8080", None).unwrap();
        assert_eq!(
            out,
            b"GET http://index.example.com:8080/files/a.whl?x=1 HTTP/1.1\r\nhost: index.example.com:8080\r\n\r\n"
        );
        let out = absolute_form(
            b"HEAD / HTTP/1.1\r\n\r\n",
            "http://index.example.com",
            Some("Basic eA=="),
        )
        .unwrap();
        assert_eq!(
            out,
            b"HEAD http://index.example.com/ HTTP/1.1\r\nProxy-Authorization: Basic eA==\r\n\r\n"
        );
        assert!(absolute_form(
            b"GET http://index.example.com/ HTTP/1.1\r\n\r\n",
            "http://index.example.com",
            None
        )
        .is_none());
        assert!(absolute_form(b"body bytes", "http://index.example.com", None).is_none());
    }
}
