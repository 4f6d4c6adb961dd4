//! HTTP Basic credentials, for origins (`Authorization`) and proxies
//! (`Proxy-Authorization`). Which request may carry them is decided in
//! [`crate::http`]; where they come from is the URL or [`crate::netrc`].

/// `Basic base64(user:password)`.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// The `Authorization` value for a URL's percent-encoded userinfo (a bare
/// token is a user name with an empty password, as pip sends it).
pub fn basic_from_userinfo(userinfo: &str) -> String {
    let (user, password) = crate::url::credentials(userinfo);
    basic(&user, &password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_values() {
        let b64 = |bytes: &[u8]| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(bytes)
        };
        assert_eq!(b64(b""), "");
        assert_eq!(b64(b"f"), "Zg==");
        assert_eq!(b64(b"fo"), "Zm8=");
        assert_eq!(b64(b"foo"), "Zm9v");
        assert_eq!(b64(b"foob"), "Zm9vYg==");
        assert_eq!(basic("user", "secret"), "Basic dXNlcjpzZWNyZXQ=");
        assert_eq!(basic_from_userinfo("u%40x:p%3Ass"), basic("u@x", "p:ss"));
        assert_eq!(basic_from_userinfo("token"), basic("token", ""));
    }
}
