//! The app file: a launcher stub with a zip behind it ([`app_zip`]), whose
//! `PEX-INFO` ([`pexinfo`]) pins every wheel; [`zipcheck`] refuses zips whose
//! directories disagree. See docs/format.md.

pub mod app_zip;
pub mod pexinfo;
pub mod zipcheck;
