//! The library part of the `dpex` packer, used by the `dpex` binary and
//! reachable from the fuzz targets in `fuzz/`:
//!
//! - `lock`: the lock readers (pylock.toml; hashed requirements files and
//!   resolving their hashes to wheel files on an index).
//! - `shell`: shell-style word splitting with Python's `shlex.split` rules.

pub mod lock;
pub mod shell;
