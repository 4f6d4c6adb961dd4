//! URLs: the one parser behind every decision about where credentials go,
//! what a message may show, and how page links resolve.
//!
//! Credentials are sent to an origin (scheme, host, port) and hidden in
//! messages; a second hand-written splitter that disagreed with this one
//! (on `@` in a password, an uppercase scheme, an IPv6 host) would send them
//! to the wrong host or print them. So every crate asks [`Url`].
//!
//! A URL is `scheme:[//authority]path[?query][#fragment]` (RFC 3986); the
//! authority is `[userinfo@]host[:port]`, split at its *last* `@` (a
//! password may contain `@`, a host may not).

use std::fmt;
use std::path::PathBuf;

/// A parsed URL, borrowing the text it was parsed from. Everything is kept
/// as written except [`Url::scheme`] and [`Origin`], which are lowercase.
#[derive(Clone, Debug)]
pub struct Url<'a> {
    text: &'a str,
    /// Lowercase.
    scheme: String,
    /// Byte range of the authority (after `//`), when there is one.
    authority: Option<(usize, usize)>,
    /// Where the path starts and ends (then `?query`, then `#fragment`).
    path_start: usize,
    path_end: usize,
    /// End of the query: the `#` of the fragment, or the end of the text.
    query_end: usize,
}

/// Where a request goes, for deciding which credentials it may carry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: String,
    /// Lowercase, without the brackets of an IPv6 address.
    pub host: String,
    /// The explicit port, else 80 for http and 443 for https.
    pub port: u16,
}

/// Why a URL has no [`Origin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OriginError {
    /// No `scheme://authority`.
    NotAUrl,
    /// Not http or https.
    UnsupportedScheme,
    BadIpv6,
    NoHost,
    BadPort,
}

impl fmt::Display for OriginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OriginError::NotAUrl => "not a URL",
            OriginError::UnsupportedScheme => {
                "unsupported URL scheme (dpex fetches http and https URLs)"
            }
            OriginError::BadIpv6 => "bad IPv6 address",
            OriginError::NoHost => "no host name",
            OriginError::BadPort => "bad port",
        })
    }
}

/// Where the path (or authority) part that starts at `from` ends: at the
/// first of `stops`.
fn end_of(s: &str, from: usize, stops: &[char]) -> usize {
    s[from..].find(stops).map_or(s.len(), |i| from + i)
}

/// Length of a URL scheme (`https`) when `s` starts with `scheme:`.
fn scheme_len(s: &str) -> Option<usize> {
    let colon = s.find(':')?;
    let mut chars = s[..colon].chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(colon)
}

impl<'a> Url<'a> {
    /// `None` when `text` has no scheme: a relative reference or a path.
    pub fn parse(text: &'a str) -> Option<Url<'a>> {
        let colon = scheme_len(text)?;
        let after = colon + 1;
        let (authority, path_start) = if text[after..].starts_with("//") {
            let start = after + 2;
            let end = end_of(text, start, &['/', '?', '#']);
            (Some((start, end)), end)
        } else {
            (None, after)
        };
        let query_end = end_of(text, path_start, &['#']);
        let path_end = end_of(&text[..query_end], path_start, &['?']);
        Some(Url {
            text,
            scheme: text[..colon].to_ascii_lowercase(),
            authority,
            path_start,
            path_end,
            query_end,
        })
    }

    /// Lowercase.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// Whether the URL has `//authority` (`https://host.example.com/x`, `file:///x`;
    /// not `mailto:x`).
    pub fn has_authority(&self) -> bool {
        self.authority.is_some()
    }

    /// The authority as written, userinfo included.
    fn authority(&self) -> Option<&'a str> {
        self.authority.map(|(start, end)| &self.text[start..end])
    }

    /// `user:password` or a bare token, still percent-encoded.
    pub fn userinfo(&self) -> Option<&'a str> {
        self.authority()?
            .rsplit_once('@')
            .map(|(userinfo, _)| userinfo)
    }

    /// The authority as written, without userinfo: `Host.example.com:8080`.
    pub fn hostport(&self) -> &'a str {
        let authority = self.authority().unwrap_or("");
        authority.rsplit_once('@').map_or(authority, |(_, h)| h)
    }

    pub fn path(&self) -> &'a str {
        &self.text[self.path_start..self.path_end]
    }

    /// Path and query: what a request sends (the fragment never is).
    pub fn path_and_query(&self) -> &'a str {
        &self.text[self.path_start..self.query_end]
    }

    /// After the `#`.
    pub fn fragment(&self) -> Option<&'a str> {
        self.text.get(self.query_end + 1..)
    }

    /// Scheme, host and port: the unit credentials are bound to.
    pub fn origin(&self) -> Result<Origin, OriginError> {
        if self.authority.is_none() {
            return Err(OriginError::NotAUrl);
        }
        let default_port = match self.scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return Err(OriginError::UnsupportedScheme),
        };
        let hostport = self.hostport();
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (addr, after) = v6.split_once(']').ok_or(OriginError::BadIpv6)?;
            (addr, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(OriginError::NoHost);
        }
        let port = match port {
            None | Some("") => default_port,
            Some(p) => p.parse().map_err(|_| OriginError::BadPort)?,
        };
        Ok(Origin {
            scheme: self.scheme.clone(),
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// What is sent: lowercase scheme, the host and port as written, path
    /// (`/` when empty) and query; no userinfo, no fragment.
    pub fn request_url(&self) -> String {
        let path = self.path_and_query();
        let path = if path.is_empty() { "/" } else { path };
        format!("{}://{}{path}", self.scheme, self.hostport())
    }

    /// The text with `userinfo@` replaced by `replacement` (`None`: removed).
    fn replace_userinfo(&self, replacement: Option<&str>) -> String {
        let Some((start, end)) = self.authority else {
            return self.text.to_string();
        };
        let host_start = end - self.hostport().len();
        let userinfo = replacement.map(|u| format!("{u}@")).unwrap_or_default();
        format!(
            "{}{userinfo}{}",
            &self.text[..start],
            &self.text[host_start..]
        )
    }

    /// As written, without `userinfo@`.
    pub fn without_userinfo(&self) -> String {
        self.replace_userinfo(None)
    }

    /// As written, with `userinfo@` inserted (the URL has none).
    pub fn with_userinfo(&self, userinfo: &str) -> String {
        self.replace_userinfo(Some(userinfo))
    }

    /// For messages: `user:****@`, or `****@` for a bare token.
    pub fn redacted(&self) -> String {
        match self.userinfo() {
            None => self.text.to_string(),
            Some(userinfo) => self.replace_userinfo(Some(
                match userinfo.split_once(':') {
                    Some((user, _)) => format!("{user}:****"),
                    None => "****".to_string(),
                }
                .as_str(),
            )),
        }
    }
}

/// `https://user:secret@index.example.com/x` -> `https://user:****@index.example.com/x`; a bare
/// token (`https://token@host.example.com`) -> `https://****@host.example.com`. Not a URL: unchanged.
pub fn redact_url(url: &str) -> String {
    Url::parse(url).map_or_else(|| url.to_string(), |u| u.redacted())
}

/// A proxy variable's value, redacted: it may have no scheme (`user:pw@proxy:3128`).
pub fn redact_proxy(value: &str) -> String {
    if Url::parse(value).is_some_and(|u| u.has_authority()) {
        redact_url(value)
    } else {
        redact_url(&format!("http://{value}"))["http://".len()..].to_string()
    }
}

/// Remove `user:password@` from a URL's authority; the flag says whether
/// there was any.
pub fn strip_userinfo(url: &str) -> (String, bool) {
    match Url::parse(url) {
        Some(u) if u.userinfo().is_some() => (u.without_userinfo(), true),
        _ => (url.to_string(), false),
    }
}

/// The user name and password of a URL's percent-encoded userinfo (a bare
/// token is a user name with an empty password, as pip sends it).
pub fn credentials(userinfo: &str) -> (String, String) {
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    (percent_decode(user), percent_decode(password))
}

/// Decode `%XX` escapes (invalid escapes are kept as written).
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The reference without its `#fragment`, and the fragment.
pub fn split_fragment(url: &str) -> (&str, Option<&str>) {
    match url.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (url, None),
    }
}

/// Split `path?query#fragment` into (path, rest starting at `?` or `#`).
fn split_path(s: &str) -> (&str, &str) {
    s.split_at(end_of(s, 0, &['?', '#']))
}

/// RFC 3986 `remove_dot_segments` on a path that starts with `/`.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => trailing_slash = i == last,
            ".." => {
                out.pop();
                trailing_slash = i == last;
            }
            s => {
                out.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut result = String::from("/");
    result.push_str(&out.join("/"));
    if trailing_slash && !result.ends_with('/') {
        result.push('/');
    }
    result
}

/// Resolve `href` against `base` (RFC 3986 for the cases indexes use:
/// absolute, scheme-relative `//host/x`, absolute-path `/x`, query `?q`,
/// fragment `#f`, relative `x`, `../x`).
pub fn join(base: &str, href: &str) -> String {
    let href = href.trim();
    if Url::parse(href).is_some() {
        return href.to_string();
    }
    let Some(base) = Url::parse(base) else {
        // Not an absolute base: nothing better to do than the href itself.
        return href.to_string();
    };
    // `scheme:` or `scheme://authority`, as written.
    let prefix = &base.text[..base.path_start];
    if href.starts_with("//") {
        return format!("{}{href}", &prefix[..=prefix.find(':').unwrap_or(0)]);
    }
    let base_path = base.path();
    let base_query = &base.text[base.path_end..base.query_end];
    if href.is_empty() {
        return format!("{prefix}{base_path}{base_query}");
    }
    if href.starts_with('#') {
        return format!("{prefix}{base_path}{base_query}{href}");
    }
    if href.starts_with('?') {
        return format!("{prefix}{base_path}{href}");
    }
    let (href_path, href_tail) = split_path(href);
    let mut merged = if href_path.starts_with('/') {
        href_path.to_string()
    } else {
        let dir = match base_path.rfind('/') {
            Some(i) => &base_path[..=i],
            None => "/",
        };
        format!("{dir}{href_path}")
    };
    // remove_dot_segments wants a path that starts with `/` (a base without
    // an authority may have one that does not: `file:x/y`).
    if !merged.starts_with('/') {
        merged.insert(0, '/');
    }
    let mut path = remove_dot_segments(&merged);
    if !base.has_authority() && path.starts_with("//") {
        // Without an authority, `scheme:` + `//x/...` would read as host `x`
        // (RFC 3986, 3.3): keep it a path, as browsers do.
        path.insert_str(0, "/.");
    }
    format!("{prefix}{path}{href_tail}")
}

/// The last path component of a URL (or path), percent-decoded; `None` when
/// it is empty, `.`, `..` or would contain a path separator.
pub fn basename(url: &str) -> Option<String> {
    let path = match Url::parse(url) {
        Some(u) => u.path(),
        None => split_path(url).0,
    };
    let name = percent_decode(path.rsplit('/').next()?);
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return None;
    }
    Some(name)
}

/// The local folder or file a find-links entry or wheel URL names: a
/// `file://` URL or a plain path; `None` for any other URL.
pub fn local_path(link: &str) -> Option<PathBuf> {
    match Url::parse(link) {
        Some(u) if u.has_authority() => {
            (u.scheme() == "file").then(|| PathBuf::from(&link["file://".len()..]))
        }
        _ => Some(PathBuf::from(link)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(url: &str) -> Result<Origin, OriginError> {
        Url::parse(url).ok_or(OriginError::NotAUrl)?.origin()
    }

    fn o(scheme: &str, host: &str, port: u16) -> Origin {
        Origin {
            scheme: scheme.into(),
            host: host.into(),
            port,
        }
    }

    #[test]
    fn targets_and_origins() {
        let text = "HTTPS://u:p@Index.Example.COM:8443/simple/x/?q=1#frag";
        let u = Url::parse(text).unwrap();
        assert_eq!(u.origin(), Ok(o("https", "index.example.com", 8443)));
        assert_eq!(u.userinfo(), Some("u:p"));
        assert_eq!(
            u.request_url(),
            "https://Index.Example.COM:8443/simple/x/?q=1"
        );
        assert_eq!(u.path_and_query(), "/simple/x/?q=1");
        assert_eq!(u.fragment(), Some("frag"));
        assert_eq!(origin("http://[::1]/x"), Ok(o("http", "::1", 80)));
        assert_eq!(
            Url::parse("https://index.example.com")
                .unwrap()
                .request_url(),
            "https://index.example.com/"
        );
        assert_eq!(origin("https://index.example.com:443/").unwrap().port, 443);
        assert_eq!(
            origin("ftp://index.example.com/x"),
            Err(OriginError::UnsupportedScheme)
        );
        assert_eq!(Url::parse("index.example.com/x").map(|_| ()), None);
        assert_eq!(origin("https:/x"), Err(OriginError::NotAUrl));
        assert_eq!(origin("https:///x"), Err(OriginError::NoHost));
        assert_eq!(
            origin("https://index.example.com:port/"),
            Err(OriginError::BadPort)
        );
        assert_eq!(origin("https://[::1/"), Err(OriginError::BadIpv6));
    }

    #[test]
    fn origins_that_decide_credentials() {
        // A password with `@`: the host is after the last one.
        let u = Url::parse("https://u:p@ss@host.example.com/").unwrap();
        assert_eq!(u.userinfo(), Some("u:p@ss"));
        assert_eq!(u.origin(), Ok(o("https", "host.example.com", 443)));
        assert_eq!(u.redacted(), "https://u:****@host.example.com/");
        // `@` in the path is not userinfo.
        let u = Url::parse("https://host.example.com/a@evil.example.com/x?y=@z").unwrap();
        assert_eq!(u.userinfo(), None);
        assert_eq!(u.origin(), Ok(o("https", "host.example.com", 443)));
        assert_eq!(u.path(), "/a@evil.example.com/x");
        // `@` in the query or fragment neither.
        assert_eq!(
            origin("https://host.example.com?x=@evil.example.com"),
            Ok(o("https", "host.example.com", 443))
        );
        assert_eq!(
            origin("https://host.example.com#@evil.example.com"),
            Ok(o("https", "host.example.com", 443))
        );
        // Scheme and host compare case-insensitively, the default port is explicit.
        assert_eq!(
            origin("HTTP://HOST.example.com/"),
            origin("http://host.example.com:80/")
        );
        assert_ne!(
            origin("http://host.example.com/"),
            origin("https://host.example.com/")
        );
        assert_ne!(
            origin("https://host.example.com/"),
            origin("https://host.example.com:8443/")
        );
        // IPv6 with a port, and with userinfo.
        assert_eq!(
            origin("https://u:p@[FD00::1]:8443/simple/"),
            Ok(o("https", "fd00::1", 8443))
        );
        assert_eq!(
            Url::parse("https://[fd00::1]:8443/x").unwrap().hostport(),
            "[fd00::1]:8443"
        );
    }

    #[test]
    fn credentials_in_a_redirect_location_are_dropped() {
        // What the client does with a Location header: resolve, then strip.
        let next = join(
            "https://index.example.com/simple/x/",
            "https://evil:pw@files.example.com/a.whl",
        );
        assert_eq!(
            strip_userinfo(&next),
            ("https://files.example.com/a.whl".to_string(), true)
        );
        let next = join(
            "https://u:p@index.example.com/simple/x/",
            "//t@files.example.com/a.whl",
        );
        assert_eq!(strip_userinfo(&next).0, "https://files.example.com/a.whl");
        // A relative Location keeps the base's authority, credentials and
        // all; stripping them is the caller's rule, not join's.
        assert_eq!(
            strip_userinfo(&join("https://u:p@index.example.com/s/", "../f/a.whl")).0,
            "https://index.example.com/f/a.whl"
        );
    }

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
        assert_eq!(
            redact_url("HTTPS://u:p@ss@index.example.com/s#x@y"),
            "HTTPS://u:****@index.example.com/s#x@y"
        );
        assert_eq!(redact_proxy("u:pw@proxy:3128"), "u:****@proxy:3128");
        assert_eq!(
            redact_proxy("http://u:pw@proxy.example.com:3128"),
            "http://u:****@proxy.example.com:3128"
        );
        assert_eq!(redact_proxy("proxy:3128"), "proxy:3128");
    }

    #[test]
    fn joins_urls() {
        let base = "https://index.example.com/simple/foo/";
        assert_eq!(
            join(base, "https://other.example.com/a.whl"),
            "https://other.example.com/a.whl"
        );
        assert_eq!(
            join(base, "//files.example.com/a.whl"),
            "https://files.example.com/a.whl"
        );
        assert_eq!(
            join(base, "/packages/a.whl"),
            "https://index.example.com/packages/a.whl"
        );
        assert_eq!(
            join(base, "a.whl#sha256=00"),
            "https://index.example.com/simple/foo/a.whl#sha256=00"
        );
        assert_eq!(
            join(base, "../../packages/a.whl"),
            "https://index.example.com/packages/a.whl"
        );
        assert_eq!(
            join(base, "../../../../a.whl"),
            "https://index.example.com/a.whl"
        );
        assert_eq!(
            join(base, "./x/./y/../a.whl"),
            "https://index.example.com/simple/foo/x/a.whl"
        );
        assert_eq!(
            join("https://index.example.com/simple/foo", "a.whl"),
            "https://index.example.com/simple/a.whl"
        );
        assert_eq!(
            join("https://u:p@index.example.com:8080/s/foo/?x=1", "a.whl"),
            "https://u:p@index.example.com:8080/s/foo/a.whl"
        );
        assert_eq!(
            join(base, "?q=1"),
            "https://index.example.com/simple/foo/?q=1"
        );
        assert_eq!(
            join("https://index.example.com", "a.whl"),
            "https://index.example.com/a.whl"
        );
        assert_eq!(
            join("file:///srv/simple/foo/", "../../f/a.whl"),
            "file:///srv/f/a.whl"
        );
        assert_eq!(join(base, ""), base);
        assert_eq!(
            join("https://index.example.com/s/?x=1#f", "#g"),
            "https://index.example.com/s/?x=1#g"
        );
        assert_eq!(join("relative/base", "a.whl"), "a.whl");
    }

    #[test]
    fn a_relative_href_never_makes_a_host() {
        // Found by the `url` fuzz target: against a base without an authority,
        // a path that came out as `//srv/...` read back as host `srv`.
        let joined = join("file:`//srv/simo//lfope[", "./x/./y/../a.whl");
        assert_eq!(joined, "file:/`//srv/simo//x/a.whl");
        assert!(!Url::parse(&joined).unwrap().has_authority());
        let joined = join("mailto:x", "/.//evil.example.com/a.whl");
        assert!(!Url::parse(&joined).unwrap().has_authority(), "{joined}");
        // With an authority, the host stays the base's.
        assert_eq!(
            join("https://index.example.com/s/", "/.//evil.example.com/a.whl"),
            "https://index.example.com//evil.example.com/a.whl"
        );
    }

    #[test]
    fn basenames_and_userinfo() {
        assert_eq!(
            basename("https://index.example.com/p/a%2Bb-1.0-py3-none-any.whl?x#y").unwrap(),
            "a+b-1.0-py3-none-any.whl"
        );
        assert_eq!(basename("https://index.example.com/p/"), None);
        assert_eq!(basename("https://index.example.com/p/%2e%2e"), None);
        assert_eq!(basename("https://index.example.com/p/a%2Fb"), None);
        assert_eq!(basename("wheels/a.whl").unwrap(), "a.whl");
        assert_eq!(
            strip_userinfo("https://u:p@index.example.com/x@y"),
            ("https://index.example.com/x@y".to_string(), true)
        );
        assert_eq!(
            strip_userinfo("https://index.example.com/x@y"),
            ("https://index.example.com/x@y".to_string(), false)
        );
        assert_eq!(
            Url::parse("https://index.example.com:8080/x?y#z")
                .unwrap()
                .with_userinfo("u:p"),
            "https://u:p@index.example.com:8080/x?y#z"
        );
        assert_eq!(percent_decode("a%20b%zz%4"), "a b%zz%4");
        assert_eq!(
            credentials("u%40x:p%3Ass"),
            ("u@x".to_string(), "p:ss".to_string())
        );
        assert_eq!(credentials("token"), ("token".to_string(), String::new()));
    }

    #[test]
    fn local_paths() {
        assert_eq!(
            local_path("/srv/wheels"),
            Some(PathBuf::from("/srv/wheels"))
        );
        assert_eq!(local_path("wheels"), Some(PathBuf::from("wheels")));
        assert_eq!(
            local_path("file:///srv/wheels"),
            Some(PathBuf::from("/srv/wheels"))
        );
        assert_eq!(local_path("https://files.example.com/wheels/"), None);
        assert_eq!(local_path("http://files.example.com/wheels/"), None);
    }
}
