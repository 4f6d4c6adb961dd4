//! One HTTP agent for the launcher and the packer, and URL redaction for
//! every message that shows a URL.

use std::time::Duration;

/// Connect and read timeouts: a stalled server must fail the download (and
/// let the next source be tried), not hang a host's boot forever.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// `DPEX_CONNECT_TIMEOUT` (seconds), else [`CONNECT_TIMEOUT`].
pub fn connect_timeout() -> Duration {
    seconds_from_env("DPEX_CONNECT_TIMEOUT").unwrap_or(CONNECT_TIMEOUT)
}

/// `DPEX_READ_TIMEOUT` (seconds without a byte, per read), else [`READ_TIMEOUT`].
pub fn read_timeout() -> Duration {
    seconds_from_env("DPEX_READ_TIMEOUT").unwrap_or(READ_TIMEOUT)
}

fn seconds_from_env(name: &str) -> Option<Duration> {
    let value: f64 = std::env::var(name).ok()?.trim().parse().ok()?;
    (value.is_finite() && value > 0.0).then(|| Duration::from_secs_f64(value))
}

/// A blocking agent with rustls and sane timeouts. Non-2xx statuses are
/// returned as responses (not errors) so callers can report them.
pub fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(connect_timeout()))
        .timeout_recv_response(Some(read_timeout()))
        .timeout_recv_body(None)
        // An idle timeout per read, not a deadline for the whole body: a big
        // wheel may take long, a stalled server must not.
        .timeout_per_read(Some(read_timeout()))
        .timeout_per_call(None)
        .http_status_as_error(false)
        // Keep credentials on redirects within the same https host (private
        // indexes redirect downloads), never send them to another host.
        .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
        .user_agent(concat!("dpex/", env!("CARGO_PKG_VERSION")))
        .build();
    config.into()
}

/// `https://user:secret@host/x` -> `https://user:****@host/x`; a bare token
/// (`https://token@host`) -> `https://****@host`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let userinfo = &authority[..at];
    let shown = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:****"),
        None => "****".to_string(),
    };
    format!("{}://{}@{}", &url[..scheme_end], shown, &rest[at + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_and_tokens() {
        assert_eq!(
            redact_url("https://u:p@h.example/s"),
            "https://u:****@h.example/s"
        );
        assert_eq!(
            redact_url("https://tok@h.example/s"),
            "https://****@h.example/s"
        );
        assert_eq!(redact_url("https://h.example/a@b"), "https://h.example/a@b");
        assert_eq!(redact_url("/local/dir"), "/local/dir");
    }
}
