//! The CA certificates HTTPS servers are verified against (always: there is
//! no switch to turn verification off).
//!
//! - By default, the platform's trust store: the first CA bundle file that
//!   exists of those Linux distributions (and macOS, the BSDs) keep up to
//!   date (`/etc/ssl/certs/ca-certificates.crt`, ...), else the certificates
//!   in `/etc/ssl/certs`, else the Mozilla roots built into dpex. A CA the
//!   administrator installed (`update-ca-certificates`,
//!   `update-ca-trust`) is trusted.
//! - `SSL_CERT_FILE` (a PEM bundle) and `SSL_CERT_DIR` (folders of PEM files,
//!   separated by `:`) replace the platform store, as they do for OpenSSL,
//!   curl, Python and uv.
//! - `DPEX_CA_BUNDLE` (a PEM file, or a folder of them) adds certificates to
//!   whichever store is in use: the way to trust one corporate CA.
//!
//! A variable that names a file or folder with no certificate in it is an
//! error, not a silent fallback.

use std::path::Path;
use ureq::tls::{Certificate, PemItem, RootCerts};

/// CA bundle files, in the order Go's crypto/x509 looks for them.
const BUNDLE_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL 6
    "/etc/ssl/ca-bundle.pem",             // openSUSE
    "/etc/pki/tls/cacert.pem",            // OpenELEC
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7+
    "/etc/ssl/cert.pem",                  // Alpine, macOS, BSDs
];

/// Folders of PEM files, used when no bundle file exists.
const CERT_DIRS: &[&str] = &["/etc/ssl/certs", "/etc/pki/tls/certs"];

/// The roots to verify servers against, and how to name them in messages.
pub struct TrustStore {
    pub roots: RootCerts,
    /// E.g. `the platform's trust store (/etc/ssl/certs/ca-certificates.crt)`.
    pub description: String,
}

/// Read the trust store from the environment and the filesystem.
pub fn trust_store() -> Result<TrustStore, String> {
    trust_store_from(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
}

/// [`trust_store`] with the variables read through `get`.
pub fn trust_store_from(get: impl Fn(&str) -> Option<String>) -> Result<TrustStore, String> {
    trust_store_in(get, BUNDLE_FILES, CERT_DIRS)
}

/// [`trust_store_from`] with the platform's bundle files and folders given
/// (unit tests point them at temporary files: the real ones are fixed paths).
fn trust_store_in(
    get: impl Fn(&str) -> Option<String>,
    bundle_files: &[&str],
    cert_dirs: &[&str],
) -> Result<TrustStore, String> {
    let mut certs: Vec<Certificate<'static>> = Vec::new();
    let mut described = Vec::new();
    let cert_file = get("SSL_CERT_FILE");
    let cert_dir = get("SSL_CERT_DIR");
    let mut builtin = false;
    if cert_file.is_some() || cert_dir.is_some() {
        if let Some(file) = &cert_file {
            let found =
                read_file(Path::new(file)).map_err(|e| format!("SSL_CERT_FILE={file}: {e}"))?;
            if found.is_empty() {
                return Err(format!(
                    "SSL_CERT_FILE={file}: no PEM certificate in it (expected \
                     -----BEGIN CERTIFICATE----- blocks)"
                ));
            }
            certs.extend(found);
            described.push(format!("SSL_CERT_FILE={file}"));
        }
        if let Some(dirs) = &cert_dir {
            let mut found = Vec::new();
            for dir in dirs.split(':').filter(|d| !d.is_empty()) {
                found.extend(read_dir(Path::new(dir)));
            }
            if found.is_empty() {
                return Err(format!(
                    "SSL_CERT_DIR={dirs}: no PEM certificate in its files"
                ));
            }
            certs.extend(found);
            described.push(format!("SSL_CERT_DIR={dirs}"));
        }
    } else if let Some((path, found)) = bundle_files.iter().find_map(|f| {
        let found = read_file(Path::new(f)).ok()?;
        (!found.is_empty()).then_some((*f, found))
    }) {
        certs.extend(found);
        described.push(format!("the platform's trust store ({path})"));
    } else if let Some((dir, found)) = cert_dirs.iter().find_map(|d| {
        let found = read_dir(Path::new(d));
        (!found.is_empty()).then_some((*d, found))
    }) {
        certs.extend(found);
        described.push(format!("the platform's trust store ({dir})"));
    } else {
        builtin = true;
        described.push("the Mozilla roots built into dpex (this host has no CA bundle)".into());
    }
    if let Some(extra) = get("DPEX_CA_BUNDLE") {
        let path = Path::new(&extra);
        let found = if path.is_dir() {
            Ok(read_dir(path))
        } else {
            read_file(path)
        }
        .map_err(|e| format!("DPEX_CA_BUNDLE={extra}: {e}"))?;
        if found.is_empty() {
            return Err(format!(
                "DPEX_CA_BUNDLE={extra}: no PEM certificate in it (expected \
                 -----BEGIN CERTIFICATE----- blocks)"
            ));
        }
        if builtin {
            // rustls takes either the built-in roots or a list of
            // certificates; without a platform bundle to add to, the extra
            // CA is all there is.
            certs.clear();
            described.clear();
            builtin = false;
        }
        certs.extend(found);
        described.push(format!("DPEX_CA_BUNDLE={extra}"));
    }
    Ok(TrustStore {
        roots: if builtin {
            RootCerts::WebPki
        } else {
            RootCerts::from(certs)
        },
        description: described.join(" plus "),
    })
}

/// The certificates in a PEM file (other PEM items are skipped).
fn read_file(path: &Path) -> Result<Vec<Certificate<'static>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    Ok(parse(&bytes))
}

fn parse(bytes: &[u8]) -> Vec<Certificate<'static>> {
    ureq::tls::parse_pem(bytes)
        .map_while(Result::ok)
        .filter_map(|item| match item {
            PemItem::Certificate(c) => Some(c),
            _ => None,
        })
        .collect()
}

/// The certificates in every readable file of a folder (not recursive).
fn read_dir(dir: &Path) -> Vec<Certificate<'static>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        if p.is_file() {
            if let Ok(bytes) = std::fs::read(&p) {
                out.extend(parse(&bytes));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    // A self-signed certificate (CN=dpex-test).
    const PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBfTCCASOgAwIBAgIUCFWaxGzFblfZR0n7gApptiM+IkMwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJZHBleC10ZXN0MB4XDTI2MTEyNTE2MzMzMVoXDTM2MTEyMjE2
MzMzMVowFDESMBAGA1UEAwwJZHBleC10ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEXCC9ZcI3Yo7wfWKrEagLgHnvDT+QZ+4lUZGjFshQ5BOYFTMNelphV/2H
dHeAyiWzJoQbZw5iArm5wtrLVOj5T6NTMFEwHQYDVR0OBBYEFIJZ1lkPprIyf7hz
sNW5Y+V9UYhdMB8GA1UdIwQYMBaAFIJZ1lkPprIyf7hzsNW5Y+V9UYhdMA8GA1Ud
EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAKlLFkWAk6vRLCoPjMsyhWrg
3foNSqriDL1sm5kBMzEfAiAeJ07PMRWFM9mBF4sosfzyG6+oBJrmu2B0grS/k1S2
Bw==
-----END CERTIFICATE-----
";

    fn store(vars: &[(&str, String)]) -> Result<TrustStore, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        trust_store_from(|k| map.get(k).cloned())
    }

    fn count(s: &TrustStore) -> usize {
        match &s.roots {
            RootCerts::Specific(c) => c.len(),
            _ => 0,
        }
    }

    #[test]
    fn variables_replace_or_add() {
        let dir = std::env::temp_dir().join(format!("dpex-tls-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let one = dir.join("one.pem");
        std::fs::write(&one, PEM).unwrap();
        let two = dir.join("two.pem");
        std::fs::write(&two, format!("junk\n{PEM}{PEM}")).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "nothing here").unwrap();
        let s = |p: &std::path::PathBuf| p.display().to_string();

        let only = store(&[("SSL_CERT_FILE", s(&one))]).unwrap();
        assert_eq!(count(&only), 1);
        assert!(only.description.contains("SSL_CERT_FILE="));
        let both = store(&[("SSL_CERT_FILE", s(&one)), ("DPEX_CA_BUNDLE", s(&two))]).unwrap();
        assert_eq!(count(&both), 3);
        assert!(both.description.contains(" plus DPEX_CA_BUNDLE="));
        let in_dir = store(&[("SSL_CERT_DIR", format!("/nonexistent:{}", s(&dir)))]).unwrap();
        assert_eq!(count(&in_dir), 3);
        let added_dir = store(&[("SSL_CERT_FILE", s(&one)), ("DPEX_CA_BUNDLE", s(&dir))]).unwrap();
        assert_eq!(count(&added_dir), 4);

        let e = store(&[("SSL_CERT_FILE", s(&empty))]).err().unwrap();
        assert!(
            e.contains("SSL_CERT_FILE=") && e.contains("no PEM certificate"),
            "{e}"
        );
        let e = store(&[("DPEX_CA_BUNDLE", s(&dir.join("missing.pem")))])
            .err()
            .unwrap();
        assert!(
            e.contains("DPEX_CA_BUNDLE=") && e.contains("cannot read"),
            "{e}"
        );
        let e = store(&[("SSL_CERT_DIR", "/nonexistent".into())])
            .err()
            .unwrap();
        assert!(e.contains("SSL_CERT_DIR=/nonexistent"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The platform store, with its fixed paths replaced by temporary ones:
    /// the first bundle file with a certificate wins (a missing or empty one
    /// is skipped), else the first folder with one, else the built-in roots;
    /// DPEX_CA_BUNDLE adds to a platform store and is the whole store when
    /// there is none; SSL_CERT_FILE means the platform store is not read.
    #[test]
    fn platform_store_discovery() {
        let dir = std::env::temp_dir().join(format!("dpex-tls-platform-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let certs = dir.join("certs");
        let empty_dir = dir.join("empty-certs");
        std::fs::create_dir_all(&certs).unwrap();
        std::fs::create_dir_all(&empty_dir).unwrap();
        let s = |p: &std::path::Path| p.display().to_string();
        let missing = s(&dir.join("missing.crt"));
        let empty = dir.join("empty.crt");
        std::fs::write(&empty, "no certificate here").unwrap();
        let one = dir.join("one.crt");
        std::fs::write(&one, PEM).unwrap();
        let two = dir.join("two.crt");
        std::fs::write(&two, format!("{PEM}{PEM}")).unwrap();
        std::fs::write(certs.join("a.pem"), PEM).unwrap();
        std::fs::write(certs.join("b.pem"), PEM).unwrap();
        std::fs::write(certs.join("c.pem"), PEM).unwrap();
        let extra = dir.join("extra.pem");
        std::fs::write(&extra, PEM).unwrap();
        let none = |_: &str| None;

        // The first bundle file that exists and holds a certificate.
        let files = [missing.clone(), s(&empty), s(&two), s(&one)];
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        let dirs = [s(&certs)];
        let dirs: Vec<&str> = dirs.iter().map(String::as_str).collect();
        let st = trust_store_in(none, &files, &dirs).unwrap();
        assert_eq!(count(&st), 2);
        assert_eq!(
            st.description,
            format!("the platform's trust store ({})", s(&two))
        );

        // No bundle file: the first folder with certificates.
        let empty_dir_s = s(&empty_dir);
        let st = trust_store_in(
            none,
            &[missing.as_str(), &s(&empty)],
            &[&empty_dir_s, dirs[0]],
        )
        .unwrap();
        assert_eq!(count(&st), 3);
        assert_eq!(
            st.description,
            format!("the platform's trust store ({})", s(&certs))
        );

        // Nothing at all: the built-in roots.
        let st = trust_store_in(none, &[missing.as_str()], &[&empty_dir_s]).unwrap();
        assert!(matches!(st.roots, RootCerts::WebPki));
        assert!(
            st.description.contains("Mozilla roots built into dpex"),
            "{}",
            st.description
        );

        // DPEX_CA_BUNDLE adds to the platform store...
        let with_extra = |k: &str| (k == "DPEX_CA_BUNDLE").then(|| s(&extra));
        let st = trust_store_in(with_extra, &files, &dirs).unwrap();
        assert_eq!(count(&st), 3);
        assert!(
            st.description.starts_with("the platform's trust store (")
                && st.description.contains(" plus DPEX_CA_BUNDLE=")
        );
        // ... and is the whole store on a host without one.
        let st = trust_store_in(with_extra, &[missing.as_str()], &[&empty_dir_s]).unwrap();
        assert_eq!(count(&st), 1);
        assert_eq!(st.description, format!("DPEX_CA_BUNDLE={}", s(&extra)));

        // SSL_CERT_FILE replaces the platform store: its files are not read.
        let file_only = |k: &str| (k == "SSL_CERT_FILE").then(|| s(&one));
        let st = trust_store_in(file_only, &files, &dirs).unwrap();
        assert_eq!(count(&st), 1);
        assert_eq!(st.description, format!("SSL_CERT_FILE={}", s(&one)));

        // The real list is the documented one, in its order.
        assert_eq!(
            BUNDLE_FILES.first(),
            Some(&"/etc/ssl/certs/ca-certificates.crt")
        );
        assert_eq!(BUNDLE_FILES.last(), Some(&"/etc/ssl/cert.pem"));
        assert_eq!(BUNDLE_FILES.len(), 6);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
