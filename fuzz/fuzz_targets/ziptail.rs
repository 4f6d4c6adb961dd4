//! The app zip at the end of an app file (PEX-INFO read from it), and the
//! structural pre-check every wheel passes before it is unpacked.
#![no_main]

use dpex_launcher::format::{app_zip as ziptail, zipcheck};
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    let _ = ziptail::read_pex_info_from(Cursor::new(data), "app.pex");
    let _ = zipcheck::check_structure_of(&mut Cursor::new(data), data.len() as u64);
});
