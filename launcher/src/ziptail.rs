//! The app zip appended to the launcher: found from the file's tail (the zip
//! central directory is at the end), PEX-INFO read from it.

use crate::error::{Error, Result};
use crate::pexinfo::PexInfo;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

pub struct AppZip {
    pub path: PathBuf,
    archive: zip::ZipArchive<BufReader<File>>,
}

impl AppZip {
    pub fn open(path: &Path) -> Result<AppZip> {
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        let archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
            Error::msg(format!(
                "{} has no readable app zip at its end ({e}). The file is truncated or is not a \
                 dpex app: copy it again, or rebuild it with `dpex build`",
                path.display()
            ))
        })?;
        Ok(AppZip {
            path: path.to_path_buf(),
            archive,
        })
    }

    pub fn read_pex_info(&mut self) -> Result<PexInfo> {
        let path = self.path.display().to_string();
        let mut entry = self.archive.by_name("PEX-INFO").map_err(|_| {
            Error::msg(format!("{path} has no PEX-INFO in its zip: it is not a dpex app. Rebuild it with `dpex build`"))
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

    /// Extract every entry into `dest` (a staging folder).
    pub fn extract(&mut self, dest: &Path) -> Result<()> {
        let what = self.path.display().to_string();
        crate::unpack::unpack_zip(&mut self.archive, dest, &what, |p| {
            Ok(Some(p.to_path_buf()))
        })
    }
}
