//! Running the app: [`app_file`] tells which file is the app, [`interpreter`] finds and probes Python, [`pexrc`] reads
//! pex's rc files into the environment, [`exec`] shapes argv and the
//! environment the way pex does and `execve`s Python; [`tools`] reads
//! `PEX_TOOLS=1` command lines.

pub mod app_file;
pub mod exec;
pub mod interpreter;
pub mod pexrc;
pub mod tools;
