//! A damaged wheel entry repairs itself. Entries are on disk before they are
//! published (`publish_all`), but a cache written by an older dpex, a disk
//! or a hand can still hold files that lost their contents: after a power
//! cut before writeback, ext4 shows them empty. The app then fails with an
//! ImportError on every start, and nothing in the warm path (a few `stat`s)
//! would notice.
//!
//! So the check costs nothing until something fails: when the app dies of an
//! uncaught exception, the shim leaves [`CHECK_MARK`] in its environment
//! (`__dpex__/boot.py`). The next start sees the mark (one `stat`), checks the
//! size of every file of the environment's wheels against their RECORDs
//! (one `stat` each), re-fetches each damaged wheel (sha256 checked, as
//! always) and rewrites its damaged files in place: the same inodes, so the
//! sites' hard links to them are repaired too. One warning line per wheel.

use crate::cache::in_use::{read_record, EnvRecord, ENV_RECORD};
use crate::cache::{lock_entry, remove_any, Cache};
use crate::error::{Error, Result};
use crate::format::pexinfo::PexInfo;
use crate::install::fetch::Sources;
use crate::install::hydrate::{fetch_and_unpack, select_wheels, Work};
use crate::install::record::wrong_sizes;
use crate::settings::Settings;
use dpex_standards::python::InterpreterInfo;
use std::fs;
use std::path::Path;

/// Left in an environment by the shim when the app died of an uncaught
/// exception: the next start checks the environment's wheels.
pub const CHECK_MARK: &str = "dpex-check";

/// Check (and repair) the wheels of the environment `env_dir` of `cache`,
/// which carries [`CHECK_MARK`]. Never fails the start: a wheel that cannot be
/// repaired now (offline, say) is a warning, and the mark stays for the next
/// start.
pub fn check_environment(
    cache: &Cache,
    env_dir: &Path,
    info: &PexInfo,
    interpreter: &InterpreterInfo,
    settings: &Settings,
) {
    let mark = env_dir.join(CHECK_MARK);
    let Some(record) = read_record::<EnvRecord>(env_dir, ENV_RECORD) else {
        let _ = fs::remove_file(&mark);
        return;
    };
    let mut all_repaired = true;
    // Only the cache's own wheels: a read-only layer is never written.
    for wheel_dir in record
        .wheel_dirs
        .iter()
        .filter(|d| d.starts_with(cache.root()))
    {
        let Ok(wrong) = wrong_sizes(wheel_dir) else {
            continue; // not an entry dpex unpacked (no RECORD): nothing to compare
        };
        if wrong.is_empty() {
            continue;
        }
        let name = wheel_dir.file_name().unwrap_or_default().to_string_lossy();
        match repair_wheel(cache, wheel_dir, info, interpreter, settings) {
            Ok(Some(Repaired { wheel, problems })) => {
                let shown = &problems[..problems.len().min(3)];
                eprintln!(
                    "dpex: warning: the cached wheel {wheel} had {} damaged file(s) ({}{}), as lost \
                     writes after a crash leave them; fetched it again (sha256 checked) and rewrote them",
                    problems.len(),
                    shown.join("; "),
                    if problems.len() > shown.len() { "; ..." } else { "" },
                );
            }
            Ok(None) => {} // another process repaired it meanwhile
            Err(e) => {
                all_repaired = false;
                let shown: Vec<&str> = wrong.iter().take(3).map(|(_, why)| why.as_str()).collect();
                eprintln!(
                    "dpex: warning: the cached wheel entry {} is damaged ({}) and could not be \
                     repaired now: {e}. The next start tries again; `dpex cache verify --repair` \
                     removes it",
                    name,
                    shown.join("; ")
                );
            }
        }
    }
    if all_repaired {
        let _ = fs::remove_file(&mark);
    }
}

/// A wheel entry repaired: the wheel's file name, and what was wrong.
struct Repaired {
    wheel: String,
    problems: Vec<String>,
}

/// Under the entry's lock (one repairer at a time; another start may have
/// repaired it meanwhile), fetch the wheel into a scratch folder and copy its
/// damaged files over the entry's. `None` if there was nothing left to repair.
fn repair_wheel(
    cache: &Cache,
    wheel_dir: &Path,
    info: &PexInfo,
    interpreter: &InterpreterInfo,
    settings: &Settings,
) -> Result<Option<Repaired>> {
    let sha256 = wheel_dir.file_name().unwrap_or_default().to_string_lossy();
    let selected = select_wheels(info, interpreter)?;
    let item = selected
        .iter()
        .find(|s| s.wheel.sha256.as_str() == sha256)
        .ok_or_else(|| Error::msg("the app's PEX-INFO no longer names this wheel"))?;
    let _locked = lock_entry(wheel_dir, cache.lock_wait(), &mut || Ok(()))?;
    let wrong = wrong_sizes(wheel_dir).map_err(Error::msg)?;
    if wrong.is_empty() {
        return Ok(None);
    }
    let scratch = wheel_dir.with_file_name(format!(".{sha256}.repair"));
    remove_any(&scratch).map_err(|e| Error::io("remove", &scratch, e))?;
    fs::create_dir(&scratch).map_err(|e| Error::io("create", &scratch, e))?;
    let repaired = (|| {
        let sources = Sources::new(settings);
        fetch_and_unpack(&Work::new(&sources, cache, settings), item, &scratch)?;
        for (file, _) in &wrong {
            let relative = file
                .on_disk
                .strip_prefix(wheel_dir)
                .unwrap_or(&file.on_disk);
            rewrite_in_place(&scratch.join(relative), &file.on_disk)?;
        }
        Ok(())
    })();
    let _ = remove_any(&scratch);
    repaired.map(|()| {
        Some(Repaired {
            wheel: item.wheel.filename.clone(),
            problems: wrong.into_iter().map(|(_, why)| why).collect(),
        })
    })
}

/// Copy `fresh` over `damaged` keeping `damaged`'s inode (truncate and
/// write), so every hard link to it sees the repair, and make it durable.
fn rewrite_in_place(fresh: &Path, damaged: &Path) -> Result<()> {
    if let Some(parent) = damaged.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    }
    fs::copy(fresh, damaged).map_err(|e| Error::io("rewrite", damaged, e))?;
    fs::File::open(damaged)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io("write to disk", damaged, e))
}
