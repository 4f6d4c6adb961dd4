//! The packer's pylock.toml reader (PEP 751).
#![no_main]

use dpex_packer::lock;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = lock::parse_pylock(text, "pylock.toml");
});
