//! URLs: `Url::parse` and its parts, `join`, `redact_url`, `redact_proxy`,
//! `strip_userinfo`, `basename`, `local_path`. Input: `base\nhref` (or one
//! text used as both).
#![no_main]

use dpex_launcher::net::url::{
    basename, credentials, join, local_path, redact_proxy, redact_url, split_fragment,
    strip_userinfo, Url,
};
use libfuzzer_sys::fuzz_target;

/// Every accessor of a parsed URL, and what redaction and stripping promise.
fn check_one(text: &str) {
    let _ = redact_proxy(text);
    let _ = split_fragment(text);
    let _ = local_path(text);
    if let Some(name) = basename(text) {
        assert!(!name.is_empty() && name != "." && name != "..", "{text:?}");
        assert!(!name.contains(['/', '\\', '\0']), "{text:?} -> {name:?}");
    }
    let Some(url) = Url::parse(text) else {
        // Not a URL: left as it is.
        assert_eq!(redact_url(text), text);
        assert_eq!(strip_userinfo(text), (text.to_string(), false));
        return;
    };
    assert!(!url.scheme().bytes().any(|b| b.is_ascii_uppercase()));
    let _ = (
        url.path(),
        url.path_and_query(),
        url.fragment(),
        url.request_url(),
    );
    if let Ok(origin) = url.origin() {
        assert!(origin.scheme == "http" || origin.scheme == "https");
        assert!(!origin.host.is_empty());
        assert!(!origin.host.bytes().any(|b| b.is_ascii_uppercase()));
    }
    let redacted = redact_url(text);
    let (stripped, had) = strip_userinfo(text);
    match url.userinfo() {
        None => {
            assert_eq!(redacted, text);
            assert_eq!((stripped.as_str(), had), (text, false));
        }
        Some(userinfo) => {
            let (user, _password) = credentials(userinfo);
            let _ = user;
            // The password (or a bare token) is replaced, nothing else changes.
            let start = userinfo.as_ptr() as usize - text.as_ptr() as usize;
            let secret_start = match userinfo.find(':') {
                Some(colon) => start + colon + 1,
                None => start,
            };
            let end = start + userinfo.len();
            let expected = format!("{}****{}", &text[..secret_start], &text[end..]);
            assert_eq!(redacted, expected, "{text:?}");
            // The redacted and the stripped URL still go to the same place.
            let again = Url::parse(&redacted).expect("re-parsing a redacted URL");
            assert_eq!(again.hostport(), url.hostport(), "{text:?} -> {redacted:?}");
            assert_eq!(again.path_and_query(), url.path_and_query());
            assert!(had);
            let again = Url::parse(&stripped).expect("re-parsing a stripped URL");
            assert_eq!(again.userinfo(), None, "{text:?} -> {stripped:?}");
            assert_eq!(again.hostport(), url.hostport(), "{text:?} -> {stripped:?}");
            assert_eq!(again.path_and_query(), url.path_and_query());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (base, href) = text.split_once('\n').unwrap_or((text, text));
    check_one(base);
    check_one(href);
    let joined = join(base, href);
    check_one(&joined);
    if Url::parse(href.trim()).is_some() {
        // An absolute href is returned as it is.
        assert_eq!(joined, href.trim());
    } else if let Some(b) = Url::parse(base) {
        // A relative href keeps the base's scheme, and unless it names a
        // host of its own (`//host/x`), the base's host.
        let j = Url::parse(&joined).expect("a joined URL is a URL");
        assert_eq!(j.scheme(), b.scheme(), "{base:?} + {href:?} = {joined:?}");
        if !href.trim().starts_with("//") {
            assert_eq!(
                j.has_authority(),
                b.has_authority(),
                "{base:?} + {href:?} = {joined:?}"
            );
            assert_eq!(
                j.hostport(),
                b.hostport(),
                "{base:?} + {href:?} = {joined:?}"
            );
        }
    }
});
