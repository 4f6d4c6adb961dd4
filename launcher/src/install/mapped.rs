//! A read-only memory map of a file we own (a downloaded wheel in staging).
//! Unpacking reads the zip's central directory, every local header and every
//! entry at random offsets; through a map those reads are plain memory reads,
//! with no read/seek syscalls and no buffer thrown away at each seek.

use std::fs::File;
use std::os::unix::io::AsRawFd;

pub struct Mapped {
    ptr: *mut libc::c_void,
    len: usize,
}

// The map is read-only and never changes after creation.
unsafe impl Send for Mapped {}
unsafe impl Sync for Mapped {}

impl Mapped {
    /// Map all of `file`. The caller must own the file: nobody may truncate
    /// or rewrite it while the map lives (a verified wheel in staging).
    pub fn of(file: &File) -> std::io::Result<Mapped> {
        let len = file.metadata()?.len();
        let len = usize::try_from(len).map_err(|_| std::io::ErrorKind::FileTooLarge)?;
        if len == 0 {
            return Ok(Mapped {
                ptr: std::ptr::null_mut(),
                len: 0,
            });
        }
        // SAFETY: a fresh private read-only mapping of an open file; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Mapped { ptr, len })
    }

    pub fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: ptr maps len readable bytes until drop.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: unmapping exactly what `of` mapped.
            unsafe { libc::munmap(self.ptr, self.len) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn maps_a_file_and_an_empty_one() {
        let dir = std::env::temp_dir().join(format!("dpex-mapped-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(b"hello")
            .unwrap();
        let map = Mapped::of(&File::open(&path).unwrap()).unwrap();
        assert_eq!(map.bytes(), b"hello");
        std::fs::File::create(&path).unwrap();
        let map = Mapped::of(&File::open(&path).unwrap()).unwrap();
        assert_eq!(map.bytes(), b"");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
