//! The hashed requirements-file parser, with pip's rules: decoding,
//! `\` continuations, comments, `${VAR}` expansion, per-line options and
//! `name==version` / `name @ url` requirements. Pure: the hashes are mapped
//! to files by [`super::resolve`].

use super::{has_scheme, parse_wheel_filename, validate_marker};
use crate::shell;
use dpex_launcher::net::url::{basename, redact_url};
use dpex_launcher::standards::digest::Sha256Hex;
use dpex_launcher::standards::version::{is_valid_name, normalize_name, Version};

const RELOCK_REQS: &str = "generate a fully pinned, hashed file with `uv pip compile --generate-hashes`, \
                           `uv export --format requirements-txt` or `pip-compile --generate-hashes`";

/// One pinned, hashed line of a requirements file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinnedRequirement {
    /// Line number (1-based) of the first physical line.
    pub line: usize,
    /// The project name as written.
    pub name: String,
    /// Extras as written (`name[a,b]`).
    pub extras: Vec<String>,
    /// The `==` version (for a direct URL: the wheel file name's version).
    pub version: String,
    /// A direct URL requirement (`name @ https://…/x.whl`), credentials and
    /// fragment kept as written.
    pub url: Option<String>,
    pub marker: Option<String>,
    /// Lowercase hex sha256 values from `--hash=sha256:…` (and a URL's
    /// `#sha256=` fragment).
    pub hashes: Vec<Sha256Hex>,
}

impl PinnedRequirement {
    /// `name[extras]==version; marker`.
    pub fn to_requirement_string(&self) -> String {
        let mut s = normalize_name(&self.name);
        if !self.extras.is_empty() {
            s.push('[');
            s.push_str(&self.extras.join(","));
            s.push(']');
        }
        s.push_str("==");
        s.push_str(&self.version);
        if let Some(m) = &self.marker {
            s.push_str("; ");
            s.push_str(m);
        }
        s
    }
}

/// A parsed requirements file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequirementsFile {
    pub requirements: Vec<PinnedRequirement>,
    /// The last `-i/--index-url` line.
    pub index_url: Option<String>,
    /// `--extra-index-url` lines, in order.
    pub extra_index_urls: Vec<String>,
    pub warnings: Vec<String>,
}

/// Decode a requirements file: UTF-8 (BOM optional), UTF-16 with BOM, or a
/// PEP 263 `coding:` comment naming latin-1 in the first two lines.
pub fn decode_requirements(bytes: &[u8]) -> Result<String, String> {
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        return String::from_utf8(rest.to_vec()).map_err(|e| format!("it is not valid UTF-8: {e}"));
    }
    let utf16 = |rest: &[u8], be: bool| {
        let units: Vec<u16> = rest
            .chunks(2)
            .map(|c| {
                let pair = [c[0], *c.get(1).unwrap_or(&0)];
                if be {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                }
            })
            .collect();
        String::from_utf16(&units).map_err(|e| format!("it is not valid UTF-16: {e}"))
    };
    if let Some(rest) = bytes.strip_prefix(b"\xff\xfe") {
        return utf16(rest, false);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xfe\xff") {
        return utf16(rest, true);
    }
    // PEP 263 declaration in the first two lines.
    for line in bytes.split(|b| *b == b'\n').take(2) {
        let line = String::from_utf8_lossy(line);
        if !line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(i) = line.find("coding") {
            let rest = line[i + 6..].trim_start_matches([':', '=']).trim_start();
            let enc: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            let enc = enc.to_ascii_lowercase().replace('_', "-");
            match enc.as_str() {
                "" | "utf-8" | "utf8" | "ascii" | "us-ascii" => {}
                "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" => {
                    return Ok(bytes.iter().map(|&b| b as char).collect());
                }
                other => {
                    return Err(format!(
                        "it declares the encoding {other:?}; save it as UTF-8"
                    ))
                }
            }
        }
    }
    String::from_utf8(bytes.to_vec())
        .map_err(|e| format!("it is not valid UTF-8 ({e}); save it as UTF-8"))
}

/// pip's `COMMENT_RE.match`: a line that starts (after optional whitespace) with `#`.
fn is_comment_line(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// pip's `join_lines`: join `\` continuations; yields (first line number, text).
fn join_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if !line.ends_with('\\') || is_comment_line(line) {
            let line = if is_comment_line(line) {
                format!(" {line}")
            } else {
                line.to_string()
            };
            match pending.take() {
                Some((first, mut acc)) => {
                    acc.push_str(&line);
                    out.push((first, acc));
                }
                None => out.push((n, line)),
            }
        } else {
            let stripped = line.trim_matches('\\');
            match &mut pending {
                Some((_, acc)) => acc.push_str(stripped),
                None => pending = Some((n, stripped.to_string())),
            }
        }
    }
    if let Some(p) = pending {
        out.push(p);
    }
    out
}

/// pip's `COMMENT_RE.sub("", line).strip()`: `(^|\s+)#.*$`.
fn strip_comment(line: &str) -> String {
    let b = line.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'#' && (i == 0 || b[i - 1].is_ascii_whitespace()) {
            return line[..i].trim().to_string();
        }
    }
    line.trim().to_string()
}

/// Expand `${UPPER_NAME}` from `env`, leaving unset/empty ones as written.
fn expand_env(line: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after.find('}');
        let name = end.map(|e| &after[..e]);
        match name {
            Some(n)
                if !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') =>
            {
                match env(n).filter(|v| !v.is_empty()) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push_str("${");
                        out.push_str(n);
                        out.push('}');
                    }
                }
                rest = &after[n.len() + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Options that take a value (pip's `SUPPORTED_OPTIONS` and per-requirement ones).
const VALUE_OPTIONS: &[&str] = &[
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "--trusted-host",
    "--only-binary",
    "--no-binary",
    "--use-feature",
    "--all-releases",
    "--only-final",
    "--hash",
    "-C",
    "--config-settings",
    "--global-option",
    "--install-option",
];

/// Split option tokens into (option, value) pairs the way optparse would.
fn parse_options(tokens: &[String]) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        i += 1;
        if let Some(long) = t.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (format!("--{n}"), Some(v.to_string())),
                None => (t.clone(), None),
            };
            if VALUE_OPTIONS.contains(&name.as_str()) && inline.is_none() {
                let Some(v) = tokens.get(i) else {
                    return Err(format!("option {name} needs a value"));
                };
                i += 1;
                out.push((name, Some(v.clone())));
            } else {
                out.push((name, inline));
            }
        } else if t.starts_with('-') && t.len() >= 2 {
            // `-` and one character (not two bytes: that may split a character).
            let split = 1 + t[1..].chars().next().map_or(0, char::len_utf8);
            let name = t[..split].to_string();
            let attached = &t[split..];
            if VALUE_OPTIONS.contains(&name.as_str()) {
                if !attached.is_empty() {
                    out.push((name, Some(attached.to_string())));
                } else {
                    let Some(v) = tokens.get(i) else {
                        return Err(format!("option {name} needs a value"));
                    };
                    i += 1;
                    out.push((name, Some(v.clone())));
                }
            } else {
                out.push((t.clone(), None));
            }
        } else {
            return Err(format!("unexpected {t:?} among the options"));
        }
    }
    Ok(out)
}

/// `sha256:<hex>` -> lowercase hex.
fn parse_hash(value: &str) -> Result<Sha256Hex, String> {
    let Some((algo, hex)) = value.split_once(':') else {
        return Err(format!(
            "--hash={value} is not `<algorithm>:<hex digest>`; {RELOCK_REQS}"
        ));
    };
    let algo = algo.to_ascii_lowercase();
    match algo.as_str() {
        "sha256" => Sha256Hex::parse_any_case(hex).map_err(|_| {
            format!("--hash={value} is not a sha256 digest (64 hex digits); {RELOCK_REQS}")
        }),
        "sha384" | "sha512" => Err(format!(
            "--hash={value} uses {algo}, but dpex needs sha256 hashes (what indexes publish and what the \
             launcher verifies); {RELOCK_REQS} (they write sha256)"
        )),
        _ => Err(format!(
            "--hash={value} uses {algo}, which is too weak to pin a file; dpex needs sha256; {RELOCK_REQS}"
        )),
    }
}

/// Parse the requirement part of a line: `name[extras] ==version ; marker`
/// or `name[extras] @ url ; marker`, or a bare wheel URL.
fn parse_requirement_spec(args: &str) -> Result<PinnedRequirement, String> {
    let args = args.trim();
    // A bare URL or path.
    let first = args
        .split(|c: char| c.is_whitespace() || c == ';')
        .next()
        .unwrap_or("");
    let bare = !first.contains('@')
        && (has_scheme(first).is_some()
            || first.starts_with(['.', '/', '~'])
            || first.contains(['/', '\\']));
    if bare {
        let (url, marker) = split_url_marker(args);
        return url_requirement(None, Vec::new(), url, marker);
    }
    let name_end = args
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(args.len());
    let name = &args[..name_end];
    if !is_valid_name(name) {
        return Err("it does not start with a valid project name".to_string());
    }
    let mut rest = args[name_end..].trim_start();
    let mut extras = Vec::new();
    if let Some(r) = rest.strip_prefix('[') {
        let Some(close) = r.find(']') else {
            return Err("its extras `[` is not closed".to_string());
        };
        for e in r[..close].split(',') {
            let e = e.trim();
            if !e.is_empty() {
                if !is_valid_name(e) {
                    return Err(format!("{e:?} is not a valid extra name"));
                }
                extras.push(e.to_string());
            }
        }
        rest = r[close + 1..].trim_start();
    }
    if let Some(r) = rest.strip_prefix('@') {
        let (url, marker) = split_url_marker(r.trim_start());
        return url_requirement(Some(name), extras, url, marker);
    }
    let (spec, marker) = match rest.split_once(';') {
        Some((s, m)) => (s.trim(), Some(m.trim())),
        None => (rest.trim(), None),
    };
    let marker = marker.filter(|m| !m.is_empty()).map(str::to_string);
    if let Some(m) = &marker {
        validate_marker(m).map_err(|e| format!("it has an {e}"))?;
    }
    let spec = spec
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(spec)
        .trim();
    let clauses: Vec<&str> = spec
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let pinned = match clauses.as_slice() {
        [one] => {
            let v = one.strip_prefix("===").or_else(|| one.strip_prefix("=="));
            v.map(str::trim)
                .filter(|v| !v.is_empty() && !v.contains('*') && !v.contains(char::is_whitespace))
        }
        _ => None,
    };
    let Some(version) = pinned else {
        return Err(format!(
            "it is not pinned to one version with `==` ({}); dpex packs a fully locked set: {RELOCK_REQS}",
            if spec.is_empty() { "no version given".to_string() } else { format!("found {spec:?}") }
        ));
    };
    if spec.starts_with("==") && !spec.starts_with("===") {
        Version::parse(version).map_err(|e| format!("its version is not valid: {e}"))?;
    }
    Ok(PinnedRequirement {
        line: 0,
        name: name.to_string(),
        extras,
        version: version.to_string(),
        url: None,
        marker,
        hashes: Vec::new(),
    })
}

/// `url ; marker` (PEP 508 wants whitespace before the `;` after a URL).
fn split_url_marker(s: &str) -> (&str, Option<String>) {
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    let url = &s[..end];
    let rest = s[end..].trim();
    let marker = rest
        .strip_prefix(';')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string);
    (url, marker)
}

fn url_requirement(
    name: Option<&str>,
    extras: Vec<String>,
    url: &str,
    marker: Option<String>,
) -> Result<PinnedRequirement, String> {
    match has_scheme(url).map(|s| s.to_ascii_lowercase()) {
        Some(s) if s == "https" || s == "http" || s == "file" => {}
        Some(s)
            if s.starts_with("git+")
                || s.starts_with("hg+")
                || s.starts_with("svn+")
                || s.starts_with("bzr+") =>
        {
            return Err(
                "it is a VCS requirement, but dpex needs wheels: build a wheel, host it on an \
                        index and re-lock"
                    .to_string(),
            )
        }
        _ => return Err(
            "it is a local path; dpex records URLs the launcher downloads at run time: host the \
                        wheel on an index or a web server and pin it by URL or version"
                .to_string(),
        ),
    }
    if let Some(m) = &marker {
        validate_marker(m).map_err(|e| format!("it has an {e}"))?;
    }
    let (bare, fragment) = match url.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (url, None),
    };
    let Some(filename) = basename(bare) else {
        return Err(format!(
            "cannot take a file name from the URL {}",
            redact_url(url)
        ));
    };
    if !filename.ends_with(".whl") {
        return Err(format!(
            "{filename} is not a wheel; dpex needs wheels: the launcher installs prebuilt wheels and never builds"
        ));
    }
    let (wheel_name, version) = parse_wheel_filename(&filename)?;
    if let Some(n) = name {
        if normalize_name(n) != wheel_name {
            return Err(format!(
                "it names {n} but the URL points at a wheel of {wheel_name}"
            ));
        }
    }
    let mut hashes = Vec::new();
    if let Some(f) = fragment {
        for part in f.split('&') {
            if let Some((algo, hex)) = part.split_once('=') {
                hashes.push(parse_hash(&format!("{algo}:{hex}"))?);
            }
        }
    }
    Ok(PinnedRequirement {
        line: 0,
        name: name.map(str::to_string).unwrap_or(wheel_name),
        extras,
        version,
        url: Some(url.to_string()),
        marker,
        hashes,
    })
}

/// Parse a requirements file's text with pip's rules, reading `${VAR}` from
/// the process environment. Errors start with `line N:`.
pub fn parse_requirements_text(text: &str) -> Result<RequirementsFile, String> {
    parse_requirements_text_with_env(text, &|name| std::env::var(name).ok())
}

/// [`parse_requirements_text`] with an explicit environment lookup.
pub fn parse_requirements_text_with_env(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<RequirementsFile, String> {
    let mut file = RequirementsFile::default();
    for (n, joined) in join_lines(text) {
        let shown = strip_comment(&joined);
        if shown.is_empty() {
            continue;
        }
        let line = expand_env(&shown, env);
        let err = |msg: String| format!("line {n}: `{}`: {msg}", redact_url(&shown));
        // Split at the first space-separated token that starts with `-`.
        let tokens: Vec<&str> = line.split(' ').collect();
        let first_opt = tokens
            .iter()
            .position(|t| t.starts_with('-'))
            .unwrap_or(tokens.len());
        let args = tokens[..first_opt].join(" ");
        let opts_text = tokens[first_opt..].join(" ");
        let opt_tokens =
            shell::split(&opts_text).map_err(|e| err(format!("its options have {e}")))?;
        let options = parse_options(&opt_tokens).map_err(err)?;

        if args.trim().is_empty() {
            for (opt, value) in options {
                let value = value.unwrap_or_default();
                match opt.as_str() {
                    "-i" | "--index-url" => file.index_url = Some(value),
                    "--extra-index-url" => file.extra_index_urls.push(value),
                    "-e" | "--editable" => {
                        return Err(err(format!(
                            "editable requirements are not supported: dpex packs wheels; build a wheel of \
                             {value} and pin it by version and hash"
                        )))
                    }
                    "-r" | "--requirement" => {
                        return Err(err(format!(
                            "nested requirement files are not supported: pass one flattened file \
                             (merge {value} into it, or compile them together)"
                        )))
                    }
                    "--hash" => {
                        return Err(err(
                            "--hash must be on the same logical line as its requirement (check the `\\` \
                             line continuations)"
                                .to_string(),
                        ))
                    }
                    "--require-hashes" | "--no-require-hashes" => {}
                    other => file.warnings.push(format!("line {n}: option {other} is ignored by dpex")),
                }
            }
            continue;
        }

        let mut req = parse_requirement_spec(&args).map_err(err)?;
        req.line = n;
        for (opt, value) in options {
            match opt.as_str() {
                "--hash" => {
                    let h = parse_hash(value.as_deref().unwrap_or("")).map_err(err)?;
                    if !req.hashes.contains(&h) {
                        req.hashes.push(h);
                    }
                }
                "-C" | "--config-settings" => {}
                other => file
                    .warnings
                    .push(format!("line {n}: option {other} is ignored by dpex")),
            }
        }
        if req.hashes.is_empty() {
            return Err(err(format!(
                "it has no --hash=sha256:…; dpex verifies every wheel against the lock's hashes: {RELOCK_REQS}"
            )));
        }
        if req.url.is_some() && req.hashes.len() > 1 {
            return Err(err(
                "a direct URL names one file, so give exactly one sha256 hash for it".to_string(),
            ));
        }
        file.requirements.push(req);
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::test_support::{parse, H1, H2, H3};

    #[test]
    fn parses_requirements() {
        let text = format!(
            "# comment\n\
             --index-url https://${{TOKEN}}@private.example.com/simple\n\
             --extra-index-url=https://extra.example.com/simple  # trailing comment\n\
             \n\
             colorama==0.4.6 ; sys_platform == 'win32' \\\n    --hash=sha256:{H1} \\\n    --hash=sha256:{}\n\
             requests[socks, security]==2.32.3 \\\n    --hash=sha256:{H2}\n    # via something\n\
             Foo.Bar == 1.0  --hash sha256:{H3}  # pinned\n\
             --trusted-host private.example.com\n\
             baz @ https://index.example.com/w/baz-2.0-py3-none-any.whl#sha256={H3} ; python_version < \"3.12\"\n",
            H2.to_uppercase()
        );
        let f = parse(&text).unwrap();
        assert_eq!(
            f.index_url.as_deref(),
            Some("https://s3cret@private.example.com/simple")
        );
        assert_eq!(
            f.extra_index_urls,
            vec!["https://extra.example.com/simple".to_string()]
        );
        assert_eq!(f.warnings.len(), 1, "{:?}", f.warnings);
        assert!(f.warnings[0].starts_with("line 12:") && f.warnings[0].contains("--trusted-host"));
        let r = &f.requirements;
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].line, 5);
        assert_eq!(r[0].name, "colorama");
        assert_eq!(r[0].version, "0.4.6");
        assert_eq!(r[0].marker.as_deref(), Some("sys_platform == 'win32'"));
        assert_eq!(r[0].hashes, vec![H1.to_string(), H2.to_string()]);
        assert_eq!(
            r[1].extras,
            vec!["socks".to_string(), "security".to_string()]
        );
        assert_eq!(r[1].line, 8, "{r:?}");
        assert_eq!(r[2].line, 11, "{r:?}");
        assert_eq!(r[2].name, "Foo.Bar");
        assert_eq!(r[2].to_requirement_string(), "foo-bar==1.0");
        assert_eq!(
            r[3].url.as_deref(),
            Some(&*format!(
                "https://index.example.com/w/baz-2.0-py3-none-any.whl#sha256={H3}"
            ))
        );
        assert_eq!(r[3].version, "2.0");
        assert_eq!(r[3].hashes, vec![H3.to_string()]);
        assert_eq!(
            r[3].to_requirement_string(),
            "baz==2.0; python_version < \"3.12\""
        );
    }

    #[test]
    fn comment_lines_break_continuations_like_pip() {
        // pip: a `#` line is never a continuation, so the `--hash` after it
        // stands alone and is an error.
        let text = format!("requests==2.32.3 \\\n    # via x\n    --hash=sha256:{H2}\n");
        let e = parse(&text).unwrap_err();
        assert!(
            e.contains("has no --hash") && e.starts_with("line 1:"),
            "{e}"
        );
        let text = format!("requests==2.32.3 --hash=sha256:{H1} \\\n    # via x\n");
        assert_eq!(parse(&text).unwrap().requirements.len(), 1);
    }

    #[test]
    fn requirement_errors() {
        let cases = [
            (
                "requests>=2.0 --hash=sha256:".to_string() + H1,
                "not pinned",
            ),
            (
                "requests --hash=sha256:".to_string() + H1,
                "no version given",
            ),
            (
                "requests==2.*  --hash=sha256:".to_string() + H1,
                "not pinned",
            ),
            (
                "requests==2.0,<3 --hash=sha256:".to_string() + H1,
                "not pinned",
            ),
            ("requests==2.0".to_string(), "has no --hash"),
            (
                "requests==2.0 ; python_version >>> '3' --hash=sha256:".to_string() + H1,
                "invalid marker",
            ),
            (
                "requests==two --hash=sha256:".to_string() + H1,
                "version is not valid",
            ),
            (
                "requests==2.0 --hash=sha512:abcd".to_string(),
                "needs sha256",
            ),
            ("requests==2.0 --hash=md5:abcd".to_string(), "too weak"),
            ("requests==2.0 --hash=sha256:abcd".to_string(), "64 hex"),
            ("-e ./src".to_string(), "editable"),
            ("-r other.txt".to_string(), "nested requirement files"),
            (
                "foo @ https://index.example.com/foo-1.0-py3-none-any.whl".to_string(),
                "has no --hash",
            ),
            (
                "foo @ https://index.example.com/foo-1.0.tar.gz --hash=sha256:".to_string() + H1,
                "dpex needs wheels",
            ),
            (
                "foo @ git+https://index.example.com/foo.git --hash=sha256:".to_string() + H1,
                "VCS",
            ),
            (
                "./dist/foo-1.0-py3-none-any.whl --hash=sha256:".to_string() + H1,
                "local path",
            ),
            ("--hash=sha256:".to_string() + H1, "same logical line"),
        ];
        for (line, want) in cases {
            let text = format!("# header\n{line}\n");
            let e = parse(&text).unwrap_err();
            assert!(
                e.contains(want) && e.starts_with("line 2:"),
                "want {want:?} in: {e}"
            );
        }
        // Secrets from the environment never appear in errors.
        let e = parse(&format!(
            "foo @ https://${{TOKEN}}@index.example.com/foo-1.0.tar.gz --hash=sha256:{H1}\n"
        ))
        .unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn env_expansion_follows_pip() {
        let env = |n: &str| match n {
            "A_1" => Some("x".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        assert_eq!(
            expand_env("${A_1}/${EMPTY}/${UNSET}/${lower}/$A_1/${", &env),
            "x/${EMPTY}/${UNSET}/${lower}/$A_1/${"
        );
    }

    #[test]
    fn short_options_split_at_characters_not_bytes() {
        // Found by fuzzing (fuzz/fuzz_targets/requirements.rs): `t[..2]` of
        // `-㘹…` panicked inside the multi-byte character.
        let file = parse("-\u{3639}x\n").unwrap();
        assert_eq!(
            file.warnings,
            ["line 1: option -\u{3639}x is ignored by dpex"]
        );
        let file = parse(&format!("a==1 --hash=sha256:{} -\u{e9}\n", "a".repeat(64))).unwrap();
        assert!(
            file.warnings.iter().any(|w| w.contains("-\u{e9}")),
            "{:?}",
            file.warnings
        );
        assert_eq!(
            parse_options(&["-\u{e9}x".into()]).unwrap(),
            [("-\u{e9}x".into(), None)]
        );
        assert_eq!(
            parse_options(&["-ihttps://index.example.com/simple".into()]).unwrap(),
            [("-i".into(), Some("https://index.example.com/simple".into()))]
        );
    }

    #[test]
    fn options_are_split_like_shlex() {
        // pip splits a line's options (from the first `-` word on) with
        // `shlex.split` (see crate::shell).
        let file = parse(&format!(
            "a==1 --hash='sha256:{H1}' \"--hash\" sha256:{H2}\n"
        ))
        .unwrap();
        assert_eq!(
            file.requirements[0].hashes,
            vec![H1.to_string(), H2.to_string()]
        );
        let e = parse(&format!("a==1 --hash=sha256:{H1} \\ # note\n")).unwrap_err();
        assert!(
            e.starts_with("line 1:") && e.contains("its options have a trailing"),
            "{e}"
        );
        let e = parse(&format!("a==1 --hash='sha256:{H1}\n")).unwrap_err();
        assert!(e.contains("its options have an unclosed ' quote"), "{e}");
    }

    #[test]
    fn decodes() {
        assert_eq!(decode_requirements(b"\xef\xbb\xbfa==1").unwrap(), "a==1");
        assert_eq!(decode_requirements(b"\xff\xfea\0=\0").unwrap(), "a=");
        assert_eq!(
            decode_requirements(b"# -*- coding: latin-1 -*-\n\xe9").unwrap(),
            "# -*- coding: latin-1 -*-\n\u{e9}"
        );
        assert!(decode_requirements(b"\xe9").is_err());
    }
}
