//! The packer's lock input: a `pylock.toml` (PEP 751) or a pip requirements
//! file with `--hash` pins, turned into the wheels the launcher fetches.
//!
//! pylock.toml names every wheel file (URL, sha256, size): reading it needs no
//! network. A hashed requirements.txt only pins versions and hashes, so each
//! hash is mapped to a file through the index's project page (first index
//! that has the project wins, to avoid dependency confusion).

use dpex_launcher::format::pexinfo::{DehydratedRequirement, LockedWheel};
use dpex_launcher::net::http::{redact_url, Agent};
use dpex_launcher::net::index::{self, IndexFile};
use dpex_launcher::standards::digest::Sha256Hex;
use dpex_launcher::standards::marker;
use dpex_launcher::standards::version::{
    is_valid_name, normalize_name, Version, VersionSpecifiers,
};
use dpex_launcher::standards::wheel::WheelName;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// What the packer records from a lock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockInput {
    /// Every locked package, with all its wheels.
    pub packages: Vec<DehydratedRequirement>,
    /// PEP 508 strings (`name==version; marker`), sorted: pex's `requirements`.
    pub direct_requirements: Vec<String>,
    /// The lock's top-level `requires-python` (pylock.toml only).
    pub requires_python: Option<String>,
    /// Things the user should know (credentials removed, yanked files, ...).
    pub warnings: Vec<String>,
}

const RELOCK_PYLOCK: &str =
    "re-create the lock with `uv export --format pylock.toml`, `uv pip compile -o pylock.toml` \
                             or `pip lock`";
const RELOCK_REQS: &str = "generate a fully pinned, hashed file with `uv pip compile --generate-hashes`, \
                           `uv export --format requirements-txt` or `pip-compile --generate-hashes`";

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/// (normalized name, version as written) of a wheel file name; the error
/// says what is wrong with it.
fn parse_wheel_filename(filename: &str) -> Result<(String, String), String> {
    let w = WheelName::parse(filename)?;
    Ok((w.normalized_name(), w.version))
}

/// PEP 440 equality (`1.0 == 1.0.0`, local labels included); plain string
/// equality when either side does not parse.
fn same_version(a: &str, b: &str) -> bool {
    match (Version::parse(a), Version::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.trim() == b.trim(),
    }
}

fn validate_marker(m: &str) -> Result<(), String> {
    marker::parse(m).map(|_| ())
}

/// `https://u:p@index.example.com/x` -> `https://index.example.com/x`, with a warning naming `what`.
fn strip_credentials(url: &str, what: &str, warnings: &mut Vec<String>) -> String {
    let (stripped, had) = index::strip_userinfo(url);
    if had {
        warnings.push(format!(
            "{what}: the URL {} contains credentials; dpex recorded it without them, so the launcher \
             needs another way to authenticate to that host (or a public mirror) at run time",
            redact_url(url)
        ));
    }
    stripped
}

fn has_scheme(url: &str) -> Option<&str> {
    // `scheme://...`: the scheme as written.
    let parsed = dpex_launcher::net::url::Url::parse(url).filter(|u| u.has_authority())?;
    Some(&url[..parsed.scheme().len()])
}

// ---------------------------------------------------------------------------
// pylock.toml
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct PylockDoc {
    #[serde(rename = "lock-version")]
    lock_version: Option<String>,
    #[serde(rename = "requires-python")]
    requires_python: Option<String>,
    packages: Option<Vec<PylockPackage>>,
}

#[derive(Deserialize)]
struct PylockPackage {
    name: Option<String>,
    version: Option<String>,
    marker: Option<String>,
    #[serde(rename = "requires-python")]
    requires_python: Option<String>,
    dependencies: Option<Vec<toml::Table>>,
    vcs: Option<toml::Value>,
    directory: Option<toml::Value>,
    archive: Option<toml::Value>,
    sdist: Option<toml::Value>,
    wheels: Option<Vec<PylockWheel>>,
}

#[derive(Deserialize)]
struct PylockWheel {
    name: Option<String>,
    url: Option<String>,
    path: Option<String>,
    size: Option<u64>,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
}

/// Read a `pylock.toml` (or `pylock.<name>.toml`).
pub fn read_pylock(path: &Path) -> Result<LockInput, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("could not read the lock file {}: {e}", path.display()))?;
    parse_pylock(&text, &path.display().to_string())
}

/// Parse pylock.toml text; `source` names the file in messages.
pub fn parse_pylock(text: &str, source: &str) -> Result<LockInput, String> {
    let doc: PylockDoc = toml::from_str(text).map_err(|e| {
        format!(
            "{source} is not a valid pylock.toml: {}",
            e.to_string().trim_end()
        )
    })?;
    let mut warnings = Vec::new();

    let Some(lock_version) = doc.lock_version else {
        return Err(format!(
            "{source} has no `lock-version`, so it is not a PEP 751 lock file; {RELOCK_PYLOCK}"
        ));
    };
    let mut parts = lock_version.trim().split('.');
    let major = parts.next().and_then(|m| m.parse::<u32>().ok());
    let minor = parts
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0);
    match major {
        Some(1) => {
            if minor > 0 {
                warnings.push(format!(
                    "{source}: lock-version {lock_version} is newer than the 1.0 dpex knows; keys dpex \
                     does not know are ignored"
                ));
            }
        }
        _ => {
            return Err(format!(
                "{source} has lock-version {lock_version:?}, but dpex reads only pylock.toml version 1.x; \
                 export a version 1 lock, or upgrade dpex"
            ))
        }
    }
    if let Some(rp) = &doc.requires_python {
        VersionSpecifiers::parse(rp).map_err(|e| {
            format!("{source} has an invalid requires-python {rp:?}: {e}; {RELOCK_PYLOCK}")
        })?;
    }
    let Some(raw_packages) = doc.packages else {
        return Err(format!(
            "{source} has no [[packages]] table; {RELOCK_PYLOCK}"
        ));
    };

    let mut packages = Vec::new();
    let mut depended_on = BTreeSet::new();
    let mut any_dependencies = false;
    for (i, p) in raw_packages.into_iter().enumerate() {
        let Some(raw_name) = p.name.as_deref().filter(|n| !n.trim().is_empty()) else {
            return Err(format!(
                "{source}: package #{} has no `name`; {RELOCK_PYLOCK}",
                i + 1
            ));
        };
        if !is_valid_name(raw_name.trim()) {
            return Err(format!(
                "{source}: package name {raw_name:?} is not a valid project name; {RELOCK_PYLOCK}"
            ));
        }
        let name = normalize_name(raw_name);
        let Some(version) = p
            .version
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        else {
            return Err(format!(
                "{source}: package {name} has no `version`; dpex needs pinned versions; {RELOCK_PYLOCK}"
            ));
        };
        let what = format!("{source}: package {name} {version}");
        Version::parse(version).map_err(|e| format!("{what}: {e}; {RELOCK_PYLOCK}"))?;
        if let Some(rp) = &p.requires_python {
            VersionSpecifiers::parse(rp).map_err(|e| {
                format!("{what} has an invalid requires-python {rp:?}: {e}; {RELOCK_PYLOCK}")
            })?;
        }

        let kinds: Vec<&str> = [
            ("vcs", p.vcs.is_some()),
            ("directory", p.directory.is_some()),
            ("archive", p.archive.is_some()),
            ("sdist/wheels", p.sdist.is_some() || p.wheels.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, present)| present.then_some(k))
        .collect();
        if kinds.len() > 1 {
            return Err(format!(
                "{what} has more than one source kind ({}), which PEP 751 forbids; {RELOCK_PYLOCK}",
                kinds.join(", ")
            ));
        }
        let wheels_in = p.wheels.unwrap_or_default();
        if wheels_in.is_empty() {
            let has = if p.sdist.is_some() {
                "only an sdist"
            } else if p.vcs.is_some() {
                "only a VCS source"
            } else if p.directory.is_some() {
                "only a local directory"
            } else if p.archive.is_some() {
                "only an archive"
            } else {
                "no source"
            };
            return Err(format!(
                "{what} has {has}, but dpex needs wheels: the launcher installs prebuilt wheels and never \
                 builds; lock a version that publishes wheels, or build a wheel, host it on an index and \
                 re-lock"
            ));
        }

        if let Some(m) = &p.marker {
            validate_marker(m).map_err(|e| format!("{what} has an {e}; {RELOCK_PYLOCK}"))?;
        }

        let mut wheels = Vec::new();
        for w in &wheels_in {
            wheels.push(pylock_wheel(w, &name, version, &what, &mut warnings)?);
        }

        if let Some(deps) = &p.dependencies {
            any_dependencies = true;
            for d in deps {
                if let Some(n) = d.get("name").and_then(|v| v.as_str()) {
                    depended_on.insert(normalize_name(n));
                }
            }
        }
        packages.push(DehydratedRequirement {
            name,
            version: version.to_string(),
            marker: p
                .marker
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty()),
            requires_python: p
                .requires_python
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty()),
            wheels,
        });
    }

    let direct: BTreeSet<String> = packages
        .iter()
        .filter(|p| !any_dependencies || !depended_on.contains(&p.name))
        .map(|p| match &p.marker {
            Some(m) => format!("{}=={}; {m}", p.name, p.version),
            None => format!("{}=={}", p.name, p.version),
        })
        .collect();

    Ok(LockInput {
        packages,
        direct_requirements: direct.into_iter().collect(),
        requires_python: doc
            .requires_python
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty()),
        warnings,
    })
}

fn pylock_wheel(
    w: &PylockWheel,
    name: &str,
    version: &str,
    what: &str,
    warnings: &mut Vec<String>,
) -> Result<LockedWheel, String> {
    let label = w
        .name
        .as_deref()
        .or(w.url.as_deref())
        .or(w.path.as_deref())
        .unwrap_or("(unnamed)");
    let Some(url) = w.url.as_deref().map(str::trim) else {
        return Err(match &w.path {
            Some(p) => format!(
                "{what}: wheel {p:?} is given only by `path`; dpex records URLs that the launcher downloads \
                 at run time, so each wheel needs an absolute `url`: lock against an index (not local files)"
            ),
            None => format!("{what}: wheel {label} has neither `url` nor `path`; {RELOCK_PYLOCK}"),
        });
    };
    match has_scheme(url).map(|s| s.to_ascii_lowercase()) {
        Some(s) if s == "https" || s == "http" => {}
        Some(s) if s == "file" => warnings.push(format!(
            "{what}: wheel URL {url} is a local file; the launcher can fetch it only where that path exists"
        )),
        _ => {
            return Err(format!(
                "{what}: wheel URL {:?} is not an absolute http(s) URL; dpex records URLs that the launcher \
                 downloads at run time: lock against an index so wheels have absolute URLs",
                redact_url(url)
            ))
        }
    }
    let url = strip_credentials(url, what, warnings);

    let sha256 = match w.hashes.iter().find(|(k, _)| k.eq_ignore_ascii_case("sha256")) {
        Some((_, v)) if Sha256Hex::parse_any_case(v.trim()).is_ok() => {
            Sha256Hex::parse_any_case(v.trim())?
        }
        Some((_, v)) => {
            return Err(format!(
                "{what}: wheel {label} has sha256 {v:?}, which is not 64 hex digits; {RELOCK_PYLOCK}"
            ))
        }
        None if w.hashes.is_empty() => {
            return Err(format!(
                "{what}: wheel {label} has no `hashes`; dpex verifies every wheel by its sha256; {RELOCK_PYLOCK}"
            ))
        }
        None => {
            let algos: Vec<&str> = w.hashes.keys().map(String::as_str).collect();
            return Err(format!(
                "{what}: wheel {label} has only {} hashes, but dpex needs sha256 (what indexes publish \
                 and what the launcher verifies); {RELOCK_PYLOCK}",
                algos.join("/")
            ));
        }
    };

    let filename = match &w.name {
        Some(n) => n.trim().to_string(),
        None => index::url_basename(&url).ok_or_else(|| {
            format!("{what}: cannot take a wheel file name from the URL {url}; add `name` to the wheel entry")
        })?,
    };
    if filename.contains(['/', '\\']) {
        return Err(format!(
            "{what}: wheel name {filename:?} must be a file name, not a path"
        ));
    }
    let (wheel_name, wheel_version) =
        parse_wheel_filename(&filename).map_err(|e| format!("{what}: {e}; {RELOCK_PYLOCK}"))?;
    if wheel_name != name {
        return Err(format!(
            "{what}: wheel {filename} is for project {wheel_name}, not {name}; the lock is inconsistent; \
             {RELOCK_PYLOCK}"
        ));
    }
    if !same_version(&wheel_version, version) {
        return Err(format!(
            "{what}: wheel {filename} has version {wheel_version}, not {version}; the lock is inconsistent; \
             {RELOCK_PYLOCK}"
        ));
    }
    Ok(LockedWheel {
        filename,
        url,
        sha256,
        size: w.size,
    })
}

// ---------------------------------------------------------------------------
// requirements.txt: pure parsing
// ---------------------------------------------------------------------------

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

/// A minimal `shlex.split`: whitespace-separated, `'…'`, `"…"`, `\` escapes.
fn shlex_split(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("an unclosed ' quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err("an unclosed \" quote".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("an unclosed \" quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    cur.push(c);
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
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
    let Some(filename) = index::url_basename(bare) else {
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
            shlex_split(&opts_text).map_err(|e| err(format!("its options have {e}")))?;
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

// ---------------------------------------------------------------------------
// requirements.txt: index lookups
// ---------------------------------------------------------------------------

/// Read a hashed requirements file and map every hash to a wheel through
/// the indexes: `index_urls` first (the user's), then the file's `-i` and
/// `--extra-index-url` lines; PyPI when there is none at all.
pub fn read_requirements(
    path: &Path,
    index_urls: &[String],
    agent: &Agent,
) -> Result<LockInput, String> {
    let source = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| format!("could not read the requirements file {source}: {e}"))?;
    let text = decode_requirements(&bytes).map_err(|e| format!("could not read {source}: {e}"))?;
    let parsed = parse_requirements_text(&text).map_err(|e| format!("{source}, {e}"))?;
    resolve_requirements(parsed, index_urls, agent, &source)
}

/// The indexes to search, in order, without duplicates. There is no default
/// index: a build names where its wheels come from.
pub fn effective_indexes(index_urls: &[String], file: &RequirementsFile) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let all = index_urls
        .iter()
        .chain(file.index_url.iter())
        .chain(file.extra_index_urls.iter());
    for u in all {
        let u = u.trim().trim_end_matches('/').to_string();
        if !u.is_empty() && !out.contains(&u) {
            out.push(u);
        }
    }
    out
}

/// Map each parsed requirement's hashes to wheel files on the indexes.
pub fn resolve_requirements(
    file: RequirementsFile,
    index_urls: &[String],
    agent: &Agent,
    source: &str,
) -> Result<LockInput, String> {
    let indexes = effective_indexes(index_urls, &file);
    let shown_indexes = indexes
        .iter()
        .map(|u| redact_url(u))
        .collect::<Vec<_>>()
        .join(", ");
    let mut warnings = file
        .warnings
        .iter()
        .map(|w| format!("{source}, {w}"))
        .collect::<Vec<_>>();
    let mut pages: HashMap<String, (usize, Vec<IndexFile>)> = HashMap::new();
    let mut packages = Vec::new();
    let mut direct = BTreeSet::new();

    for req in &file.requirements {
        let name = normalize_name(&req.name);
        let what = format!("{source}, line {}: {}=={}", req.line, req.name, req.version);
        direct.insert(req.to_requirement_string());

        if let Some(url) = &req.url {
            let size = index::head_content_length(agent, url.split('#').next().unwrap_or(url));
            let bare = url.split('#').next().unwrap_or(url);
            let recorded = strip_credentials(bare, &what, &mut warnings);
            let filename = index::url_basename(bare).unwrap_or_default();
            packages.push(DehydratedRequirement {
                name,
                version: req.version.clone(),
                marker: req.marker.clone(),
                requires_python: None,
                wheels: vec![LockedWheel {
                    filename,
                    url: recorded,
                    sha256: req.hashes[0].clone(),
                    size,
                }],
            });
            continue;
        }

        if !pages.contains_key(&name) {
            if indexes.is_empty() {
                return Err(format!(
                    "{what}: no index to look up its wheel files in; pass one with --index-url \
                     https://index.example.com/simple (your own index or mirror), or put an \
                     --index-url line in the requirements file"
                ));
            }
            let mut found = None;
            for (i, idx) in indexes.iter().enumerate() {
                if let Some(files) = index::fetch_project_page_opt(agent, idx, &name)
                    .map_err(|e| format!("{what}: {e}"))?
                {
                    found = Some((i, files));
                    break;
                }
            }
            let Some(found) = found else {
                return Err(format!(
                    "{what}: no index has the project {name} (searched {shown_indexes}); check the name, or \
                     pass the index that hosts it with --index-url"
                ));
            };
            pages.insert(name.clone(), found);
        }
        let (idx_no, files) = &pages[&name];
        let index_shown = redact_url(&indexes[*idx_no]);

        let mut wheels: Vec<LockedWheel> = Vec::new();
        let mut requires_pythons: BTreeSet<Option<String>> = BTreeSet::new();
        let mut matched_other = Vec::new();
        for h in &req.hashes {
            let matching: Vec<&IndexFile> = files
                .iter()
                .filter(|f| f.sha256.as_deref() == Some(h.as_str()))
                .collect();
            if matching.is_empty() {
                let unhashed = files.iter().filter(|f| f.sha256.is_none()).count();
                let note = if unhashed > 0 {
                    format!(" ({unhashed} of its files for {name} have no published sha256)")
                } else {
                    String::new()
                };
                return Err(format!(
                    "{what}: the hash sha256:{h} matches no file of {name} on the index {index_shown}{note}, \
                     the first index that has {name} (dpex uses only that one, to avoid dependency \
                     confusion). The lock was made against another index, or the files changed: re-lock, \
                     or pass the right --index-url"
                ));
            }
            for f in matching {
                if !f.filename.ends_with(".whl") {
                    matched_other.push(f.filename.clone());
                    continue;
                }
                let (wn, wv) = parse_wheel_filename(&f.filename).map_err(|e| {
                    format!("{what}: the index {index_shown} lists a file with this hash, but it has an {e}")
                })?;
                if wn != name || !same_version(&wv, &req.version) {
                    return Err(format!(
                        "{what}: the hash sha256:{h} belongs to {} on {index_shown}, not to {name} {}; the \
                         lock is inconsistent: re-lock",
                        f.filename, req.version
                    ));
                }
                if wheels
                    .iter()
                    .any(|w| w.filename == f.filename && w.sha256 == *h)
                {
                    continue;
                }
                index::check_not_downgraded(
                    &index::project_page_url(&indexes[*idx_no], &name),
                    &f.url,
                )
                .map_err(|e| format!("{what}: {e}"))?;
                if f.yanked {
                    warnings.push(format!(
                        "{what}: {} is yanked on {index_shown}; dpex packs it because the lock pins it",
                        f.filename
                    ));
                }
                let size = f.size.or_else(|| index::head_content_length(agent, &f.url));
                let url = strip_credentials(&f.url, &what, &mut warnings);
                requires_pythons.insert(f.requires_python.clone());
                wheels.push(LockedWheel {
                    filename: f.filename.clone(),
                    url,
                    sha256: h.clone(),
                    size,
                });
            }
        }
        if wheels.is_empty() {
            return Err(format!(
                "{what}: its hashes match only {} on {index_shown}, no wheel; dpex needs wheels: the launcher \
                 installs prebuilt wheels and never builds. Pin a version that publishes wheels, or build one, \
                 host it on an index and re-lock",
                matched_other.join(", ")
            ));
        }
        let requires_python = if requires_pythons.len() == 1 {
            requires_pythons.into_iter().next().flatten()
        } else {
            warnings.push(format!(
                "{what}: its wheels declare different requires-python values; dpex records none for it"
            ));
            None
        };
        wheels.sort_by(|a, b| a.filename.cmp(&b.filename));
        packages.push(DehydratedRequirement {
            name,
            version: req.version.clone(),
            marker: req.marker.clone(),
            requires_python,
            wheels,
        });
    }

    Ok(LockInput {
        packages,
        direct_requirements: direct.into_iter().collect(),
        requires_python: None,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    const H1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const H2: &str = "2222222222222222222222222222222222222222222222222222222222222222";
    const H3: &str = "3333333333333333333333333333333333333333333333333333333333333333";
    const H4: &str = "4444444444444444444444444444444444444444444444444444444444444444";

    fn pylock(packages: &str) -> String {
        format!("lock-version = \"1.0\"\ncreated-by = \"test\"\nrequires-python = \">=3.9\"\n{packages}")
    }

    const GOOD: &str = r#"
[[packages]]
name = "Requests"
version = "2.32.3"
dependencies = [{name = "urllib3"}, {name = "certifi"}]
[[packages.wheels]]
url = "https://files.example.com/packages/requests-2.32.3-py3-none-any.whl"
size = 64928
hashes = {sha256 = "1111111111111111111111111111111111111111111111111111111111111111"}

[[packages]]
name = "urllib3"
version = "2.2.3"
[[packages.wheels]]
name = "urllib3-2.2.3-py3-none-any.whl"
url = "https://user:secret@files.example.com/u/download?id=3"
hashes = {sha256 = "2222222222222222222222222222222222222222222222222222222222222222", md5 = "00"}

[[packages]]
name = "certifi"
version = "2024.8.30"
marker = "python_version >= '3.8'"
requires-python = ">=3.6"
sdist = {url = "https://files.example.com/certifi-2024.8.30.tar.gz", hashes = {sha256 = "3333333333333333333333333333333333333333333333333333333333333333"}}
wheels = [
  {url = "https://files.example.com/certifi-2024.8.30-py3-none-any.whl", hashes = {sha256 = "3333333333333333333333333333333333333333333333333333333333333333"}},
]

[tool.whatever]
x = 1
"#;

    #[test]
    fn reads_a_good_pylock() {
        let lock = parse_pylock(&pylock(GOOD), "pylock.toml").unwrap();
        assert_eq!(lock.requires_python.as_deref(), Some(">=3.9"));
        assert_eq!(lock.packages.len(), 3);
        let r = &lock.packages[0];
        assert_eq!(r.name, "requests");
        assert_eq!(r.wheels[0].filename, "requests-2.32.3-py3-none-any.whl");
        assert_eq!(r.wheels[0].size, Some(64928));
        assert_eq!(r.wheels[0].sha256, H1);
        let u = &lock.packages[1];
        assert_eq!(u.wheels[0].url, "https://files.example.com/u/download?id=3");
        assert_eq!(u.wheels[0].filename, "urllib3-2.2.3-py3-none-any.whl");
        let c = &lock.packages[2];
        assert_eq!(c.marker.as_deref(), Some("python_version >= '3.8'"));
        assert_eq!(c.requires_python.as_deref(), Some(">=3.6"));
        assert_eq!(
            lock.direct_requirements,
            vec!["requests==2.32.3".to_string()]
        );
        assert_eq!(lock.warnings.len(), 1);
        assert!(lock.warnings[0].contains("credentials") && !lock.warnings[0].contains("secret"));
    }

    #[test]
    fn pylock_without_dependencies_makes_all_direct() {
        let text = pylock(&GOOD.replace(
            "dependencies = [{name = \"urllib3\"}, {name = \"certifi\"}]\n",
            "",
        ));
        let lock = parse_pylock(&text, "pylock.toml").unwrap();
        assert_eq!(
            lock.direct_requirements,
            vec![
                "certifi==2024.8.30; python_version >= '3.8'".to_string(),
                "requests==2.32.3".to_string(),
                "urllib3==2.2.3".to_string()
            ]
        );
    }

    fn one_wheel(extra: &str, wheel: &str) -> String {
        pylock(&format!(
            "[[packages]]\nname = \"foo\"\nversion = \"1.0\"\n{extra}\n{wheel}\n"
        ))
    }

    #[test]
    fn pylock_errors() {
        let url = "url = \"https://index.example.com/foo-1.0-py3-none-any.whl\"";
        let cases: Vec<(String, &str)> = vec![
            (one_wheel("", &format!("[[packages.wheels]]\n{url}\n")), "no `hashes`"),
            (
                one_wheel("", &format!("[[packages.wheels]]\n{url}\nhashes = {{sha512 = \"ab\"}}\n")),
                "needs sha256",
            ),
            (
                one_wheel("", &format!("[[packages.wheels]]\n{url}\nhashes = {{sha256 = \"abc\"}}\n")),
                "not 64 hex",
            ),
            (
                one_wheel("sdist = {url = \"https://index.example.com/foo-1.0.tar.gz\", hashes = {sha256 = \"00\"}}", ""),
                "dpex needs wheels",
            ),
            (one_wheel("directory = {path = \".\"}", ""), "only a local directory"),
            (
                one_wheel(
                    "",
                    &format!(
                        "[[packages.wheels]]\nurl = \"https://index.example.com/bar-1.0-py3-none-any.whl\"\nhashes = {{sha256 = \"{H1}\"}}\n"
                    ),
                ),
                "for project bar, not foo",
            ),
            (
                one_wheel(
                    "",
                    &format!(
                        "[[packages.wheels]]\nurl = \"https://index.example.com/foo-1.1-py3-none-any.whl\"\nhashes = {{sha256 = \"{H1}\"}}\n"
                    ),
                ),
                "has version 1.1, not 1.0",
            ),
            (
                one_wheel(
                    "",
                    &format!("[[packages.wheels]]\npath = \"dist/foo-1.0-py3-none-any.whl\"\nhashes = {{sha256 = \"{H1}\"}}\n"),
                ),
                "only by `path`",
            ),
            (
                one_wheel(
                    "",
                    &format!("[[packages.wheels]]\nurl = \"https://index.example.com/foo-1.0.zip\"\nhashes = {{sha256 = \"{H1}\"}}\n"),
                ),
                "invalid wheel file name",
            ),
            (
                one_wheel(
                    "",
                    &format!("[[packages.wheels]]\nurl = \"dist/foo-1.0-py3-none-any.whl\"\nhashes = {{sha256 = \"{H1}\"}}\n"),
                ),
                "not an absolute http(s) URL",
            ),
            (pylock("[[packages]]\nversion = \"1\"\n"), "has no `name`"),
            (
                one_wheel(
                    "marker = \"python_version >>> '3'\"",
                    &format!("[[packages.wheels]]\n{url}\nhashes = {{sha256 = \"{H1}\"}}\n"),
                ),
                "invalid marker",
            ),
            (
                pylock("[[packages]]\nname = \"foo\"\nversion = \"1.0\"\nrequires-python = \">=>3\"\n"),
                "invalid requires-python",
            ),
            (pylock("[[packages]]\nname = \"foo\"\nversion = \"one\"\n"), "one"),
            (pylock("[[packages]]\nname = \"foo\"\n"), "has no `version`"),
        ];
        for (text, want) in cases {
            let e = parse_pylock(&text, "pylock.toml").unwrap_err();
            assert!(
                e.contains(want) && e.starts_with("pylock.toml"),
                "want {want:?} in: {e}"
            );
        }
        let e =
            parse_pylock(&pylock(GOOD).replace("\"1.0\"", "\"2.0\""), "x/pylock.toml").unwrap_err();
        assert!(e.contains("lock-version \"2.0\""), "{e}");
        let e =
            parse_pylock("created-by = \"x\"\n[[packages]]\nname = \"a\"\n", "p.toml").unwrap_err();
        assert!(e.contains("no `lock-version`"), "{e}");
        let e = parse_pylock("lock-version = ", "p.toml").unwrap_err();
        assert!(e.contains("not a valid pylock.toml"), "{e}");
        let lock = parse_pylock(&pylock(GOOD).replace("\"1.0\"", "\"1.1\""), "p.toml").unwrap();
        assert!(lock.warnings.iter().any(|w| w.contains("1.1")));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        // The toml crate limits nesting; what dpex ignores is still parsed.
        let deep = format!(
            "lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\nversion = \"1\"\nvcs = {}1{}\n",
            "{b = ".repeat(100_000),
            "}".repeat(100_000)
        );
        let e = parse_pylock(&deep, "p.toml").unwrap_err();
        assert!(e.contains("not a valid pylock.toml"), "{e}");
        let deep = format!("x = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_pylock(&deep, "p.toml").is_err());
    }

    #[test]
    fn read_pylock_names_the_file() {
        let dir = std::env::temp_dir().join(format!("dpex-lock-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("pylock.toml");
        std::fs::write(&p, pylock(GOOD)).unwrap();
        assert_eq!(read_pylock(&p).unwrap().packages.len(), 3);
        let e = read_pylock(&dir.join("missing.toml")).unwrap_err();
        assert!(e.contains("missing.toml"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn parse(text: &str) -> Result<RequirementsFile, String> {
        parse_requirements_text_with_env(text, &|n| (n == "TOKEN").then(|| "s3cret".to_string()))
    }

    #[test]
    fn parses_requirements() {
        let text = format!(
            "# comment\n\
             --index-url https://${{TOKEN}}@private.example/simple\n\
             --extra-index-url=https://extra.example/simple  # trailing comment\n\
             \n\
             colorama==0.4.6 ; sys_platform == 'win32' \\\n    --hash=sha256:{H1} \\\n    --hash=sha256:{}\n\
             requests[socks, security]==2.32.3 \\\n    --hash=sha256:{H2}\n    # via something\n\
             Foo.Bar == 1.0  --hash sha256:{H3}  # pinned\n\
             --trusted-host private.example\n\
             baz @ https://index.example.com/w/baz-2.0-py3-none-any.whl#sha256={H3} ; python_version < \"3.12\"\n",
            H2.to_uppercase()
        );
        let f = parse(&text).unwrap();
        assert_eq!(
            f.index_url.as_deref(),
            Some("https://s3cret@private.example/simple")
        );
        assert_eq!(
            f.extra_index_urls,
            vec!["https://extra.example/simple".to_string()]
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
    fn decodes() {
        assert_eq!(decode_requirements(b"\xef\xbb\xbfa==1").unwrap(), "a==1");
        assert_eq!(decode_requirements(b"\xff\xfea\0=\0").unwrap(), "a=");
        assert_eq!(
            decode_requirements(b"# -*- coding: latin-1 -*-\n\xe9").unwrap(),
            "# -*- coding: latin-1 -*-\n\u{e9}"
        );
        assert!(decode_requirements(b"\xe9").is_err());
    }

    #[test]
    fn versions_compare_loosely() {
        assert!(same_version("1.0", "1.0.0"));
        assert!(same_version("V2.0RC1", "2.0rc1"));
        assert!(!same_version("1.0", "1.0.1"));
        assert!(!same_version("1.0", "1.1"));
        assert!(same_version("1.0+local.1", "1.0+LOCAL-1"));
        assert!(!same_version("1.0+local", "1.0"));
        assert_eq!(
            parse_wheel_filename("Foo_Bar-1.0-1-py3-none-any.whl").unwrap(),
            ("foo-bar".into(), "1.0".into())
        );
        assert!(parse_wheel_filename("foo-1.0-x-py3-none-any.whl").is_err());
        assert!(parse_wheel_filename("foo-1.0-none-any.whl").is_err());
    }

    // --- a tiny local index on 127.0.0.1 -------------------------------------

    type Route = (&'static str, u16, &'static str, String);

    /// Serve fixed responses on 127.0.0.1 until the test process ends.
    fn serve(routes: Vec<Route>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf);
                let mut first = head.lines().next().unwrap_or("").split(' ');
                let method = first.next().unwrap_or("").to_string();
                let path = first.next().unwrap_or("").to_string();
                let (status, ctype, body) = routes
                    .iter()
                    .find(|r| r.0 == path)
                    .map(|r| (r.1, r.2, r.3.clone()))
                    .unwrap_or((404, "text/plain", "not found".to_string()));
                let mut resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                if method != "HEAD" {
                    resp.extend_from_slice(body.as_bytes());
                }
                let _ = stream.write_all(&resp);
            }
        });
        format!("http://127.0.0.1:{}", addr.port())
    }

    fn json_page(files: &[(&str, &str, &str, Option<u64>)]) -> String {
        let files: Vec<String> = files
            .iter()
            .map(|(name, url, h, size)| {
                let size = size.map(|s| format!(", \"size\": {s}")).unwrap_or_default();
                format!(
                    r#"{{"filename": "{name}", "url": "{url}", "hashes": {{"sha256": "{h}"}}, "requires-python": ">=3.8"{size}}}"#
                )
            })
            .collect();
        format!(
            r#"{{"meta": {{"api-version": "1.1"}}, "name": "x", "files": [{}]}}"#,
            files.join(",")
        )
    }

    const JSON: &str = "application/vnd.pypi.simple.v1+json";

    #[test]
    fn resolves_hashes_through_a_local_index() {
        let first = serve(vec![
            (
                "/simple/foo/",
                200,
                JSON,
                json_page(&[
                    (
                        "foo-1.0-py3-none-any.whl",
                        "../../files/foo-1.0-py3-none-any.whl",
                        H1,
                        Some(10),
                    ),
                    ("foo-1.0.tar.gz", "../../files/foo-1.0.tar.gz", H2, Some(20)),
                    (
                        "foo-0.9-py3-none-any.whl",
                        "../../files/foo-0.9-py3-none-any.whl",
                        H3,
                        Some(30),
                    ),
                ]),
            ),
            (
                "/files/bar-2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
                200,
                "application/octet-stream",
                "x".repeat(77),
            ),
        ]);
        let second = serve(vec![
            // bar is only on the second index, as HTML without sizes.
            (
                "/simple/bar/",
                200,
                "text/html",
                format!(
                    "<a href=\"{first}/files/bar-2.0-cp311-cp311-manylinux_2_17_x86_64.whl#sha256={H3}\" \
                     data-requires-python=\"&gt;=3.11\" data-yanked>bar-2.0-cp311-cp311-manylinux_2_17_x86_64.whl</a>"
                ),
            ),
            // foo on the second index would match H4: it must never be consulted.
            (
                "/simple/foo/",
                200,
                JSON,
                json_page(&[("foo-1.0-py3-none-any.whl", "/evil/foo-1.0-py3-none-any.whl", H4, Some(1))]),
            ),
        ]);
        let text = format!(
            "--extra-index-url {second}/simple/\n\
             foo==1.0 --hash=sha256:{H1} --hash=sha256:{H2}\n\
             Bar[x]==2.0 ; python_version >= '3.11' --hash=sha256:{H3}\n"
        );
        let file = parse(&text).unwrap();
        let agent = Agent::new(Default::default());
        let lock = resolve_requirements(
            file.clone(),
            &[format!("{first}/simple")],
            &agent,
            "reqs.txt",
        )
        .unwrap();
        assert_eq!(lock.packages.len(), 2);
        let foo = &lock.packages[0];
        assert_eq!(foo.name, "foo");
        assert_eq!(foo.requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(
            foo.wheels,
            vec![LockedWheel {
                filename: "foo-1.0-py3-none-any.whl".into(),
                url: format!("{first}/files/foo-1.0-py3-none-any.whl"),
                sha256: Sha256Hex::parse(H1).unwrap(),
                size: Some(10),
            }]
        );
        let bar = &lock.packages[1];
        assert_eq!(bar.name, "bar");
        assert_eq!(bar.marker.as_deref(), Some("python_version >= '3.11'"));
        assert_eq!(bar.requires_python.as_deref(), Some(">=3.11"));
        assert_eq!(bar.wheels[0].size, Some(77), "size from HEAD");
        assert_eq!(
            lock.direct_requirements,
            vec![
                "bar[x]==2.0; python_version >= '3.11'".to_string(),
                "foo==1.0".to_string()
            ]
        );
        assert!(
            lock.warnings.iter().any(|w| w.contains("yanked")),
            "{:?}",
            lock.warnings
        );

        // A hash that is on no file of the first index that has the project.
        let text = format!("foo==1.0 --hash=sha256:{H4}\n");
        let e = resolve_requirements(
            parse(&text).unwrap(),
            &[format!("{first}/simple"), format!("{second}/simple")],
            &agent,
            "reqs.txt",
        )
        .unwrap_err();
        assert!(
            e.contains("reqs.txt, line 1: foo==1.0")
                && e.contains(H4)
                && e.contains(&first)
                && e.contains("--index-url"),
            "{e}"
        );
        // sdist-only hashes.
        let text = format!("foo==1.0 --hash=sha256:{H2}\n");
        let e = resolve_requirements(
            parse(&text).unwrap(),
            &[format!("{first}/simple")],
            &agent,
            "r.txt",
        )
        .unwrap_err();
        assert!(
            e.contains("foo-1.0.tar.gz") && e.contains("dpex needs wheels"),
            "{e}"
        );
        // Hash of another version.
        let text = format!("foo==1.0 --hash=sha256:{H3}\n");
        let e = resolve_requirements(
            parse(&text).unwrap(),
            &[format!("{first}/simple")],
            &agent,
            "r.txt",
        )
        .unwrap_err();
        assert!(e.contains("foo-0.9-py3-none-any.whl"), "{e}");
        // Unknown project everywhere.
        let text = format!("nope==1.0 --hash=sha256:{H3}\n");
        let e = resolve_requirements(
            parse(&text).unwrap(),
            &[format!("{first}/simple")],
            &agent,
            "r.txt",
        )
        .unwrap_err();
        assert!(e.contains("no index has the project nope"), "{e}");
    }

    #[test]
    fn index_errors_name_url_and_status() {
        let base = serve(vec![(
            "/simple/foo/",
            500,
            "text/plain",
            "boom".to_string(),
        )]);
        let agent = Agent::new(Default::default());
        let url = base.replace("http://", "http://u:pw@");
        let text = format!("foo==1.0 --hash=sha256:{H1}\n");
        let e = resolve_requirements(
            parse(&text).unwrap(),
            &[format!("{url}/simple")],
            &agent,
            "r.txt",
        )
        .unwrap_err();
        assert!(
            e.contains("HTTP 500") && e.contains("/simple/foo/") && !e.contains("pw"),
            "{e}"
        );
    }

    #[test]
    fn direct_url_requirements() {
        let base = serve(vec![(
            "/w/baz-2.0-py3-none-any.whl",
            200,
            "application/octet-stream",
            "y".repeat(5),
        )]);
        let agent = Agent::new(Default::default());
        let text = format!("baz @ {base}/w/baz-2.0-py3-none-any.whl --hash=sha256:{H1}\n");
        let lock = resolve_requirements(
            parse(&text).unwrap(),
            &[format!("{base}/simple")],
            &agent,
            "r.txt",
        )
        .unwrap();
        assert_eq!(lock.packages[0].wheels[0].size, Some(5));
        assert_eq!(
            lock.packages[0].wheels[0].url,
            format!("{base}/w/baz-2.0-py3-none-any.whl")
        );
        assert_eq!(lock.direct_requirements, vec!["baz==2.0".to_string()]);
    }
}
