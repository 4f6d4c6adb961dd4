//! Which proxy a URL goes through, from the environment, as curl decides:
//!
//! - `https://` URLs: `https_proxy`, else `HTTPS_PROXY`, else `all_proxy` /
//!   `ALL_PROXY`;
//! - `http://` URLs: `http_proxy` (lowercase only: a CGI-style server puts a
//!   request's `Proxy:` header in `HTTP_PROXY`, "httpoxy"), else `all_proxy`
//!   / `ALL_PROXY`;
//! - none when the host matches `no_proxy` / `NO_PROXY`: a comma-separated
//!   list of host names (each also matches its subdomains; a leading `.` or
//!   `*.` is allowed), IP addresses, CIDR blocks (`10.0.0.0/8`, `fd00::/8`),
//!   any of them with `:PORT` to match one port only, or `*` for every host.
//!
//! Empty values count as unset. Host names in `no_proxy` are compared as
//! written: `localhost` does not match `127.0.0.1`.

use std::net::IpAddr;

/// A proxy chosen for a URL: the variable it came from and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub var: &'static str,
    pub url: String,
}

/// The proxy settings read from the environment once.
#[derive(Clone, Debug, Default)]
pub struct ProxyEnv {
    https: Option<Choice>,
    http: Option<Choice>,
    all: Option<Choice>,
    no_proxy: Vec<Rule>,
    /// `no_proxy=*`.
    bypass_all: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum Pattern {
    /// A host name, lowercase, without leading dots: itself and subdomains.
    Domain(String),
    Ip(IpAddr),
    Cidr(IpAddr, u8),
}

#[derive(Clone, Debug, PartialEq)]
struct Rule {
    pattern: Pattern,
    port: Option<u16>,
}

impl ProxyEnv {
    pub fn from_env() -> ProxyEnv {
        ProxyEnv::from_lookup(|name| std::env::var(name).ok())
    }

    /// Read the variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> ProxyEnv {
        let first = |names: &[&'static str]| {
            names.iter().find_map(|&var| {
                let value = get(var)?;
                let value = value.trim();
                (!value.is_empty()).then(|| Choice {
                    var,
                    url: value.to_string(),
                })
            })
        };
        let no_proxy = first(&["no_proxy", "NO_PROXY"])
            .map(|c| c.url)
            .unwrap_or_default();
        let mut env = ProxyEnv {
            https: first(&["https_proxy", "HTTPS_PROXY"]),
            http: first(&["http_proxy"]),
            all: first(&["all_proxy", "ALL_PROXY"]),
            ..ProxyEnv::default()
        };
        for item in no_proxy.split([',', ' ', '\t', '\n']) {
            let item = item.trim();
            if item == "*" {
                env.bypass_all = true;
            } else if let Some(rule) = Rule::parse(item) {
                env.no_proxy.push(rule);
            }
        }
        env
    }

    /// The proxy for a URL with this scheme, host (without brackets) and
    /// port; `None` means connect directly.
    pub fn for_url(&self, scheme: &str, host: &str, port: u16) -> Option<&Choice> {
        let choice = match scheme {
            "https" => self.https.as_ref().or(self.all.as_ref()),
            "http" => self.http.as_ref().or(self.all.as_ref()),
            _ => None,
        }?;
        if self.bypass_all || self.no_proxy.iter().any(|r| r.matches(host, port)) {
            return None;
        }
        Some(choice)
    }

    /// Whether any proxy variable is set at all.
    pub fn any(&self) -> bool {
        self.https.is_some() || self.http.is_some() || self.all.is_some()
    }
}

impl Rule {
    fn parse(item: &str) -> Option<Rule> {
        if item.is_empty() {
            return None;
        }
        // `[v6]` or `[v6]:port`.
        if let Some(rest) = item.strip_prefix('[') {
            let (addr, after) = rest.split_once(']')?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p.parse().ok()?),
                None if after.is_empty() => None,
                None => return None,
            };
            return Some(Rule {
                pattern: Pattern::Ip(addr.parse().ok()?),
                port,
            });
        }
        if let Some((addr, bits)) = item.split_once('/') {
            let addr: IpAddr = addr.parse().ok()?;
            let bits: u8 = bits.parse().ok()?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            return (bits <= max).then_some(Rule {
                pattern: Pattern::Cidr(addr, bits),
                port: None,
            });
        }
        if let Ok(ip) = item.parse::<IpAddr>() {
            return Some(Rule {
                pattern: Pattern::Ip(ip),
                port: None,
            });
        }
        let (name, port) = match item.rsplit_once(':') {
            Some((name, port)) => (name, Some(port.parse().ok()?)),
            None => (item, None),
        };
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Some(Rule {
                pattern: Pattern::Ip(ip),
                port,
            });
        }
        let name = name
            .trim_start_matches('*')
            .trim_start_matches('.')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        (!name.is_empty()).then_some(Rule {
            pattern: Pattern::Domain(name),
            port,
        })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        match &self.pattern {
            Pattern::Domain(d) => {
                let h = host.trim_end_matches('.').to_ascii_lowercase();
                h == *d || h.strip_suffix(d.as_str()).is_some_and(|p| p.ends_with('.'))
            }
            Pattern::Ip(ip) => host.parse::<IpAddr>().is_ok_and(|h| h == *ip),
            Pattern::Cidr(net, bits) => host
                .parse::<IpAddr>()
                .is_ok_and(|h| in_cidr(h, *net, *bits)),
        }
    }
}

fn in_cidr(addr: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> ProxyEnv {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxyEnv::from_lookup(|k| map.get(k).cloned())
    }

    fn var(e: &ProxyEnv, url: (&str, &str, u16)) -> Option<&'static str> {
        e.for_url(url.0, url.1, url.2).map(|c| c.var)
    }

    #[test]
    fn picks_variables_as_curl_does() {
        let e = env(&[
            ("HTTPS_PROXY", "http://proxy.example.com:1"),
            ("HTTP_PROXY", "http://proxy.example.com:2"),
        ]);
        assert_eq!(var(&e, ("https", "h", 443)), Some("HTTPS_PROXY"));
        // Uppercase HTTP_PROXY is never read.
        assert_eq!(var(&e, ("http", "h", 80)), None);
        let e = env(&[
            ("https_proxy", "a"),
            ("HTTPS_PROXY", "b"),
            ("http_proxy", "c"),
        ]);
        assert_eq!(e.for_url("https", "h", 443).unwrap().url, "a");
        assert_eq!(var(&e, ("http", "h", 80)), Some("http_proxy"));
        let e = env(&[("ALL_PROXY", "x"), ("https_proxy", "")]);
        assert_eq!(var(&e, ("https", "h", 443)), Some("ALL_PROXY"));
        assert_eq!(var(&e, ("http", "h", 80)), Some("ALL_PROXY"));
        assert_eq!(var(&e, ("ftp", "h", 21)), None);
        assert!(!env(&[]).any());
    }

    #[test]
    fn no_proxy_rules() {
        let e = env(&[
            ("ALL_PROXY", "http://proxy.example.com:1"),
            (
                "NO_PROXY",
                "example.com, .internal, *.corp.test,127.0.0.1,10.0.0.0/8, [::1]:8443,h.test:8080,fd00::/8",
            ),
        ]);
        let direct = |h: &str, p: u16| var(&e, ("https", h, p)).is_none();
        assert!(direct("example.com", 443));
        assert!(direct("pkg.example.com", 443));
        assert!(direct("EXAMPLE.com.", 443));
        assert!(!direct("notexample.com", 443));
        assert!(direct("a.internal", 443));
        assert!(direct("internal", 443));
        assert!(direct("x.corp.test", 443));
        assert!(direct("127.0.0.1", 9));
        assert!(!direct("127.0.0.2", 9));
        assert!(!direct("localhost", 9));
        assert!(direct("10.1.2.3", 9));
        assert!(!direct("11.1.2.3", 9));
        assert!(direct("::1", 8443));
        assert!(direct("[::1]", 8443));
        assert!(!direct("::1", 443));
        assert!(direct("h.test", 8080));
        assert!(!direct("h.test", 443));
        assert!(direct("fd00::5", 1));
        let all = env(&[("https_proxy", "p"), ("no_proxy", "*")]);
        assert_eq!(var(&all, ("https", "anything", 443)), None);
        // lowercase no_proxy wins over NO_PROXY.
        let e = env(&[("https_proxy", "p"), ("no_proxy", "a"), ("NO_PROXY", "b")]);
        assert!(var(&e, ("https", "a", 443)).is_none());
        assert!(var(&e, ("https", "b", 443)).is_some());
    }
}
