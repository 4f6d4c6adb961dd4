//! The app zip appended to the launcher: found from the file's tail (the zip
//! central directory is at the end), PEX-INFO read from it.

use crate::error::{Error, Result};
use crate::format::pexinfo::PexInfo;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

pub struct AppZip {
    pub path: PathBuf,
    archive: zip::ZipArchive<BufReader<File>>,
}

impl AppZip {
    pub fn open(path: &Path) -> Result<AppZip> {
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        let archive = open_archive(BufReader::new(file), &path.display().to_string())?;
        Ok(AppZip {
            path: path.to_path_buf(),
            archive,
        })
    }

    pub fn read_pex_info(&mut self) -> Result<PexInfo> {
        pex_info_in(&mut self.archive, &self.path.display().to_string())
    }

    /// How many bytes are in front of the zip (the launchers): where its
    /// first entry starts. The zip's offsets count from the file's start.
    pub fn front_len(&mut self) -> Result<u64> {
        let mut first = u64::MAX;
        for i in 0..self.archive.len() {
            let entry = self.archive.by_index_raw(i).map_err(|e| {
                Error::msg(format!(
                    "{}: zip entry {i} is unreadable ({e}); the file is damaged",
                    self.path.display()
                ))
            })?;
            first = first.min(entry.header_start());
        }
        if first == u64::MAX {
            return Err(Error::msg(format!(
                "{} has an empty app zip: it is not a dpex app",
                self.path.display()
            )));
        }
        Ok(first)
    }
}

/// [`AppZip::open`] then [`AppZip::read_pex_info`] on any seekable reader,
/// named `what` in messages (tests, fuzzing).
pub fn read_pex_info_from<R: Read + Seek>(reader: R, what: &str) -> Result<PexInfo> {
    let mut archive = open_archive(reader, what)?;
    pex_info_in(&mut archive, what)
}

fn open_archive<R: Read + Seek>(reader: R, what: &str) -> Result<zip::ZipArchive<R>> {
    zip::ZipArchive::new(reader).map_err(|e| {
        Error::msg(format!(
            "{what} has no readable app zip at its end ({e}). The file is truncated or is not a \
             dpex app: copy it again, or rebuild it with `dpex build`"
        ))
    })
}

fn pex_info_in<R: Read + Seek>(archive: &mut zip::ZipArchive<R>, path: &str) -> Result<PexInfo> {
    let mut entry = archive.by_name("PEX-INFO").map_err(|_| {
        Error::msg(format!(
            "{path} has no PEX-INFO in its zip: it is not a dpex app. Rebuild it with `dpex build`"
        ))
    })?;
    let mut bytes = Vec::with_capacity(entry.size().min(1 << 20) as usize);
    entry
        .by_ref()
        .take(64 << 20)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            Error::msg(format!(
                "{path}: cannot read PEX-INFO ({e}); the file is damaged"
            ))
        })?;
    PexInfo::from_slice(&bytes).map_err(|e| {
        Error::msg(format!(
            "{path}: PEX-INFO is not valid ({e}). Rebuild the app with `dpex build`"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};
    use zip::write::SimpleFileOptions;

    /// `prefix` (a stand-in for the launcher stub) then a zip of `entries`.
    fn app(prefix: &[u8], entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Cursor::new(prefix.to_vec());
        out.set_position(prefix.len() as u64);
        let mut zip = zip::ZipWriter::new(out);
        for (name, bytes) in entries {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn reads_pex_info_from_the_zip_at_the_end() {
        let bytes = app(
            b"\x7fELF stub",
            &[("PEX-INFO", br#"{"entry_point":"a:b"}"#)],
        );
        let info = read_pex_info_from(Cursor::new(&bytes), "app.pex").unwrap();
        assert_eq!(info.entry_point.as_deref(), Some("a:b"));
    }

    #[test]
    fn damaged_apps_are_errors() {
        let e = read_pex_info_from(Cursor::new(b"not a zip"), "app.pex").unwrap_err();
        assert!(e.to_string().contains("no readable app zip"), "{e}");
        let bytes = app(b"", &[("other", b"")]);
        let e = read_pex_info_from(Cursor::new(&bytes), "app.pex").unwrap_err();
        assert!(e.to_string().contains("no PEX-INFO"), "{e}");
        let bytes = app(b"", &[("PEX-INFO", b"{")]);
        let e = read_pex_info_from(Cursor::new(&bytes), "app.pex").unwrap_err();
        assert!(e.to_string().contains("PEX-INFO is not valid"), "{e}");
    }
}
