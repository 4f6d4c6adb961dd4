//! sha256 digests as locks, index pages and PEX-INFO write them: 64 hex
//! digits. dpex stores and compares them lowercase.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// A sha256 digest: 64 lowercase hex digits, checked when it is made, so
/// code that holds one (cache paths, hash comparisons) needs no check again.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Sha256Hex(String);

impl Sha256Hex {
    /// Exactly 64 lowercase hex digits (what dpex writes into PEX-INFO).
    pub fn parse(s: &str) -> Result<Sha256Hex, String> {
        if s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Sha256Hex(s.to_string()))
        } else {
            Err(format!(
                "{} is not a sha256 digest (64 lowercase hex digits)",
                crate::version::quote(s)
            ))
        }
    }

    /// 64 hex digits in any case (what locks and index pages may write),
    /// lowercased.
    pub fn parse_any_case(s: &str) -> Result<Sha256Hex, String> {
        Sha256Hex::parse(&s.to_ascii_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Sha256Hex {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<std::path::Path> for Sha256Hex {
    fn as_ref(&self) -> &std::path::Path {
        self.0.as_ref()
    }
}

impl fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Sha256Hex {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Sha256Hex {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Sha256Hex {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl<'de> Deserialize<'de> for Sha256Hex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Sha256Hex, D::Error> {
        let s = String::deserialize(deserializer)?;
        Sha256Hex::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_digests() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        let d = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(Sha256Hex::parse(d).unwrap(), d);
        assert!(Sha256Hex::parse(&d.to_uppercase()).is_err());
        assert_eq!(Sha256Hex::parse_any_case(&d.to_uppercase()).unwrap(), d);
        assert!(Sha256Hex::parse(&d[1..]).is_err());
        assert!(Sha256Hex::parse(&format!("{}g", &d[1..])).is_err());
        assert!(Sha256Hex::parse("é").is_err());
    }
}
