//! Which cache entries are in use, and what each entry records about itself
//! (read by the packer's `dpex cache info/prune/verify`).
//!
//! Every launch holds a shared `flock` on its environment's use file
//! (`envs/.<key>.use`) for its whole life (the descriptor survives `execve`)
//! and sets that file's mtime: its last use. Cold starts also hold the cache's
//! `.gc.lck` shared while they build. `prune` takes `.gc.lck` exclusively (so
//! no cold start is half-way), removes environments whose lock it can take
//! exclusively and that were last used before the cut-off, then the apps,
//! sites and wheels no remaining environment needs. (A site is used only
//! through the venvs that link it, so it needs no use file of its own.)

use crate::cache::lock::LockWait;
use crate::cache::Cache;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What an environment was built from, written as `dpex-env.json` inside it.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct EnvRecord {
    pub pex_hash: String,
    pub app_dir: PathBuf,
    pub interpreter: PathBuf,
    pub wheel_dirs: Vec<PathBuf>,
    /// The shared site the venv links (none in venvs built by an earlier
    /// dpex, which held their own links).
    #[serde(default)]
    pub site_dir: Option<PathBuf>,
}

pub const ENV_RECORD: &str = "dpex-env.json";

/// The record `name` inside `entry`, if it is there and readable.
pub fn read_record<T: for<'de> Deserialize<'de>>(entry: &Path, name: &str) -> Option<T> {
    serde_json::from_slice(&fs::read(entry.join(name)).ok()?).ok()
}

/// What a site was built from, written as `dpex-site.json` inside it.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct SiteRecord {
    pub wheel_dirs: Vec<PathBuf>,
}

pub const SITE_RECORD: &str = "dpex-site.json";

/// What a wheel entry holds, written as `wheel.json` inside it.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct WheelRecord {
    pub project: String,
    pub version: String,
    pub filename: String,
}

pub const WHEEL_RECORD: &str = "wheel.json";

/// The file a running app holds a shared lock on, and whose mtime is its last
/// use. Not the entry's build lock: a builder waiting for that must not wait
/// for every app that runs on the finished entry.
pub fn use_file_of(entry: &Path) -> PathBuf {
    let name = entry.file_name().unwrap_or_default().to_string_lossy();
    entry.with_file_name(format!(".{name}.use"))
}

/// Mark `env_dir` in use for this process's lifetime, and as used now.
/// Returns false if the environment vanished (pruned) meanwhile.
pub fn hold_in_use(env_dir: &Path) -> bool {
    let Ok(file) = super::lock::open(&use_file_of(env_dir)) else {
        // A read-only layer: nothing to mark, nothing can prune it.
        return env_dir.exists();
    };
    if file.lock_shared().is_err() {
        return env_dir.exists();
    }
    let _ = file.set_modified(SystemTime::now());
    // Keep the lock across execve: the app's process holds it until it exits.
    unsafe {
        let fd = file.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFD);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
        }
    }
    std::mem::forget(file);
    env_dir.exists()
}

/// The lock cold starts hold shared while they build and `dpex cache prune`
/// (or `verify --repair`) holds exclusively while it removes entries.
pub const GC_LOCK: &str = ".gc.lck";

/// Held (shared) by cold starts while they build, so prune never removes a
/// wheel between a builder finding it and linking it.
pub fn gc_lock_shared(cache: &Cache) -> Option<File> {
    fs::create_dir_all(cache.root()).ok()?;
    let file = super::lock::open(&cache.root().join(GC_LOCK)).ok()?;
    file.lock_shared().ok()?;
    Some(file)
}

/// Keep cold starts out while entries are removed: waits (at most
/// `wait.timeout`) for the builds under way to finish. `None` where the
/// filesystem has no locks.
pub fn gc_lock_exclusive(cache: &Cache, wait: LockWait) -> Result<Option<File>> {
    fs::create_dir_all(cache.root())
        .map_err(|e| crate::error::Error::io("create the cache directory", cache.root(), e))?;
    let what = format!("in the cache {} (a cold start)", cache.root().display());
    super::lock::lock_exclusive(&cache.root().join(GC_LOCK), &what, wait)
}
