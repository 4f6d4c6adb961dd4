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

impl Mapped {
    /// Drop the pages wholly inside `part` (a slice of [`Mapped::bytes`])
    /// from this process: the kernel keeps them in the page cache and maps
    /// them again if they are read again, so this only bounds the resident
    /// memory of unpacking a wheel bigger than the download memory budget
    /// (torch: 500+ MB) to what is being inflated now.
    pub fn release(&self, part: &[u8]) {
        let base = self.ptr as usize;
        let (start, end) = (part.as_ptr() as usize, part.as_ptr() as usize + part.len());
        if self.len == 0 || start < base || end > base + self.len {
            return;
        }
        let page = page_size();
        let (first, last) = (start.div_ceil(page) * page, end / page * page);
        if first < last {
            // SAFETY: a page-aligned range inside our read-only private file
            // mapping, never written: dropping it loses nothing (a later read
            // faults the same bytes back in from the file).
            unsafe {
                libc::madvise(
                    first as *mut libc::c_void,
                    last - first,
                    libc::MADV_DONTNEED,
                )
            };
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => 4096,
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
        map.release(map.bytes());
        assert_eq!(map.bytes(), b"hello");
        std::fs::File::create(&path).unwrap();
        let map = Mapped::of(&File::open(&path).unwrap()).unwrap();
        assert_eq!(map.bytes(), b"");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn released_pages_read_back_the_same() {
        let dir = std::env::temp_dir().join(format!("dpex-mapped-r-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let content: Vec<u8> = (0..5 * 4096 + 123).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let map = Mapped::of(&File::open(&path).unwrap()).unwrap();
        assert_eq!(map.bytes(), &content[..]);
        map.release(&map.bytes()[100..4 * 4096 + 7]);
        map.release(map.bytes());
        map.release(b"not in the map");
        assert_eq!(map.bytes(), &content[..]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
