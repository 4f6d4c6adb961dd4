//! Reading a zip's end records and central directory ourselves, for two
//! checks: the structural check before anything is unpacked from a zip
//! (every central-directory entry unique and agreeing with its local header;
//! the zip reader keys entries by name, so it would silently keep one of two
//! entries with the same name, and it trusts the central directory's names),
//! and the cross-check of a wheel unpacked while it streamed in
//! (`install/stream.rs`) against its central directory.

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
pub const CENTRAL_SIG: u32 = 0x0201_4b50;
pub const LOCAL_SIG: u32 = 0x0403_4b50;
/// Entries one archive may hold: far above any real wheel.
const MAX_ENTRIES: u64 = 1 << 20;

fn u16_at(b: &[u8], at: usize) -> u64 {
    u64::from(u16::from_le_bytes([b[at], b[at + 1]]))
}
fn u32_at(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes(b[at..at + 4].try_into().unwrap()))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn read_at<R: Read + Seek>(file: &mut R, offset: u64, len: usize) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; len];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut buf))
        .map_err(|_| format!("it is cut short (no {len} bytes at offset {offset})"))?;
    Ok(buf)
}

/// Where a zip's central directory is, from its end records.
#[derive(Debug, PartialEq, Eq)]
pub struct End {
    pub entries: u64,
    /// Offset of the central directory in the file (bytes before the zip,
    /// such as a launcher in front of an app zip, included).
    pub cd_start: u64,
    pub cd_size: u64,
    /// Bytes before the zip: added to every offset the zip records.
    pub base: u64,
}

/// One central-directory entry, zip64 fields resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentralEntry {
    pub name: Vec<u8>,
    pub made_by: u16,
    pub flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    pub external_attributes: u32,
    /// Offset of the local header, as recorded (add [`End::base`]).
    pub local_offset: u64,
}

impl CentralEntry {
    /// The made-by system (3: unix, 0: MS-DOS).
    pub fn system(&self) -> u16 {
        self.made_by >> 8
    }

    /// The unix mode the zip reader gives the entry (`ZipFile::unix_mode`:
    /// setuid, setgid and sticky bits cleared; MS-DOS attributes mapped),
    /// so both unpackers decide on the same mode.
    pub fn unix_mode(&self) -> Option<u32> {
        let attributes = self.external_attributes;
        if attributes == 0 {
            return None;
        }
        let mode = attributes >> 16;
        match self.system() {
            3 => Some(mode & !0o7000),
            0 => {
                let dos = attributes & 0xFF;
                let mut mode = if dos & 0x10 != 0 { 0o040775 } else { 0o100664 };
                if dos & 0x01 != 0 {
                    mode &= !0o222;
                }
                Some(mode)
            }
            _ => (mode != 0).then_some(mode & !0o7000),
        }
    }

    /// The raw mode bits of an entry a unix tool wrote (setuid and setgid
    /// included), as the unpackers check them.
    pub fn raw_unix_mode(&self) -> Option<u32> {
        (self.system() == 3).then_some(self.external_attributes >> 16)
    }
}

/// Find the end records of the zip `file` of `len` bytes.
pub fn find_end<R: Read + Seek>(file: &mut R, len: u64) -> Result<End, String> {
    let tail_len = len.min(22 + 65535) as usize;
    let tail = read_at(file, len - tail_len as u64, tail_len)?;
    let eocd = (0..tail_len.saturating_sub(21))
        .rev()
        .find(|&i| u32_at(&tail, i) == u64::from(EOCD_SIG))
        .ok_or("it has no end-of-central-directory record")?;
    let eocd_pos = len - tail_len as u64 + eocd as u64;
    // The zip reader skips an end record whose comment runs past the end of
    // the file and looks for an earlier one; refusing it keeps both unpackers
    // reading the same records (real wheels have no comment).
    if eocd as u64 + 22 + u16_at(&tail, eocd + 20) > tail_len as u64 {
        return Err("its end-of-central-directory comment runs past the end of the file".into());
    }
    // One disk only (the zip reader refuses the rest, so both unpackers must).
    if u16_at(&tail, eocd + 4) != 0
        || u16_at(&tail, eocd + 6) != 0
        || u16_at(&tail, eocd + 8) != u16_at(&tail, eocd + 10)
    {
        return Err("it claims to span several disks".into());
    }
    let mut entries = u16_at(&tail, eocd + 10);
    let mut cd_size = u32_at(&tail, eocd + 12);
    let mut cd_offset = u32_at(&tail, eocd + 16);
    let mut cd_end = eocd_pos;
    if entries == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
        if eocd_pos < 20 {
            return Err("its zip64 locator is missing".into());
        }
        let locator = read_at(file, eocd_pos - 20, 20)?;
        if u32_at(&locator, 0) != u64::from(ZIP64_LOCATOR_SIG) {
            return Err("its zip64 locator is missing".into());
        }
        let record_pos = u64_at(&locator, 8);
        let record = read_at(file, record_pos, 56)?;
        if u32_at(&record, 0) != u64::from(ZIP64_EOCD_SIG) {
            return Err("its zip64 end record is damaged".into());
        }
        entries = u64_at(&record, 32);
        cd_size = u64_at(&record, 40);
        cd_offset = u64_at(&record, 48);
        cd_end = record_pos;
    }
    if entries > MAX_ENTRIES {
        return Err(format!("it claims {entries} entries"));
    }
    let cd_start = cd_end
        .checked_sub(cd_size)
        .ok_or("its central directory does not fit in the file")?;
    let base = cd_start
        .checked_sub(cd_offset)
        .ok_or("its central directory does not fit in the file")?;
    Ok(End {
        entries,
        cd_start,
        cd_size,
        base,
    })
}

/// Parse the `entries` entries of the central directory `cd`.
pub fn parse_central(cd: &[u8], entries: u64) -> Result<Vec<CentralEntry>, String> {
    let mut out = Vec::with_capacity(entries.min(MAX_ENTRIES) as usize);
    let mut at = 0usize;
    for index in 0..entries {
        let damaged = || format!("its central directory is damaged at entry {index}");
        if at + 46 > cd.len() || u32_at(cd, at) != u64::from(CENTRAL_SIG) {
            return Err(damaged());
        }
        let name_len = u16_at(cd, at + 28) as usize;
        let extra_len = u16_at(cd, at + 30) as usize;
        let comment_len = u16_at(cd, at + 32) as usize;
        let name_end = at + 46 + name_len;
        let extra_end = name_end + extra_len;
        if extra_end + comment_len > cd.len() {
            return Err(damaged());
        }
        let mut entry = CentralEntry {
            name: cd[at + 46..name_end].to_vec(),
            made_by: u16_at(cd, at + 4) as u16,
            flags: u16_at(cd, at + 8) as u16,
            method: u16_at(cd, at + 10) as u16,
            crc32: u32_at(cd, at + 16) as u32,
            compressed_size: u32_at(cd, at + 20),
            size: u32_at(cd, at + 24),
            external_attributes: u32_at(cd, at + 38) as u32,
            local_offset: u32_at(cd, at + 42),
        };
        // The zip64 extra field holds, in this order, only the fields whose
        // 32-bit value is all ones; without it the value stands as it is (as
        // the zip reader takes it).
        if let Some(zip64) = zip64_extra(&cd[name_end..extra_end]) {
            let mut fields = zip64.chunks_exact(8).map(|c| u64_at(c, 0));
            for field in [
                &mut entry.size,
                &mut entry.compressed_size,
                &mut entry.local_offset,
            ] {
                if *field == 0xFFFF_FFFF {
                    if let Some(wide) = fields.next() {
                        *field = wide;
                    }
                }
            }
        }
        out.push(entry);
        at = extra_end + comment_len;
    }
    Ok(out)
}

/// The data of the zip64 extended-information field (id 1) in `extra`.
pub fn zip64_extra(mut extra: &[u8]) -> Option<&[u8]> {
    while extra.len() >= 4 {
        let (id, len) = (u16_at(extra, 0), u16_at(extra, 2) as usize);
        let data = extra.get(4..4 + len)?;
        if id == 1 {
            return Some(data);
        }
        extra = &extra[4 + len..];
    }
    None
}

/// Check `path`; the error says what is wrong, for "refusing to unpack X: ...".
pub fn check_structure(path: &Path) -> Result<(), String> {
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    check_structure_of(&mut file, len)
}

/// [`check_structure`] on any seekable reader of `len` bytes (tests, fuzzing).
pub fn check_structure_of<R: Read + Seek>(file: &mut R, len: u64) -> Result<(), String> {
    let end = find_end(file, len)?;
    let cd = read_at(
        file,
        end.cd_start,
        usize::try_from(end.cd_size).map_err(|_| "huge central directory")?,
    )?;
    let mut seen = HashSet::new();
    for entry in parse_central(&cd, end.entries)? {
        let name = &entry.name;
        if !seen.insert(name.clone()) {
            return Err(format!(
                "the entry {:?} appears twice",
                String::from_utf8_lossy(name)
            ));
        }
        let at = end
            .base
            .checked_add(entry.local_offset)
            .ok_or("its central directory is damaged")?;
        let header = read_at(file, at, 30)?;
        if u32_at(&header, 0) != u64::from(LOCAL_SIG) {
            return Err(format!(
                "the local header of {:?} is missing",
                String::from_utf8_lossy(name)
            ));
        }
        let local_name = read_at(file, at + 30, u16_at(&header, 26) as usize)?;
        if &local_name != name {
            return Err(format!(
                "the local header names {:?} where the central directory says {:?}",
                String::from_utf8_lossy(&local_name),
                String::from_utf8_lossy(name)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};
    use zip::write::SimpleFileOptions;

    fn check(bytes: &[u8]) -> Result<(), String> {
        check_structure_of(&mut Cursor::new(bytes), bytes.len() as u64)
    }

    fn zip_of(prefix: &[u8], names: &[&str]) -> Vec<u8> {
        let mut out = Cursor::new(prefix.to_vec());
        out.set_position(prefix.len() as u64);
        let mut zip = zip::ZipWriter::new(out);
        for name in names {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(name.as_bytes()).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn accepts_sound_zips_with_or_without_a_prefix() {
        check(&zip_of(b"", &["a.py", "b/c.py"])).unwrap();
        check(&zip_of(b"#!/bin/sh\nexit 1\n", &["a.py"])).unwrap();
        check(&zip_of(b"", &[])).unwrap();
    }

    /// A one-file zip whose end record has `value` at byte `at`.
    fn with_end_byte(at: usize, value: u8) -> Vec<u8> {
        let mut bytes = zip_of(b"", &["a.py"]);
        let eocd = bytes.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
        bytes[eocd + at] = value;
        bytes
    }

    /// The wheel of a stream_wheel fuzz input kept in fuzz/regressions
    /// (its first byte is the target's chunk size).
    fn stream_wheel_regression(name: &str) -> Vec<u8> {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fuzz/regressions/stream_wheel/"
        );
        std::fs::read(format!("{dir}{name}")).unwrap()[1..].to_vec()
    }

    #[test]
    fn rejects_end_records_the_zip_reader_reads_otherwise() {
        // Found by the stream_wheel fuzz target (inputs kept in fuzz/regressions):
        // the zip reader refuses several disks, and skips a record whose comment
        // runs past the end for an earlier one, so the two unpackers disagreed.
        let cases = [
            (5, 0x59, "multi-disk.bin", "several disks"),
            (20, 1, "comment-past-end.bin", "comment runs past"),
        ];
        for (at, value, found, why) in cases {
            let e = check(&with_end_byte(at, value)).unwrap_err();
            assert!(e.contains(why), "{e}");
            let e = check(&stream_wheel_regression(found)).unwrap_err();
            assert!(e.contains(why), "{found}: {e}");
        }
    }

    #[test]
    fn rejects_damaged_zips() {
        assert!(check(b"")
            .unwrap_err()
            .contains("no end-of-central-directory"));
        let mut bytes = zip_of(b"", &["aa.py", "ab.py"]);
        // Rename the second entry in the central directory only: "ab" -> "aa".
        let cd = bytes.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap();
        bytes[cd + 46 + 1] = b'a';
        let e = check(&bytes).unwrap_err();
        assert!(e.contains("appears twice"), "{e}");
        let short = zip_of(b"", &["a.py"]);
        assert!(check(&short[..short.len() - 1]).is_err());
    }
}
