//! `atomic_dir`, the one primitive every cache write goes through: build in
//! a work folder, publish by `rename` under the entry's lock.

use super::lock::{lock_exclusive_or, LockWait};
use crate::error::{Error, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// Make `target` exist with the content `populate` writes into the work dir it
/// is given. Returns `true` if this call built it, `false` if it was there.
///
/// Look, lock, look again: the fast path takes no lock. A crashed builder
/// leaves only a stale work dir (removed by the next builder) and a lock file
/// the kernel has already unlocked; `target` itself appears only by `rename`,
/// after its data is on disk ([`publish_all`]).
pub fn atomic_dir<F>(target: &Path, wait: LockWait, populate: F) -> Result<bool>
where
    F: FnOnce(&Path) -> Result<()>,
{
    match stage_dir(target, wait, &mut || Ok(()), populate)? {
        Some(staged) => publish_all(vec![staged]).map(|published| published > 0),
        None => Ok(false),
    }
}

/// An entry built in its work folder, not yet published. It holds the entry's
/// lock; dropped unpublished, it removes the work folder.
pub struct Staged {
    work: PathBuf,
    target: PathBuf,
    locked: Option<fs::File>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Leave nothing behind that looks like an entry; ignore errors (the
        // next builder removes a stale work dir anyway).
        if self.work.exists() {
            let _ = fs::remove_dir_all(&self.work);
        }
    }
}

/// The first half of [`atomic_dir`]: build `target`'s content in its work
/// folder under its lock, but leave it unpublished, so that a batch of
/// entries (a cold start's wheels) is made durable with one `syncfs`.
/// `None` if `target` is already there. While another process holds the
/// entry's lock, `before_waiting` runs at each poll: a caller holding staged
/// entries must publish them there (else two processes could each wait for a
/// lock the other holds until its batch is done).
pub fn stage_dir<F>(
    target: &Path,
    wait: LockWait,
    before_waiting: &mut dyn FnMut() -> Result<()>,
    populate: F,
) -> Result<Option<Staged>>
where
    F: FnOnce(&Path) -> Result<()>,
{
    if target.exists() {
        return Ok(None);
    }
    let parent = target.parent().expect("cache entries have a parent");
    let name = target
        .file_name()
        .expect("cache entries have a name")
        .to_string_lossy();
    fs::create_dir_all(parent).map_err(|e| Error::io("create the cache directory", parent, e))?;
    let locked = lock_entry(target, wait, before_waiting)?;
    if target.exists() {
        return Ok(None);
    }
    // With the lock, the work dir's name is ours alone, and a stale one is a
    // crashed builder's. Without working locks, builders race: each gets its
    // own work dir and the first rename wins.
    let work = match locked {
        Some(_) => parent.join(format!(".{name}.work")),
        None => parent.join(format!(".{name}.work.{}.{}", std::process::id(), unique())),
    };
    if work.symlink_metadata().is_ok() {
        remove_any(&work).map_err(|e| Error::io("remove the stale work directory", &work, e))?;
    }
    fs::create_dir(&work).map_err(|e| Error::io("create the work directory", &work, e))?;
    let staged = Staged {
        work,
        target: target.to_path_buf(),
        locked,
    };
    populate(&staged.work)?;
    Ok(Some(staged))
}

/// The exclusive lock of the entry `target` (the sibling file `.<name>.lck`),
/// held while the entry is built, or repaired in place. `None` where the
/// filesystem has no working locks.
pub fn lock_entry(
    target: &Path,
    wait: LockWait,
    before_waiting: &mut dyn FnMut() -> Result<()>,
) -> Result<Option<fs::File>> {
    let parent = target.parent().expect("cache entries have a parent");
    let name = target
        .file_name()
        .expect("cache entries have a name")
        .to_string_lossy();
    lock_exclusive_or(
        &parent.join(format!(".{name}.lck")),
        &format!("the cache entry {name}"),
        wait,
        before_waiting,
    )
}

/// Publish staged entries: one `syncfs` of the cache's filesystem, so every
/// entry's data is on disk before any rename can be (a power cut never leaves
/// a published entry whose files lost their contents), then each `rename`.
/// Returns how many this call published (a lock-less builder may lose a race
/// to an equal entry).
pub fn publish_all(staged: Vec<Staged>) -> Result<usize> {
    let Some(first) = staged.first() else {
        return Ok(0);
    };
    sync_filesystem(&first.work)?;
    let mut published = 0;
    for mut entry in staged {
        match fs::rename(&entry.work, &entry.target) {
            Ok(()) => published += 1,
            // Lost a race with a builder that had no lock either: theirs is as good.
            Err(_) if entry.locked.is_none() && entry.target.exists() => {}
            Err(e) => return Err(Error::io("publish the cache entry", &entry.target, e)),
        }
        entry.locked.take();
    }
    Ok(published)
}

/// `syncfs` of the filesystem holding `path`: cheaper than an fsync per file,
/// and it also covers entries other processes are building.
fn sync_filesystem(path: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    let dir = fs::File::open(path).map_err(|e| Error::io("open the work directory", path, e))?;
    // SAFETY: syncfs only reads the descriptor, which `dir` keeps open.
    if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
        return Err(Error::io(
            "write to disk",
            path,
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// A file of a staged entry whose bytes start going to disk while the cold
/// start has CPU to spare: every [`WRITEBACK_STEP`] bytes, and a big file
/// when it is closed, are handed to a writeback thread that runs only when a
/// core is idle (`SCHED_IDLE`) and starts their writeback (`sync_file_range`,
/// which does not wait for the disk). The final [`publish_all`] syncfs is
/// still what makes them durable; it then finds many of the bytes already
/// written (docs/cache.md has the figures). Done by the writing threads
/// themselves, the writeback's CPU (ext4 allocating the blocks) slowed a
/// CPU-bound start as much as it saved.
pub struct WritebackFile {
    file: Option<fs::File>,
    written: u64,
    handed: u64,
}

/// Bytes written between two hand-overs.
const WRITEBACK_STEP: u64 = 16 << 20;
/// Files smaller than this are left to the syncfs: one call for many small
/// files beats a syscall each.
const WRITEBACK_MIN: u64 = 1 << 20;
/// Hand-overs queued at most (each holds a descriptor); past it, the syncfs
/// does the rest.
const WRITEBACK_QUEUE: usize = 32;

/// A range of a file to start writing back.
struct Handed {
    file: fs::File,
    from: u64,
    len: u64,
}

impl WritebackFile {
    pub fn new(file: fs::File) -> WritebackFile {
        WritebackFile {
            file: Some(file),
            written: 0,
            handed: 0,
        }
    }

    fn file(&self) -> &fs::File {
        self.file.as_ref().expect("the file is taken only on drop")
    }

    /// Queue the bytes written since the last hand-over; `last`: the file
    /// itself goes (on close), else a second descriptor of it.
    fn hand_over(&mut self, last: bool) {
        let file = match last {
            true => self.file.take(),
            false => self.file().try_clone().ok(),
        };
        if let (Some(file), Some(queue)) = (file, writeback_queue()) {
            let handed = Handed {
                file,
                from: self.handed,
                len: self.written - self.handed,
            };
            // A full queue: the syncfs writes these bytes.
            let _ = queue.try_send(handed);
        }
        self.handed = self.written;
    }
}

/// The idle-priority writeback thread's queue, started on first use; `None`
/// if it could not start (the syncfs then does all the writing).
fn writeback_queue() -> Option<&'static std::sync::mpsc::SyncSender<Handed>> {
    use std::os::fd::AsRawFd;
    use std::sync::OnceLock;
    static QUEUE: OnceLock<Option<std::sync::mpsc::SyncSender<Handed>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (send, receive) = std::sync::mpsc::sync_channel::<Handed>(WRITEBACK_QUEUE);
            let spawned = std::thread::Builder::new()
                .name("dpex-writeback".into())
                .stack_size(64 << 10)
                .spawn(move || {
                    // The system call, not libc's sched_setscheduler (musl's
                    // refuses it): on Linux it changes this thread only.
                    // SAFETY: an all-zero sched_param is valid (priority 0,
                    // as SCHED_IDLE requires; musl's has more fields), and
                    // it outlives the call. SCHED_IDLE needs no privilege.
                    unsafe {
                        let param: libc::sched_param = std::mem::zeroed();
                        libc::syscall(libc::SYS_sched_setscheduler, 0, libc::SCHED_IDLE, &param)
                    };
                    for handed in receive {
                        // SAFETY: sync_file_range only reads the descriptor,
                        // which `handed.file` keeps open. Advisory: an error
                        // leaves the bytes to the syncfs.
                        unsafe {
                            libc::sync_file_range(
                                handed.file.as_raw_fd(),
                                handed.from as libc::off64_t,
                                handed.len as libc::off64_t,
                                libc::SYNC_FILE_RANGE_WRITE,
                            )
                        };
                    }
                });
            spawned.ok().map(|_| send)
        })
        .as_ref()
}

impl std::io::Write for WritebackFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = (&mut self.file()).write(bytes)?;
        self.written += n as u64;
        if self.written - self.handed >= WRITEBACK_STEP {
            self.hand_over(false);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for WritebackFile {
    fn drop(&mut self) {
        if self.written >= WRITEBACK_MIN && self.written > self.handed {
            self.hand_over(true);
        }
    }
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
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
    use crate::test_dir::TestDir;

    fn tempdir(tag: &str) -> TestDir {
        TestDir::new(&format!("cache-test-{tag}"))
    }

    /// Descriptors of this process open on `path`.
    fn open_on(path: &Path) -> usize {
        fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|fd| fs::read_link(fd.ok()?.path()).ok())
            .filter(|target| target == path)
            .count()
    }

    #[test]
    fn writeback_file_writes_every_byte_and_lets_go_of_the_file() {
        use std::io::Write;
        let dir = tempdir("writeback");
        let path = dir.join("big");
        let bytes: Vec<u8> = (0..(40u32 << 20) + 12345)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut file = WritebackFile::new(fs::File::create(&path).unwrap());
        // Uneven chunks, across two hand-overs and a rest handed over on drop.
        for chunk in bytes.chunks(3 << 20 | 77) {
            file.write_all(chunk).unwrap();
        }
        assert!(open_on(&path) >= 1, "the check below would see nothing");
        drop(file);
        assert!(fs::read(&path).unwrap() == bytes, "the file's bytes differ");
        // The writeback thread closes what it was handed.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while open_on(&path) > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "descriptors on the file stay open"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    #[test]
    fn publishes_once_and_skips_when_present() {
        let dir = tempdir("once");
        let target = dir.join("entry");
        let built = atomic_dir(&target, LockWait::default(), |w| {
            fs::write(w.join("f"), "x").unwrap();
            Ok(())
        })
        .unwrap();
        assert!(built);
        assert_eq!(fs::read_to_string(target.join("f")).unwrap(), "x");
        let again =
            atomic_dir(&target, LockWait::default(), |_| panic!("must not rebuild")).unwrap();
        assert!(!again);
    }

    #[test]
    fn failed_populate_leaves_nothing() {
        let dir = tempdir("fail");
        let target = dir.join("entry");
        let err = atomic_dir(&target, LockWait::default(), |w| {
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
        atomic_dir(&target, LockWait::default(), |w| {
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
                    atomic_dir(&target, LockWait::default(), |w| {
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
