//! The per-user, content-addressed cache and `atomic_dir`, the one primitive
//! every cache write goes through.
//!
//! Layout under the root (see docs/cache.md):
//! ```text
//! <root>/1/wheels/<sha256>/         one unpacked copy of each wheel
//! <root>/1/apps/<pex_hash>/         the app's sources, PEX-INFO and shim
//! <root>/1/envs/<env_key>/          one venv per (app, interpreter)
//! <root>/1/interpreters/<key>.json  interpreter probe results
//! <root>/1/tmp/                     downloads in flight
//! ```
//! An entry exists only once complete: it is built in a sibling work folder
//! and published by `rename`, under an exclusive lock on a sibling lock file,
//! so readers never lock and never see half an entry.

use crate::error::{Error, Result};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Bumped when the layout of entries changes incompatibly, so an older dpex
/// never reads a newer layout (and vice versa).
pub const LAYOUT_VERSION: &str = "1";

#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
    /// Read-only caches (`DPEX_CACHE_LAYERS`), searched after `root` and
    /// never written: images and NFS shares pre-populated with `dpex hydrate`.
    layers: Vec<PathBuf>,
}

impl Cache {
    /// `DPEX_ROOT`, else `$PEX_ROOT/dpex`, else the platform cache dir.
    pub fn from_env() -> Result<Cache> {
        let base = if let Some(root) = non_empty_env("DPEX_ROOT") {
            absolute(&root)?
        } else if let Some(root) = non_empty_env("PEX_ROOT") {
            absolute(&root)?.join("dpex")
        } else if let Some(dir) = dirs::cache_dir() {
            dir.join("dpex")
        } else {
            return Err(Error::msg(
                "cannot find a cache directory: neither DPEX_ROOT, PEX_ROOT nor HOME is set. \
                 Set DPEX_ROOT to a writable directory and run again",
            ));
        };
        let mut cache = Cache::at(base);
        for layer in std::env::var("DPEX_CACHE_LAYERS")
            .unwrap_or_default()
            .split(':')
        {
            if !layer.trim().is_empty() {
                cache
                    .layers
                    .push(absolute(layer.trim())?.join(LAYOUT_VERSION));
            }
        }
        Ok(cache)
    }

    pub fn at(base: impl Into<PathBuf>) -> Cache {
        Cache {
            root: base.into().join(LAYOUT_VERSION),
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

    pub fn layers(&self) -> &[PathBuf] {
        &self.layers
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn wheel_dir(&self, sha256: &str) -> PathBuf {
        self.root.join("wheels").join(sha256)
    }
    pub fn app_dir(&self, pex_hash: &str) -> PathBuf {
        self.root.join("apps").join(pex_hash)
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

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Make `target` exist with the content `populate` writes into the work dir it
/// is given. Returns `true` if this call built it, `false` if it was there.
///
/// Look, lock, look again: the fast path takes no lock. A crashed builder
/// leaves only a stale work dir (removed by the next builder) and a lock file
/// the kernel has already unlocked; `target` itself appears only by `rename`.
pub fn atomic_dir<F>(target: &Path, populate: F) -> Result<bool>
where
    F: FnOnce(&Path) -> Result<()>,
{
    if target.exists() {
        return Ok(false);
    }
    let parent = target.parent().expect("cache entries have a parent");
    let name = target
        .file_name()
        .expect("cache entries have a name")
        .to_string_lossy();
    fs::create_dir_all(parent).map_err(|e| Error::io("create the cache directory", parent, e))?;
    let lock_path = parent.join(format!(".{name}.lck"));
    let lock = lock_exclusive(&lock_path, &name)?;
    if target.exists() {
        return Ok(false);
    }
    // With the lock, the work dir's name is ours alone, and a stale one is a
    // crashed builder's. Without working locks, builders race: each gets its
    // own work dir and the first rename wins.
    let work = match lock {
        Some(_) => parent.join(format!(".{name}.work")),
        None => parent.join(format!(".{name}.work.{}.{}", std::process::id(), unique())),
    };
    if work.symlink_metadata().is_ok() {
        remove_any(&work).map_err(|e| Error::io("remove the stale work directory", &work, e))?;
    }
    fs::create_dir(&work).map_err(|e| Error::io("create the work directory", &work, e))?;
    let built = populate(&work).and_then(|()| match fs::rename(&work, target) {
        Ok(()) => Ok(true),
        // Lost a race with a builder that had no lock either: theirs is as good.
        Err(_) if lock.is_none() && target.exists() => Ok(false),
        Err(e) => Err(Error::io("publish the cache entry", target, e)),
    });
    if !matches!(built, Ok(true)) {
        // Leave nothing behind that looks like an entry; ignore errors (the
        // next builder removes a stale work dir anyway).
        let _ = fs::remove_dir_all(&work);
    }
    drop(lock);
    built
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// How long to wait for another process's lock: `DPEX_LOCK_TIMEOUT` seconds
/// (default 600: a big wheel on a slow link takes minutes).
pub fn lock_timeout() -> Duration {
    std::env::var("DPEX_LOCK_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(600))
}

/// Take an exclusive advisory lock (flock) on `path`, creating it, waiting at
/// most [`lock_timeout`]. `None` when the filesystem has no working locks
/// (then publishing by rename still keeps readers safe). The lock is released
/// when the returned file is dropped or the process dies.
pub fn lock_exclusive(path: &Path, what: &str) -> Result<Option<File>> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io("open the lock file", path, e))?;
    let deadline = Instant::now() + lock_timeout();
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) if locks_unsupported(&e) => {
                warn_once(&format!(
                    "the filesystem of {} does not support file locks ({e}); going on without \
                     them (entries are still published atomically)",
                    path.display()
                ));
                return Ok(None);
            }
            Err(TryLockError::Error(e)) => return Err(Error::io("lock", path, e)),
        }
        if Instant::now() >= deadline {
            return Err(Error::msg(format!(
                "gave up after {:.0} s waiting for the lock {}: another dpex process is still \
                 building the cache entry {what} (downloading or unpacking it). If no such process \
                 is running, the lock is stale only in its holder's mind: check for a hung process; \
                 raise DPEX_LOCK_TIMEOUT to wait longer",
                lock_timeout().as_secs_f64(),
                path.display()
            )));
        }
        if !told && crate::progress::wanted() {
            eprintln!("dpex: waiting for another process to finish {what}");
            told = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn locks_unsupported(e: &std::io::Error) -> bool {
    // ENOLCK (37), EOPNOTSUPP/ENOTSUP (95), ENOSYS (38) on Linux.
    e.kind() == std::io::ErrorKind::Unsupported || matches!(e.raw_os_error(), Some(37 | 38 | 95))
}

fn warn_once(message: &str) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| eprintln!("dpex: warning: {message}"));
}

/// Remove a file, symlink or directory tree.
pub fn remove_any(path: &Path) -> std::io::Result<()> {
    match path.symlink_metadata() {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("dpex-cache-test-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn publishes_once_and_skips_when_present() {
        let dir = tempdir("once");
        let target = dir.join("entry");
        let built = atomic_dir(&target, |w| {
            fs::write(w.join("f"), "x").unwrap();
            Ok(())
        })
        .unwrap();
        assert!(built);
        assert_eq!(fs::read_to_string(target.join("f")).unwrap(), "x");
        let again = atomic_dir(&target, |_| panic!("must not rebuild")).unwrap();
        assert!(!again);
    }

    #[test]
    fn failed_populate_leaves_nothing() {
        let dir = tempdir("fail");
        let target = dir.join("entry");
        let err = atomic_dir(&target, |w| {
            fs::write(w.join("half"), "x").unwrap();
            Err(Error::msg("boom"))
        });
        assert!(err.is_err());
        assert!(!target.exists());
        assert!(!dir.join(".entry.work").exists());
    }

    #[test]
    fn stale_work_dir_is_replaced() {
        let dir = tempdir("stale");
        fs::create_dir_all(dir.join(".entry.work/junk")).unwrap();
        let target = dir.join("entry");
        atomic_dir(&target, |w| {
            fs::write(w.join("f"), "y").unwrap();
            Ok(())
        })
        .unwrap();
        assert!(!target.join("junk").exists());
        assert!(target.join("f").exists());
    }

    #[test]
    fn concurrent_builders_build_once() {
        let dir = tempdir("race");
        let target = dir.join("entry");
        let count = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    atomic_dir(&target, |w| {
                        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        {
                            fs::write(w.join("f"), "z").unwrap();
                            Ok(())
                        }
                    })
                    .unwrap();
                });
            }
        });
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
