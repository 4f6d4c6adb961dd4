//! Which file is the app. A single-architecture app is the launcher's own
//! file; a multi-architecture one runs a launcher the prelude cut out of it
//! into the cache, and names itself in `__DPEX_APP` (docs/format.md,
//! "Multi-arch apps"). The prelude also has each cut-out copy check its own
//! sha256 (`__DPEX_STUB_CHECK`) before trusting it.

use crate::error::{Error, Result};
use crate::run::exec::invoked_path;
use dpex_standards::digest::hex;
use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::path::PathBuf;

/// How a multi-architecture app file starts (its `sh` prelude).
pub const PRELUDE_MARK: &str = "#!/bin/sh\n# dpex app: ";
/// Block size of that layout: the prelude fills block 0, each launcher starts
/// on a block (`dd bs=4096 skip=N` cuts it out).
pub const BLOCK: usize = 4096;

/// Set by the prelude of a multi-architecture app: the app's path (its `$0`).
const APP_VAR: &str = "__DPEX_APP";
/// Set by the prelude on a launcher it just cut out: its expected sha256.
const CHECK_VAR: &str = "__DPEX_STUB_CHECK";

pub struct AppFile {
    /// The file holding the app zip.
    pub file: PathBuf,
    /// The path it was started by, absolute (`sys.argv[0]`, pexrc lookups).
    pub invoked: PathBuf,
}

impl AppFile {
    /// Reads (and removes, so no child inherits it) `__DPEX_APP`.
    pub fn current(argv0: &OsStr) -> Result<AppFile> {
        if let Some(app) = std::env::var_os(APP_VAR) {
            std::env::remove_var(APP_VAR);
            let named = PathBuf::from(app);
            // The real file, as current_exe() gives a single-architecture app (a
            // symlink to an exported venv's `pex` must find the venv beside it).
            let file = std::fs::canonicalize(&named).unwrap_or_else(|_| named.clone());
            // Joined to the working directory, not normalized (`./app.pex` ->
            // `/x/./app.pex`), as `invoked_path` does for a launcher run directly.
            let invoked = match std::env::current_dir() {
                Ok(cwd) if named.is_relative() => cwd.join(&named),
                _ => named,
            };
            return Ok(AppFile { file, invoked });
        }
        let file = std::env::current_exe()
            .map_err(|e| Error::msg(format!("cannot find the launcher's own file: {e}")))?;
        let invoked = invoked_path(argv0, &file);
        Ok(AppFile { file, invoked })
    }
}

/// Under `__DPEX_STUB_CHECK=<sha256>`: whether this launcher's file has that
/// sha256 (exit status 0), so a copy on a noexec mount or a damaged one is
/// never put in place. `None` when the variable is unset.
pub fn stub_check() -> Option<i32> {
    let expected = std::env::var_os(CHECK_VAR)?;
    let me = std::env::current_exe().and_then(std::fs::read);
    Some(match me {
        Ok(bytes) if OsStr::new(&hex(&Sha256::digest(&bytes))) == expected => 0,
        Ok(_) => {
            eprintln!("dpex: error: the launcher cut out of the app does not match its sha256: the app file is damaged; copy it again");
            1
        }
        Err(e) => {
            eprintln!("dpex: error: cannot read the launcher cut out of the app: {e}");
            1
        }
    })
}
