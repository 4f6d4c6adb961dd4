//! One HTTP client for the launcher and the packer. URLs are parsed,
//! compared by origin and redacted by [`crate::url`].
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

use crate::auth;
use crate::netrc::Netrc;
use crate::proxy::{Choice, ProxyEnv};
use crate::url::redact_proxy;
/// Re-exported: the launcher and the packer name it here.
use crate::url::redact_url;
use crate::url::{Origin, OriginError, Url};
use std::fmt;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

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

/// Why a request failed, ready for users (URLs redacted), and of which kind.
#[derive(Clone, Debug)]
pub struct HttpError {
    message: String,
    kind: ErrorKind,
    /// No connection within the connect timeout (see [`HttpError::connect_timed_out`]).
    connect_timed_out: bool,
}

/// What kind of failure an [`HttpError`] is: callers branch on this, never
/// on the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A connection error, timeout or cut: the same URL may work next time.
    Transient,
    /// No trust store, or the server's certificate was refused.
    Tls,
    /// A redirect refused (https to http) or too many of them.
    Redirect,
    /// The URL is not an http(s) URL dpex can request.
    BadUrl,
    /// A proxy variable dpex cannot use.
    Config,
}

impl HttpError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> HttpError {
        HttpError {
            message: message.into(),
            kind,
            connect_timed_out: false,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the host did not accept a connection within the connect
    /// timeout (a transient error, but one that says the host is down or
    /// unreachable rather than that this request went wrong).
    pub fn connect_timed_out(&self) -> bool {
        self.connect_timed_out
    }

    /// Whether trying the same URL again may help (see [`ErrorKind::Transient`]).
    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
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
        let (first, first_origin) = target(&self.url)?;
        // The URL's own credentials, for its own origin only.
        let url_auth = first
            .userinfo()
            .map(|u| (first_origin, auth::basic_from_userinfo(u)));
        let mut url = self.url.clone();
        for hop in 0..=MAX_REDIRECTS {
            let (target, origin) = target(&url)?;
            let auth = match &url_auth {
                Some((o, value)) if *o == origin => Some(value.clone()),
                _ => client
                    .netrc
                    .as_ref()
                    .and_then(|n| n.lookup(&origin.host))
                    .map(|(user, password)| auth::basic(user, password)),
            };
            let bare = target.request_url();
            let in_redirect = |m: String| {
                if hop == 0 {
                    m
                } else {
                    format!("after a redirect to {}: {m}", redact_url(&bare))
                }
            };
            if origin.scheme == "https" {
                if let Err(e) = &client.trust {
                    return Err(HttpError::new(
                        ErrorKind::Tls,
                        in_redirect(format!("cannot verify HTTPS servers: {e}")),
                    ));
                }
            }
            let (agent, proxy) = client
                .agent_for(&origin)
                .map_err(|e| HttpError::new(ErrorKind::Config, in_redirect(e)))?;
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
                let mut err = client.describe(e, &origin, proxy.as_ref());
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
            let (next, _) = crate::url::strip_userinfo(&crate::url::join(&bare, &location));
            if origin.scheme == "https"
                && Url::parse(&next).is_none_or(|u| u.scheme() != "https" || !u.has_authority())
            {
                return Err(HttpError::new(
                    ErrorKind::Redirect,
                    format!(
                    "{} redirected to {}: refused, dpex never follows a redirect from https to \
                     plain http (the index or mirror must serve its files over https)",
                    redact_url(&bare),
                    redact_url(&next)
                ),
                ));
            }
            // Read a short body so the connection can be reused.
            let _ = response
                .into_body()
                .with_config()
                .limit(64 * 1024)
                .read_to_vec();
            url = next;
        }
        Err(HttpError::new(
            ErrorKind::Redirect,
            format!(
                "{}: more than {MAX_REDIRECTS} redirects",
                redact_url(&self.url)
            ),
        ))
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
    fn agent_for(&self, origin: &Origin) -> Result<(ureq::Agent, Option<Choice>), String> {
        let Some(choice) = self
            .proxies
            .for_url(&origin.scheme, &origin.host, origin.port)
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
    fn describe(&self, e: ureq::Error, origin: &Origin, proxy: Option<&Choice>) -> HttpError {
        if let Some(refused) = certificate_error(&e) {
            use rustls::CertificateError::*;
            let store = self.trust.as_deref().unwrap_or("the trust store");
            let host = &origin.host;
            let message = match refused {
                UnknownIssuer => format!(
                    "the TLS certificate of {host} is not signed by a CA dpex trusts (checked against \
                     {store}); if the server uses a private or corporate CA, add its certificate: \
                     DPEX_CA_BUNDLE=/path/to/ca.pem (or SSL_CERT_FILE=/path/to/bundle.pem to replace \
                     the trust store)"
                ),
                NotValidForName | NotValidForNameContext { .. } => format!(
                    "the TLS certificate is not valid for the host name {host} ({refused}); use the \
                     host name the certificate was issued for in the URL"
                ),
                _ => format!(
                    "the TLS certificate of {host} was refused ({refused}); check the server's \
                     certificate and this host's clock"
                ),
            };
            return HttpError::new(ErrorKind::Tls, through(message, proxy));
        }
        let connect_timed_out = matches!(e, ureq::Error::Timeout(ureq::Timeout::Connect));
        HttpError {
            connect_timed_out,
            ..HttpError::new(ErrorKind::Transient, through(e.to_string(), proxy))
        }
    }
}

/// An error message, naming the proxy the request went through if any (an
/// `https://` proxy's own certificate can be the one refused).
fn through(message: String, proxy: Option<&Choice>) -> String {
    match proxy {
        Some(choice) => format!(
            "{message} (through the proxy {} from {}; NO_PROXY lists hosts to reach directly)",
            redact_proxy(&choice.url),
            choice.var
        ),
        None => message,
    }
}

/// The reason rustls refused the server's certificate, if that is the
/// error. ureq reports a handshake failure as `Error::Io` wrapping the
/// rustls error (the handshake runs through `std::io`), later ones as
/// `Error::Rustls`.
fn certificate_error(e: &ureq::Error) -> Option<&rustls::CertificateError> {
    let tls = match e {
        ureq::Error::Rustls(tls) => Some(tls),
        ureq::Error::Io(io) => {
            let mut cause: Option<&(dyn std::error::Error + 'static)> =
                io.get_ref().map(|inner| inner as _);
            loop {
                match cause {
                    None => break None,
                    Some(c) => match c.downcast_ref::<rustls::Error>() {
                        Some(tls) => break Some(tls),
                        None => cause = c.source(),
                    },
                }
            }
        }
        _ => None,
    }?;
    match tls {
        rustls::Error::InvalidCertificate(refused) => Some(refused),
        _ => None,
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

/// A ureq agent with our config, through `proxy` if any.
fn build_agent(
    config: &NetConfig,
    tls: &ureq::tls::TlsConfig,
    proxy: Option<ureq::Proxy>,
) -> ureq::Agent {
    crate::forward_proxy::build_agent(
        ureq_config(config, tls, proxy),
        ureq_config(config, tls, None),
    )
}

/// `url` as a URL dpex can request (http or https, with a host) and its origin.
fn target(url: &str) -> Result<(Url<'_>, Origin), HttpError> {
    let bad =
        |why: OriginError| HttpError::new(ErrorKind::BadUrl, format!("{}: {why}", redact_url(url)));
    let parsed = Url::parse(url).ok_or_else(|| bad(OriginError::NotAUrl))?;
    let origin = parsed.origin().map_err(bad)?;
    Ok((parsed, origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_urls_it_cannot_request() {
        for bad in [
            "ftp://index.example.com/x",
            "index.example.com/x",
            "https:/x",
            "https:///x",
            "https://index.example.com:port/",
        ] {
            let e = target(bad).err().unwrap();
            assert_eq!(e.kind(), ErrorKind::BadUrl, "{bad}");
            assert!(!e.is_transient(), "{bad}");
        }
        let e = target("ftp://u:secret@h/x").err().unwrap().to_string();
        assert!(!e.contains("secret") && e.contains("unsupported"), "{e}");
        let (url, origin) = target("HTTPS://u:p@ss@Index.Example.COM/x#f").unwrap();
        assert_eq!(url.userinfo(), Some("u:p@ss"));
        assert_eq!(origin.host, "index.example.com");
        assert_eq!(url.request_url(), "https://Index.Example.COM/x");
    }
}
