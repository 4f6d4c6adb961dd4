//! Errors the launcher and packer report to users: each message says what
//! went wrong, where, and what to do next.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// A free-form, already user-ready message.
    Msg(String),
    /// An I/O error on a named path, with what we were doing.
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn msg(s: impl Into<String>) -> Error {
        Error::Msg(s.into())
    }
    /// A cache that cannot be written (permissions, read-only filesystem).
    pub fn is_unwritable(&self) -> bool {
        matches!(self, Error::Io { source, .. }
            if source.kind() == std::io::ErrorKind::PermissionDenied
                || source.kind() == std::io::ErrorKind::ReadOnlyFilesystem)
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Msg(s) => f.write_str(s),
            Error::Io {
                action,
                path,
                source,
            } => {
                write!(f, "could not {action} {}: {source}", path.display())?;
                if source.raw_os_error() == Some(libc::ENOSPC) {
                    write!(f, ". The disk is full: free some space or point DPEX_ROOT at a larger filesystem, then run again")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {}
