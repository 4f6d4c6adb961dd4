//! Wheel file names (PEP 427, binary distribution format), parsed like
//! `packaging.utils.parse_wheel_filename` (packaging 26.3): `.whl` suffix,
//! 4 or 5 dashes, PEP 427 name escaping, PEP 440 version, build tag starting
//! with a digit, compressed tag sets expanded (with a cap on the product,
//! [`MAX_WHEEL_TAGS`]).

use crate::tags::{parse_tag_set, Tag, MAX_WHEEL_TAGS};
use crate::version::normalize_name;

/// A wheel's build tag: `(leading digits, rest)`, `None` when absent.
pub type BuildTag = Option<(u64, String)>;

/// A parsed wheel file name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WheelName {
    /// The distribution name as written in the file name (escaped, maybe with
    /// `.` or uppercase); compare with [`WheelName::normalized_name`].
    pub name: String,
    /// The version as written in the file name (validated as PEP 440).
    pub version: String,
    /// `(leading digits, rest)`; `None` when absent (sorts lowest). A number
    /// too large for `u64` saturates at `u64::MAX`.
    pub build: BuildTag,
    /// The expanded compressed tag sets, lowercased, at most [`MAX_WHEEL_TAGS`].
    pub tags: Vec<Tag>,
}

impl WheelName {
    /// Parses `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`
    /// like `packaging.utils.parse_wheel_filename`.
    pub fn parse(filename: &str) -> Result<WheelName, String> {
        let bad = |why: &str| format!("invalid wheel file name {filename:?}: {why}");
        let stem = filename
            .strip_suffix(".whl")
            .ok_or_else(|| bad("it must end with .whl"))?;
        let dashes = stem.matches('-').count();
        if dashes != 4 && dashes != 5 {
            return Err(bad(
                "expected name-version[-build]-python-abi-platform (4 or 5 dashes)",
            ));
        }
        let parts: Vec<&str> = stem.splitn(dashes - 1, '-').collect();
        let name = parts[0];
        if name.is_empty()
            || name.contains("__")
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        {
            return Err(bad("invalid project name"));
        }
        let version = parts[1];
        if !is_valid_version(version) {
            return Err(bad(&format!("invalid version {version:?}")));
        }
        let build = if dashes == 5 {
            let b = parts[2];
            let digits_end = b.find(|c: char| !c.is_ascii_digit()).unwrap_or(b.len());
            if digits_end == 0 {
                return Err(bad(&format!(
                    "invalid build tag {b:?} (it must start with a digit)"
                )));
            }
            let number = b[..digits_end].parse::<u64>().unwrap_or(u64::MAX);
            Some((number, b[digits_end..].to_string()))
        } else {
            None
        };
        let tags = parse_tag_set(parts[parts.len() - 1], MAX_WHEEL_TAGS).map_err(|e| bad(&e))?;
        Ok(WheelName {
            name: name.to_string(),
            version: version.to_string(),
            build,
            tags,
        })
    }

    /// The PEP 503 normalized project name (`Foo_Bar.baz` → `foo-bar-baz`).
    pub fn normalized_name(&self) -> String {
        normalize_name(&self.name)
    }
}

/// Whether `v` is a PEP 440 version, like `packaging.version.Version(v)`.
pub(crate) fn is_valid_version(v: &str) -> bool {
    crate::version::Version::parse(v).is_ok()
}
