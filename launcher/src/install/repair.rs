//! A damaged wheel entry repairs itself. Entries are on disk before they are
//! published (`publish_all`), but a cache written by an older dpex, a disk
//! or a hand can still hold files that lost their contents: after a power
//! cut before writeback, ext4 shows them empty. The app then fails with an
//! ImportError on every start, and nothing in the warm path (a few `stat`s)
//! would notice.
//!
//! So the check costs nothing until something fails: when the app dies of an
//! uncaught exception, the shim leaves [`CHECK_MARK`] in its environment
//! (`__dpex__/__init__.py`). The next start sees the mark (one `stat`), checks the
//! size of every file of the app's wheels in the cache against their RECORDs
//! (one `stat` each; an empty or missing RECORD is damage too), fetches each
//! suspect wheel again (sha256 checked, as always) and rewrites the entry's
//! files that differ from the fresh copy in place: the same inodes, so the
//! sites' hard links to them are repaired too. One warning line per wheel.

use crate::cache::in_use::gc_lock_shared;
use crate::cache::{lock_entry, remove_any, Cache};
use crate::error::{Error, Result};
use crate::format::pexinfo::PexInfo;
use crate::install::fetch::Sources;
use crate::install::hydrate::{fetch_and_unpack, select_wheels, Selected, Work};
use crate::install::record::size_problems;
use crate::settings::Settings;
use dpex_standards::python::InterpreterInfo;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Left in an environment by the shim when the app died of an uncaught
/// exception: the next start checks the app's wheels.
pub const CHECK_MARK: &str = "dpex-check";

/// Check (and repair) the cache's entries of the wheels the app runs on with
/// `interpreter`; `env_dir` carries [`CHECK_MARK`]. Never fails the start: a
/// wheel that cannot be repaired now (offline, say) is a warning, and the mark
/// stays for the next start.
pub fn check_environment(
    cache: &Cache,
    env_dir: &Path,
    info: &PexInfo,
    interpreter: &InterpreterInfo,
    settings: &Settings,
) {
    let mark = env_dir.join(CHECK_MARK);
    // The wheels as this start chose them, in this cache (never a read-only
    // layer): not the paths an environment record holds, which a moved cache
    // or a symlinked root would spell differently.
    let Ok(selected) = select_wheels(info, interpreter) else {
        return;
    };
    // `dpex cache prune` and `verify --repair` stay out while entries are rewritten.
    let _gc = gc_lock_shared(cache);
    let mut all_repaired = true;
    for item in &selected {
        let wheel_dir = cache.wheel_dir(&item.wheel.sha256);
        if !wheel_dir.is_dir() || size_problems(&wheel_dir).is_empty() {
            continue;
        }
        match repair_wheel(cache, &wheel_dir, item, settings) {
            Ok(Some(repaired)) => eprintln!(
                "dpex: warning: the cached wheel {} had {} damaged file(s) ({}), as lost writes after a \
                 crash leave them; fetched it again (sha256 checked) and rewrote them",
                item.wheel.filename,
                repaired.len(),
                summary(&repaired)
            ),
            // Nothing differed from a fresh copy (another start repaired it, or
            // the wheel's RECORD is wrong about itself).
            Ok(None) => {}
            Err(e) => {
                all_repaired = false;
                eprintln!(
                    "dpex: warning: the cached wheel {} is damaged ({}) and could not be repaired now: \
                     {e}. The next start tries again; `dpex cache verify --repair` removes it",
                    item.wheel.filename,
                    summary(&size_problems(&wheel_dir))
                );
            }
        }
    }
    if all_repaired {
        let _ = fs::remove_file(&mark);
    }
}

fn summary(problems: &[String]) -> String {
    let shown = &problems[..problems.len().min(3)];
    let more = if problems.len() > shown.len() {
        "; ..."
    } else {
        ""
    };
    format!("{}{more}", shown.join("; "))
}

/// Under the entry's lock (one repairer at a time), fetch the wheel into a
/// scratch folder and copy over the entry's files every file that is missing
/// there or differs. Returns what was wrong with the rewritten files, or
/// `None` if none differed.
fn repair_wheel(
    cache: &Cache,
    wheel_dir: &Path,
    item: &Selected,
    settings: &Settings,
) -> Result<Option<Vec<String>>> {
    let locked = lock_entry(wheel_dir, cache.lock_wait(), &mut || Ok(()))?;
    if !wheel_dir.is_dir() || size_problems(wheel_dir).is_empty() {
        return Ok(None); // removed, or repaired by another start meanwhile
    }
    let sha256 = &item.wheel.sha256;
    // Without working locks, repairers race: each gets its own scratch folder.
    let scratch = match locked {
        Some(_) => wheel_dir.with_file_name(format!(".{sha256}.repair")),
        None => wheel_dir.with_file_name(format!(".{sha256}.repair.{}", std::process::id())),
    };
    remove_any(&scratch).map_err(|e| Error::io("remove", &scratch, e))?;
    fs::create_dir(&scratch).map_err(|e| Error::io("create", &scratch, e))?;
    let repaired = (|| {
        let sources = Sources::new(settings);
        fetch_and_unpack(&Work::new(&sources, cache, settings), item, &scratch)?;
        let mut repaired = Vec::new();
        for fresh in files_under(&scratch)? {
            let relative = fresh.strip_prefix(&scratch).expect("walked from scratch");
            let damaged = wheel_dir.join(relative);
            if let Some(why) = differs(&fresh, &damaged)? {
                rewrite_in_place(&fresh, &damaged)?;
                repaired.push(format!("{}: {why}", relative.display()));
            }
        }
        Ok(repaired)
    })();
    let _ = remove_any(&scratch);
    repaired.map(|r| (!r.is_empty()).then_some(r))
}

/// Every file under `dir` (a fresh unpack: folders and files only).
fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in fs::read_dir(&folder).map_err(|e| Error::io("list", &folder, e))? {
            let path = entry.map_err(|e| Error::io("list", &folder, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    Ok(out)
}

/// Why `damaged` is not `fresh` (missing, another size, other bytes), or `None`.
fn differs(fresh: &Path, damaged: &Path) -> Result<Option<String>> {
    let Ok(meta) = fs::metadata(damaged) else {
        return Ok(Some("missing".into()));
    };
    let want = fs::metadata(fresh)
        .map_err(|e| Error::io("inspect", fresh, e))?
        .len();
    if meta.len() != want {
        return Ok(Some(format!("{} bytes, should be {want}", meta.len())));
    }
    let read = |p: &Path| -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        fs::File::open(p)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| Error::io("read", p, e))?;
        Ok(bytes)
    };
    Ok((read(fresh)? != read(damaged)?).then(|| "other bytes".to_string()))
}

/// Copy `fresh` over `damaged` keeping `damaged`'s inode (truncate and
/// write), so every hard link to it sees the repair, and make it durable.
/// Folders are made only inside the entry (`damaged` is under it).
fn rewrite_in_place(fresh: &Path, damaged: &Path) -> Result<()> {
    if let Some(parent) = damaged.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    }
    fs::copy(fresh, damaged).map_err(|e| Error::io("rewrite", damaged, e))?;
    fs::File::open(damaged)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io("write to disk", damaged, e))
}
