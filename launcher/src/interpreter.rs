//! Finding, probing and caching Python interpreters.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What the probe learns from an interpreter (one run of a stdlib-only script,
/// cached by the interpreter's real path, size and mtime).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct InterpreterInfo {
    /// Real path of the base interpreter binary (shims and venvs resolved).
    pub executable: PathBuf,
    /// `sys.version_info[:3]`.
    pub version: (u32, u32, u32),
    /// `sys.implementation.name`, e.g. `cpython`, `pypy`.
    pub implementation: String,
    /// `sys.abiflags` (`""`, `"t"`, `"d"`, ...); empty where Python lacks it.
    pub abiflags: String,
    /// `sysconfig.get_config_var("SOABI")`, e.g. `cpython-311-x86_64-linux-gnu`.
    pub soabi: String,
    /// `sysconfig.get_platform()`, e.g. `linux-x86_64`.
    pub platform: String,
    /// 32 or 64: the interpreter's pointer size in bits.
    pub pointer_bits: u32,
    /// glibc version the interpreter runs on, if glibc.
    pub glibc: Option<(u32, u32)>,
    /// musl version the interpreter runs on, if musl.
    pub musl: Option<(u32, u32)>,
    /// `Py_GIL_DISABLED` build.
    pub free_threaded: bool,
    /// The PEP 508 marker environment (`python_version`, `sys_platform`, ...).
    pub markers: BTreeMap<String, String>,
    /// site-packages relative to a venv root, e.g. `lib/python3.11/site-packages`.
    pub purelib_rel: String,
}

use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::version::{Version, VersionSpecifiers};
use sha2::{Digest, Sha256};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};

const PROBE_SCRIPT: &str = include_str!("probe.py");

/// Versioned names searched when no constraint pins a minor version.
const VERSIONED_NAMES: &[&str] = &[
    "python3.15",
    "python3.14",
    "python3.13",
    "python3.12",
    "python3.11",
    "python3.10",
    "python3.9",
    "python3.8",
];

/// A failed probe is remembered this long: a broken candidate (a pyenv shim
/// for a version that is not installed) costs one probe per hour, not one
/// per start, and is retried in case it got fixed.
const FAILED_PROBE_TTL_SECS: u64 = 3600;

/// A cached probe: valid while the candidate and the real interpreter it
/// resolved to keep their size and mtime.
#[derive(Serialize, Deserialize)]
enum ProbeRecord {
    Ok {
        exe_stamp: (u64, i64, i64),
        info: Box<InterpreterInfo>,
    },
    Failed {
        at_unix_secs: u64,
        message: String,
    },
}

fn stamp(meta: &fs::Metadata) -> (u64, i64, i64) {
    (meta.len(), meta.mtime(), meta.mtime_nsec())
}

fn now_unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Probe `candidate` (following symlinks and shims), using the cache when the
/// files have not changed: a warm call costs two stats and one small read.
pub fn probe_cached(cache: &Cache, candidate: &Path) -> Result<InterpreterInfo> {
    let meta =
        fs::metadata(candidate).map_err(|e| Error::io("inspect the interpreter", candidate, e))?;
    let mut hasher = Sha256::new();
    hasher.update(candidate.as_os_str().as_encoded_bytes());
    hasher.update(format!("\0{:?}\0{}", stamp(&meta), meta.ino()).as_bytes());
    // pyenv shims pick their version from PYENV_VERSION: a different value is
    // a different interpreter behind the same file.
    hasher.update(
        std::env::var_os("PYENV_VERSION")
            .unwrap_or_default()
            .as_encoded_bytes(),
    );
    let key = hex(&hasher.finalize()[..12]);
    let record_path = cache.interpreters_dir().join(format!("{key}.json"));
    if let Ok(bytes) = fs::read(&record_path) {
        match serde_json::from_slice::<ProbeRecord>(&bytes) {
            Ok(ProbeRecord::Ok { exe_stamp, info }) => {
                if fs::metadata(&info.executable).map(|m| stamp(&m)).ok() == Some(exe_stamp) {
                    return Ok(*info);
                }
            }
            Ok(ProbeRecord::Failed {
                at_unix_secs,
                message,
            }) => {
                if now_unix_secs().saturating_sub(at_unix_secs) < FAILED_PROBE_TTL_SECS {
                    return Err(Error::msg(format!(
                        "{message} (remembered from a probe less than an hour ago; delete {} to probe again now)",
                        record_path.display()
                    )));
                }
            }
            Err(_) => {}
        }
    }
    let (record, result) = match run_probe(candidate) {
        Ok(info) => {
            let exe_meta = fs::metadata(&info.executable)
                .map_err(|e| Error::io("inspect the interpreter", &info.executable, e))?;
            (
                ProbeRecord::Ok {
                    exe_stamp: stamp(&exe_meta),
                    info: Box::new(info.clone()),
                },
                Ok(info),
            )
        }
        Err(e) => (
            ProbeRecord::Failed {
                at_unix_secs: now_unix_secs(),
                message: e.to_string(),
            },
            Err(e),
        ),
    };
    // A cache we cannot write only costs a probe next time.
    let _ = write_file_atomically(
        &record_path,
        serde_json::to_string(&record).unwrap().as_bytes(),
    );
    result
}

/// The names to look for in each directory, in order: the versions the
/// constraints pin (`CPython==3.11.*` -> `python3.11`) if they all pin one,
/// else `python3` first (the host's default), then versioned names, newest
/// first; `python` last.
pub fn candidate_names(constraints: &[String]) -> Vec<String> {
    let pinned: Vec<Option<String>> = constraints
        .iter()
        .map(|c| {
            let (_, specifiers) = split_constraint(c);
            let rest = specifiers.strip_prefix("==")?.trim().trim_end_matches(".*");
            let mut parts = rest.split('.');
            let (major, minor) = (parts.next()?, parts.next()?);
            (major.chars().all(|c| c.is_ascii_digit()) && minor.chars().all(|c| c.is_ascii_digit()))
                .then(|| format!("python{major}.{minor}"))
        })
        .collect();
    let mut names: Vec<String> = if !pinned.is_empty() && pinned.iter().all(Option::is_some) {
        pinned.into_iter().flatten().collect()
    } else {
        std::iter::once("python3".to_string())
            .chain(VERSIONED_NAMES.iter().map(|s| s.to_string()))
            .collect()
    };
    names.extend(["python3".to_string(), "python".to_string()]);
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

fn run_probe(candidate: &Path) -> Result<InterpreterInfo> {
    let output = Command::new(candidate)
        .args(["-I", "-S", "-c", PROBE_SCRIPT])
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io("run the interpreter", candidate, e))?;
    if !output.status.success() {
        return Err(Error::msg(format!(
            "the interpreter {} failed to run a version probe ({}): {}",
            candidate.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| {
        Error::msg(format!(
            "the interpreter {} answered the version probe with something unexpected ({e}); \
             is it a CPython or PyPy 3 interpreter?",
            candidate.display()
        ))
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Write a small file so that readers see the old or the new content, never half.
pub(crate) fn write_file_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

/// Does `info` meet any of the constraints (`CPython==3.11.*`, `>=3.8,<3.13`,
/// `PyPy`)? An empty list admits every interpreter.
pub fn meets_constraints(info: &InterpreterInfo, constraints: &[String]) -> Result<bool> {
    if constraints.is_empty() {
        return Ok(true);
    }
    let version_text = info
        .markers
        .get("python_full_version")
        .cloned()
        .unwrap_or_else(|| format!("{}.{}.{}", info.version.0, info.version.1, info.version.2));
    let version = Version::parse_python_full_version(&version_text).map_err(Error::msg)?;
    let implementation = info
        .markers
        .get("platform_python_implementation")
        .map(String::as_str)
        .unwrap_or("");
    for constraint in constraints {
        let (name, specifiers) = split_constraint(constraint);
        if !name.is_empty() && !name.eq_ignore_ascii_case(implementation) {
            continue;
        }
        let specifiers = VersionSpecifiers::parse(specifiers).map_err(|e| {
            Error::msg(format!(
                "invalid interpreter constraint {constraint:?}: {e}"
            ))
        })?;
        if specifiers.contains(&version) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `CPython==3.11.*` -> (`CPython`, `==3.11.*`).
pub fn split_constraint(constraint: &str) -> (&str, &str) {
    let constraint = constraint.trim();
    let cut = constraint
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(constraint.len());
    (&constraint[..cut], constraint[cut..].trim())
}

/// One line describing an interpreter for messages.
pub fn describe(path: &Path, info: &InterpreterInfo) -> String {
    let implementation = info
        .markers
        .get("platform_python_implementation")
        .map(String::as_str)
        .unwrap_or("?");
    let (a, b, c) = info.version;
    if path == info.executable {
        format!("{} ({implementation} {a}.{b}.{c})", path.display())
    } else {
        format!(
            "{} -> {} ({implementation} {a}.{b}.{c})",
            path.display(),
            info.executable.display()
        )
    }
}

/// Choose the interpreter: the one `python app.pex` ran under, else
/// `PEX_PYTHON` (path or name), else the first `python3.X`/`python3`/`python`
/// on `PEX_PYTHON_PATH` or `PATH` that meets the constraints.
pub fn find_interpreter(cache: &Cache, constraints: &[String]) -> Result<InterpreterInfo> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let search_path = env("PEX_PYTHON_PATH")
        .or_else(|| env("PATH"))
        .unwrap_or_default();
    if let Some(python) = env("PEX_PYTHON") {
        let python = PathBuf::from(python);
        let resolved = if python.components().count() > 1 {
            Some(python.clone())
        } else {
            std::env::split_paths(&search_path)
                .map(|dir| dir.join(&python))
                .find(|p| is_executable(p))
        };
        let Some(path) = resolved else {
            return Err(Error::msg(format!(
                "PEX_PYTHON={} names no executable on PATH; set it to an interpreter's full path \
                 or unset it",
                python.display()
            )));
        };
        let info = probe_cached(cache, &path)?;
        if !meets_constraints(&info, constraints)? {
            return Err(Error::msg(format!(
                "{} chosen by PEX_PYTHON does not meet this app's interpreter constraints {}; \
                 pick another interpreter",
                describe(&path, &info),
                constraints.join(" or ")
            )));
        }
        return Ok(info);
    }
    // `python app.pex`: keep that interpreter when it fits, as pex does;
    // otherwise look for one that does.
    if let Some(python) = env("__DPEX_PYTHON") {
        let info = probe_cached(cache, Path::new(&python))?;
        if meets_constraints(&info, constraints)? {
            return Ok(info);
        }
    }
    let names = candidate_names(constraints);
    let mut seen = Vec::new();
    for dir in std::env::split_paths(&search_path) {
        // PEX_PYTHON_PATH may list interpreter files as well as directories.
        let candidates: Vec<PathBuf> = if dir.is_file() {
            vec![dir.clone()]
        } else {
            names.iter().map(|name| dir.join(name)).collect()
        };
        for candidate in candidates {
            if !is_executable(&candidate) {
                continue;
            }
            match probe_cached(cache, &candidate) {
                Ok(info) => {
                    if meets_constraints(&info, constraints)? {
                        return Ok(info);
                    }
                    seen.push(describe(&candidate, &info));
                }
                Err(e) => seen.push(format!("{} (unusable: {e})", candidate.display())),
            }
        }
    }
    let found = if seen.is_empty() {
        "none".to_string()
    } else {
        seen.join("; ")
    };
    Err(Error::msg(format!(
        "no Python interpreter on {} meets this app's interpreter constraints ({}). Found: {found}. \
         Install a matching Python, or point PEX_PYTHON at one",
        if env("PEX_PYTHON_PATH").is_some() { "PEX_PYTHON_PATH" } else { "PATH" },
        if constraints.is_empty() { "any".to_string() } else { constraints.join(" or ") },
    )))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_pinned_constraints() {
        assert_eq!(
            candidate_names(&["CPython==3.11.*".into()]),
            ["python3.11", "python3", "python"]
        );
        assert_eq!(
            candidate_names(&["CPython==3.11.*".into(), "==3.12".into()]),
            ["python3.11", "python3.12", "python3", "python"]
        );
        let open = candidate_names(&[">=3.9".into()]);
        assert_eq!(open[0], "python3");
        assert_eq!(open.last().unwrap(), "python");
        assert!(open.contains(&"python3.13".to_string()));
        assert_eq!(candidate_names(&[])[0], "python3");
    }

    #[test]
    fn constraints_split_and_match() {
        assert_eq!(split_constraint("CPython==3.11.*"), ("CPython", "==3.11.*"));
        assert_eq!(split_constraint(">=3.8"), ("", ">=3.8"));
        let mut info = InterpreterInfo {
            executable: "/usr/bin/python3.11".into(),
            version: (3, 11, 2),
            implementation: "cpython".into(),
            abiflags: String::new(),
            soabi: "cpython-311-x86_64-linux-gnu".into(),
            platform: "linux-x86_64".into(),
            pointer_bits: 64,
            glibc: Some((2, 36)),
            musl: None,
            free_threaded: false,
            markers: Default::default(),
            purelib_rel: "lib/python3.11/site-packages".into(),
        };
        info.markers
            .insert("python_full_version".into(), "3.11.2".into());
        info.markers
            .insert("platform_python_implementation".into(), "CPython".into());
        assert!(meets_constraints(&info, &[]).unwrap());
        assert!(meets_constraints(&info, &["CPython==3.11.*".into()]).unwrap());
        assert!(meets_constraints(&info, &["PyPy".into(), ">=3.10,<3.12".into()]).unwrap());
        assert!(!meets_constraints(&info, &["CPython>=3.12".into()]).unwrap());
        assert!(!meets_constraints(&info, &["PyPy==3.11.*".into()]).unwrap());
    }
}
