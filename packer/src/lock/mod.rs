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
use dpex_launcher::standards::version::{normalize_name, Version, VersionSpecifiers};
use dpex_launcher::standards::wheel::WheelName;
use std::collections::{BTreeMap, BTreeSet};
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
    /// Each package's dependencies by name (a pylock.toml's `dependencies`);
    /// None when the lock has none.
    pub dependencies: Option<BTreeMap<String, Vec<String>>>,
}

/// Read the lock `--lock` names: a pex lock (JSON) or a pylock.toml; all of
/// it, or with `selected` requirements (pex's `pex --lock L REQ...` or
/// `-r FILE`), only what they need.
pub fn read_lock(path: &Path, selected: &[String]) -> Result<LockInput, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("could not read the lock file {}: {e}", path.display()))?;
    let source = path.display().to_string();
    if pexlock::looks_like_pex_lock(&text) {
        let whole = parse_pex_lock(&text, &source, &[])?;
        if selected.is_empty() {
            return Ok(whole);
        }
        check_selected(&whole, selected, &source)?;
        parse_pex_lock(&text, &source, selected)
    } else {
        let whole = parse_pylock(&text, &source)?;
        if selected.is_empty() {
            return Ok(whole);
        }
        check_selected(&whole, selected, &source)?;
        select_pylock(whole, selected, &source)
    }
}

/// Can `marker` hold on some Linux host (of `machine`, if given)? Tried with
/// every CPython and PyPy 3.8-3.15 such a host could run; a marker that needs
/// more (an `extra`) counts as possible.
pub fn possible_on_linux(marker: &str, machine: Option<&str>) -> bool {
    let machines: Vec<&str> = match machine {
        Some(m) => vec![m],
        None => vec!["x86_64", "aarch64"],
    };
    let mut envs = Vec::new();
    for machine in machines {
        for minor in 8..=15 {
            for (implementation, name) in [("CPython", "cpython"), ("PyPy", "pypy")] {
                let version = format!("3.{minor}");
                let full = format!("3.{minor}.0");
                let env: BTreeMap<String, String> = [
                    ("implementation_name", name),
                    ("implementation_version", full.as_str()),
                    ("os_name", "posix"),
                    ("platform_machine", machine),
                    ("platform_python_implementation", implementation),
                    ("platform_release", ""),
                    ("platform_system", "Linux"),
                    ("platform_version", ""),
                    ("python_full_version", full.as_str()),
                    ("python_version", version.as_str()),
                    ("sys_platform", "linux"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
                envs.push(env);
            }
        }
    }
    envs.iter()
        .any(|env| marker::evaluate(marker, env, &[]).unwrap_or(true))
}

/// Each selected requirement must name a locked project at a version it allows.
fn check_selected(lock: &LockInput, selected: &[String], source: &str) -> Result<(), String> {
    for text in selected {
        let (name, specifiers) =
            split_requirement(text).map_err(|why| format!("the requirement {text:?} {why}"))?;
        let same_name: Vec<&DehydratedRequirement> =
            lock.packages.iter().filter(|p| p.name == name).collect();
        if same_name.is_empty() {
            let mut names: Vec<&str> = lock.packages.iter().map(|p| p.name.as_str()).collect();
            names.sort();
            return Err(format!(
                "the requirement {text:?} names {name}, which {source} does not lock (it locks {}); \
                 re-lock with it, or select from what the lock has",
                names.join(", ")
            ));
        }
        let allowed = VersionSpecifiers::parse(&specifiers)
            .map_err(|e| format!("the requirement {text:?} has invalid versions: {e}"))?;
        // A lock may hold one project at several versions (a forked resolve): any will do.
        let fits = |p: &&DehydratedRequirement| {
            Version::parse(&p.version).is_ok_and(|v| allowed.contains(&v))
        };
        if !same_name.iter().any(fits) {
            let versions: Vec<&str> = same_name.iter().map(|p| p.version.as_str()).collect();
            return Err(format!(
                "the requirement {text:?} does not allow {name} {}, the version {source} locks; \
                 re-lock for it, or change the requirement",
                versions.join(" or ")
            ));
        }
    }
    Ok(())
}

/// `name[extras] specifiers ; marker` -> (normalized name, specifiers); the
/// marker must parse.
fn split_requirement(text: &str) -> Result<(String, String), String> {
    let (spec, marker_text) = match text.split_once(';') {
        Some((spec, m)) => (spec.trim(), Some(m.trim())),
        None => (text.trim(), None),
    };
    if let Some(m) = marker_text.filter(|m| !m.is_empty()) {
        marker::parse(m).map_err(|e| format!("has an {e}"))?;
    }
    if spec.contains('@') {
        return Err("is a URL requirement; select from a lock by name and version".into());
    }
    let name_end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(spec.len());
    let name = &spec[..name_end];
    if name.is_empty() {
        return Err("does not start with a project name".into());
    }
    let mut rest = spec[name_end..].trim_start();
    if let Some(after) = rest.strip_prefix('[') {
        let close = after.find(']').ok_or("has an unclosed `[`")?;
        rest = after[close + 1..].trim_start();
    }
    let specifiers = rest.trim_start_matches('(').trim_end_matches(')').trim();
    Ok((normalize_name(name), specifiers.to_string()))
}

/// A pylock.toml's packages the selected ones need, through `dependencies`
/// (each keeps the marker the locker computed).
fn select_pylock(
    mut lock: LockInput,
    selected: &[String],
    source: &str,
) -> Result<LockInput, String> {
    let Some(dependencies) = lock.dependencies.take() else {
        return Err(format!(
            "{source} has no `dependencies` for its packages, so dpex cannot tell what the \
             selected requirements need; build from the whole lock, or lock the selection on its own"
        ));
    };
    let mut needed = BTreeSet::new();
    let mut roots = BTreeMap::new();
    for text in selected {
        // A selected requirement no Linux host installs (its marker) selects nothing.
        if let Some((_, m)) = text.split_once(';') {
            if !m.trim().is_empty() && !possible_on_linux(m.trim(), None) {
                continue;
            }
        }
        if let Ok((name, specifiers)) = split_requirement(text) {
            roots.insert(name, specifiers);
        }
    }
    let mut stack: Vec<String> = roots.keys().cloned().collect();
    while let Some(name) = stack.pop() {
        if needed.insert(name.clone()) {
            stack.extend(dependencies.get(&name).into_iter().flatten().cloned());
        }
    }
    // A selected project the lock holds at several versions: those the selection allows.
    lock.packages.retain(|p| {
        needed.contains(&p.name)
            && roots.get(&p.name).is_none_or(|specifiers| {
                let allowed = VersionSpecifiers::parse(specifiers).ok();
                let version = Version::parse(&p.version).ok();
                match (allowed, version) {
                    (Some(a), Some(v)) => a.contains(&v),
                    _ => true,
                }
            })
    });
    lock.direct_requirements = sorted_trimmed(selected);
    lock.dependencies = Some(dependencies);
    Ok(lock)
}

/// Requirement strings as PEX-INFO's `requirements` lists them.
pub(super) fn sorted_trimmed(requirements: &[String]) -> Vec<String> {
    let mut out: Vec<String> = requirements.iter().map(|r| r.trim().to_string()).collect();
    out.sort();
    out
}

/// The requirements of a requirements file, to select from a lock (`dpex
/// build --lock L -r FILE`): one per line, comments, `--hash` and other
/// options dropped, `\` continuations joined. Nested files are refused.
pub fn read_selection(path: &Path) -> Result<Vec<String>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("could not read the requirements file {shown}: {e}"))?;
    let mut out = Vec::new();
    for line in text.replace("\\\n", " ").lines() {
        let line = match line
            .find(" #")
            .or_else(|| line.starts_with('#').then_some(0))
        {
            Some(at) => &line[..at],
            None => line,
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('-') {
            if [
                "-r",
                "-c",
                "-e",
                "--requirement",
                "--constraint",
                "--editable",
            ]
            .iter()
            .any(|o| line.starts_with(o))
            {
                return Err(format!(
                    "{shown}: {line:?}: selecting from a lock takes plain requirements, not \
                     nested files or editables; list them in {shown}"
                ));
            }
            continue; // -i, --index-url, --hash on a line of its own, ...
        }
        let requirement = line.split(" --").next().unwrap_or(line).trim();
        out.push(requirement.to_string());
    }
    if out.is_empty() {
        return Err(format!(
            "{shown} names no requirement to select from the lock"
        ));
    }
    Ok(out)
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

    fn package(name: &str, version: &str) -> DehydratedRequirement {
        DehydratedRequirement {
            name: name.into(),
            version: version.into(),
            marker: None,
            requires_python: None,
            wheels: Vec::new(),
        }
    }

    #[test]
    fn a_selection_takes_what_its_requirements_need() {
        let lock = LockInput {
            packages: vec![
                package("app-lib", "1.0"),
                package("requests", "2.32.3"),
                package("urllib3", "2.2.3"),
                package("certifi", "2024.8.30"),
                package("pyyaml", "6.0"),
            ],
            dependencies: Some(BTreeMap::from([
                ("requests".into(), vec!["urllib3".into(), "certifi".into()]),
                ("app-lib".into(), vec!["requests".into()]),
            ])),
            ..LockInput::default()
        };
        let picked = |selected: &[&str]| {
            let selected: Vec<String> = selected.iter().map(|s| s.to_string()).collect();
            check_selected(&lock, &selected, "pylock.toml")?;
            let sub = select_pylock(lock.clone(), &selected, "pylock.toml")?;
            Ok::<_, String>(sub.packages.into_iter().map(|p| p.name).collect::<Vec<_>>())
        };
        assert_eq!(
            picked(&["Requests[socks] >=2 ; python_version >= '3.8'"]).unwrap(),
            ["requests", "urllib3", "certifi"]
        );
        assert_eq!(picked(&["pyyaml", "app_lib"]).unwrap().len(), 5);
        let err = picked(&["flask"]).unwrap_err();
        assert!(
            err.contains("does not lock") && err.contains("certifi, pyyaml, requests"),
            "{err}"
        );
        let err = picked(&["urllib3<2"]).unwrap_err();
        assert!(err.contains("does not allow urllib3 2.2.3"), "{err}");
        assert!(picked(&["x @ https://index.example.com/x.whl"]).is_err());
        // A project locked at two versions (a forked resolve): the one the requirement allows.
        let mut forked = lock.clone();
        forked.packages.push(package("pyyaml", "5.4"));
        let selected = vec!["pyyaml>=6".to_string()];
        check_selected(&forked, &selected, "pylock.toml").unwrap();
        let sub = select_pylock(forked, &selected, "pylock.toml").unwrap();
        assert_eq!(sub.packages.len(), 1);
        assert_eq!(sub.packages[0].version, "6.0");
        // A marker no Linux host meets selects nothing; a bad one is an error naming it.
        let sub = select_pylock(
            lock.clone(),
            &["pyyaml; sys_platform == 'win32'".into()],
            "p",
        )
        .unwrap();
        assert!(sub.packages.is_empty());
        let err = picked(&["pyyaml; python_version >> '3'"]).unwrap_err();
        assert!(err.contains("pyyaml; python_version"), "{err}");
        let no_graph = LockInput {
            dependencies: None,
            ..lock.clone()
        };
        let err = select_pylock(no_graph, &["requests".into()], "pylock.toml").unwrap_err();
        assert!(err.contains("no `dependencies`"), "{err}");
    }

    #[test]
    fn a_selection_file_gives_its_requirements() {
        let dir = std::env::temp_dir().join(format!("dpex-select-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("select.txt");
        std::fs::write(
            &file,
            "# top\n--index-url https://index.example.com/simple\nrequests==2.32.3 \\\n    --hash=sha256:11 # pinned\n\nidna\n",
        )
        .unwrap();
        assert_eq!(read_selection(&file).unwrap(), ["requests==2.32.3", "idna"]);
        std::fs::write(&file, "-r other.txt\n").unwrap();
        assert!(read_selection(&file).unwrap_err().contains("nested"));
        std::fs::write(&file, "# nothing\n").unwrap();
        assert!(read_selection(&file)
            .unwrap_err()
            .contains("no requirement"));
        std::fs::remove_dir_all(&dir).unwrap();
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
