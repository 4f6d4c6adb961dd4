//! Unpacking a wheel while it streams in (`install::stream::StreamUnpack`),
//! checked against the classic unpacker: the first input byte picks the
//! chunk size (its low 7 bits) and whether every deflated entry is offloaded
//! to a helper thread (its high bit), the rest is the wheel. Whatever the stream reader accepts,
//! the classic unpacker must accept too, with the same files, bytes and
//! modes (streaming may defer anything, never decide differently).
#![no_main]

use dpex_launcher::install::stream::StreamUnpack;
use dpex_launcher::install::unpack::{unpack_wheel_bytes, UnpackLimits};
use libfuzzer_sys::fuzz_target;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static RUN: AtomicU64 = AtomicU64::new(0);
const FILENAME: &str = "demo-1.0-py3-none-any.whl";

/// A folder of its own for this input, under $TMPDIR.
fn fresh_dir() -> PathBuf {
    let n = RUN.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("dpex-fuzz-stream-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).expect("creating a temporary folder");
    dir
}

/// Every path under `dir` (folders with a trailing `/`), file bytes and modes.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>, u32)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = path.symlink_metadata().unwrap();
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            if meta.is_dir() {
                out.push((format!("{rel}/"), Vec::new(), 0));
                stack.push(path);
            } else {
                let mode = meta.permissions().mode() & 0o7777;
                out.push((rel, std::fs::read(&path).unwrap(), mode));
            }
        }
    }
    out.sort();
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, wheel)) = data.split_first() else {
        return;
    };
    let limits = UnpackLimits {
        // Small: an input must not fill the disk.
        max_size: 8 << 20,
        threads: 1,
    };
    let streamed = fresh_dir();
    let mut stream = StreamUnpack::new(&streamed, FILENAME, limits);
    if chunk & 0x80 != 0 {
        stream = stream.offloading_from(1);
    }
    for part in wheel.chunks(usize::from(chunk & 0x7f) + 1) {
        stream.write(part);
    }
    match stream.finish().expect("emptying the temporary folder") {
        Ok(()) => {
            let classic = fresh_dir();
            let result = unpack_wheel_bytes(wheel, FILENAME, &classic, limits);
            assert!(result.is_ok(), "streamed, but the classic unpacker refuses: {result:?}");
            assert!(tree(&streamed) == tree(&classic), "the trees differ");
            std::fs::remove_dir_all(&classic).expect("removing the temporary folder");
        }
        Err(_) => {
            // Deferred: nothing may be left behind.
            assert!(std::fs::read_dir(&streamed).unwrap().next().is_none());
        }
    }
    std::fs::remove_dir_all(&streamed).expect("removing the temporary folder");
});
