//! The Python packaging standards dpex needs, as pure functions over strings
//! and data: no files, processes, network or cache. Every parser here reads
//! untrusted input (lock files, index pages, wheel names) and is fuzzed
//! (fuzz/), so none may panic.
//!
//! - [`version`]: PEP 440 versions and specifiers, PEP 503 name normalization
//! - [`marker`]: PEP 508 environment markers
//! - [`tags`]: PEP 425 compatibility tags, in `packaging.tags.sys_tags()` order
//! - [`wheel`]: PEP 427 wheel file names
//! - [`python`]: an interpreter as the standards see it, and pex's
//!   interpreter constraints
//! - [`digest`]: sha256 digests as locks and PEX-INFO write them (lowercase hex)
//!
//! dpex keeps its own small implementations instead of depending on
//! pep440_rs/pep508_rs (uv's): they do exactly what PEX-INFO and pylock.toml
//! need, match `packaging`'s behaviour (checked against its output in the
//! tests), add nothing to the launcher stub, and are fuzzed here.

pub mod digest;
pub mod marker;
pub mod python;
pub mod tags;
pub mod version;
pub mod wheel;
