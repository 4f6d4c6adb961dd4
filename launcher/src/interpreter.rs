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
