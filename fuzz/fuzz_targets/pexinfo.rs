//! PEX-INFO, the JSON document the launcher reads from every app zip.
#![no_main]

use dpex_launcher::format::pexinfo::PexInfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(info) = PexInfo::from_slice(data) else {
        return;
    };
    // What dpex writes, it reads back unchanged.
    let json = info.to_json();
    let again = PexInfo::from_slice(json.as_bytes()).expect("re-reading written PEX-INFO");
    assert_eq!(info, again);
});
