//! The packer's pex lock reader (`pex3 lock create`'s lock.json): JSON, the
//! requirement graph walk and the markers it records.
#![no_main]

use dpex_launcher::standards::marker;
use dpex_packer::lock;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(input) = lock::parse_pex_lock(text, "lock.json", &[]) {
        // Every recorded marker is one the launcher can parse.
        for package in &input.packages {
            if let Some(m) = &package.marker {
                assert!(marker::parse(m).is_ok(), "unparsable marker {m:?}");
            }
        }
    }
});
