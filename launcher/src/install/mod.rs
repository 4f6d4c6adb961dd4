//! Hydration: from a PEX-INFO and an interpreter to a runnable environment.
//! [`hydrate`] selects the wheels that fit and drives the rest: [`fetch`]
//! (sources, download, sha256 and size check), [`stream`] (unpacking while the bytes arrive),
//! [`unpack`] (wheel zip into a cache entry), [`inflate`] (the deflate decoder both use), [`venv`] (the environment that links them), [`progress`]; [`record`] (a wheel entry's RECORD) and [`repair`] (damaged entries repaired after a failure); [`export`] copies an environment out as a venv of its own.

pub mod export;
pub mod fetch;
pub mod hydrate;
pub mod inflate;
pub mod mapped;
pub mod progress;
pub mod record;
pub mod repair;
pub mod stream;
pub mod unpack;
pub mod venv;
