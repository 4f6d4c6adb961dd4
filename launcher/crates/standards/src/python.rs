//! A Python interpreter as the packaging standards see it: what the
//! launcher's probe reports (version, ABI, platform, marker environment), and
//! pex's interpreter constraints (`CPython==3.11.*`) matched against it.
//! Pure data and logic: finding and running interpreters is the launcher's
//! `run::interpreter`.

use crate::version::{Version, VersionSpecifiers};
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
    /// `importlib.util.MAGIC_NUMBER` in hex (the bytecode version; empty if unknown).
    #[serde(default)]
    pub bytecode_magic: String,
}

/// Does `info` meet any of the constraints (`CPython==3.11.*`, `>=3.8,<3.13`,
/// `PyPy`)? An empty list admits every interpreter.
pub fn meets_constraints(info: &InterpreterInfo, constraints: &[String]) -> Result<bool, String> {
    if constraints.is_empty() {
        return Ok(true);
    }
    let version_text = info
        .markers
        .get("python_full_version")
        .cloned()
        .unwrap_or_else(|| format!("{}.{}.{}", info.version.0, info.version.1, info.version.2));
    let version = Version::parse_python_full_version(&version_text)?;
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
        let specifiers = VersionSpecifiers::parse(specifiers)
            .map_err(|e| format!("invalid interpreter constraint {constraint:?}: {e}"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
            bytecode_magic: String::new(),
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
