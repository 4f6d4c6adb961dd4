//! The packer's lock input: what both lock readers produce ([`LockInput`]),
//! the helpers they share, and the entry points the `dpex build` command
//! calls.
//!
//! - `pylock`: a `pylock.toml` (PEP 751) names every wheel file (URL,
//!   sha256, size), so reading it needs no network.
//! - `pexlock`: a pex lock (`pex3 lock create`, JSON) names every artifact
//!   (URL, sha256); package markers come from walking its requirement graph.
//! - `requirements`: a pip requirements file with `--hash` pins, parsed
//!   with pip's line rules; it pins only versions and hashes.
//! - `resolve`: maps those hashes to wheel files through the indexes'
//!   project pages (first index that has the project wins, to avoid
//!   dependency confusion).

mod pexlock;
mod pylock;
mod requirements;
mod resolve;

pub use pexlock::parse_pex_lock;
pub use pylock::{parse_pylock, read_pylock};
pub use requirements::{
    decode_requirements, parse_requirements_text, parse_requirements_text_with_env,
    PinnedRequirement, RequirementsFile,
};
pub use resolve::{effective_indexes, resolve_requirements};

use dpex_launcher::format::pexinfo::DehydratedRequirement;
use dpex_launcher::net::http::Agent;
use dpex_launcher::net::url::redact_url;
use dpex_launcher::standards::marker;
use dpex_launcher::standards::version::Version;
use dpex_launcher::standards::wheel::WheelName;
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
    /// Interpreter constraints in pex's form (a pex lock's `requires_python`).
    pub interpreter_constraints: Vec<String>,
    /// Things the user should know (credentials removed, yanked files, ...).
    pub warnings: Vec<String>,
}

/// Read the lock `--lock` names: a pex lock (JSON) or a pylock.toml.
pub fn read_lock(path: &Path) -> Result<LockInput, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("could not read the lock file {}: {e}", path.display()))?;
    let source = path.display().to_string();
    if pexlock::looks_like_pex_lock(&text) {
        parse_pex_lock(&text, &source)
    } else {
        parse_pylock(&text, &source)
    }
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/// (normalized name, version as written) of a wheel file name; the error
/// says what is wrong with it.
pub(super) fn parse_wheel_filename(filename: &str) -> Result<(String, String), String> {
    let w = WheelName::parse(filename)?;
    Ok((w.normalized_name(), w.version))
}

/// PEP 440 equality (`1.0 == 1.0.0`, local labels included); plain string
/// equality when either side does not parse.
pub(super) fn same_version(a: &str, b: &str) -> bool {
    match (Version::parse(a), Version::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.trim() == b.trim(),
    }
}

pub(super) fn validate_marker(m: &str) -> Result<(), String> {
    marker::parse(m).map(|_| ())
}

/// A locked wheel's URL must be one the launcher can fetch: http(s), or a
/// `file:` URL (with a warning: it works only where that path exists).
pub(super) fn check_wheel_url(
    url: &str,
    what: &str,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    match has_scheme(url).map(|s| s.to_ascii_lowercase()) {
        Some(s) if s == "https" || s == "http" => Ok(()),
        Some(s) if s == "file" => {
            warnings.push(format!(
                "{what}: wheel URL {url} is a local file; the launcher can fetch it only where that path exists"
            ));
            Ok(())
        }
        _ => Err(format!(
            "{what}: wheel URL {:?} is not an absolute http(s) URL; dpex records URLs that the launcher \
             downloads at run time: lock against an index so wheels have absolute URLs",
            redact_url(url)
        )),
    }
}

/// `https://u:p@index.example.com/x` -> `https://index.example.com/x`, with a warning naming `what`.
pub(super) fn strip_credentials(url: &str, what: &str, warnings: &mut Vec<String>) -> String {
    let (stripped, had) = dpex_launcher::net::url::strip_userinfo(url);
    if had {
        warnings.push(format!(
            "{what}: the URL {} contains credentials; dpex recorded it without them, so the launcher \
             needs another way to authenticate to that host (or a public mirror) at run time",
            redact_url(url)
        ));
    }
    stripped
}

pub(super) fn has_scheme(url: &str) -> Option<&str> {
    // `scheme://...`: the scheme as written.
    let parsed = dpex_launcher::net::url::Url::parse(url).filter(|u| u.has_authority())?;
    Some(&url[..parsed.scheme().len()])
}

/// Read a hashed requirements file and map every hash to a wheel through
/// the indexes: `index_urls` first (the user's), then the file's `-i` and
/// `--extra-index-url` lines (there is no default index).
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

/// Fixtures shared by the readers' unit tests.
#[cfg(test)]
pub(super) mod test_support {
    use super::RequirementsFile;

    pub const H1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    pub const H2: &str = "2222222222222222222222222222222222222222222222222222222222222222";
    pub const H3: &str = "3333333333333333333333333333333333333333333333333333333333333333";
    pub const H4: &str = "4444444444444444444444444444444444444444444444444444444444444444";

    pub fn parse(text: &str) -> Result<RequirementsFile, String> {
        super::parse_requirements_text_with_env(text, &|n| {
            (n == "TOKEN").then(|| "s3cret".to_string())
        })
    }
}
