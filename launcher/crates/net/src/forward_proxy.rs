//! Plain-http URLs through an HTTP proxy, in absolute form.
//!
//! curl and pip send a plain-http request to an HTTP proxy as
//! `GET http://index.example.com/path` on a connection to the proxy. ureq
//! would open a `CONNECT` tunnel instead, which proxies commonly allow only
//! to port 443, so an http index behind a corporate proxy would not work.
//! This connector step does what curl does.
//!
//! It is built on ureq's `unversioned` transport API, which may change in any
//! ureq release: that is why launcher/crates/net/Cargo.toml pins ureq to
//! `~3.5.2`. Everything that uses that API is in this file.

use crate::auth::basic;
use crate::url::Url;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, Either, NextTimeout,
    RustlsConnector, TcpConnector, Transport,
};

/// A ureq agent with our connector chain: a forward-proxy step for plain
/// http through an HTTP proxy, then ureq's CONNECT tunnel, TCP and rustls.
/// `config` may name a proxy; `direct` is the same config without one, to
/// connect to the proxy itself.
pub(crate) fn build_agent(
    config: ureq::config::Config,
    direct: ureq::config::Config,
) -> ureq::Agent {
    let connector =
        ().chain(ForwardProxy { direct })
            .chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(RustlsConnector::default());
    ureq::Agent::with_parts(config, connector, DefaultResolver::default())
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
        let uri = details.uri.to_string();
        let authority = Url::parse(&uri).map(|u| u.hostport()).unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::*;

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
