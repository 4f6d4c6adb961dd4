//! pexrc files (`KEY=VALUE` lines in /etc/pexrc, ~/.pexrc, a .pexrc beside
//! the app).
#![no_main]

use dpex_launcher::run::pexrc;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The launcher reads rc files with read_to_string: only UTF-8 gets here.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for (key, value) in pexrc::parse(text) {
        // Every pair is one that `std::env::set_var` (pexrc::apply) accepts
        // without panicking: a non-empty key without `=` or NUL, a value
        // without NUL. And both come trimmed, on one line.
        assert!(
            !key.is_empty() && !key.contains(['=', '\0', '\n']),
            "{key:?}"
        );
        assert!(
            !value.is_empty() && !value.contains(['\0', '\n']),
            "{value:?}"
        );
        assert_eq!(key.trim(), key);
        assert_eq!(value.trim(), value);
    }
});
