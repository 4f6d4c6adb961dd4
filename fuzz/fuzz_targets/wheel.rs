//! Unpacking a wheel (`install::unpack::unpack_wheel_bytes`): the zip
//! pre-check, the .dist-info and WHEEL metadata check, entry names, the
//! `.data` scheme spread, inflating with size and CRC checks. Each input is
//! unpacked into a fresh temporary folder, which is removed afterwards.
#![no_main]

use dpex_launcher::install::unpack::{unpack_wheel_bytes, UnpackLimits, SITE_DIR};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

static RUN: AtomicU64 = AtomicU64::new(0);

/// A folder of its own for this input, under $TMPDIR.
fn fresh_dir() -> PathBuf {
    let n = RUN.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("dpex-fuzz-wheel-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).expect("creating a temporary folder");
    dir
}

fuzz_target!(|data: &[u8]| {
    let dir = fresh_dir();
    let limits = UnpackLimits {
        // Small: an input must not fill the disk.
        max_size: 8 << 20,
        threads: 1,
    };
    let result = unpack_wheel_bytes(data, "demo-1.0-py3-none-any.whl", &dir, limits);
    if result.is_ok() {
        // An accepted wheel has its .dist-info (with WHEEL) under site/.
        assert!(dir.join(SITE_DIR).is_dir());
    }
    std::fs::remove_dir_all(&dir).expect("removing the temporary folder");
});
