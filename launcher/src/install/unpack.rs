//! Unpacking zips into a staging folder, refusing anything that could write
//! outside it: wheels (with the `.data` scheme spread) and the app's own zip.

use crate::cache::atomic::WritebackFile;
use crate::error::{Error, Result};
use crate::install::inflate::RawInflate;
use crate::install::mapped::Mapped;
use dpex_standards::version::normalize_name;
use dpex_standards::wheel::WheelName;
use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// How much one archive may unpack to, and with how many threads.
#[derive(Clone, Copy, Debug)]
pub struct UnpackLimits {
    /// Bytes one archive may unpack to, a zip bomb guard
    /// (`DPEX_MAX_UNPACKED_SIZE`).
    pub max_size: u64,
    /// Threads for one big wheel (`DPEX_UNPACK_THREADS`; default the cores,
    /// at most 4).
    pub threads: usize,
}

impl UnpackLimits {
    pub fn from_settings(settings: &crate::settings::Settings) -> UnpackLimits {
        UnpackLimits {
            max_size: settings.max_unpacked_size,
            threads: settings.unpack_threads.unwrap_or_else(default_threads),
        }
    }
}

impl Default for UnpackLimits {
    fn default() -> UnpackLimits {
        UnpackLimits {
            max_size: crate::settings::DEFAULT_MAX_UNPACKED,
            threads: default_threads(),
        }
    }
}

fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4)
}

const S_IFMT: u32 = 0o170000;
const S_IFLNK: u32 = 0o120000;

/// The subfolders of an unpacked wheel entry (see docs/cache.md).
pub const SITE_DIR: &str = "site";
pub const SCRIPTS_DIR: &str = "scripts";
pub const DATA_DIR: &str = "data";
pub const HEADERS_DIR: &str = "headers";

/// Check a zip entry name and turn it into a relative path with only normal
/// components: no absolute paths, drive prefixes, `..`, NUL or control chars.
pub fn safe_relative_path(name: &str) -> std::result::Result<PathBuf, String> {
    if name.is_empty() {
        return Err("an entry has an empty name".into());
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(format!(
            "the entry {name:?} has a control character in its name"
        ));
    }
    if name.starts_with('/') || name.starts_with('\\') || name.contains('\\') {
        return Err(format!(
            "the entry {name:?} has an absolute or backslash path"
        ));
    }
    if name.len() >= 2 && name.as_bytes()[1] == b':' {
        return Err(format!("the entry {name:?} has a drive prefix"));
    }
    let mut out = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => {
                return Err(format!(
                    "the entry {name:?} points outside the archive (`..` or root)"
                ))
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(format!("the entry {name:?} names no file"));
    }
    Ok(out)
}

/// Unpack every entry of the zip `bytes` into `dest` (an empty staging
/// folder), mapping each entry's path with `place` (which may refuse it).
/// `what` names the archive in errors.
pub fn unpack_zip<F>(
    bytes: &[u8],
    dest: &Path,
    what: &str,
    limits: UnpackLimits,
    place: F,
) -> Result<()>
where
    F: Fn(&Path) -> std::result::Result<Option<PathBuf>, String>,
{
    let mut archive = zip::ZipArchive::new(io::Cursor::new(bytes))
        .map_err(|e| Error::msg(format!("{what} is not a readable zip ({e})")))?;
    let indices = 0..archive.len();
    let to = Destination::new(dest, what, &place, limits);
    unpack_entries(&mut archive, bytes, None, indices, &to)
}

/// Where an archive's entries go; shared by every thread unpacking it.
struct Destination<'a, F> {
    dir: &'a Path,
    /// Names the archive in errors.
    what: &'a str,
    /// Maps an entry's path into `dir`, or skips or refuses it.
    place: &'a F,
    /// Bytes written by every thread so far, against `limit`.
    written: AtomicU64,
    /// DPEX_MAX_UNPACKED_SIZE.
    limit: u64,
}

impl<'a, F> Destination<'a, F> {
    fn new(dir: &'a Path, what: &'a str, place: &'a F, limits: UnpackLimits) -> Destination<'a, F> {
        Destination {
            dir,
            what,
            place,
            written: AtomicU64::new(0),
            limit: limits.max_size,
        }
    }
}

/// Unpack the entries at `indices` of `archive` (over `bytes`, which may be
/// all of `mapped`) into `to`.
fn unpack_entries<F>(
    archive: &mut zip::ZipArchive<io::Cursor<&[u8]>>,
    bytes: &[u8],
    mapped: Option<&Mapped>,
    indices: impl Iterator<Item = usize>,
    to: &Destination<F>,
) -> Result<()>
where
    F: Fn(&Path) -> std::result::Result<Option<PathBuf>, String>,
{
    let what = to.what;
    let bad = |why: String| {
        Error::msg(format!("refusing to unpack {what}: {why}. The file is damaged or hostile; rebuild it or contact whoever published it"))
    };
    let mut inflater = Inflater::new();
    let mut made_dirs: HashSet<PathBuf> = HashSet::new();
    for index in indices {
        // Raw: the entry's bytes are inflated below, straight from memory,
        // with one decompressor per thread (not one allocated per entry).
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| bad(format!("entry {index} is unreadable ({e})")))?;
        let name = std::str::from_utf8(entry.name_raw())
            .map_err(|_| bad(format!("entry {index} has a name that is not UTF-8")))?
            .to_string();
        let relative = safe_relative_path(name.trim_end_matches('/')).map_err(bad)?;
        let mode = entry.unix_mode().unwrap_or(0);
        if mode & S_IFMT == S_IFLNK {
            return Err(bad(format!("the entry {name:?} is a symbolic link")));
        }
        // No installer needs setuid/setgid files; one in a wheel is an attack.
        // (`unix_mode()` clears those bits, so read the raw attributes.)
        let raw_mode = entry.external_attributes() >> 16;
        if entry.system() == zip::System::Unix && raw_mode & 0o6000 != 0 {
            return Err(bad(format!(
                "the entry {name:?} has setuid or setgid bits (mode {:o})",
                raw_mode & 0o7777
            )));
        }
        let Some(target) = (to.place)(&relative).map_err(bad)? else {
            continue;
        };
        let path = to.dir.join(&target);
        if entry.is_dir() {
            fs::create_dir_all(&path).map_err(|e| Error::io("create", &path, e))?;
            continue;
        }
        let so_far = to
            .written
            .fetch_add(entry.size(), Ordering::Relaxed)
            .saturating_add(entry.size());
        if so_far > to.limit {
            return Err(bad(format!(
                "it would unpack to more than {} bytes (DPEX_MAX_UNPACKED_SIZE)",
                to.limit
            )));
        }
        if let Some(parent) = path.parent() {
            // One mkdir per folder, not a failing mkdir and a stat per file.
            if !made_dirs.contains(parent) {
                fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
                made_dirs.insert(parent.to_path_buf());
            }
        }
        // Only the execute bits are kept (a sticky bit is dropped).
        let file_mode = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
        let mut file = WritebackFile::new(
            OpenOptions::new()
                .write(true)
                .create_new(true)
                // create_new is O_CREAT|O_EXCL: it never follows a symlink.
                .mode(file_mode)
                .open(&path)
                .map_err(|e| {
                    if e.kind() == io::ErrorKind::AlreadyExists {
                        bad(format!("the entry {name:?} appears twice"))
                    } else {
                        Error::io("create", &path, e)
                    }
                })?,
            &path,
        );
        if entry.encrypted() {
            return Err(bad(format!("the entry {name:?} is encrypted")));
        }
        let data = entry
            .data_start()
            .and_then(|start| {
                let end = start.checked_add(entry.compressed_size())?;
                bytes.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
            })
            .ok_or_else(|| bad(format!("the entry {name:?} lies outside the file")))?;
        let declared = entry.size();
        let release = |part: &[u8]| {
            if let Some(map) = mapped {
                map.release(part)
            }
        };
        inflater
            .copy(
                entry.compression(),
                data,
                declared,
                entry.crc32(),
                &mut file,
                &release,
            )
            .map_err(|e| match e {
                CopyError::Write(e) => Error::io("write", &path, e),
                CopyError::Bad(why) => bad(format!("the entry {name:?} {why}")),
            })?;
    }
    Ok(())
}

enum CopyError {
    Write(io::Error),
    /// Completes "the entry NAME ...".
    Bad(String),
}

/// Inflates entries from memory into files, reusing one decompressor and one
/// output buffer, and checks each entry's size and CRC-32.
struct Inflater {
    decompress: RawInflate,
    buffer: Vec<u8>,
}

impl Inflater {
    fn new() -> Inflater {
        Inflater {
            decompress: RawInflate::new(),
            buffer: vec![0u8; COPY_BUFFER],
        }
    }

    /// Write the entry whose stored bytes are `data` to `out`; it must come
    /// to exactly `declared` bytes with CRC-32 `crc`.
    /// `release` is given the stored bytes as they are used up, a chunk at
    /// a time (see [`Mapped::release`]).
    fn copy(
        &mut self,
        method: zip::CompressionMethod,
        data: &[u8],
        declared: u64,
        crc: u32,
        out: &mut impl io::Write,
        release: &dyn Fn(&[u8]),
    ) -> std::result::Result<(), CopyError> {
        let mut hasher = crc32fast::Hasher::new();
        let mut written: u64 = 0;
        match method {
            zip::CompressionMethod::Stored => {
                written = data.len() as u64;
                for chunk in data.chunks(RELEASE_CHUNK) {
                    hasher.update(chunk);
                    if written == declared {
                        out.write_all(chunk).map_err(CopyError::Write)?;
                    }
                    release(chunk);
                }
            }
            zip::CompressionMethod::Deflated => {
                self.decompress.reset();
                let mut input = data;
                let mut released = 0;
                loop {
                    let used = data.len() - input.len();
                    if used - released >= RELEASE_CHUNK {
                        release(&data[released..used]);
                        released = used;
                    }
                    let step = self
                        .decompress
                        .step(input, &mut self.buffer)
                        .map_err(|e| CopyError::Bad(format!("is corrupt ({e})")))?;
                    let (consumed, produced) = (step.consumed, step.produced);
                    input = &input[consumed..];
                    written += produced as u64;
                    // Stop at the first byte past the declared size: a lying header.
                    if written > declared {
                        break;
                    }
                    hasher.update(&self.buffer[..produced]);
                    out.write_all(&self.buffer[..produced])
                        .map_err(CopyError::Write)?;
                    if step.ended {
                        break;
                    }
                    if consumed == 0 && produced == 0 {
                        return Err(CopyError::Bad("is corrupt (its data ends early)".into()));
                    }
                }
                release(&data[released..]);
            }
            other => {
                return Err(CopyError::Bad(format!(
                    "uses the compression method {other}, which wheels never use (only stored and deflate)"
                )))
            }
        }
        if written != declared {
            return Err(CopyError::Bad(format!(
                "holds {}{written} bytes, not the {declared} its header says",
                if written > declared { "over " } else { "" }
            )));
        }
        if hasher.finalize() != crc {
            return Err(CopyError::Bad("is corrupt (CRC-32 mismatch)".into()));
        }
        Ok(())
    }
}

/// Bytes inflated and written at a time: most files take one write (io::copy's
/// 8 KiB would mean tens of thousands of syscalls per big wheel).
const COPY_BUFFER: usize = 256 * 1024;

/// Unpack the wheel file `wheel` into `dest` (see [`unpack_wheel_bytes`]).
pub fn unpack_wheel(wheel: &Path, filename: &str, dest: &Path, limits: UnpackLimits) -> Result<()> {
    let file = fs::File::open(wheel).map_err(|e| Error::io("open", wheel, e))?;
    let map = Mapped::of(&file).map_err(|e| Error::io("read", wheel, e))?;
    unpack_wheel_from(map.bytes(), Some(&map), filename, dest, limits)
}

/// Unpack a wheel's bytes into `dest`: the importable files (root,
/// `.data/purelib`, `.data/platlib`) under `site/`, `.data/scripts` under
/// `scripts/`, `.data/data` under `data/`, `.data/headers` under `headers/`.
pub fn unpack_wheel_bytes(
    bytes: &[u8],
    filename: &str,
    dest: &Path,
    limits: UnpackLimits,
) -> Result<()> {
    unpack_wheel_from(bytes, None, filename, dest, limits)
}

/// [`unpack_wheel_bytes`] of `bytes`, which may be all of `mapped`.
fn unpack_wheel_from(
    bytes: &[u8],
    mapped: Option<&Mapped>,
    filename: &str,
    dest: &Path,
    limits: UnpackLimits,
) -> Result<()> {
    crate::format::zipcheck::check_structure_of(&mut io::Cursor::new(bytes), bytes.len() as u64).map_err(|why| {
        Error::msg(format!(
            "refusing to unpack {filename}: {why}. The file is damaged or hostile; rebuild it or contact whoever published it"
        ))
    })?;
    let mut archive = zip::ZipArchive::new(io::Cursor::new(bytes)).map_err(|e| {
        Error::msg(format!(
            "{filename} is not a readable zip ({e}); the file is damaged"
        ))
    })?;
    let dist_info = check_wheel_metadata(&mut archive, filename)?;
    let place = wheel_place(&dist_info);
    // Big wheels (numpy, torch) are the tail of a cold start: spread their
    // entries over the cores, each thread with its own reader.
    let threads = if bytes.len() as u64 >= PARALLEL_UNPACK_BYTES {
        limits.threads
    } else {
        1
    };
    let entries = archive.len();
    let to = Destination::new(dest, filename, &place, limits);
    if threads == 1 {
        return unpack_entries(&mut archive, bytes, mapped, 0..entries, &to);
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let to = &to;
                // A clone shares the parsed central directory and the map.
                let mut archive = archive.clone();
                scope.spawn(move || {
                    let indices = (t..entries).step_by(threads);
                    unpack_entries(&mut archive, bytes, mapped, indices, to)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(Error::msg("an unpacking thread failed")))
            })
            .collect::<Result<Vec<()>>>()
            .map(|_| ())
    })
}

/// How much of a mapped wheel's stored bytes one thread keeps resident
/// before handing them to `release`.
const RELEASE_CHUNK: usize = 16 << 20;

/// Wheels at least this big are unpacked by several threads.
const PARALLEL_UNPACK_BYTES: u64 = 4 << 20;

/// Where each entry of a wheel whose `.dist-info` folder is `dist_info`
/// goes: the importable files (root, `.data/purelib`, `.data/platlib`) under
/// `site/`, `.data/scripts` under `scripts/`, `.data/data` under `data/`,
/// `.data/headers` under `headers/`; `None` for the `.data` folders themselves.
pub(crate) fn wheel_place(
    dist_info: &str,
) -> impl Fn(&Path) -> std::result::Result<Option<PathBuf>, String> {
    let data_dir = format!("{}.data", dist_info.trim_end_matches(".dist-info"));
    move |path: &Path| {
        let mut components = path.components();
        let first = components
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        if first.as_deref() != Some(data_dir.as_str()) {
            return Ok(Some(Path::new(SITE_DIR).join(path)));
        }
        let Some(key) = components.next() else {
            return Ok(None);
        };
        let rest: PathBuf = components.collect();
        let under = match key.as_os_str().to_str() {
            Some("purelib") | Some("platlib") => SITE_DIR,
            Some("scripts") => SCRIPTS_DIR,
            Some("data") => DATA_DIR,
            Some("headers") => HEADERS_DIR,
            other => {
                return Err(format!(
                    "unknown .data scheme key {:?}",
                    other.unwrap_or("?")
                ))
            }
        };
        if rest.as_os_str().is_empty() {
            return Ok(None);
        }
        Ok(Some(Path::new(under).join(rest)))
    }
}

/// Find the one `.dist-info` folder that names this wheel's project and check
/// its WHEEL file; returns the folder's name.
fn check_wheel_metadata<R: io::Read + io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    filename: &str,
) -> Result<String> {
    let dist_info = find_dist_info(archive.file_names().filter_map(|n| n.ok()), filename)?;
    let mut wheel_file = String::new();
    archive
        .by_name(&format!("{dist_info}/WHEEL"))
        .map_err(|_| missing_wheel_file(filename, &dist_info))?
        .take(MAX_WHEEL_FILE)
        .read_to_string(&mut wheel_file)
        .map_err(|e| Error::msg(format!("{filename}: cannot read {dist_info}/WHEEL ({e})")))?;
    check_wheel_version(&wheel_file, filename)?;
    Ok(dist_info)
}

/// The most of a WHEEL file read.
pub(crate) const MAX_WHEEL_FILE: u64 = 64 * 1024;

/// The one `.dist-info` folder among the entry `names` that names the
/// project of the wheel `filename`.
pub(crate) fn find_dist_info(
    names: impl Iterator<Item = impl AsRef<str>>,
    filename: &str,
) -> Result<String> {
    let project = WheelName::parse(filename)
        .map_err(Error::msg)?
        .normalized_name();
    let mut dist_infos: Vec<String> = names
        .map(|n| n.as_ref().split('/').next().unwrap_or("").to_string())
        .filter(|top| top.ends_with(".dist-info"))
        .collect();
    dist_infos.sort();
    dist_infos.dedup();
    let wanted: Vec<&String> = dist_infos
        .iter()
        .filter(|d| normalize_name(d.split('-').next().unwrap_or("")) == project)
        .collect();
    match (wanted.as_slice(), dist_infos.len()) {
        ([one], 1) => Ok((*one).clone()),
        _ => Err(Error::msg(format!(
            "{filename} is not a valid wheel: it must hold exactly one .dist-info folder for \
             project {project:?}, and it holds {:?}. The file is damaged or mislabeled",
            dist_infos
        ))),
    }
}

pub(crate) fn missing_wheel_file(filename: &str, dist_info: &str) -> Error {
    Error::msg(format!(
        "{filename} is not a valid wheel: {dist_info}/WHEEL is missing"
    ))
}

/// Refuse a wheel whose WHEEL file (`text`) names a version other than 1.x.
pub(crate) fn check_wheel_version(text: &str, filename: &str) -> Result<()> {
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("Wheel-Version:"))
        .map(str::trim)
        .unwrap_or("");
    if version.split('.').next() != Some("1") {
        return Err(Error::msg(format!(
            "{filename} has Wheel-Version {version:?}; dpex installs only version 1 wheels. \
             Lock a wheel built by a current tool"
        )));
    }
    Ok(())
}

/// `n` incompressible bytes (xorshift from `seed`), for tests of big entries.
#[cfg(test)]
pub(crate) fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ seed;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    const DIST: &str = "demo-1.0.dist-info";

    /// A wheel of project `demo` holding `entries` (name, bytes, unix mode).
    /// The directory is removed when the returned guard drops.
    fn wheel(
        tag: &str,
        entries: &[(&str, &[u8], u32)],
        wheel_version: &str,
    ) -> (TestDir, PathBuf, PathBuf) {
        let dir = TestDir::new(&format!("unpack-{tag}"));
        let path = dir.join("demo-1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(fs::File::create(&path).unwrap());
        let wheel_file =
            format!("Wheel-Version: {wheel_version}\nRoot-Is-Purelib: true\nTag: py3-none-any\n");
        let mut all: Vec<(String, Vec<u8>, u32)> = entries
            .iter()
            .map(|(n, b, m)| (n.to_string(), b.to_vec(), *m))
            .collect();
        all.push((format!("{DIST}/WHEEL"), wheel_file.into_bytes(), 0o644));
        all.push((format!("{DIST}/RECORD"), Vec::new(), 0o644));
        for (name, bytes, mode) in all {
            if mode & S_IFMT == S_IFLNK {
                let target = String::from_utf8(bytes).unwrap();
                zip.add_symlink(name, target, SimpleFileOptions::default())
                    .unwrap();
                continue;
            }
            // external_attributes, not unix_permissions: it keeps setuid bits.
            let options = SimpleFileOptions::default().external_attributes((0o100000 | mode) << 16);
            zip.start_file(name, options).unwrap();
            zip.write_all(&bytes).unwrap();
        }
        zip.finish().unwrap();
        let dest = dir.join("out");
        fs::create_dir(&dest).unwrap();
        (dir, path, dest)
    }

    fn unpack(path: &Path, dest: &Path) -> Result<()> {
        unpack_wheel(
            path,
            "demo-1.0-py3-none-any.whl",
            dest,
            UnpackLimits::default(),
        )
    }

    #[test]
    fn big_entries_of_a_mapped_wheel_unpack_whole() {
        // Entries bigger than RELEASE_CHUNK (incompressible, so their stored
        // bytes are too): their pages are released as they are inflated, by
        // several threads (the wheel is over PARALLEL_UNPACK_BYTES).
        let (a, b) = (
            noise(RELEASE_CHUNK * 2 + 12345, 1),
            noise(RELEASE_CHUNK + 1, 2),
        );
        let (_dir, path, dest) = wheel(
            "big",
            &[
                ("demo/a.bin", &a, 0o644),
                ("demo/__init__.py", b"x = 1\n", 0o644),
                ("demo/b.bin", &b, 0o644),
            ],
            "1.0",
        );
        unpack(&path, &dest).unwrap();
        assert!(fs::read(dest.join("site/demo/a.bin")).unwrap() == a);
        assert!(fs::read(dest.join("site/demo/b.bin")).unwrap() == b);
        assert_eq!(
            fs::read(dest.join("site/demo/__init__.py")).unwrap(),
            b"x = 1\n"
        );
    }

    #[test]
    fn spreads_data_and_keeps_execute_bits() {
        let (_dir, path, dest) = wheel(
            "spread",
            &[
                ("demo/__init__.py", b"x = 1\n", 0o644),
                ("demo-1.0.data/purelib/demo_pure.py", b"", 0o644),
                ("demo-1.0.data/platlib/demo_plat.py", b"", 0o644),
                ("demo-1.0.data/scripts/demo-tool", b"#!python\n", 0o755),
                ("demo-1.0.data/data/share/demo.txt", b"d", 0o644),
            ],
            "1.0",
        );
        unpack(&path, &dest).unwrap();
        assert!(dest.join("site/demo/__init__.py").is_file());
        assert!(dest.join("site/demo_pure.py").is_file());
        assert!(dest.join("site/demo_plat.py").is_file());
        assert!(dest.join("site/demo-1.0.dist-info/WHEEL").is_file());
        assert!(dest.join("data/share/demo.txt").is_file());
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dest.join("scripts/demo-tool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        let mode = fs::metadata(dest.join("site/demo/__init__.py"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn refuses_setuid_and_setgid_bits() {
        for (tag, mode) in [("setuid", 0o4755), ("setgid", 0o2644)] {
            let (_dir, path, dest) = wheel(tag, &[("demo/tool", b"", mode)], "1.0");
            let e = unpack(&path, &dest).unwrap_err().to_string();
            assert!(
                e.contains("demo/tool") && e.contains("setuid or setgid"),
                "{e}"
            );
        }
        let (_dir, path, dest) = wheel("sticky", &[("demo/tool", b"", 0o1755)], "1.0");
        unpack(&path, &dest).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dest.join("site/demo/tool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o755);
    }

    #[test]
    fn refuses_hostile_entries() {
        for (tag, name, mode) in [
            ("dotdot", "../escape.py", 0o644),
            ("abs", "/tmp/escape.py", 0o644),
            ("link", "demo/link", S_IFLNK | 0o777),
            ("badkey", "demo-1.0.data/elsewhere/x.py", 0o644),
        ] {
            let (_dir, path, dest) = wheel(tag, &[(name, b"../../escape.py", mode)], "1.0");
            let err = unpack(&path, &dest).unwrap_err().to_string();
            assert!(
                err.contains("refusing to unpack") || err.contains("scheme"),
                "{tag}: {err}"
            );
            assert!(!dest.parent().unwrap().join("escape.py").exists());
        }
    }

    #[test]
    fn refuses_unknown_wheel_version_and_missing_dist_info() {
        let (_dir, path, dest) = wheel("v2", &[("demo/a.py", b"", 0o644)], "2.0");
        let err = unpack(&path, &dest).unwrap_err().to_string();
        assert!(err.contains("Wheel-Version"), "{err}");
        let (_dir, path, dest) = wheel(
            "other",
            &[("other-1.0.dist-info/METADATA", b"", 0o644)],
            "1.0",
        );
        let err = unpack(&path, &dest).unwrap_err().to_string();
        assert!(err.contains("exactly one .dist-info"), "{err}");
    }

    #[test]
    fn safe_paths() {
        assert_eq!(
            safe_relative_path("a/b.py").unwrap(),
            PathBuf::from("a/b.py")
        );
        assert_eq!(safe_relative_path("./a").unwrap(), PathBuf::from("a"));
        for bad in [
            "/etc/passwd",
            "../x",
            "a/../../x",
            "C:/x",
            "a\\b",
            "a\0b",
            "a\nb",
            "",
        ] {
            assert!(safe_relative_path(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
