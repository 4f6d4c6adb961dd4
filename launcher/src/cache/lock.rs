//! Advisory file locks (flock) on the cache's lock files: exclusive for a
//! builder, with a bounded wait; shared for users (see `in_use`).

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

/// Open (creating) a lock file. Its content is never read or written.
pub fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

/// How a builder waits for another process's lock on an entry.
#[derive(Clone, Copy, Debug)]
pub struct LockWait {
    /// `DPEX_LOCK_TIMEOUT`.
    pub timeout: Duration,
    /// `PEX_VERBOSE`: above 0, say on stderr that we are waiting (as also
    /// when stderr is a terminal, checked only once a wait starts: the warm
    /// path makes no syscall for it).
    pub verbose: u32,
}

impl Default for LockWait {
    fn default() -> LockWait {
        LockWait {
            timeout: crate::settings::DEFAULT_LOCK_TIMEOUT,
            verbose: 0,
        }
    }
}

/// Take an exclusive advisory lock (flock) on `path`, creating it, waiting at
/// most `wait.timeout` for the process that is building `what` (`the cache
/// entry <name>`) to finish. `None` when the filesystem has no working locks
/// (then publishing by rename still keeps readers safe). The lock is released
/// when the returned file is dropped or the process dies.
pub fn lock_exclusive(path: &Path, what: &str, wait: LockWait) -> Result<Option<File>> {
    lock_exclusive_or(path, what, wait, &mut || Ok(()))
}

/// [`lock_exclusive`], calling `before_waiting` each time it finds the lock
/// held by another process (every 20 ms): a caller holding other entries'
/// locks releases them there, including ones its other threads took since,
/// so that two processes never wait on each other.
pub fn lock_exclusive_or(
    path: &Path,
    what: &str,
    wait: LockWait,
    before_waiting: &mut dyn FnMut() -> Result<()>,
) -> Result<Option<File>> {
    let file = open(path).map_err(|e| Error::io("open the lock file", path, e))?;
    let deadline = Instant::now() + wait.timeout;
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(TryLockError::WouldBlock) => before_waiting()?,
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
                 building {what} (downloading or unpacking). If no such process \
                 is running, the lock is stale only in its holder's mind: check for a hung process; \
                 raise DPEX_LOCK_TIMEOUT to wait longer",
                wait.timeout.as_secs_f64(),
                path.display()
            )));
        }
        if !told && (wait.verbose > 0 || std::io::IsTerminal::is_terminal(&std::io::stderr())) {
            eprintln!("dpex: waiting for another process building {what}");
            told = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn locks_unsupported(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::Unsupported
        || matches!(
            e.raw_os_error(),
            Some(libc::ENOLCK | libc::ENOSYS | libc::EOPNOTSUPP)
        )
}

fn warn_once(message: &str) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| eprintln!("dpex: warning: {message}"));
}
