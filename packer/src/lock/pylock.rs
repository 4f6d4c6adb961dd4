//! The `pylock.toml` (PEP 751) reader: every wheel is named with its URL,
//! sha256 and size, so this reads no network; it checks the lock is
//! consistent (names, versions, hashes) and that every package has wheels.

use super::{
    check_wheel_url, parse_wheel_filename, same_version, strip_credentials, validate_marker,
    LockInput,
};
use dpex_launcher::format::pexinfo::{DehydratedRequirement, LockedWheel};
use dpex_launcher::net::url::basename;
use dpex_launcher::standards::digest::Sha256Hex;
use dpex_launcher::standards::version::{
    is_valid_name, normalize_name, Version, VersionSpecifiers,
};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const RELOCK_PYLOCK: &str =
    "re-create the lock with `uv export --format pylock.toml`, `uv pip compile -o pylock.toml` \
                             or `pip lock`";

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
    let mut dependencies: BTreeMap<String, Vec<String>> = BTreeMap::new();
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
            let names: Vec<String> = deps
                .iter()
                .filter_map(|d| d.get("name").and_then(|v| v.as_str()))
                .map(normalize_name)
                .collect();
            depended_on.extend(names.iter().cloned());
            dependencies.entry(name.clone()).or_default().extend(names);
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
        interpreter_constraints: Vec::new(),
        packages,
        direct_requirements: direct.into_iter().collect(),
        requires_python: doc
            .requires_python
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty()),
        warnings,
        dependencies: any_dependencies.then_some(dependencies),
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
    check_wheel_url(url, what, warnings)?;
    let url = strip_credentials(url, what, warnings);

    let sha256 = match w.hashes.iter().find(|(k, _)| k.eq_ignore_ascii_case("sha256")) {
        Some((_, v)) => Sha256Hex::parse_any_case(v.trim()).map_err(|_| {
            format!("{what}: wheel {label} has sha256 {v:?}, which is not 64 hex digits; {RELOCK_PYLOCK}")
        })?,
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
        None => basename(&url).ok_or_else(|| {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::test_support::H1;

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
}
