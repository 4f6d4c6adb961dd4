//! Hydration: from a PEX-INFO and an interpreter to a runnable environment.
//! [`hydrate`] selects the wheels that fit and drives the rest: [`fetch`]
//! (sources, download, sha256 and size check), [`unpack`] (wheel zip into a
//! cache entry), [`venv`] (the environment that links them), [`progress`].

pub mod fetch;
pub mod hydrate;
pub mod mapped;
pub mod progress;
pub mod unpack;
pub mod venv;
