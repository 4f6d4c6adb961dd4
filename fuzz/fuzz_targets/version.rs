//! PEP 440 versions and specifier sets (requires-python, pins, markers).
//! Input: `specifiers\nversion`.
#![no_main]

use dpex_launcher::standards::version::{Version, VersionSpecifiers};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (spec_text, version_text) = text.split_once('\n').unwrap_or((text, text));
    let version = Version::parse(version_text).ok();
    if let Some(v) = &version {
        // The normalized form parses back to an equal version.
        let again = Version::parse(&v.to_string()).expect("re-parsing a printed version");
        assert_eq!(&again, v);
        let _ = Version::parse_python_full_version(version_text);
        let _ = (v.public(), v.base_version(), v.is_prerelease());
    }
    if let Ok(specs) = VersionSpecifiers::parse(spec_text) {
        let printed = specs.to_string();
        let again = VersionSpecifiers::parse(&printed).expect("re-parsing printed specifiers");
        for probe in ["3.11.4", "1.0", "0!2.0.post1.dev3+local.7"]
            .iter()
            .map(|p| Version::parse(p).unwrap())
            .chain(version)
        {
            assert_eq!(specs.contains(&probe), again.contains(&probe), "{printed}");
        }
    }
});
