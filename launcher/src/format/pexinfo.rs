//! PEX-INFO: pex's own keys with pex's meaning, plus `dehydrated_requirements`,
//! the pinned wheels that the launcher fetches at first run. See docs/format.md.

use dpex_standards::digest::Sha256Hex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One locked wheel file of a package.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LockedWheel {
    /// The wheel's file name, e.g. `numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl`.
    pub filename: String,
    /// Where the packer found it (credentials never recorded).
    pub url: String,
    /// Lowercase hex sha256 of the whole file: the trust anchor (checked
    /// to be one when PEX-INFO is read).
    pub sha256: Sha256Hex,
    /// Size in bytes, when the lock or index knew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// One locked package: every wheel of it, for every platform; the launcher
/// picks at run time.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DehydratedRequirement {
    /// The project name, PEP 503-normalized.
    pub name: String,
    pub version: String,
    /// PEP 508 marker: the package is installed only where it is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// PEP 440 specifiers the interpreter must meet when the marker holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_python: Option<String>,
    pub wheels: Vec<LockedWheel>,
}

fn default_true() -> bool {
    true
}

fn default_inherit_path() -> InheritPath {
    InheritPath::False
}

/// `inherit_path`: pex writes a string; older pex wrote a bool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InheritPath {
    False,
    Prefer,
    Fallback,
}

impl InheritPath {
    pub fn parse(s: &str) -> Option<InheritPath> {
        match s.to_ascii_lowercase().as_str() {
            "false" | "0" | "" => Some(InheritPath::False),
            "prefer" | "true" | "1" => Some(InheritPath::Prefer),
            "fallback" => Some(InheritPath::Fallback),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            InheritPath::False => "false",
            InheritPath::Prefer => "prefer",
            InheritPath::Fallback => "fallback",
        }
    }
}

impl<'de> Deserialize<'de> for InheritPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(true) => Ok(InheritPath::Prefer),
            serde_json::Value::Bool(false) | serde_json::Value::Null => Ok(InheritPath::False),
            serde_json::Value::String(s) => InheritPath::parse(&s).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "inherit_path must be \"false\", \"prefer\" or \"fallback\", not {s:?}"
                ))
            }),
            other => Err(serde::de::Error::custom(format!(
                "inherit_path must be a string, not {other}"
            ))),
        }
    }
}

/// The PEX-INFO document. Unknown keys (pex has many more) are kept on read
/// only as far as serde ignores them: the launcher acts on the keys below.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PexInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// Direct requirements, PEP 508 strings (pex's meaning).
    #[serde(default)]
    pub requirements: Vec<String>,
    #[serde(default)]
    pub interpreter_constraints: Vec<String>,
    /// pex's `--python-shebang`: the interpreter `./app.pex` runs under when
    /// PEX_PYTHON and PEX_PYTHON_PATH are unset (dpex's key; pex keeps it in
    /// the file's first line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python_shebang: Option<String>,
    #[serde(default = "default_inherit_path")]
    pub inherit_path: InheritPath,
    #[serde(default)]
    pub inject_args: Vec<String>,
    #[serde(default)]
    pub inject_env: BTreeMap<String, String>,
    /// Interpreter flags put before everything on the python command line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inject_python_args: Vec<String>,
    #[serde(default = "default_true")]
    pub strip_pex_env: bool,
    /// `{ENV: resource path}`: ENV is set to the first file of that relative
    /// path found on `sys.path` (pex's `--bind-resource-path`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bind_resource_paths: BTreeMap<String, String>,
    #[serde(default)]
    pub code_hash: Option<String>,
    #[serde(default)]
    pub pex_hash: Option<String>,
    #[serde(default)]
    pub build_properties: BTreeMap<String, serde_json::Value>,
    /// `{wheel file name: sha256 of the .whl}`, as pex writes with
    /// `--no-pre-install-wheels`.
    #[serde(default)]
    pub distributions: BTreeMap<String, String>,
    #[serde(default)]
    pub deps_are_wheel_files: bool,
    #[serde(default)]
    pub dehydrated_requirements: Vec<DehydratedRequirement>,
}

impl PexInfo {
    /// Parse PEX-INFO bytes; the error says what is wrong in one line.
    pub fn from_slice(bytes: &[u8]) -> Result<PexInfo, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }

    /// Compact JSON with sorted keys, as pex writes it.
    pub fn to_json(&self) -> String {
        // serde_json::Value uses a BTreeMap, so going through it sorts the keys.
        let value = serde_json::to_value(self).expect("PEX-INFO serializes");
        serde_json::to_string(&value).expect("PEX-INFO serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        // PEX-INFO comes from the app file; serde_json stops at 128 levels.
        let deep = format!(
            r#"{{"build_properties":{{"x":{}{}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let e = PexInfo::from_slice(deep.as_bytes()).unwrap_err();
        assert!(e.contains("recursion limit"), "{e}");
        let e = PexInfo::from_slice(br#"{"inherit_path": 2}"#).unwrap_err();
        assert!(e.contains("inherit_path"), "{e}");
    }

    #[test]
    fn written_pex_info_reads_back() {
        let info = PexInfo::from_slice(
            br#"{"inherit_path":true,"build_properties":{"a":[1,2.5,null]},"inject_env":{"A":"1"}}"#,
        )
        .unwrap();
        assert_eq!(info.inherit_path, InheritPath::Prefer);
        assert_eq!(
            PexInfo::from_slice(info.to_json().as_bytes()).unwrap(),
            info
        );
    }

    #[test]
    fn a_huge_integer_in_build_properties_reads_back_as_the_same_float() {
        // Found by the pexinfo fuzz target: an integer past u64 becomes an f64; without
        // serde_json's correctly rounded float parsing the written shortest form re-read
        // one ulp off.
        let big = "6".repeat(65) + "1";
        let input = format!(r#"{{"build_properties":{{"platform":[{big},2.5,null]}}}}"#);
        let info = PexInfo::from_slice(input.as_bytes()).unwrap();
        assert_eq!(
            PexInfo::from_slice(info.to_json().as_bytes()).unwrap(),
            info
        );
    }
}
