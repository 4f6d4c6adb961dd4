//! The library part of the `dpex` packer: the lock readers (pylock.toml and
//! hashed requirements files), used by the `dpex` binary and reachable from
//! the fuzz targets in `fuzz/`.

pub mod lock;
