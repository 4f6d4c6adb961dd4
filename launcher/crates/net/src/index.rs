//! Simple-repository (PEP 503 HTML / PEP 691 JSON) project pages.
//!
//! The packer maps locked hashes to files through these pages; the launcher
//! can use them to find a mirror of a locked file. Only what a lock needs is
//! kept: file name, absolute URL, sha256, size, requires-python, yanked.

use crate::http::Agent;
use crate::url::{basename, join, redact_url, split_fragment, strip_userinfo, Url};
use dpex_standards::version::normalize_name;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The PEP 691 `Accept` header: JSON preferred, HTML accepted.
pub const ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// Largest project page we read (PyPI's biggest JSON pages are tens of MB).
pub const MAX_PAGE_BYTES: u64 = 256 * 1024 * 1024;

/// One file listed on a project page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexFile {
    pub filename: String,
    /// Absolute, resolved against the page URL, fragment stripped.
    pub url: String,
    /// Lowercase hex sha256, when the index published it.
    pub sha256: Option<String>,
    pub size: Option<u64>,
    /// PEP 440 specifiers, unescaped.
    pub requires_python: Option<String>,
    pub yanked: bool,
}

/// `<index_url minus trailing slashes>/<normalized project>/`.
pub fn project_page_url(index_url: &str, project: &str) -> String {
    format!(
        "{}/{}/",
        index_url.trim_end_matches('/'),
        normalize_name(project.trim())
    )
}

/// `sha256=<hex>` from a URL fragment (PEP 503), lowercased.
fn fragment_sha256(fragment: Option<&str>) -> Option<String> {
    let fragment = fragment?;
    for part in fragment.split('&') {
        if let Some((algo, hex)) = part.split_once('=') {
            if algo.eq_ignore_ascii_case("sha256") {
                return Some(hex.to_ascii_lowercase());
            }
        }
    }
    None
}

/// Refuse a plain-http file link on a page read over https: the page's
/// TLS would protect nothing if its links went out in the clear (the same
/// rule as for redirects). Plain http is fine where the index itself is.
pub fn check_not_downgraded(page_url: &str, file_url: &str) -> Result<(), String> {
    let is = |url: &str, scheme: &str| {
        Url::parse(url).is_some_and(|u| u.has_authority() && u.scheme() == scheme)
    };
    if is(page_url, "https") && is(file_url, "http") {
        return Err(format!(
            "the https page {} links the file over plain http ({}); dpex never downgrades from \
             https to http: have the index link its files over https, or use an http:// index URL \
             if plain http is really meant",
            redact_url(page_url),
            redact_url(file_url)
        ));
    }
    Ok(())
}

/// Check an API version string (`1.1`); absent means 1.0.
fn check_api_version(version: Option<&str>, page_url: &str) -> Result<(), String> {
    let Some(v) = version else { return Ok(()) };
    let major = v.trim().split('.').next().unwrap_or("");
    match major.parse::<u32>() {
        Ok(1) => Ok(()),
        _ => Err(format!(
            "the index page {} uses simple repository API version {v}, but dpex understands only version 1.x; \
             use an index that serves API version 1, or upgrade dpex",
            redact_url(page_url)
        )),
    }
}

#[derive(Deserialize)]
struct JsonPage {
    #[serde(default)]
    meta: Option<JsonMeta>,
    #[serde(default)]
    files: Vec<JsonFile>,
}

#[derive(Deserialize)]
struct JsonMeta {
    #[serde(rename = "api-version", default)]
    api_version: Option<String>,
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
    #[serde(rename = "requires-python", default)]
    requires_python: Option<String>,
    #[serde(default)]
    yanked: Option<serde_json::Value>,
    #[serde(default)]
    size: Option<u64>,
}

fn parse_json(body: &[u8], page_url: &str) -> Result<Vec<IndexFile>, String> {
    let page: JsonPage = serde_json::from_slice(body).map_err(|e| {
        format!(
            "the index page {} is not valid simple-API JSON: {e}",
            redact_url(page_url)
        )
    })?;
    check_api_version(
        page.meta.as_ref().and_then(|m| m.api_version.as_deref()),
        page_url,
    )?;
    let files = page
        .files
        .into_iter()
        .map(|f| {
            let absolute = join(page_url, &f.url);
            let (url, fragment) = split_fragment(&absolute);
            let sha256 = f
                .hashes
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("sha256"))
                .map(|(_, v)| v.to_ascii_lowercase())
                .or_else(|| fragment_sha256(fragment));
            let yanked = match f.yanked {
                Some(serde_json::Value::Bool(b)) => b,
                Some(serde_json::Value::String(_)) => true,
                _ => false,
            };
            IndexFile {
                filename: f.filename,
                url: url.to_string(),
                sha256,
                size: f.size,
                requires_python: f.requires_python.filter(|s| !s.trim().is_empty()),
                yanked,
            }
        })
        .collect();
    Ok(files)
}

/// Decode HTML character references (`&lt;`, `&#62;`, `&#x3e;`, ...).
fn html_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        // Within the next 12 bytes; by byte, since byte 12 may be inside a
        // character (`;` is ASCII, so where it is found is a boundary).
        let semi = rest.as_bytes()[..rest.len().min(12)]
            .iter()
            .position(|&b| b == b';');
        let decoded = semi.and_then(|semi| {
            let entity = &rest[1..semi];
            let c = if let Some(num) = entity.strip_prefix('#') {
                let code = match num.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => num.parse::<u32>().ok(),
                };
                code.and_then(char::from_u32)
            } else {
                match entity {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    "nbsp" => Some('\u{a0}'),
                    _ => None,
                }
            };
            c.map(|c| (c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// One start tag: lowercase name and attributes (names lowercased, values
/// still escaped; a bare attribute has an empty value).
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parse a start tag at `s[0] == '<'`; returns the tag and the index after `>`.
fn parse_tag(s: &str) -> Option<(Tag, usize)> {
    let b = s.as_bytes();
    let mut i = 1;
    let start = i;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b':') {
        i += 1;
    }
    if i == start {
        return None;
    }
    let name = s[start..i].to_ascii_lowercase();
    let mut attrs = Vec::new();
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        if b[i] == b'>' {
            return Some((Tag { name, attrs }, i + 1));
        }
        let n0 = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        let attr_name = s[n0..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let quote = b[i];
                let v0 = i + 1;
                let end = s[v0..].find(quote as char)? + v0;
                value = s[v0..end].to_string();
                i = end + 1;
            } else {
                let v0 = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                    i += 1;
                }
                value = s[v0..i].to_string();
            }
        }
        if !attr_name.is_empty() {
            attrs.push((attr_name, value));
        } else if i == n0 {
            // Nothing consumed (cannot happen: an empty name stops at `=`,
            // which was consumed); step over one whole character regardless.
            i += s[i..].chars().next().map_or(1, char::len_utf8);
        }
        // (A nameless `="value"` is dropped; the loop goes on right after it,
        // never inside a character.)
    }
}

/// Find `needle` (ASCII, lowercase) in `hay` case-insensitively.
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    if n.len() > h.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

fn parse_html(body: &[u8], page_url: &str) -> Result<Vec<IndexFile>, String> {
    let text = String::from_utf8_lossy(body);
    let s: &str = &text;
    let mut base = page_url.to_string();
    let mut files = Vec::new();
    let mut pos = 0;
    while let Some(lt) = s[pos..].find('<') {
        let at = pos + lt;
        let rest = &s[at..];
        if rest.starts_with("<!--") {
            pos = match rest.find("-->") {
                Some(end) => at + end + 3,
                None => s.len(),
            };
            continue;
        }
        let Some((tag, len)) = parse_tag(rest) else {
            pos = at + 1;
            continue;
        };
        pos = at + len;
        match tag.name.as_str() {
            "meta"
                if tag
                    .attr("name")
                    .is_some_and(|n| n.eq_ignore_ascii_case("pypi:repository-version")) =>
            {
                check_api_version(tag.attr("content"), page_url)?;
            }
            "base" => {
                if let Some(href) = tag.attr("href") {
                    base = join(page_url, &html_unescape(href));
                }
            }
            "a" => {
                let Some(href) = tag.attr("href") else {
                    continue;
                };
                let end = find_ci(&s[pos..], "</a")
                    .map(|e| pos + e)
                    .unwrap_or(s.len());
                let inner = &s[pos..end];
                pos = end;
                let absolute = join(&base, &html_unescape(href));
                let (url, fragment) = split_fragment(&absolute);
                let mut filename = html_unescape(strip_tags(inner).trim());
                if filename.is_empty() {
                    filename = basename(url).unwrap_or_default();
                }
                let requires_python = tag
                    .attr("data-requires-python")
                    .map(html_unescape)
                    .filter(|s| !s.trim().is_empty());
                files.push(IndexFile {
                    filename,
                    url: url.to_string(),
                    sha256: fragment_sha256(fragment),
                    size: None,
                    requires_python,
                    yanked: tag.attr("data-yanked").is_some(),
                });
            }
            _ => {}
        }
    }
    Ok(files)
}

/// Text content of an anchor (drops nested tags such as `<span>`).
fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Parse a project page by its `Content-Type`: PEP 691 JSON
/// (`application/vnd.pypi.simple.v1+json`) or PEP 503 HTML
/// (`application/vnd.pypi.simple.v1+html`, `text/html`). Relative file URLs
/// are resolved against `page_url`.
pub fn parse_project_page(
    body: &[u8],
    content_type: &str,
    page_url: &str,
) -> Result<Vec<IndexFile>, String> {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/vnd.pypi.simple.v1+json" | "application/vnd.pypi.simple.latest+json" => {
            parse_json(body, page_url)
        }
        "application/vnd.pypi.simple.v1+html"
        | "application/vnd.pypi.simple.latest+html"
        | "text/html" => parse_html(body, page_url),
        "" | "application/octet-stream" | "text/plain" | "application/json" => {
            // Static file servers often mislabel pages: sniff.
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            if first == Some(&b'{') {
                parse_json(body, page_url)
            } else {
                parse_html(body, page_url)
            }
        }
        other => {
            if let Some(v) = other.strip_prefix("application/vnd.pypi.simple.") {
                return Err(format!(
                    "the index page {} answered with simple repository API format {v:?}, but dpex understands \
                     only v1 JSON and HTML; use an index that serves API version 1, or upgrade dpex",
                    redact_url(page_url)
                ));
            }
            Err(format!(
                "the index page {} answered with Content-Type {content_type:?}, which is not a simple \
                 repository page (JSON or HTML); check that the index URL points at a PEP 503/691 \
                 \"simple\" API (the URL usually ends in /simple)",
                redact_url(page_url)
            ))
        }
    }
}

/// Like [`fetch_project_page`], but `Ok(None)` when the index does not have
/// the project (404 or 410), so callers can try the next index.
pub fn fetch_project_page_opt(
    agent: &Agent,
    index_url: &str,
    project: &str,
) -> Result<Option<Vec<IndexFile>>, PageError> {
    use ureq::ResponseExt;
    let url = project_page_url(index_url, project);
    let shown = redact_url(&url);
    let mut response = agent.get(&url).header("Accept", ACCEPT).call().map_err(|e| PageError {
        message: format!("could not fetch the index page {shown}: {e}; check the index URL and your network or proxy settings"),
        unreachable: e.is_transient(),
    })?;
    let status = response.status().as_u16();
    if status == 404 || status == 410 {
        return Ok(None);
    }
    if !(200..300).contains(&status) {
        let hint = match status {
            401 | 403 => "the index wants credentials: put them in the index URL (https://user:token@index.example.com/simple) or in ~/.netrc, or use an index you can read",
            _ => "check the index URL, or try again later",
        };
        return Err(PageError::answered(format!(
            "the index page {shown} answered HTTP {status}; {hint}"
        )));
    }
    // Resolve relative links against where we ended up after redirects,
    // keeping our credentials when only those differ.
    let final_url = response.get_uri().to_string();
    let page_url = if strip_userinfo(&final_url).0 == strip_userinfo(&url).0 {
        url.clone()
    } else {
        final_url
    };
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_PAGE_BYTES)
        .read_to_vec()
        .map_err(|e| {
            PageError::answered(format!(
                "could not read the index page {shown}: {e}; try again later"
            ))
        })?;
    parse_project_page(&body, &content_type, &page_url)
        .map(Some)
        .map_err(PageError::answered)
}

/// Why a project page could not be had: the message for users, and whether
/// the index gave no answer at all (connection refused, timed out or reset
/// before a response), so a caller can stop asking it for other projects.
#[derive(Clone, Debug)]
pub struct PageError {
    message: String,
    unreachable: bool,
}

impl PageError {
    pub fn new(message: String, unreachable: bool) -> PageError {
        PageError {
            message,
            unreachable,
        }
    }

    /// The index answered, with something unusable.
    fn answered(message: String) -> PageError {
        PageError {
            message,
            unreachable: false,
        }
    }

    /// Whether the index gave no answer at all (not just a bad one for this page).
    pub fn unreachable(&self) -> bool {
        self.unreachable
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<PageError> for String {
    fn from(e: PageError) -> String {
        e.message
    }
}

/// GET `<index_url>/<normalized project>/` with the PEP 691 `Accept` header
/// and parse it by its `Content-Type`. Errors name the (redacted) URL and
/// the HTTP status.
pub fn fetch_project_page(
    agent: &Agent,
    index_url: &str,
    project: &str,
) -> Result<Vec<IndexFile>, PageError> {
    fetch_project_page_opt(agent, index_url, project)?.ok_or_else(|| {
        PageError::answered(format!(
            "the index {} has no project {project:?} (HTTP 404 for {}); check the name and the index URL",
            redact_url(index_url),
            redact_url(&project_page_url(index_url, project))
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn page_url_is_normalized() {
        assert_eq!(
            project_page_url("https://index.example.com/simple/", "Foo_Bar.baz"),
            "https://index.example.com/simple/foo-bar-baz/"
        );
        assert_eq!(
            project_page_url("https://index.example.com/simple", "x"),
            "https://index.example.com/simple/x/"
        );
    }

    #[test]
    fn refuses_downgraded_links() {
        assert!(check_not_downgraded(
            "https://index.example.com/s/",
            "http://files.example.com/a.whl"
        )
        .is_err());
        assert!(check_not_downgraded(
            "HTTPS://index.example.com/s/",
            "HTTP://files.example.com/a.whl"
        )
        .is_err());
        assert!(check_not_downgraded(
            "https://index.example.com/s/",
            "https://files.example.com/a.whl"
        )
        .is_ok());
        assert!(check_not_downgraded(
            "http://index.example.com/s/",
            "http://files.example.com/a.whl"
        )
        .is_ok());
        let e = check_not_downgraded(
            "https://u:pw@index.example.com/s/",
            "http://files.example.com/a.whl",
        )
        .unwrap_err();
        assert!(!e.contains("pw") && e.contains("plain http"), "{e}");
    }

    #[test]
    fn parses_json_pages() {
        let body = format!(
            r#"{{"meta": {{"api-version": "1.1", "_private": 1}}, "name": "foo",
               "files": [
                 {{"filename": "foo-1.0-py3-none-any.whl", "url": "../../packages/foo-1.0-py3-none-any.whl#sha256=ignored",
                   "hashes": {{"sha256": "{}"}}, "requires-python": ">=3.8", "size": 123, "yanked": false, "unknown": 1}},
                 {{"filename": "foo-1.0.tar.gz", "url": "https://files.example.com/foo-1.0.tar.gz", "hashes": {{}},
                   "yanked": "broken"}},
                 {{"filename": "foo-0.9.tar.gz", "url": "x/foo-0.9.tar.gz#sha256={H}", "hashes": {{"md5": "00"}}}}
               ], "versions": ["1.0"]}}"#,
            H.to_uppercase()
        );
        let files = parse_project_page(
            body.as_bytes(),
            "application/vnd.pypi.simple.v1+json; charset=utf-8",
            "https://index.example.com/simple/foo/",
        )
        .unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(
            files[0],
            IndexFile {
                filename: "foo-1.0-py3-none-any.whl".into(),
                url: "https://index.example.com/packages/foo-1.0-py3-none-any.whl".into(),
                sha256: Some(H.into()),
                size: Some(123),
                requires_python: Some(">=3.8".into()),
                yanked: false,
            }
        );
        assert!(files[1].yanked);
        assert_eq!(files[1].sha256, None);
        assert_eq!(
            files[2].url,
            "https://index.example.com/simple/foo/x/foo-0.9.tar.gz"
        );
        assert_eq!(files[2].sha256.as_deref(), Some(H));
    }

    #[test]
    fn rejects_unknown_major_versions() {
        let body = br#"{"meta": {"api-version": "2.0"}, "files": []}"#;
        let e = parse_project_page(
            body,
            "application/vnd.pypi.simple.v1+json",
            "https://index.example.com/s/foo/",
        )
        .unwrap_err();
        assert!(e.contains("2.0"), "{e}");
        let html =
            br#"<html><head><meta name="pypi:repository-version" content="3.0"></head></html>"#;
        assert!(parse_project_page(html, "text/html", "https://index.example.com/s/foo/").is_err());
        let e = parse_project_page(
            b"{}",
            "application/vnd.pypi.simple.v2+json",
            "https://index.example.com/s/foo/",
        )
        .unwrap_err();
        assert!(e.contains("v2+json"), "{e}");
        let e = parse_project_page(
            b"",
            "image/png",
            "https://u:secret@index.example.com/s/foo/",
        )
        .unwrap_err();
        assert!(e.contains("image/png") && !e.contains("secret"), "{e}");
    }

    #[test]
    fn parses_html_pages() {
        let html = format!(
            r#"<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.4"><title>Links for foo</title></head>
<body><h1>Links for foo</h1>
<!-- <a href="commented-out.whl">nope</a> -->
<a href="../../packages/foo-1.0-py3-none-any.whl#sha256={H}" data-requires-python="&gt;=3.8,&lt;4" >foo-1.0-py3-none-any.whl</a><br/>
<A HREF='https://files.example.com/foo-0.9.tar.gz#md5=00' data-yanked>foo-0.9.tar.gz</A>
<a data-yanked="bad &amp; sad" href=/abs/foo-0.8-py2.py3-none-any.whl?a=1&amp;b=2>
   foo-0.8-py2.py3-none-any.whl </a>
<a href="a%2Bb-1.0-py3-none-any.whl"></a>
</body></html>"#
        );
        let files = parse_project_page(
            html.as_bytes(),
            "text/html",
            "https://index.example.com/simple/foo/",
        )
        .unwrap();
        assert_eq!(files.len(), 4, "{files:?}");
        assert_eq!(
            files[0].url,
            "https://index.example.com/packages/foo-1.0-py3-none-any.whl"
        );
        assert_eq!(files[0].sha256.as_deref(), Some(H));
        assert_eq!(files[0].requires_python.as_deref(), Some(">=3.8,<4"));
        assert!(!files[0].yanked);
        assert_eq!(files[1].filename, "foo-0.9.tar.gz");
        assert_eq!(files[1].sha256, None);
        assert!(files[1].yanked);
        assert_eq!(files[2].filename, "foo-0.8-py2.py3-none-any.whl");
        assert_eq!(
            files[2].url,
            "https://index.example.com/abs/foo-0.8-py2.py3-none-any.whl?a=1&b=2"
        );
        assert!(files[2].yanked);
        assert_eq!(files[3].filename, "a+b-1.0-py3-none-any.whl");
        assert_eq!(
            files[3].url,
            "https://index.example.com/simple/foo/a%2Bb-1.0-py3-none-any.whl"
        );
    }

    #[test]
    fn honours_base_and_sniffs() {
        let html = br#"<base href="https://mirror.example.com/files/"><a href="x.whl">x.whl</a>"#;
        let files = parse_project_page(html, "", "https://index.example.com/simple/x/").unwrap();
        assert_eq!(files[0].url, "https://mirror.example.com/files/x.whl");
        let json = br#" {"meta": {"api-version": "1.0"}, "files": [{"filename": "x.whl", "url": "x.whl", "hashes": {}}]}"#;
        let files = parse_project_page(
            json,
            "application/octet-stream",
            "https://index.example.com/simple/x/",
        )
        .unwrap();
        assert_eq!(files[0].url, "https://index.example.com/simple/x/x.whl");
    }

    #[test]
    fn unescapes() {
        assert_eq!(
            html_unescape("&lt;3&#44;&#x3E;1 &amp;&unknown; &"),
            "<3,>1 &&unknown; &"
        );
    }

    #[test]
    fn unescape_does_not_cut_a_character() {
        // Found by the `index` fuzz target: the `;` search window (12 bytes)
        // ended inside the multi-byte character, and slicing there panicked.
        assert_eq!(
            html_unescape("&#xZZ;&unk\u{fffd}nown;"),
            "&#xZZ;&unk\u{fffd}nown;"
        );
        assert_eq!(html_unescape("&ampxxxxxxx\u{e9};"), "&ampxxxxxxx\u{e9};");
        let page = "<a href=\"x.whl\">&#xZZ;&unk\u{fffd}nown;</a>";
        let files =
            parse_project_page(page.as_bytes(), "text/html", "https://i.example.com/s/x/").unwrap();
        assert_eq!(files[0].filename, "&#xZZ;&unk\u{fffd}nown;");
    }

    #[test]
    fn a_nameless_attribute_does_not_cut_a_character() {
        // Found by the `index` fuzz target: after a nameless `="value"` the tag
        // parser skipped one byte, into the character that followed, and
        // slicing the next attribute name there panicked.
        let page = "<b=\"/m/\"\u{fffd}\u{fffd}><a =\"x\" href=\"y.whl\">y.whl</a>";
        let files =
            parse_project_page(page.as_bytes(), "text/html", "https://i.example.com/s/x/").unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].url, "https://i.example.com/s/x/y.whl");
        // A nameless attribute right before `>` no longer swallows the `>`.
        let page = "<a href=\"z.whl\" =\"x\">shown</a>";
        let files =
            parse_project_page(page.as_bytes(), "text/html", "https://i.example.com/s/x/").unwrap();
        assert_eq!(files[0].filename, "shown");
    }
}
