//! PEP 508 markers (from locks, PEX-INFO and package metadata): parse, then
//! evaluate against a fixed interpreter.
#![no_main]

use dpex_launcher::standards::marker;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fn env() -> BTreeMap<String, String> {
    [
        ("implementation_name", "cpython"),
        ("implementation_version", "3.11.4"),
        ("os_name", "posix"),
        ("platform_machine", "x86_64"),
        ("platform_python_implementation", "CPython"),
        ("platform_release", "6.5.0-1-generic"),
        ("platform_system", "Linux"),
        ("platform_version", "#1 SMP PREEMPT_DYNAMIC Debian 6.5.3-1"),
        ("python_full_version", "3.11.4"),
        ("python_version", "3.11"),
        ("sys_platform", "linux"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(tree) = marker::parse(text) else {
        return;
    };
    let env = env();
    let extras = ["Security".to_string(), "test_extra".to_string()];
    // Every marker variable is in `env`: a parsed marker always evaluates.
    let value = tree.evaluate(&env, &extras).expect("evaluating a parsed marker");
    // Its printed form parses back to a marker with the same value.
    let printed = tree.to_string();
    let again = marker::parse(&printed).expect("re-parsing a printed marker");
    assert_eq!(again.evaluate(&env, &extras), Ok(value), "{printed}");
});
