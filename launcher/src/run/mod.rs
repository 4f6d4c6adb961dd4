//! Running the app: [`interpreter`] finds and probes Python, [`pexrc`] reads
//! pex's rc files into the environment, [`exec`] shapes argv and the
//! environment the way pex does and `execve`s Python; [`tools`] reads
//! `PEX_TOOLS=1` command lines.

pub mod exec;
pub mod interpreter;
pub mod pexrc;
pub mod tools;
