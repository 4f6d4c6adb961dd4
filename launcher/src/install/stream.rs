//! Unpacking a wheel while its bytes arrive, as uv does: each entry is
//! inflated from its local header as the download streams in, so a big
//! wheel is never written to disk whole and read back (torch: 900 MB less
//! written), and unpacking overlaps the network instead of following it.
//!
//! Nothing here is trusted early: the files land in the entry's work folder,
//! which is published only after the whole download matched its pinned
//! sha256 (`fetch.rs`) and [`StreamUnpack::finish`] found every entry in
//! agreement with the central directory at the end of the zip. Whatever
//! this reader does not handle the way the classic unpacker would (data
//! descriptors, encryption, an entry the central directory does not list
//! or describes differently, any refusal) is *deferred*: the caller fetches
//! the wheel again and unpacks it the classic way (`unpack.rs`), which
//! gives the usual errors. So streaming never changes what ends up in the
//! cache, only when the work is done.
//!
//! A big deflated entry is *offloaded*: its stored bytes go, in chunks held
//! in memory (a spool), to a thread of its own that inflates them while the
//! stream moves on to the next entries. A deflate stream can only be
//! inflated in order, so a wheel with one giant entry (torch:
//! `libtorch_cuda.so`, 680 of its 913 MB) would otherwise start it only once
//! everything in front of it is inflated, and finish alone on one core at the
//! end of a cold start. Spools hold at most [`SPOOL_BUDGET`] over the
//! process: past it a stream waits for its helper.

use crate::cache::atomic::{remove_any, WritebackFile};
use crate::error::{Error, Result};
use crate::format::zipcheck::{self, CentralEntry, LOCAL_SIG};
use crate::install::inflate::RawInflate;
use crate::install::unpack::{self, safe_relative_path, UnpackLimits, SITE_DIR};
use std::collections::{HashSet, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// The most bytes kept after the last entry (central directory and end
/// records): a torch wheel's is about 2 MB.
const MAX_TAIL: usize = 64 << 20;
/// Bytes inflated and written at a time.
const OUT_BUFFER: usize = 256 * 1024;
const LOCAL_HEADER: usize = 30;
const FLAG_ENCRYPTED: u16 = 1;
const FLAG_DATA_DESCRIPTOR: u16 = 8;
const STORED: u16 = 0;
const DEFLATED: u16 = 8;
/// Entries one wheel may have (as the central-directory check allows).
const MAX_ENTRIES: usize = 1 << 20;
/// Unpacked bytes beyond [`RATIO_FREE`] may be at most this many times the
/// bytes received so far, while the hash is not yet known.
const STREAM_RATIO: u64 = 32;
const RATIO_FREE: u64 = 64 << 20;
/// Deflated entries at least this big (stored bytes) are offloaded (see the
/// module's comment); smaller ones cost less inline than a thread and a spool.
const OFFLOAD_MIN: u64 = 16 << 20;
/// Stored bytes in spools, at most, over the process (a stream whose helper
/// has nothing to do may add one more chunk). Tests use 2 chunks, so that
/// streams wait for their helpers.
#[cfg(not(test))]
const SPOOL_BUDGET: u64 = 128 << 20;
#[cfg(test)]
const SPOOL_BUDGET: u64 = 2 * SPOOL_CHUNK as u64;
/// Bytes handed to a helper at a time.
const SPOOL_CHUNK: usize = 1 << 20;
const S_IFMT: u32 = 0o170000;
const S_IFLNK: u32 = 0o120000;

/// A wheel unpacked into `dest` (an empty work folder) from its bytes in
/// order, pushed in with [`StreamUnpack::write`] (any chunk sizes).
pub struct StreamUnpack<'a> {
    dest: &'a Path,
    filename: &'a str,
    limits: UnpackLimits,
    /// Bytes of the wheel seen so far.
    pos: u64,
    state: State,
    /// The local entries, in order.
    entries: Vec<LocalEntry>,
    /// Everything after the last entry, from offset `tail_start`.
    tail: Vec<u8>,
    tail_start: u64,
    /// Why the classic unpacker must do this wheel; the rest of the bytes
    /// are then only counted (the download still checks its hash).
    deferred: Option<String>,
    inflate: RawInflate,
    buffer: Vec<u8>,
    made_dirs: HashSet<PathBuf>,
    /// Declared sizes of the entries so far (against DPEX_MAX_UNPACKED_SIZE).
    unpacked: u64,
    /// Bytes received and bytes unpacked, shared with the helpers.
    counts: Arc<Counts>,
    /// The offloaded entries' helpers, oldest first.
    helpers: Vec<Helper>,
    /// Offload entries of at least this many stored bytes (tests lower it).
    offload_min: u64,
}

/// What the stream and its helpers count together, for the ratio check.
#[derive(Default)]
struct Counts {
    received: AtomicU64,
    written: AtomicU64,
}

impl Counts {
    /// Unverified bytes: a source serving something else (a bomb) must not
    /// fill the disk before the hash says so; real wheels stay far below this
    /// ratio, and the classic unpacker checks the hash first.
    fn check_ratio(&self) -> std::result::Result<(), String> {
        let written = self.written.load(Relaxed);
        if written > RATIO_FREE && written / STREAM_RATIO > self.received.load(Relaxed) {
            return Err(format!(
                "it unpacks to over {STREAM_RATIO} times the bytes received so far"
            ));
        }
        Ok(())
    }
}

/// An offloaded entry: its spool and the thread inflating it (which returns
/// the bytes it wrote).
struct Helper {
    spool: Arc<Spool>,
    thread: JoinHandle<std::result::Result<u64, String>>,
}

/// An offloaded entry's stored bytes, from the stream to its helper.
#[derive(Default)]
struct Spool {
    state: Mutex<SpoolState>,
    moved: Condvar,
}

#[derive(Default)]
struct SpoolState {
    /// Chunks for the helper, in order.
    full: VecDeque<Vec<u8>>,
    /// The entry's bytes are all in.
    closed: bool,
    /// The wheel is deferred or dropped: the helper stops.
    stop: bool,
    /// The helper returned.
    done: bool,
}

enum State {
    /// Collecting a local header (starting at `pos - bytes.len()`).
    Header(Vec<u8>),
    /// Inside an entry's stored bytes.
    Data(Current),
    /// Inside an offloaded entry's stored bytes, `remaining` to go; the
    /// chunk being filled.
    Spooling(LocalEntry, u64, Vec<u8>),
    /// After the last local entry.
    Tail,
}

#[derive(Clone)]
struct LocalEntry {
    name: Vec<u8>,
    offset: u64,
    flags: u16,
    method: u16,
    crc32: u32,
    compressed_size: u64,
    size: u64,
}

/// The entry being written.
struct Current {
    entry: LocalEntry,
    /// `None` for a folder.
    file: Option<WritebackFile>,
    path: PathBuf,
    remaining: u64,
    /// The deflate stream ended (later stored bytes are ignored, as the
    /// classic unpacker ignores them).
    ended: bool,
    written: u64,
    crc: crc32fast::Hasher,
}

impl<'a> StreamUnpack<'a> {
    pub fn new(dest: &'a Path, filename: &'a str, limits: UnpackLimits) -> StreamUnpack<'a> {
        StreamUnpack {
            dest,
            filename,
            limits,
            pos: 0,
            state: State::Header(Vec::new()),
            entries: Vec::new(),
            tail: Vec::new(),
            tail_start: 0,
            deferred: None,
            inflate: RawInflate::new(),
            buffer: vec![0u8; OUT_BUFFER],
            made_dirs: HashSet::new(),
            unpacked: 0,
            counts: Arc::default(),
            helpers: Vec::new(),
            offload_min: OFFLOAD_MIN,
        }
    }

    /// Offload deflated entries of at least `stored_bytes` (the default is
    /// [`OFFLOAD_MIN`]; tests and the fuzz target offload small ones too).
    pub fn offloading_from(mut self, stored_bytes: u64) -> StreamUnpack<'a> {
        self.offload_min = stored_bytes;
        self
    }

    /// Start over (a download retried from its first byte): empty `dest`.
    pub fn restart(&mut self) -> Result<()> {
        let offload_min = self.offload_min;
        // Dropping the old state stops and joins its helpers first.
        *self = StreamUnpack::new(self.dest, self.filename, self.limits);
        self.offload_min = offload_min;
        clear_dir(self.dest)
    }

    /// The next bytes of the wheel. Never fails: a problem defers the wheel
    /// to the classic unpacker (see the module's comment).
    pub fn write(&mut self, bytes: &[u8]) {
        if self.deferred.is_none() {
            if let Err(why) = self.feed(bytes) {
                self.state = State::Tail;
                self.deferred = Some(why);
                self.stop_helpers();
            }
        }
    }

    /// After the whole wheel was written and its hash verified: check the
    /// entries against the central directory, set execute bits, spread the
    /// `.data` folder. `Err` gives the reason to unpack it the classic way;
    /// `dest` is then emptied.
    /// The outer `Err`: `dest` could not be emptied for the classic unpacker.
    pub fn finish(mut self) -> Result<std::result::Result<(), String>> {
        let helped = self.join_helpers();
        let done = match self.deferred.take() {
            Some(why) => Err(why),
            None => helped.and_then(|()| self.check_and_place()),
        };
        if done.is_err() {
            clear_dir(self.dest)?;
        }
        Ok(done)
    }

    fn feed(&mut self, mut bytes: &[u8]) -> std::result::Result<(), String> {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Header(header) => {
                    let want = header_len(header).unwrap_or(LOCAL_HEADER);
                    let take = (want - header.len()).min(bytes.len());
                    header.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    self.pos += take as u64;
                    if header.len() >= 4 && u32_le(header, 0) != LOCAL_SIG {
                        // The central directory (or anything else) follows.
                        self.tail_start = self.pos - header.len() as u64;
                        self.tail = std::mem::take(header);
                        self.state = State::Tail;
                        continue;
                    }
                    if header_len(header) == Some(header.len()) {
                        let header = std::mem::take(header);
                        let offset = self.pos - header.len() as u64;
                        self.start_entry(&header, offset)?;
                    }
                }
                State::Data(current) => {
                    let take = current.remaining.min(bytes.len() as u64) as usize;
                    let before = current.written;
                    write_data(current, &bytes[..take], &mut self.inflate, &mut self.buffer)?;
                    bytes = &bytes[take..];
                    self.pos += take as u64;
                    current.remaining -= take as u64;
                    self.counts.received.store(self.pos, Relaxed);
                    self.counts
                        .written
                        .fetch_add(current.written - before, Relaxed);
                    self.counts.check_ratio()?;
                    if current.remaining == 0 {
                        self.end_entry()?;
                    }
                }
                State::Spooling(entry, remaining, filling) => {
                    let take = (*remaining).min(bytes.len() as u64) as usize;
                    let spool = &self
                        .helpers
                        .last()
                        .expect("a spooling entry has a helper")
                        .spool;
                    let (mut data, ends) = (&bytes[..take], take as u64 == *remaining);
                    let mut sent = Ok(());
                    while sent.is_ok() && !data.is_empty() {
                        let n = (SPOOL_CHUNK - filling.len()).min(data.len());
                        filling.extend_from_slice(&data[..n]);
                        data = &data[n..];
                        // The helper's ratio check counts what is handed over.
                        let handed = (take - data.len()) as u64;
                        self.counts.received.store(self.pos + handed, Relaxed);
                        if filling.len() == SPOOL_CHUNK {
                            let next = spool.empty_chunk();
                            sent = spool.send(std::mem::replace(filling, next));
                        }
                    }
                    if sent.is_ok() && ends {
                        sent = spool.send(std::mem::take(filling));
                        spool.close();
                    }
                    if let Err(why) = sent {
                        return Err(self.helper_failure().unwrap_or(why));
                    }
                    bytes = &bytes[take..];
                    self.pos += take as u64;
                    *remaining -= take as u64;
                    self.counts.received.store(self.pos, Relaxed);
                    if ends {
                        self.entries.push(entry.clone());
                        self.state = State::Header(Vec::new());
                    }
                }
                State::Tail => {
                    if self.tail.len() + bytes.len() > MAX_TAIL {
                        return Err("its central directory is over 64 MiB".into());
                    }
                    self.tail.extend_from_slice(bytes);
                    self.pos += bytes.len() as u64;
                    bytes = &[];
                }
            }
        }
        Ok(())
    }

    fn start_entry(&mut self, header: &[u8], offset: u64) -> std::result::Result<(), String> {
        let flags = u16_le(header, 6);
        let method = u16_le(header, 8);
        let name_len = usize::from(u16_le(header, 26));
        let name = header[LOCAL_HEADER..LOCAL_HEADER + name_len].to_vec();
        let extra = &header[LOCAL_HEADER + name_len..];
        let shown = String::from_utf8_lossy(&name).into_owned();
        if flags & FLAG_ENCRYPTED != 0 {
            return Err(format!("the entry {shown:?} is encrypted"));
        }
        if flags & FLAG_DATA_DESCRIPTOR != 0 {
            return Err(format!(
                "the entry {shown:?} gives its sizes after its data"
            ));
        }
        if method != STORED && method != DEFLATED {
            return Err(format!(
                "the entry {shown:?} uses compression method {method}"
            ));
        }
        let mut entry = LocalEntry {
            name,
            offset,
            flags,
            method,
            crc32: u32_le(header, 14),
            compressed_size: u64::from(u32_le(header, 18)),
            size: u64::from(u32_le(header, 22)),
        };
        // Zip64: the 64-bit sizes are in the extra field, uncompressed first
        // (without it the 32-bit values stand, as in the central directory).
        if let Some(zip64) = zipcheck::zip64_extra(extra) {
            let mut fields = zip64
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap()));
            for field in [&mut entry.size, &mut entry.compressed_size] {
                if *field == 0xFFFF_FFFF {
                    if let Some(wide) = fields.next() {
                        *field = wide;
                    }
                }
            }
        }
        if self.entries.len() >= MAX_ENTRIES {
            return Err(format!("it has over {MAX_ENTRIES} entries"));
        }
        let text = std::str::from_utf8(&entry.name)
            .map_err(|_| format!("the entry {shown:?} has a name that is not UTF-8"))?;
        let relative = safe_relative_path(text.trim_end_matches('/'))?;
        // Every entry goes under site/ for now; `.data` is spread at the end,
        // when the `.dist-info` folder (usually the last entries) is known.
        let path = self.dest.join(SITE_DIR).join(relative);
        let file = if text.ends_with('/') {
            if entry.compressed_size != 0 {
                return Err(format!("the folder entry {shown:?} holds data"));
            }
            fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            None
        } else {
            self.unpacked = self.unpacked.saturating_add(entry.size);
            if self.unpacked > self.limits.max_size {
                return Err("it would unpack to more than DPEX_MAX_UNPACKED_SIZE".into());
            }

            if let Some(parent) = path.parent() {
                if !self.made_dirs.contains(parent) {
                    fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
                    self.made_dirs.insert(parent.to_path_buf());
                }
            }
            // Execute bits are in the central directory: set at the end.
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Some(WritebackFile::new(file, &path))
        };
        let remaining = entry.compressed_size;
        let current = Current {
            entry,
            file,
            path,
            remaining,
            ended: false,
            written: 0,
            crc: crc32fast::Hasher::new(),
        };
        if current.file.is_some()
            && current.entry.method == DEFLATED
            && remaining >= self.offload_min
            && self.helpers.iter().filter(|h| !h.spool.is_done()).count() < self.limits.threads
        {
            return self.offload(current);
        }
        self.inflate.reset();
        self.state = State::Data(current);
        if remaining == 0 {
            self.end_entry()?;
        }
        Ok(())
    }

    /// Hand `current` to a helper thread; its stored bytes go to a spool.
    fn offload(&mut self, current: Current) -> std::result::Result<(), String> {
        let spool = Arc::new(Spool::default());
        let entry = current.entry.clone();
        let remaining = current.remaining;
        let (for_helper, counts) = (Arc::clone(&spool), Arc::clone(&self.counts));
        let thread = std::thread::Builder::new()
            .name("dpex-inflate".into())
            .spawn(move || {
                let _running = Running::new(&for_helper);
                inflate_spooled(&for_helper, current, &counts)
            })
            .map_err(|e| format!("no thread to inflate an entry on ({e})"))?;
        self.state = State::Spooling(entry, remaining, spool.empty_chunk());
        self.helpers.push(Helper { spool, thread });
        Ok(())
    }

    /// A helper that stopped early: join it for its reason.
    fn helper_failure(&mut self) -> Option<String> {
        let helper = self.helpers.pop()?;
        match helper.thread.join() {
            Ok(Err(why)) => Some(why),
            Ok(Ok(_)) => None,
            Err(_) => Some("a thread inflating an entry panicked".into()),
        }
    }

    /// Wait for every helper; the first failure, if any.
    fn join_helpers(&mut self) -> std::result::Result<(), String> {
        let mut result = Ok(());
        for helper in self.helpers.drain(..) {
            helper.spool.close();
            let joined = match helper.thread.join() {
                Ok(joined) => joined.map(drop),
                Err(_) => Err("a thread inflating an entry panicked".into()),
            };
            if result.is_ok() {
                result = joined;
            }
        }
        result
    }

    fn stop_helpers(&mut self) {
        for helper in &self.helpers {
            helper.spool.stop();
        }
    }

    fn end_entry(&mut self) -> std::result::Result<(), String> {
        let State::Data(current) = std::mem::replace(&mut self.state, State::Header(Vec::new()))
        else {
            unreachable!("end_entry is called inside an entry")
        };
        check_entry_end(&current)?;
        self.entries.push(current.entry);
        Ok(())
    }

    fn check_and_place(&mut self) -> std::result::Result<(), String> {
        if !matches!(self.state, State::Tail) {
            return Err("it ends inside an entry".into());
        }
        // The end records are in the tail; what comes before it reads as
        // zeros, which hold no signature.
        let mut tail = TailReader {
            tail: &self.tail,
            start: self.tail_start,
            pos: 0,
        };
        let end = zipcheck::find_end(&mut tail, self.pos)?;
        if end.base != 0 || end.cd_start != self.tail_start {
            return Err("its central directory does not start where its entries end".into());
        }
        let cd = usize::try_from(end.cd_size)
            .ok()
            .and_then(|size| self.tail.get(..size))
            .ok_or("its central directory does not fit in the file")?;
        let central = zipcheck::parse_central(cd, end.entries)?;
        if central.len() != self.entries.len() {
            return Err(format!(
                "it has {} local entries and {} in its central directory",
                self.entries.len(),
                central.len()
            ));
        }
        let mut names = HashSet::new();
        if let Some(twice) = central.iter().find(|c| !names.insert(c.name.as_slice())) {
            return Err(format!(
                "the entry {:?} appears twice",
                String::from_utf8_lossy(&twice.name)
            ));
        }
        for (local, listed) in self.entries.iter().zip(&central) {
            if !agree(local, listed) {
                return Err(format!(
                    "the central directory describes the entry {:?} differently",
                    String::from_utf8_lossy(&listed.name)
                ));
            }
        }
        self.set_modes(&central)?;
        let names = central.iter().map(|c| String::from_utf8_lossy(&c.name));
        let dist_info = unpack::find_dist_info(names, self.filename).map_err(|e| e.to_string())?;
        let wheel_file = self.dest.join(SITE_DIR).join(&dist_info).join("WHEEL");
        let mut text = String::new();
        File::open(&wheel_file)
            .and_then(|f| f.take(unpack::MAX_WHEEL_FILE).read_to_string(&mut text))
            .map_err(|_| unpack::missing_wheel_file(self.filename, &dist_info).to_string())?;
        unpack::check_wheel_version(&text, self.filename).map_err(|e| e.to_string())?;
        self.spread_data(&central, &dist_info)
    }

    /// Refuse links and setuid/setgid bits; keep execute bits, as the classic
    /// unpacker does (the same mode, umask applied as at file creation).
    fn set_modes(&self, central: &[CentralEntry]) -> std::result::Result<(), String> {
        let umask = process_umask();
        for entry in central {
            let shown = String::from_utf8_lossy(&entry.name);
            let mode = entry.unix_mode().unwrap_or(0);
            if mode & S_IFMT == S_IFLNK {
                return Err(format!("the entry {shown:?} is a symbolic link"));
            }
            if entry.raw_unix_mode().unwrap_or(0) & 0o6000 != 0 {
                return Err(format!("the entry {shown:?} has setuid or setgid bits"));
            }
            if mode & 0o111 != 0 && !entry.name.ends_with(b"/") {
                let path = self.site_path(entry)?;
                fs::set_permissions(&path, fs::Permissions::from_mode(0o755 & !umask))
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        Ok(())
    }

    /// Move the `.data` folder's files where the classic unpacker puts them.
    fn spread_data(
        &self,
        central: &[CentralEntry],
        dist_info: &str,
    ) -> std::result::Result<(), String> {
        let data_dir = format!("{}.data", dist_info.trim_end_matches(".dist-info"));
        let place = unpack::wheel_place(dist_info);
        let mut seen_data = false;
        for entry in central {
            let text = String::from_utf8_lossy(&entry.name);
            let relative = safe_relative_path(text.trim_end_matches('/'))?;
            if !relative.starts_with(&data_dir) {
                continue;
            }
            seen_data = true;
            let Some(target) = place(&relative)? else {
                continue;
            };
            if target.starts_with(Path::new(SITE_DIR).join(&data_dir)) {
                return Err(format!("the entry {text:?} lands inside the .data folder"));
            }
            let target = self.dest.join(target);
            if text.ends_with('/') {
                fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
                continue;
            }
            if target.symlink_metadata().is_ok() {
                return Err(format!("the entry {text:?} lands where another file is"));
            }
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            let from = self.dest.join(SITE_DIR).join(&relative);
            fs::rename(&from, &target).map_err(|e| format!("{}: {e}", from.display()))?;
        }
        if seen_data {
            let left = self.dest.join(SITE_DIR).join(&data_dir);
            remove_any(&left).map_err(|e| format!("{}: {e}", left.display()))?;
        }
        Ok(())
    }

    fn site_path(&self, entry: &CentralEntry) -> std::result::Result<PathBuf, String> {
        let text = String::from_utf8_lossy(&entry.name);
        Ok(self.dest.join(SITE_DIR).join(safe_relative_path(&text)?))
    }
}

/// Whether a local entry is the one the central directory lists.
fn agree(local: &LocalEntry, listed: &CentralEntry) -> bool {
    local.name == listed.name
        && local.offset == listed.local_offset
        && local.method == listed.method
        && local.crc32 == listed.crc32
        && local.compressed_size == listed.compressed_size
        && local.size == listed.size
        && (local.flags ^ listed.flags) & (FLAG_ENCRYPTED | FLAG_DATA_DESCRIPTOR) == 0
}

impl Drop for StreamUnpack<'_> {
    fn drop(&mut self) {
        self.stop_helpers();
        let _ = self.join_helpers();
    }
}

/// Bytes in spools over the process, against [`SPOOL_BUDGET`]; helpers
/// notify `SPOOL_FREED` as they use chunks up.
static SPOOLED: Mutex<u64> = Mutex::new(0);
static SPOOL_FREED: Condvar = Condvar::new();
/// Times a stream waited for the budget (for the tests).
#[cfg(test)]
static BUDGET_WAITS: AtomicU64 = AtomicU64::new(0);
/// Used-up chunks, filled again by any stream: a fresh 1 MiB chunk is a new
/// mapping whose every page faults in zeroed (loopback torch: +1 s of system
/// time when each chunk was new). Emptied when the last helper ends.
static CHUNKS: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
/// Helpers running, over the process.
static HELPERS: Mutex<usize> = Mutex::new(0);

fn chunks() -> MutexGuard<'static, Vec<Vec<u8>>> {
    CHUNKS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn spooled() -> MutexGuard<'static, u64> {
    SPOOLED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn unspool(bytes: u64) {
    if bytes > 0 {
        *spooled() -= bytes;
        SPOOL_FREED.notify_all();
    }
}

impl Spool {
    fn lock(&self) -> MutexGuard<'_, SpoolState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A chunk to fill: a used-up one, or a new one.
    fn empty_chunk(&self) -> Vec<u8> {
        chunks()
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(SPOOL_CHUNK))
    }

    /// Queue the entry's next bytes for the helper, first waiting while the
    /// spools are over budget and this helper has chunks to use up. `Err` if
    /// the helper has stopped.
    fn send(&self, chunk: Vec<u8>) -> std::result::Result<(), String> {
        let len = chunk.len() as u64;
        if len == 0 {
            return Ok(());
        }
        let mut total = spooled();
        while *total + len > SPOOL_BUDGET && {
            let state = self.lock();
            !state.full.is_empty() && !state.done
        } {
            #[cfg(test)]
            BUDGET_WAITS.fetch_add(1, Relaxed);
            total = SPOOL_FREED
                .wait(total)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        *total += len;
        drop(total);
        let mut state = self.lock();
        if state.done {
            drop(state);
            unspool(len);
            return Err("its inflating thread stopped".into());
        }
        state.full.push_back(chunk);
        drop(state);
        self.moved.notify_all();
        Ok(())
    }

    fn close(&self) {
        self.lock().closed = true;
        self.moved.notify_all();
    }

    fn stop(&self) {
        self.lock().stop = true;
        self.moved.notify_all();
    }

    fn is_done(&self) -> bool {
        self.lock().done
    }

    /// For the helper: the next chunk, `None` once the entry is closed and
    /// every chunk used; `Err` when told to stop.
    fn next_chunk(&self) -> std::result::Result<Option<Vec<u8>>, String> {
        let mut state = self.lock();
        loop {
            if state.stop {
                return Err("stopped".into());
            }
            if let Some(chunk) = state.full.pop_front() {
                return Ok(Some(chunk));
            }
            if state.closed {
                return Ok(None);
            }
            state = self.moved.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// For the helper: a chunk used up, for any stream to fill again (the
    /// pool keeps a budget's worth at most).
    fn give_back(&self, mut chunk: Vec<u8>) {
        unspool(chunk.len() as u64);
        chunk.clear();
        let mut pool = chunks();
        if pool.len() < (SPOOL_BUDGET / SPOOL_CHUNK as u64) as usize {
            pool.push(chunk);
        }
    }
}

/// A chunk the helper took: given back however the helper leaves it (a
/// panic included), so the budget never loses its bytes.
struct Taken<'a>(&'a Spool, Vec<u8>);

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        self.0.give_back(std::mem::take(&mut self.1));
    }
}

/// A running helper: counted from its start; when it returns (or panics)
/// its spool is marked done, so a stream waiting on it goes on, what it
/// still held is given back, and the last helper to end frees the chunks.
struct Running<'a>(&'a Spool);

impl<'a> Running<'a> {
    fn new(spool: &'a Spool) -> Running<'a> {
        *HELPERS.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        Running(spool)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.done = true;
        let left: u64 = state.full.drain(..).map(|c| c.len() as u64).sum();
        drop(state);
        unspool(left);
        self.0.moved.notify_all();
        // Under the lock a waiting stream holds until it waits: it either
        // sees `done` or is waiting when this wakes it.
        let total = spooled();
        SPOOL_FREED.notify_all();
        drop(total);
        let mut helpers = HELPERS.lock().unwrap_or_else(|p| p.into_inner());
        *helpers -= 1;
        if *helpers == 0 {
            chunks().clear();
        }
    }
}

/// A helper's work: inflate an offloaded entry from its spool as the bytes
/// come in, with the checks an inline entry gets; the bytes written.
fn inflate_spooled(
    spool: &Spool,
    mut current: Current,
    counts: &Counts,
) -> std::result::Result<u64, String> {
    let mut inflate = RawInflate::new();
    let mut buffer = vec![0u8; OUT_BUFFER];
    while let Some(chunk) = spool.next_chunk()? {
        let chunk = Taken(spool, chunk);
        // Checked as often as the inline path, which gets at most 256 KiB a write.
        for piece in chunk.1.chunks(256 << 10) {
            let before = current.written;
            write_data(&mut current, piece, &mut inflate, &mut buffer)?;
            counts.written.fetch_add(current.written - before, Relaxed);
            counts.check_ratio()?;
        }
    }
    check_entry_end(&current)?;
    Ok(current.written)
}

/// The checks at the end of an entry's bytes: all of it inflated, its size, its CRC-32.
fn check_entry_end(current: &Current) -> std::result::Result<(), String> {
    if current.file.is_none() {
        return Ok(());
    }
    let shown = String::from_utf8_lossy(&current.entry.name);
    if current.entry.method == DEFLATED && !current.ended {
        return Err(format!(
            "the entry {shown:?} is corrupt (its data ends early)"
        ));
    }
    if current.written != current.entry.size {
        return Err(format!(
            "the entry {shown:?} holds {} bytes, not {}",
            current.written, current.entry.size
        ));
    }
    if current.crc.clone().finalize() != current.entry.crc32 {
        return Err(format!("the entry {shown:?} is corrupt (CRC-32 mismatch)"));
    }
    Ok(())
}

/// Write one entry's stored bytes (`data`, a part of them) to its file.
fn write_data(
    current: &mut Current,
    data: &[u8],
    inflate: &mut RawInflate,
    buffer: &mut [u8],
) -> std::result::Result<(), String> {
    let Some(file) = current.file.as_mut() else {
        return Ok(());
    };
    let shown = || String::from_utf8_lossy(&current.entry.name).into_owned();
    let write_err = |e: io::Error| format!("{}: {e}", current.path.display());
    if current.entry.method == STORED {
        current.written += data.len() as u64;
        if current.written > current.entry.size {
            return Err(format!("the entry {:?} holds more than its size", shown()));
        }
        current.crc.update(data);
        return file.write_all(data).map_err(write_err);
    }
    let mut input = data;
    while !current.ended {
        let step = inflate
            .step(input, buffer)
            .map_err(|e| format!("the entry {:?} is corrupt ({e})", shown()))?;
        let (consumed, produced) = (step.consumed, step.produced);
        input = &input[consumed..];
        current.written += produced as u64;
        if current.written > current.entry.size {
            return Err(format!("the entry {:?} holds more than its size", shown()));
        }
        current.crc.update(&buffer[..produced]);
        file.write_all(&buffer[..produced]).map_err(write_err)?;
        current.ended = step.ended;
        if consumed == 0 && produced == 0 {
            // Wants the next part of the stored bytes (all of these used).
            debug_assert!(input.is_empty(), "a stalled step left input");
            break;
        }
    }
    Ok(())
}

/// The full length of the local header collected so far, once its fixed
/// part is in.
fn header_len(header: &[u8]) -> Option<usize> {
    (header.len() >= LOCAL_HEADER)
        .then(|| LOCAL_HEADER + usize::from(u16_le(header, 26)) + usize::from(u16_le(header, 28)))
}

fn u16_le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// The process's umask, read without changing it (Linux 4.7+; else the
/// usual 022): setting it to read it would race with threads creating files.
fn process_umask() -> u32 {
    static UMASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                let line = status.lines().find(|l| l.starts_with("Umask:"))?;
                u32::from_str_radix(line["Umask:".len()..].trim(), 8).ok()
            })
            .unwrap_or(0o022)
    })
}

/// Remove everything inside `dir`.
fn clear_dir(dir: &Path) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| Error::io("read", dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::io("read", dir, e))?.path();
        remove_any(&path).map_err(|e| Error::io("remove", &path, e))?;
    }
    Ok(())
}

/// The zip as far as [`zipcheck::find_end`] needs it: the kept tail at its
/// offset, zeros before it.
struct TailReader<'a> {
    tail: &'a [u8],
    start: u64,
    pos: u64,
}

impl Read for TailReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let end = self.start + self.tail.len() as u64;
        if self.pos >= end {
            return Ok(0);
        }
        let n = if self.pos < self.start {
            let n = out.len().min((self.start - self.pos) as usize);
            out[..n].fill(0);
            n
        } else {
            let at = (self.pos - self.start) as usize;
            let n = out.len().min(self.tail.len() - at);
            out[..n].copy_from_slice(&self.tail[at..at + n]);
            n
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for TailReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match to {
            SeekFrom::Start(at) => self.pos = at,
            _ => return Err(io::ErrorKind::Unsupported.into()),
        }
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;
    use std::io::Cursor;
    use zip::write::SimpleFileOptions;

    const WHEEL: &str = "demo-1.0-py3-none-any.whl";

    /// A wheel of project `demo` holding `entries` (name, bytes, unix mode).
    fn wheel_bytes(entries: &[(&str, &[u8], u32)], options: SimpleFileOptions) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let mut all: Vec<(String, Vec<u8>, u32)> = entries
            .iter()
            .map(|(n, b, m)| (n.to_string(), b.to_vec(), *m))
            .collect();
        all.push((
            "demo-1.0.dist-info/WHEEL".into(),
            b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_vec(),
            0o644,
        ));
        all.push(("demo-1.0.dist-info/RECORD".into(), Vec::new(), 0o644));
        for (name, bytes, mode) in all {
            let options = options.external_attributes((0o100000 | mode) << 16);
            zip.start_file(name, options).unwrap();
            zip.write_all(&bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn fresh_dir(tag: &str) -> TestDir {
        TestDir::new(&format!("stream-{tag}"))
    }

    /// Offload thresholds the tests run with: the real one (inline for these
    /// small wheels), and every deflated entry offloaded while helpers are free.
    const OFFLOADS: [u64; 2] = [OFFLOAD_MIN, 1];

    fn stream(
        bytes: &[u8],
        chunk: usize,
        dest: &Path,
        offload_min: u64,
    ) -> std::result::Result<(), String> {
        let mut unpack =
            StreamUnpack::new(dest, WHEEL, UnpackLimits::default()).offloading_from(offload_min);
        for part in bytes.chunks(chunk) {
            unpack.write(part);
        }
        unpack.finish().unwrap()
    }

    /// Every file under `dir`: relative path, bytes, mode.
    fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>, u32)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                let meta = path.symlink_metadata().unwrap();
                if meta.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                    out.push((
                        rel,
                        fs::read(&path).unwrap(),
                        meta.permissions().mode() & 0o7777,
                    ));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn any_chunking_gives_the_classic_unpackers_tree() {
        let big = unpack::noise(3 * OUT_BUFFER + 17, 3);
        let text = b"print('hello')\n".repeat(50_000);
        let entries: &[(&str, &[u8], u32)] = &[
            ("demo/__init__.py", b"x = 1\n", 0o644),
            ("demo/empty.py", b"", 0o644),
            ("demo/noise.bin", &big, 0o644),
            ("demo/text.py", &text, 0o644),
            ("demo/tool", b"#!/bin/sh\n", 0o755),
            ("demo-1.0.data/purelib/demo_pure.py", b"p = 1\n", 0o644),
            ("demo-1.0.data/scripts/demo-tool", b"#!python\n", 0o755),
            ("demo-1.0.data/data/share/demo.txt", b"d", 0o644),
            ("demo-1.0.data/headers/demo.h", b"int x;", 0o644),
        ];
        for (tag, options) in [
            ("deflated", SimpleFileOptions::default()),
            (
                "stored",
                SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored),
            ),
            ("zip64", SimpleFileOptions::default().large_file(true)),
        ] {
            let bytes = wheel_bytes(entries, options);
            let classic = fresh_dir(&format!("classic-{tag}"));
            unpack::unpack_wheel_bytes(&bytes, WHEEL, &classic, UnpackLimits::default()).unwrap();
            let expected = tree(&classic);
            assert!(expected
                .iter()
                .any(|(p, _, m)| p == Path::new("scripts/demo-tool") && *m == 0o755));
            for (chunk, offload) in [1, 29, 30, 31, 4096, OUT_BUFFER + 1, bytes.len()]
                .into_iter()
                .flat_map(|chunk| OFFLOADS.map(|offload| (chunk, offload)))
            {
                let dest = fresh_dir(&format!("{tag}-{chunk}-{offload}"));
                stream(&bytes, chunk, &dest, offload)
                    .unwrap_or_else(|e| panic!("{tag} {chunk} {offload}: {e}"));
                assert!(
                    tree(&dest) == expected,
                    "{tag}, chunks of {chunk}, offloading from {offload}: trees differ"
                );
                let _ = fs::remove_dir_all(&dest);
            }
        }
    }

    #[test]
    fn defers_and_leaves_nothing_for_what_it_does_not_handle() {
        let entries: &[(&str, &[u8], u32)] = &[("demo/__init__.py", b"x = 1\n", 0o644)];
        let sound = wheel_bytes(entries, SimpleFileOptions::default());
        // A data descriptor: the zip crate writes one to an unseekable stream.
        let mut zip = zip::ZipWriter::new_stream(Vec::new());
        for (name, bytes) in [
            ("demo/__init__.py", &b"x = 1\n"[..]),
            ("demo-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\n"),
        ] {
            zip.start_file(name, SimpleFileOptions::default()).unwrap();
            zip.write_all(bytes).unwrap();
        }
        let streamed = zip.finish().unwrap().into_inner();
        // The central directory gives another CRC for the first entry.
        let mut lying = sound.clone();
        let cd = lying.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        lying[cd + 16] ^= 0xff;
        // A symbolic link and a setuid file: the classic unpacker refuses them.
        let mode_of =
            |mode: u32| wheel_bytes(&[("demo/x", b"target", mode)], SimpleFileOptions::default());
        // A folder entry twice, and a `.data` file that lands inside `.data`:
        // the classic unpacker refuses the first and keeps the second in place.
        let twice = {
            let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
            for name in ["demo/", "dexo/"] {
                zip.add_directory(name, SimpleFileOptions::default())
                    .unwrap();
            }
            zip.start_file("demo-1.0.dist-info/WHEEL", SimpleFileOptions::default())
                .unwrap();
            zip.write_all(b"Wheel-Version: 1.0\n").unwrap();
            let mut bytes = zip.finish().unwrap().into_inner();
            // Rename the second folder in its local and central entries.
            for at in 0..bytes.len() - 5 {
                if &bytes[at..at + 5] == b"dexo/" {
                    bytes[at + 2] = b'm';
                }
            }
            bytes
        };
        let nested = wheel_bytes(
            &[(
                "demo-1.0.data/purelib/demo-1.0.data/x.py",
                b"x = 1\n",
                0o644,
            )],
            SimpleFileOptions::default(),
        );
        // 80 MiB of zeros: far over the ratio an unverified download may unpack to.
        let zeros = vec![0u8; (RATIO_FREE + (16 << 20)) as usize];
        let bomb = wheel_bytes(
            &[("demo/zeros.bin", &zeros, 0o644)],
            SimpleFileOptions::default(),
        );
        drop(zeros);
        for (tag, bytes, why) in [
            ("bomb", bomb, "times the bytes received"),
            ("twice", twice, "appears twice"),
            ("nested", nested, "inside the .data folder"),
            ("descriptor", streamed, "after its data"),
            ("lying", lying, "differently"),
            ("cut", sound[..sound.len() - 30].to_vec(), "end"),
            ("link", mode_of(0o120777 & !0o100000), "symbolic link"),
            ("setuid", mode_of(0o4755), "setuid"),
            ("not-a-zip", b"hello world, not a zip at all".to_vec(), ""),
        ] {
            for offload in OFFLOADS {
                let dest = fresh_dir(&format!("{tag}-{offload}"));
                let e = stream(&bytes, 1000, &dest, offload).unwrap_err();
                assert!(e.contains(why), "{tag}, offloading from {offload}: {e}");
                assert!(
                    fs::read_dir(&dest).unwrap().next().is_none(),
                    "{tag}, offloading from {offload}: left files"
                );
            }
        }
    }

    #[test]
    fn restart_empties_the_folder() {
        let text = b"print('hello')\n".repeat(10_000);
        let bytes = wheel_bytes(&[("demo/a.py", &text, 0o644)], SimpleFileOptions::default());
        for offload in OFFLOADS {
            let dest = fresh_dir(&format!("restart-{offload}"));
            let mut unpack =
                StreamUnpack::new(&dest, WHEEL, UnpackLimits::default()).offloading_from(offload);
            // Cut inside the entry: a helper is running when the restart comes.
            unpack.write(&bytes[..200]);
            unpack.restart().unwrap();
            assert!(fs::read_dir(&dest).unwrap().next().is_none());
            unpack.write(&bytes);
            unpack.finish().unwrap().unwrap();
            assert_eq!(fs::read(dest.join("site/demo/a.py")).unwrap(), text);
        }
    }

    /// An entry several times the spool budget: the stream waits for its
    /// helper (the budget is 2 chunks under test) and the files come out
    /// as the classic unpacker's.
    #[test]
    fn a_stream_over_the_spool_budget_waits_for_its_helper() {
        let big = unpack::noise(8 * SPOOL_CHUNK + 3, 7);
        let bytes = wheel_bytes(
            &[
                ("demo/big.bin", &big, 0o644),
                ("demo/after.py", b"a = 1\n", 0o644),
            ],
            SimpleFileOptions::default(),
        );
        let classic = fresh_dir("budget-classic");
        unpack::unpack_wheel_bytes(&bytes, WHEEL, &classic, UnpackLimits::default()).unwrap();
        let dest = fresh_dir("budget");
        let waits = BUDGET_WAITS.load(Relaxed);
        let mut unpack = StreamUnpack::new(&dest, WHEEL, UnpackLimits::default())
            .offloading_from(SPOOL_CHUNK as u64);
        // One write: the stream hands over chunks faster than the helper inflates.
        unpack.write(&bytes);
        assert!(
            BUDGET_WAITS.load(Relaxed) > waits,
            "the stream never waited"
        );
        unpack.finish().unwrap().unwrap();
        assert!(tree(&dest) == tree(&classic), "trees differ");
    }

    /// Helpers run while the stream goes on: with every deflated entry
    /// offloaded and one helper at a time, a wheel of many entries unpacks as
    /// the classic unpacker does.
    #[test]
    fn offloaded_entries_unpack_as_the_classic_unpacker_does() {
        let noise: Vec<Vec<u8>> = (0..6)
            .map(|i| unpack::noise(OUT_BUFFER * 2 + i, i as u64))
            .collect();
        let names: Vec<String> = (0..6).map(|i| format!("demo/n{i}.bin")).collect();
        let entries: Vec<(&str, &[u8], u32)> = names
            .iter()
            .zip(&noise)
            .map(|(n, b)| (n.as_str(), &b[..], 0o644))
            .collect();
        let bytes = wheel_bytes(&entries, SimpleFileOptions::default());
        let classic = fresh_dir("offload-classic");
        unpack::unpack_wheel_bytes(&bytes, WHEEL, &classic, UnpackLimits::default()).unwrap();
        let dest = fresh_dir("offload-one");
        let limits = UnpackLimits {
            threads: 1,
            ..UnpackLimits::default()
        };
        let mut unpack = StreamUnpack::new(&dest, WHEEL, limits).offloading_from(1);
        for part in bytes.chunks(7777) {
            unpack.write(part);
        }
        assert!(!unpack.helpers.is_empty(), "nothing was offloaded");
        unpack.finish().unwrap().unwrap();
        assert!(tree(&dest) == tree(&classic), "trees differ");
    }
}
