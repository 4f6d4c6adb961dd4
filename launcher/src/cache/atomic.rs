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
/// start still unpacks: every [`WRITEBACK_STEP`] bytes, and a big file when
/// it is closed, are handed (as a path and a range) to a writeback thread of
/// the lowest priority (nice 19), which opens the file read-only and starts
/// the range's writeback (`sync_file_range`, which queues the writes without
/// waiting for them). The final [`publish_all`] syncfs is still what makes
/// them durable; it then finds many of the bytes already written
/// (docs/cache.md has the figures). Done by the unpacking threads
/// themselves, the writeback's CPU (ext4 allocating the blocks) slowed a
/// CPU-bound start as much as it saved.
///
/// Nothing holds a file open for writing after its writer closes it (a
/// published executable open for writing would fail to run: ETXTBSY); the
/// thread's read-only descriptor lasts one `sync_file_range`. Only local disk
/// filesystems get hand-overs (on NFS an open file cannot be removed with its
/// folder, and a retried download empties its folder). A nice-19 thread
/// preempted inside ext4's writeback can still make a writer wait for it
/// (nice 19 waits about 5x less than SCHED_IDLE, which the first version
/// used); the measured starts were faster all the same.
pub struct WritebackFile {
    file: fs::File,
    path: PathBuf,
    written: u64,
    handed: u64,
    /// `None` until the first hand-over looks at the filesystem.
    local: Option<bool>,
}

/// Bytes written between two hand-overs.
const WRITEBACK_STEP: u64 = 16 << 20;
/// Files smaller than this are left to the syncfs: one call for many small
/// files beats a syscall each.
const WRITEBACK_MIN: u64 = 1 << 20;
/// Hand-overs queued at most; past it, the syncfs does the rest.
const WRITEBACK_QUEUE: usize = 64;

/// A range of a file to start writing back.
struct Handed {
    path: PathBuf,
    from: u64,
    len: u64,
}

impl WritebackFile {
    pub fn new(file: fs::File, path: &Path) -> WritebackFile {
        WritebackFile {
            file,
            path: path.to_path_buf(),
            written: 0,
            handed: 0,
            local: None,
        }
    }

    /// Queue the bytes written since the last hand-over.
    fn hand_over(&mut self) {
        let local = *self.local.get_or_insert_with(|| is_local(&self.file));
        if let (true, Some(queue)) = (local, writeback_queue()) {
            let handed = Handed {
                path: self.path.clone(),
                from: self.handed,
                len: self.written - self.handed,
            };
            // A full queue: the syncfs writes these bytes.
            let _ = queue.try_send(handed);
        }
        self.handed = self.written;
    }
}

/// Whether `file` is on a filesystem of local disks (ext2/3/4, XFS, Btrfs),
/// where early writeback pays; not on NFS, SMB, FUSE, tmpfs, nor overlay
/// (`sync_file_range` on an overlay file starts nothing: the pages are the
/// upper file's).
fn is_local(file: &fs::File) -> bool {
    use std::os::fd::AsRawFd;
    const LOCAL: [u32; 3] = [0xEF53, 0x5846_5342, 0x9123_683E];
    // SAFETY: fstatfs writes into the zeroed struct it is given and only
    // reads the descriptor, which `file` keeps open.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    (unsafe { libc::fstatfs(file.as_raw_fd(), &mut stat) } == 0)
        && LOCAL.contains(&(stat.f_type as u32))
}

/// The writeback thread's queue, started on first use; `None` if it could
/// not start (the syncfs then does all the writing).
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
                    // Nice 19 for this thread only (on Linux the nice value
                    // is a thread's). Without it the thread would compete
                    // with the unpacking: then it does nothing (the receiver
                    // is dropped, so no more hand-overs are queued).
                    // SAFETY: plain system calls on this thread's own id.
                    let lowered = unsafe {
                        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                        libc::setpriority(libc::PRIO_PROCESS, tid, 19)
                    };
                    if lowered != 0 {
                        return;
                    }
                    for handed in receive {
                        // Gone already (a retried download emptied its
                        // folder): nothing to write.
                        let Ok(file) = fs::File::open(&handed.path) else {
                            continue;
                        };
                        // SAFETY: sync_file_range only reads the descriptor,
                        // which `file` keeps open. Advisory: an error leaves
                        // the bytes to the syncfs.
                        unsafe {
                            libc::sync_file_range(
                                file.as_raw_fd(),
                                handed.from as libc::off64_t,
                                handed.len as libc::off64_t,
                                libc::SYNC_FILE_RANGE_WRITE,
                            )
                        };
                        drop(file);
                        #[cfg(test)]
                        tests::WRITTEN_BACK.lock().unwrap().push(handed.path);
                    }
                });
            spawned.ok().map(|_| send)
        })
        .as_ref()
}

impl std::io::Write for WritebackFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(bytes)?;
        self.written += n as u64;
        if self.written - self.handed >= WRITEBACK_STEP {
            self.hand_over();
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
            self.hand_over();
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

    /// The paths the writeback thread has started writing, in order.
    pub(super) static WRITTEN_BACK: std::sync::Mutex<Vec<PathBuf>> =
        std::sync::Mutex::new(Vec::new());

    /// Descriptors of this process open on `path`.
    fn open_on(path: &Path) -> usize {
        fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|fd| fs::read_link(fd.ok()?.path()).ok())
            .filter(|target| target == path)
            .count()
    }

    #[test]
    fn writeback_file_hands_over_big_files_and_keeps_none_open() {
        use std::io::Write;
        let dir = tempdir("writeback");
        let path = fs::canonicalize(&*dir).unwrap().join("big");
        let bytes: Vec<u8> = (0..(40u32 << 20) + 12345)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut file = WritebackFile::new(fs::File::create(&path).unwrap(), &path);
        if !file
            .local
            .get_or_insert_with(|| is_local(&file.file))
            .to_owned()
        {
            eprintln!("skipped: $TMPDIR is not on a local disk filesystem");
            return;
        }
        // Uneven chunks: two hand-overs while writing (at 16 and 32 MiB), the
        // rest on drop.
        for chunk in bytes.chunks(3 << 20 | 77) {
            file.write_all(chunk).unwrap();
        }
        assert!(open_on(&path) >= 1, "the check below would see nothing");
        drop(file);
        assert!(fs::read(&path).unwrap() == bytes, "the file's bytes differ");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let done = WRITTEN_BACK
                .lock()
                .unwrap()
                .iter()
                .filter(|p| **p == path)
                .count();
            if done == 3 {
                break;
            }
            assert!(done < 3, "handed over {done} times");
            assert!(
                std::time::Instant::now() < deadline,
                "{done} of 3 hand-overs done"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // The thread opened the file read-only for each, and closed it.
        assert_eq!(open_on(&path), 0, "a descriptor on the file stayed open");
        // A small file is left to the syncfs.
        let small = path.with_file_name("small");
        let mut file = WritebackFile::new(fs::File::create(&small).unwrap(), &small);
        file.write_all(&bytes[..WRITEBACK_MIN as usize - 1])
            .unwrap();
        drop(file);
        let big_again = path.with_file_name("big-again");
        let mut file = WritebackFile::new(fs::File::create(&big_again).unwrap(), &big_again);
        file.write_all(&bytes[..WRITEBACK_MIN as usize]).unwrap();
        drop(file);
        // The queue is in order: once the later file is done, the small one
        // would have been too.
        while !WRITTEN_BACK.lock().unwrap().contains(&big_again) {
            assert!(
                std::time::Instant::now() < deadline,
                "the 1 MiB file was not handed over"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!WRITTEN_BACK.lock().unwrap().contains(&small));
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
