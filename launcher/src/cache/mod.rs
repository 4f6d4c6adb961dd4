//! The per-user, content-addressed cache and `atomic_dir`, the one primitive
//! every cache write goes through.
//!
//! Layout under the root (see docs/cache.md):
//! ```text
//! <root>/1/wheels/<sha256>/         one unpacked copy of each wheel
//! <root>/1/apps/<pex_hash>/         the app's sources, PEX-INFO and shim
//! <root>/1/sites/<site_key>/        one merged site-packages per wheel set,
//!                                   with the wheels' bytecode
//! <root>/1/envs/<env_key>/          one venv per (app, interpreter), on a site
//! <root>/1/interpreters/<key>.json  interpreter probe results
//! <root>/1/tmp/                     downloads in flight
//! ```
//! An entry exists only once complete: [`atomic_dir`] builds it in a sibling
//! work folder and publishes it by `rename`, under an exclusive lock on a
//! sibling lock file ([`lock`]), so readers never lock and never see half an
//! entry. [`in_use`] marks the environments running apps use.

pub mod atomic;
pub mod in_use;
pub mod lock;

pub use atomic::{atomic_dir, lock_entry, publish_all, remove_any, stage_dir, Staged};

use crate::error::{Error, Result};
use crate::settings::Settings;
use std::fs;
use std::path::{Path, PathBuf};

/// Bumped when the layout of entries changes incompatibly, so an older dpex
/// never reads a newer layout (and vice versa).
pub const LAYOUT_VERSION: &str = "1";

#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
    /// How builders wait for each other's locks.
    lock_wait: lock::LockWait,
    /// Read-only caches (`DPEX_CACHE_LAYERS`), searched after `root` and
    /// never written: images and NFS shares pre-populated with `dpex hydrate`.
    layers: Vec<PathBuf>,
}

impl Cache {
    /// `DPEX_ROOT`, else `$PEX_ROOT/dpex`, else the platform cache dir.
    pub fn from_settings(settings: &Settings) -> Result<Cache> {
        let base = if let Some(root) = &settings.dpex_root {
            absolute(root)?
        } else if let Some(root) = &settings.pex_root {
            absolute(root)?.join("dpex")
        } else if let Some(dir) = dirs::cache_dir() {
            dir.join("dpex")
        } else {
            return Err(Error::msg(
                "cannot find a cache directory: neither DPEX_ROOT, PEX_ROOT nor HOME is set. \
                 Set DPEX_ROOT to a writable directory and run again",
            ));
        };
        let mut cache = Cache::at(base);
        for layer in &settings.cache_layers {
            cache.layers.push(absolute(layer)?.join(LAYOUT_VERSION));
        }
        cache.lock_wait = lock::LockWait {
            timeout: settings.lock_timeout,
            verbose: settings.verbose,
        };
        Ok(cache)
    }

    pub fn at(base: impl Into<PathBuf>) -> Cache {
        Cache {
            root: base.into().join(LAYOUT_VERSION),
            lock_wait: lock::LockWait::default(),
            layers: Vec::new(),
        }
    }

    /// A per-user temporary cache for when the real one cannot be written: the
    /// real one becomes a read-only layer, so what it has is still used. The
    /// folder must be ours and private (0700): on a shared /tmp another user
    /// could otherwise create it first and plant code in it.
    pub fn fallback(&self) -> Result<Cache> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        let uid = fs::metadata("/proc/self")
            .map(|m| m.uid())
            .unwrap_or(u32::MAX);
        let base = std::env::temp_dir().join(format!("dpex-{uid}"));
        match fs::DirBuilder::new().mode(0o700).create(&base) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("create the temporary cache", &base, e)),
        }
        let meta = fs::symlink_metadata(&base).map_err(|e| Error::io("inspect", &base, e))?;
        // Ours and writable by nobody else: nothing can have been planted, so
        // tightening it to 0700 is safe.
        if meta.is_dir() && meta.uid() == uid && meta.permissions().mode() & 0o022 == 0 {
            let _ = fs::set_permissions(&base, fs::Permissions::from_mode(0o700));
        }
        let meta = fs::symlink_metadata(&base).map_err(|e| Error::io("inspect", &base, e))?;
        if !meta.is_dir() || meta.uid() != uid || meta.permissions().mode() & 0o077 != 0 {
            return Err(Error::msg(format!(
                "the temporary cache {} is not a private folder of this user (owner {}, mode {:o}); \
                 refusing to use it. Remove it, or set DPEX_ROOT to a writable folder",
                base.display(),
                meta.uid(),
                meta.permissions().mode() & 0o7777
            )));
        }
        let mut layers = vec![self.root.clone()];
        layers.extend(self.layers.iter().cloned());
        Ok(Cache {
            root: base.join(LAYOUT_VERSION),
            lock_wait: self.lock_wait,
            layers,
        })
    }

    /// An existing entry (`wheels/<sha256>`, `apps/<hash>`, `envs/<key>`), in
    /// the cache or else in its first read-only layer that has it.
    pub fn find(&self, entry: &Path) -> Option<PathBuf> {
        std::iter::once(&self.root)
            .chain(&self.layers)
            .map(|root| root.join(entry))
            .find(|path| path.exists())
    }

    pub fn lock_wait(&self) -> lock::LockWait {
        self.lock_wait
    }

    pub fn layers(&self) -> &[PathBuf] {
        &self.layers
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder DPEX_ROOT names: every layout version's entries, and the
    /// launchers multi-arch apps keep.
    pub fn base(&self) -> &Path {
        self.root.parent().unwrap_or(&self.root)
    }
    pub fn wheel_dir(&self, sha256: &str) -> PathBuf {
        self.root.join("wheels").join(sha256)
    }
    pub fn app_dir(&self, pex_hash: &str) -> PathBuf {
        self.root.join("apps").join(pex_hash)
    }
    pub fn site_dir(&self, site_key: &str) -> PathBuf {
        self.root.join("sites").join(site_key)
    }
    pub fn env_dir(&self, env_key: &str) -> PathBuf {
        self.root.join("envs").join(env_key)
    }
    pub fn interpreters_dir(&self) -> PathBuf {
        self.root.join("interpreters")
    }
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }
}

/// `~/x` and relative roots, made absolute: the venv links into the cache by
/// absolute paths, and a literal `~` folder helps nobody (pex does the same).
fn absolute(root: &str) -> Result<PathBuf> {
    let expanded = match root
        .strip_prefix("~/")
        .or(if root == "~" { Some("") } else { None })
    {
        Some(rest) => match dirs::home_dir() {
            Some(home) => home.join(rest),
            None => PathBuf::from(root),
        },
        None => PathBuf::from(root),
    };
    std::path::absolute(&expanded)
        .map_err(|e| Error::io("resolve the cache directory", expanded, e))
}
