//! Finding, probing and caching Python interpreters.

use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::settings::Settings;
use dpex_standards::digest::hex;
use dpex_standards::python::{meets_constraints, split_constraint, InterpreterInfo};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::path::PathBuf;
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
    // The probe's version: records of an older probe (without bytecode_magic) are not read.
    hasher.update(b"probe-2\0");
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

/// Write a small file so that readers see the old or the new content, never half.
pub(crate) fn write_file_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
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

/// The interpreter a `--python-shebang` names (`#!` optional): the program
/// itself (`/usr/bin/python3.11`), or the one `/usr/bin/env` would run
/// (`/usr/bin/env python3.11` -> `python3.11`, looked up on PATH). Interpreter
/// flags after it are refused: the launcher execs the interpreter itself, so
/// they belong in `--inject-python-args`.
pub fn shebang_python(shebang: &str) -> std::result::Result<PathBuf, String> {
    let words: Vec<&str> = shebang
        .trim()
        .trim_start_matches("#!")
        .split_whitespace()
        .collect();
    let program = match words[..] {
        [env, name] if Path::new(env).file_name() == Some("env".as_ref()) => name,
        [program] if program.starts_with('/') => program,
        [] => return Err("--python-shebang is empty".into()),
        [env, _, ..] if Path::new(env).file_name() == Some("env".as_ref()) => {
            return Err(format!(
                "--python-shebang {shebang:?} passes arguments to the interpreter; the \
                 launcher runs it itself: give `/usr/bin/env python3.X` or a path alone, and \
                 Python's flags with --inject-python-args"
            ))
        }
        [program, ..] if program.starts_with('/') => {
            return Err(format!(
                "--python-shebang {shebang:?} passes arguments to the interpreter; the \
                 launcher runs it itself: give the interpreter's path alone, and Python's \
                 flags with --inject-python-args"
            ))
        }
        _ => {
            return Err(format!(
                "--python-shebang {shebang:?} is neither an absolute path nor \
                 `/usr/bin/env NAME`"
            ))
        }
    };
    Ok(PathBuf::from(program))
}

/// Choose the interpreter: `PEX_PYTHON` (path or name), else the one
/// `python app.pex` ran under if it fits, else the app's `--python-shebang`
/// one (unless `PEX_PYTHON_PATH` is set), else the first
/// `python3.X`/`python3`/`python` on `PEX_PYTHON_PATH` or `PATH` that meets
/// the constraints.
pub fn find_interpreter(
    cache: &Cache,
    constraints: &[String],
    shebang: Option<&str>,
    settings: &Settings,
) -> Result<InterpreterInfo> {
    let search_path = settings.python_search_path();
    let search = (
        search_path.as_os_str(),
        if settings.python_path.is_some() {
            "PEX_PYTHON_PATH"
        } else {
            "PATH"
        },
    );
    if let Some(python) = &settings.python {
        let python = PathBuf::from(python);
        let chosen_by = format!("PEX_PYTHON={}", python.display());
        return named_interpreter(cache, &python, search, constraints, &chosen_by);
    }
    // `python app.pex`: keep that interpreter when it fits, as pex does;
    // otherwise look for one that does.
    if let Some(python) = &settings.shim_python {
        let info = probe_cached(cache, Path::new(&python))?;
        if meets_constraints(&info, constraints).map_err(Error::msg)? {
            return Ok(info);
        }
    }
    // `./app.pex` of an app built with --python-shebang: the interpreter pex's
    // app starts under (missing: an error, as the kernel gives pex's app); if it
    // does not meet the constraints, pex looks further, and so does the search below.
    if let (Some(shebang), None) = (shebang, &settings.python_path) {
        let python = shebang_python(shebang).map_err(Error::msg)?;
        let chosen_by = format!("this app's --python-shebang {shebang:?}");
        let info = named_interpreter(cache, &python, search, &[], &chosen_by)?;
        if meets_constraints(&info, constraints).map_err(Error::msg)? {
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
                    if meets_constraints(&info, constraints).map_err(Error::msg)? {
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
        if settings.python_path.is_some() { "PEX_PYTHON_PATH" } else { "PATH" },
        if constraints.is_empty() { "any".to_string() } else { constraints.join(" or ") },
    )))
}

/// The interpreter `python` names (a path, or a name looked up on
/// `search_path`), which must meet the constraints; `chosen_by` says who named it.
fn named_interpreter(
    cache: &Cache,
    python: &Path,
    (search_path, search_name): (&std::ffi::OsStr, &str),
    constraints: &[String],
    chosen_by: &str,
) -> Result<InterpreterInfo> {
    let resolved = if python.components().count() > 1 {
        Some(python.to_path_buf()).filter(|p| is_executable(p))
    } else {
        std::env::split_paths(search_path)
            .map(|dir| dir.join(python))
            .find(|p| is_executable(p))
    };
    let Some(path) = resolved else {
        let missing = if python.components().count() > 1 {
            format!("{}, which is not an executable file here", python.display())
        } else {
            format!("{}, which is not on {search_name}", python.display())
        };
        return Err(Error::msg(format!(
            "{chosen_by} names {missing}; install that interpreter, or choose another with \
             PEX_PYTHON (a full path, or a name on PATH)"
        )));
    };
    let info = probe_cached(cache, &path)?;
    if !meets_constraints(&info, constraints).map_err(Error::msg)? {
        return Err(Error::msg(format!(
            "{} chosen by {chosen_by} does not meet this app's interpreter constraints {}; \
             pick another interpreter",
            describe(&path, &info),
            constraints.join(" or ")
        )));
    }
    Ok(info)
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
    fn a_shebang_names_its_interpreter() {
        let ok = |s: &str| shebang_python(s).unwrap();
        assert_eq!(ok("/usr/bin/python3.11"), Path::new("/usr/bin/python3.11"));
        assert_eq!(ok("#!/usr/bin/env python3.11"), Path::new("python3.11"));
        assert_eq!(
            ok("/bin/env  /opt/py/bin/python"),
            Path::new("/opt/py/bin/python")
        );
        for (bad, why) in [
            ("/usr/bin/python3 -sE", "arguments"),
            ("/usr/bin/env python3 -u", "arguments"),
            ("python3", "absolute path"),
            ("", "empty"),
        ] {
            let err = shebang_python(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

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
}
