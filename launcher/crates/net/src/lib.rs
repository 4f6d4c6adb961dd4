//! dpex's network layer, shared by the launcher and the packer: one place
//! decides which host gets credentials, which proxy a URL goes through, and
//! which certificates are trusted (see docs/security.md).
//!
//! - [`url`]: the one URL parser: origins (which host gets credentials),
//!   redaction for messages, link resolution, local paths
//! - [`http`]: the client and its policy (credentials per origin, redirects,
//!   no https -> http downgrade, timeouts), typed errors
//! - `forward_proxy`: plain-http requests through an HTTP proxy in absolute
//!   form (the only user of ureq's unversioned API)
//! - [`proxy`]: proxy variables, per URL, as curl reads them
//! - [`tls`]: the trust store
//! - [`netrc`]: `~/.netrc` credentials; [`auth`]: the Basic header
//! - [`index`]: simple-repository (PEP 503/691) project pages
//!
//! Depends only on `dpex-standards` (project-name normalization) and crates
//! ureq links anyway.

pub mod auth;
mod forward_proxy;
pub mod http;
pub mod index;
pub mod netrc;
pub mod proxy;
pub mod tls;
pub mod url;
