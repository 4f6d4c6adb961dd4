//! dpex launcher library: everything the native stub does, shared with the
//! `dpex` packer (PEX-INFO, wheel names and tags, markers, versions, cache,
//! fetch, unpack).

pub mod cache;
pub mod error;
pub mod fetch;
pub mod http;
pub mod hydrate;
pub mod index;
pub mod interpreter;
pub mod launch;
pub mod maintenance;
pub mod mapped;
pub mod marker;
pub mod netrc;
pub mod pexinfo;
pub mod pexrc;
pub mod progress;
pub mod proxy;
pub mod tags;
pub mod tls;
pub mod unpack;
pub mod venv;
pub mod version;
pub mod zipcheck;
pub mod ziptail;
