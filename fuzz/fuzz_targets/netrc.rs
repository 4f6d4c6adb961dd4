//! `~/.netrc` (machine / login / password entries, quoting, macdef bodies).
#![no_main]

use dpex_launcher::net::netrc::Netrc;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let netrc = Netrc::parse(text);
    let _ = netrc.lookup("index.example.com");
    let _ = netrc.lookup("");
    // Host names compare without ASCII case and without a trailing dot.
    for host in text.split_whitespace().take(8) {
        let found = netrc.lookup(host);
        assert_eq!(netrc.lookup(&host.to_ascii_uppercase()), found, "{host:?}");
        assert_eq!(netrc.lookup(&format!("{host}.")), found, "{host:?}");
    }
});
