//! The launcher: everything the native stub does between `./app.pex` and
//! `execve(python)`, shared with the `dpex` packer (which hydrates, downloads
//! and inspects caches with the same code). docs/architecture.md is the map.
//!
//! - [`settings`]: every environment variable the launcher reads, read once
//! - [`format`]: the app file (PEX-INFO, the zip behind the stub)
//! - [`cache`]: the cache layout, `atomic_dir`, locks, in-use marks
//! - [`install`]: fetch, verify, unpack, build the environment (hydration)
//! - [`run`]: choose the interpreter, pexrc files, hand off to Python
//! - [`arena`]: the stub's allocator (a warm start's blocks without a system call)
//!
//! The packaging standards are `dpex-standards`; the network is `dpex-net`.

pub mod arena;
pub mod cache;
pub mod error;
pub mod format;
pub mod install;
pub mod run;
pub mod settings;
#[cfg(test)]
mod test_dir;

pub use dpex_net as net;
pub use dpex_standards as standards;
