//! Wheel file names (from locks and index pages) and compressed tag sets.
#![no_main]

use dpex_launcher::standards::tags::{self, Tag, TagRanks, MAX_WHEEL_TAGS};
use dpex_launcher::standards::wheel::WheelName;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(wheel) = WheelName::parse(text) {
        assert!(!wheel.tags.is_empty() && wheel.tags.len() <= MAX_WHEEL_TAGS);
        let _ = wheel.normalized_name();
        let ranks = TagRanks::new(vec![
            Tag::new("cp311", "cp311", "manylinux_2_17_x86_64"),
            Tag::new("py3", "none", "any"),
        ]);
        let _ = ranks.rank(&wheel);
        let names = [text, "demo-1.0-py3-none-any.whl"];
        let _ = tags::select_wheel(&names, |n| n, &ranks);
    }
    if let Ok(set) = tags::parse_tag_set(text, MAX_WHEEL_TAGS) {
        assert!(!set.is_empty() && set.len() <= MAX_WHEEL_TAGS);
        // A tag prints as interpreter-abi-platform, which parses back to itself.
        for tag in &set {
            let again: Tag = tag.to_string().parse().expect("re-parsing a printed tag");
            assert_eq!(&again, tag);
        }
    }
});
