//! The environments an app runs in, two layers of cache entries:
//!
//! - a **site** (`sites/<key>/site-packages`), one per ordered set of wheels:
//!   the unpacked wheels merged into one site-packages tree whose folders are
//!   its own and whose files are links into the wheel entries. Python writes
//!   the wheels' bytecode here, so every app and every version of an app on
//!   the same wheels shares it: a redeploy whose wheels did not change
//!   compiles nothing of theirs again;
//! - a **venv** (`envs/<key>`), one per (app, interpreter): `pyvenv.cfg`,
//!   `bin/` (python, the wheels' scripts with this venv's shebang) and a
//!   site-packages of one symlink per top-level entry of the site plus
//!   `_dpex_app.pth` naming the app's sources. Built in milliseconds.
//!
//! So the app runs as if its wheels were pip-installed (`.pth` files run,
//! `sys.executable` sees the packages and the app, `$ORIGIN`-relative
//! libraries resolve inside one merged tree, split packages merge).

use crate::cache::in_use::{WheelRecord, WHEEL_RECORD};
use crate::error::{Error, Result};
use crate::install::unpack::{SCRIPTS_DIR, SITE_DIR};
use dpex_standards::python::InterpreterInfo;
use std::fs;
use std::io::{BufRead, Read};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

/// The site-packages folder inside a site entry.
pub const SITE_PACKAGES: &str = "site-packages";

/// The `.pth` file that puts the app's sources on `sys.path`.
const APP_PTH: &str = "_dpex_app.pth";

/// Paths inside a venv.
pub fn python_path(env_dir: &Path) -> PathBuf {
    env_dir.join("bin").join("python")
}

/// Build the site in `work`: `wheels` are the unpacked wheel entries, in lock
/// order (the first wins a file conflict). Files of wheels under `own_cache`
/// are hard-linked; others (read-only cache layers) are symlinked. Returns
/// warnings (file conflicts between wheels).
pub fn build_site(work: &Path, wheels: &[PathBuf], own_cache: &Path) -> Result<Vec<String>> {
    let site = work.join(SITE_PACKAGES);
    mkdir(&site)?;
    let mut warnings = Vec::new();
    for (i, wheel) in wheels.iter().enumerate() {
        let wheel_site = wheel.join(SITE_DIR);
        if wheel_site.is_dir() {
            let mut links = Linker {
                hard: wheel.starts_with(own_cache),
            };
            let mut conflicts = Vec::new();
            merge_links(&wheel_site, &site, false, &mut links, &mut conflicts)?;
            for path in conflicts {
                let relative = path.strip_prefix(&site).unwrap_or(&path);
                warnings.push(conflict(relative, &wheels[..i], wheel));
            }
        }
    }
    // Top-level modules' bytecode (`six.py`, ...) is shared too: every venv
    // links this folder.
    let pycache = site.join("__pycache__");
    if pycache.symlink_metadata().is_err() {
        mkdir(&pycache)?;
    }
    Ok(warnings)
}

/// Build the venv in `work`, to be published at `final_dir`, on the site
/// `site_dir` (a site entry) built from `wheels`; `app_dir` holds the app's
/// sources. Returns warnings (scripts shipped twice).
pub fn build(
    work: &Path,
    final_dir: &Path,
    info: &InterpreterInfo,
    wheels: &[PathBuf],
    site_dir: &Path,
    app_dir: &Path,
) -> Result<Vec<String>> {
    let exe = &info.executable;
    let home = exe.parent().unwrap_or(Path::new("/"));
    let (major, minor, micro) = info.version;
    let cfg = format!(
        "home = {}\ninclude-system-site-packages = false\nversion = {major}.{minor}.{micro}\nexecutable = {}\ncommand = dpex\n",
        home.display(),
        exe.display()
    );
    write(&work.join("pyvenv.cfg"), cfg.as_bytes())?;
    let bin = work.join("bin");
    mkdir(&bin)?;
    link(exe, &bin.join("python"))?;
    for name in [format!("python{major}"), format!("python{major}.{minor}")] {
        link(Path::new("python"), &bin.join(name))?;
    }
    let site = work.join(&info.purelib_rel);
    mkdir(&site)?;
    // One link per top-level entry: Python's `__file__` paths stay in this
    // venv, its bytecode lands in the shared site (the folders are the
    // site's), and `.pth` files found here run as usual. Relative, so a
    // cache moved or mounted elsewhere as a whole (an image layer) still works.
    let shared = site_dir.join(SITE_PACKAGES);
    let from = final_dir.join(&info.purelib_rel);
    for entry in read_dir_sorted(&shared)? {
        let name = entry.file_name().unwrap();
        if name != APP_PTH {
            link(&relative_path(&from, &entry), &site.join(name))?;
        }
    }
    let mut warnings = Vec::new();
    for wheel in wheels {
        install_scripts(&wheel.join(SCRIPTS_DIR), &bin, final_dir, &mut warnings)?;
        write_console_scripts(&wheel.join(SITE_DIR), &bin, final_dir)?;
    }
    // The app's sources are first on sys.path when it runs; this makes them
    // importable from `sys.executable` children too, as after a pip install.
    write_new(
        &site.join(APP_PTH),
        format!("{}\n", app_dir.display()).as_bytes(),
    )?;
    Ok(warnings)
}

/// `to` as seen from the folder `from` (both absolute): `../..` up to their
/// common ancestor, then down.
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let (from, to): (Vec<_>, Vec<_>) = (from.components().collect(), to.components().collect());
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to[common..] {
        out.push(part);
    }
    out
}

/// Mirror the tree `src` (an unpacked wheel's `site/`) into `dst`: folders
/// become real folders of the site and files become links into the cache.
/// So packages split over several wheels merge, `$ORIGIN/../../<other
/// wheel's folder>` library paths resolve inside site-packages, and
/// `__pycache__` writes change the site's own folders, never the wheel
/// entries (which `dpex cache verify` checks against their RECORD). The first wheel wins a file
/// conflict (the paths it lost are pushed to `conflicts`). `fresh`: this
/// wheel just created `dst`, so nothing is in the way.
fn merge_links(
    src: &Path,
    dst: &Path,
    fresh: bool,
    links: &mut Linker,
    conflicts: &mut Vec<PathBuf>,
) -> Result<()> {
    for (entry, is_dir) in read_dir_typed(src)? {
        let target = dst.join(entry.file_name().unwrap());
        let existing = if fresh {
            None
        } else {
            target.symlink_metadata().ok()
        };
        // Unpacked wheels hold no symlinks (unpacking refuses them).
        if is_dir {
            let created = match existing {
                None => {
                    fs::create_dir(&target).map_err(|e| Error::io("create", &target, e))?;
                    true
                }
                Some(meta) if meta.is_dir() => false,
                Some(_) => {
                    conflicts.push(target);
                    continue;
                }
            };
            merge_links(&entry, &target, created, links, conflicts)?;
        } else if existing.is_some() {
            conflicts.push(target);
        } else {
            links.link(&entry, &target)?;
        }
    }
    Ok(())
}

/// Links a wheel's files into the site. A hard link is what pip's copy would
/// be without the copy: no new inode (the slow part of a cold start on ext4),
/// one inode lookup per import, and `realpath(__file__)` stays in the site,
/// whose tree is whole, as after a pip install. Where a hard link cannot be
/// made (another filesystem, hard links refused) and for read-only cache layers, which must not even
/// have their link counts changed, a symlink.
struct Linker {
    hard: bool,
}

impl Linker {
    fn link(&mut self, target: &Path, at: &Path) -> Result<()> {
        if self.hard {
            match fs::hard_link(target, at) {
                Ok(()) => return Ok(()),
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(
                            libc::EXDEV | libc::EPERM | libc::EACCES | libc::EMLINK | libc::ENOTSUP
                        )
                    ) =>
                {
                    self.hard = false;
                }
                Err(e) => return Err(Error::io("create a link at", at, e)),
            }
        }
        link(target, at)
    }
}

/// The warning for `relative` (under site-packages), shipped by `loser` and
/// by one of the wheels linked before it, whose copy was kept. Only on a
/// conflict: the wheel entries' records are read here, not on every start.
fn conflict(relative: &Path, earlier: &[PathBuf], loser: &Path) -> String {
    let name = |wheel: &Path| {
        fs::read(wheel.join(WHEEL_RECORD))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<WheelRecord>(&bytes).ok())
            .map_or_else(|| wheel.display().to_string(), |r| r.filename)
    };
    let winner = earlier
        .iter()
        .find(|w| w.join(SITE_DIR).join(relative).symlink_metadata().is_ok());
    format!(
        "{} is provided by more than one wheel; using the copy of {}, not that of {}",
        relative.display(),
        winner.map_or_else(|| "an earlier wheel".to_string(), |w| name(w)),
        name(loser)
    )
}

/// `.data/scripts`: `#!python` shebangs point at the venv's python; others
/// are linked as they are.
fn install_scripts(
    scripts: &Path,
    bin: &Path,
    final_dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<()> {
    if !scripts.is_dir() {
        return Ok(());
    }
    for script in read_dir_sorted(scripts)? {
        let target = bin.join(script.file_name().unwrap());
        if target.symlink_metadata().is_ok() {
            warnings.push(format!(
                "script {} is provided twice; keeping the first",
                target.display()
            ));
            continue;
        }
        let mut content = Vec::new();
        fs::File::open(&script)
            .and_then(|mut f| f.read_to_end(&mut content))
            .map_err(|e| Error::io("read", &script, e))?;
        if content.starts_with(b"#!python") {
            let rest = content.splitn(2, |&b| b == b'\n').nth(1).unwrap_or(b"");
            let mut new = format!("#!{}\n", python_path(final_dir).display()).into_bytes();
            new.extend_from_slice(rest);
            write(&target, &new)?;
            make_executable(&target)?;
        } else {
            link(&script, &target)?;
        }
    }
    Ok(())
}

/// `console_scripts` entry points become `bin/` scripts, as pip writes them.
fn write_console_scripts(site: &Path, bin: &Path, final_dir: &Path) -> Result<()> {
    for (name, target) in console_scripts(site) {
        if name.contains('/') || name.starts_with('.') || bin.join(&name).symlink_metadata().is_ok()
        {
            continue;
        }
        let (module, attr) = target.split_once(':').unwrap_or((&target, ""));
        let call = if attr.is_empty() {
            format!("import runpy\n    runpy.run_module({module:?}, run_name='__main__')\n    sys.exit(0)")
        } else {
            let top = attr.split('.').next().unwrap_or(attr);
            format!("from {module} import {top}\n    sys.exit({attr}())")
        };
        let text = format!(
            "#!{}\nimport sys\nif __name__ == '__main__':\n    {call}\n",
            python_path(final_dir).display()
        );
        let path = bin.join(&name);
        write(&path, text.as_bytes())?;
        make_executable(&path)?;
    }
    Ok(())
}

/// `(name, module[:attr])` for each console script of the wheels in `site`.
pub fn console_scripts(site: &Path) -> Vec<(String, String)> {
    let mut scripts = Vec::new();
    let Ok(entries) = fs::read_dir(site) else {
        return scripts;
    };
    for entry in entries.flatten() {
        let path = entry.path().join("entry_points.txt");
        if !entry.file_name().to_string_lossy().ends_with(".dist-info") {
            continue;
        }
        let Ok(file) = fs::File::open(&path) else {
            continue;
        };
        let mut in_section = false;
        for line in std::io::BufReader::new(file).lines().map_while(|l| l.ok()) {
            let line = line.trim();
            if line.starts_with('[') {
                in_section = line == "[console_scripts]";
            } else if in_section {
                if let Some((name, value)) = line.split_once('=') {
                    // Drop deprecated `[extras]` after the target.
                    let value = value.split('[').next().unwrap_or("").trim();
                    scripts.push((name.trim().to_string(), value.to_string()));
                }
            }
        }
    }
    scripts.sort();
    scripts
}

/// The entries of `dir`, sorted, each with whether it is a folder (from the
/// directory listing: no stat per entry).
fn read_dir_typed(dir: &Path) -> Result<Vec<(PathBuf, bool)>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))? {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        let is_dir = entry
            .file_type()
            .map_err(|e| Error::io("list", dir, e))?
            .is_dir();
        entries.push((entry.path(), is_dir));
    }
    entries.sort();
    Ok(entries)
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| Error::io("list", dir, e))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io("list", dir, e))?;
    entries.sort();
    Ok(entries)
}

fn mkdir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(|e| Error::io("create", path, e))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_new(path, bytes)
}

/// Create `path` (never following or replacing a link) and write `bytes`.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| Error::io("write", path, e))
}

fn link(target: &Path, at: &Path) -> Result<()> {
    symlink(target, at).map_err(|e| Error::io("create a link at", at, e))
}

fn make_executable(path: &Path) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io("chmod", path, e))
}

#[cfg(test)]
mod tests {
    use super::relative_path;
    use std::path::Path;

    #[test]
    fn relative_paths_climb_to_the_common_folder() {
        let from = Path::new("/c/1/envs/k/lib/python3.11/site-packages");
        let to = Path::new("/c/1/sites/s/site-packages/numpy");
        assert_eq!(
            relative_path(from, to),
            Path::new("../../../../../sites/s/site-packages/numpy")
        );
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/x/y")),
            Path::new("../../x/y")
        );
        assert_eq!(
            relative_path(Path::new("/a"), Path::new("/a/b")),
            Path::new("b")
        );
        // Resolving it from `from` lands on `to`.
        let resolved = from.join(relative_path(from, to));
        let mut normal = std::path::PathBuf::new();
        for part in resolved.components() {
            match part {
                std::path::Component::ParentDir => {
                    normal.pop();
                }
                other => normal.push(other),
            }
        }
        assert_eq!(normal, to);
    }
}
