//! The packer's hashed requirements.txt reader (decoding and pip's line rules).
#![no_main]

use dpex_packer::lock;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = lock::decode_requirements(data) else {
        return;
    };
    let env = |name: &str| (name == "TOKEN").then(|| "s3cret".to_string());
    let _ = lock::parse_requirements_text_with_env(&text, &env);
});
