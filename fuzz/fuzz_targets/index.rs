//! Simple-repository project pages (PEP 691 JSON, PEP 503 HTML, with HTML
//! character references), parsed by their Content-Type.
//! Input: `content-type\nbody`.
#![no_main]

use dpex_launcher::net::index::parse_project_page;
use libfuzzer_sys::fuzz_target;

const PAGE: &str = "https://u:s3cret@index.example.com/simple/demo/";

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n');
    let (content_type, body) = match split {
        Some(i) => (String::from_utf8_lossy(&data[..i]), &data[i + 1..]),
        None => ("".into(), data),
    };
    let Ok(files) = parse_project_page(body, &content_type, PAGE) else {
        return;
    };
    for f in &files {
        // The fragment (`#sha256=...`) is cut off every file URL.
        assert!(!f.url.contains('#'), "{f:?}");
        // Hashes are lowercase hex, as locks compare them.
        if let Some(h) = &f.sha256 {
            assert!(!h.bytes().any(|b| b.is_ascii_uppercase()), "{f:?}");
        }
        if let Some(rp) = &f.requires_python {
            assert!(!rp.trim().is_empty(), "{f:?}");
        }
    }
});
