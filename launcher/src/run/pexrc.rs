//! pexrc files: `KEY=VALUE` lines in `/etc/pexrc`, `~/.pexrc` and a `.pexrc`
//! beside the app, as pex reads them. The real environment wins; later files
//! win over earlier ones; `PEX_IGNORE_RCFILES=1` skips them all.
//! `PEX_DISABLE_VARIABLES=1` locks a run down, as in pex: no rc file is read
//! and every other `PEX_*` variable of the environment is dropped.

use crate::error::Result;
use crate::settings;
use std::path::{Path, PathBuf};

/// The rc files, in increasing priority.
pub fn rc_files(app_path: &Path) -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("/etc/pexrc")];
    if let Some(home) = settings::lookup("HOME") {
        files.push(PathBuf::from(home).join(".pexrc"));
    }
    if let Some(dir) = app_path.parent() {
        files.push(dir.join(".pexrc"));
    }
    files
}

/// Parse one rc file's text into `(key, value)` pairs.
pub fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .filter(|(key, value)| !key.trim().is_empty() && !value.is_empty())
        // A NUL cannot be in an environment variable (set_var would panic).
        .filter(|(key, value)| !key.contains('\0') && !value.contains('\0'))
        .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
        .collect()
}

/// Set the `PEX_*` and `DPEX_*` variables the rc files define and the
/// environment does not, or, under `PEX_DISABLE_VARIABLES`, drop the other
/// `PEX_*` variables. Call before any thread starts.
pub fn apply(app_path: &Path) -> Result<()> {
    if settings::flag("PEX_DISABLE_VARIABLES")? {
        drop_pex_variables();
        return Ok(());
    }
    if settings::flag("PEX_IGNORE_RCFILES")? {
        return Ok(());
    }
    let mut values: Vec<(String, String)> = Vec::new();
    for file in rc_files(app_path) {
        if let Ok(text) = std::fs::read_to_string(&file) {
            values.extend(parse(&text));
        }
    }
    for (key, value) in values.iter().rev() {
        let ours = key.starts_with("PEX_") || key.starts_with("DPEX_");
        if ours && std::env::var_os(key).is_none() {
            // The last file that sets a key wins: set it first, skip the rest.
            std::env::set_var(key, value);
        }
    }
    Ok(())
}

/// Remove every `PEX_*` variable but `PEX_DISABLE_VARIABLES` itself. (pex
/// ignores them in its own configuration and leaves them for the app; dpex
/// reads its configuration from the environment, so it removes them: only an
/// app built with `--no-strip-pex-env` can tell.)
fn drop_pex_variables() {
    let names: Vec<_> = std::env::vars_os()
        .map(|(key, _)| key)
        .filter(|key| {
            let key = key.to_string_lossy();
            key.starts_with("PEX_") && key != "PEX_DISABLE_VARIABLES"
        })
        .collect();
    for name in names {
        std::env::remove_var(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_value_lines() {
        let parsed = parse(
            "PEX_VERBOSE=1\n# comment=x\n\n  PEX_PYTHON = /usr/bin/python3 \nBROKEN\nEMPTY=\n",
        );
        assert_eq!(
            parsed,
            vec![
                ("PEX_VERBOSE".into(), "1".into()),
                ("PEX_PYTHON".into(), "/usr/bin/python3".into())
            ]
        );
    }

    #[test]
    fn lines_with_nul_are_skipped() {
        // Found by the `pexrc` fuzz target: `apply` passes every PEX_* pair to
        // std::env::set_var, which panics on a NUL (the launcher would abort).
        assert_eq!(
            parse("PEX_A=x\0y\nPEX\0_B=1\nPEX_C=ok\n"),
            vec![("PEX_C".into(), "ok".into())]
        );
    }

    #[test]
    fn beside_the_app_is_last() {
        let files = rc_files(Path::new("/srv/app/app.pex"));
        assert_eq!(files.first().unwrap(), Path::new("/etc/pexrc"));
        assert_eq!(files.last().unwrap(), Path::new("/srv/app/.pexrc"));
    }
}
