//! `dpex venv app.pex DIR` and `PEX_TOOLS=1 ./app.pex venv DIR`: the app as a
//! self-contained venv of real files, for Docker images and air-gapped hosts
//! (what `pex-tools venv` gives a pex). Made from the app's hydrated
//! environment: the site's files copied (not linked), the app's sources in
//! `DIR/app`, its console scripts in `DIR/bin`, and two ways to run it as
//! `./app.pex` would: `DIR/pex` (a copy of the app file, whose launcher sees
//! [`VENV_MARK`] beside it and runs from this venv, never the cache) and
//! `DIR/__main__.py` (`python DIR`).

use crate::cache::atomic::remove_any;
use crate::cache::in_use::{read_record, EnvRecord, ENV_RECORD};
use crate::error::{Error, Result};
use crate::format::app_zip::AppZip;
use crate::install::hydrate::Environment;
use crate::install::venv;
use crate::run::app_file::{BLOCK, PRELUDE_MARK};
use crate::run::exec;
use dpex_standards::python::InterpreterInfo;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Beside `DIR/pex`: the launcher runs the app from this venv.
pub const VENV_MARK: &str = "dpex-venv.json";
/// The app's sources (and its `__main__.py`) inside an exported venv.
pub const APP_DIR: &str = "app";

/// In a venv made with `--scope=deps`: the site its packages were copied
/// from, so `--scope=srcs` adds only an app of the same wheels.
const SCOPE_STATE: &str = ".dpex-venv-scope";

#[derive(Clone, Copy, Debug, Default)]
pub struct ExportOptions {
    /// Compile every module to bytecode (`compileall`).
    pub compile: bool,
    /// Replace `DIR` if it exists.
    pub force: bool,
    /// What to install (pex-tools venv's `--scope`).
    pub scope: Scope,
}

/// Which part of the app an export installs: pex's `--scope`, for images
/// that put the dependencies in one layer (`deps`) and the app's sources in
/// the next (`srcs`, into the same DIR).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    #[default]
    All,
    Deps,
    Srcs,
}

impl Scope {
    /// `all`, `deps`, `srcs`.
    pub fn parse(text: &str) -> Option<Scope> {
        match text {
            "all" => Some(Scope::All),
            "deps" => Some(Scope::Deps),
            "srcs" => Some(Scope::Srcs),
            _ => None,
        }
    }
}

/// The venv an app file runs from, if it is an exported venv's `pex`: named
/// `pex`, beside a [`VENV_MARK`] that this user (or root) owns and that names
/// this app's `pex_hash`. (Another user's mark in a shared folder, or a venv
/// of another app, is not followed: the app then runs as any app does.)
pub fn venv_of<'a>(exe: &'a Path, pex_hash: Option<&str>) -> Option<&'a Path> {
    if exe.file_name()? != "pex" {
        return None;
    }
    let dir = exe.parent()?;
    let mark = dir.join(VENV_MARK);
    let meta = fs::metadata(&mark).ok()?;
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if !meta.is_file() || (meta.uid() != me && meta.uid() != 0) {
        return None;
    }
    let recorded: serde_json::Value = serde_json::from_slice(&fs::read(&mark).ok()?).ok()?;
    let matches = recorded.get("pex_hash").and_then(|h| h.as_str()) == pex_hash;
    (matches && pex_hash.is_some()).then_some(dir)
}

/// Export the app `app_file`, whose environment for `interpreter` is `env`,
/// as a venv at `dest`. A new or replaced (`--force`) DIR is built beside it
/// and renamed into place, so a failed export leaves an existing DIR as it
/// was; an empty DIR (a mounted volume, say) is filled in place.
pub fn export_venv(
    app_file: &Path,
    env: &Environment,
    interpreter: &InterpreterInfo,
    dest: &Path,
    options: ExportOptions,
) -> Result<()> {
    let record = read_record::<EnvRecord>(&env.env_dir, ENV_RECORD)
        .filter(|r| r.site_dir.is_some())
        .ok_or_else(|| {
            Error::msg(format!(
                "the environment {} has no readable record; remove it (`dpex cache prune`) and try again",
                env.env_dir.display()
            ))
        })?;
    let dest = resolved(dest)?;
    let site_name = Path::new(record.site_dir.as_deref().expect("filtered above"))
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    if options.scope == Scope::Srcs {
        add_sources(app_file, &record, interpreter, &dest, &site_name)?;
        if options.compile {
            compile(&[dest.join(APP_DIR)], &dest)?;
        }
        return Ok(());
    }
    let app_real = fs::canonicalize(app_file).map_err(|e| Error::io("read", app_file, e))?;
    if app_real.starts_with(&dest) {
        return Err(Error::msg(format!(
            "{} holds the app {} itself; export the venv to another folder",
            dest.display(),
            app_file.display()
        )));
    }
    let existing = match dest.symlink_metadata() {
        Err(_) => None,
        Ok(meta) if meta.is_dir() => Some(
            fs::read_dir(&dest)
                .map_err(|e| Error::io("list", &dest, e))?
                .next()
                .is_none(),
        ),
        Ok(_) => Some(false),
    };
    match existing {
        Some(true) => {
            // Empty: fill it in place (it may be a mount point).
            let built = build(app_file, &record, interpreter, &dest, &dest, options.scope);
            if built.is_err() {
                clear(&dest);
            }
            built?;
        }
        Some(false) if !options.force => {
            return Err(Error::msg(format!(
                "{} already exists; pass --force to replace it",
                dest.display()
            )))
        }
        _ => {
            let parent = dest.parent().unwrap_or(Path::new("/"));
            let name = dest.file_name().unwrap_or_default().to_string_lossy();
            let work = parent.join(format!(".{name}.dpex-work.{}", std::process::id()));
            let _ = remove_any(&work);
            fs::create_dir(&work).map_err(|e| Error::io("create", &work, e))?;
            let built = build(app_file, &record, interpreter, &work, &dest, options.scope)
                .and_then(|()| replace(&work, &dest, existing.is_some()));
            if built.is_err() {
                let _ = remove_any(&work);
            }
            built?;
        }
    }
    if options.scope == Scope::Deps {
        let state = serde_json::json!({ "scope": "deps", "site": site_name });
        write(&dest.join(SCOPE_STATE), state.to_string().as_bytes())?;
    }
    if options.compile {
        let mut dirs = vec![dest.join(&interpreter.purelib_rel)];
        if options.scope == Scope::All {
            dirs.push(dest.join(APP_DIR));
        }
        compile(&dirs, &dest)?;
    }
    Ok(())
}

/// What to do with a venv just exported: run it, or (`--scope=deps`) add the
/// app's sources.
pub fn next_step(dest: &Path, scope: Scope) -> String {
    match scope {
        Scope::Deps => format!(
            "it holds the dependencies only: add the app with --scope=srcs into {}",
            dest.display()
        ),
        Scope::All | Scope::Srcs => format!("run {}", dest.join("pex").display()),
    }
}

/// `--scope=srcs`: the app's sources and its ways to run (`pex`,
/// `__main__.py`) added to `dest`, a venv made with `--scope=deps` from the
/// same wheels. Each piece is written aside and renamed in; the scope mark
/// goes last, so an interrupted run can be repeated.
fn add_sources(
    app_file: &Path,
    record: &EnvRecord,
    interpreter: &InterpreterInfo,
    dest: &Path,
    site_name: &str,
) -> Result<()> {
    let state: Option<serde_json::Value> = fs::read(dest.join(SCOPE_STATE))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let Some(state) = state else {
        return Err(Error::msg(format!(
            "--scope=srcs adds the app's sources to a venv made with --scope=deps, and {} is not \
             one; make it first (venv --scope=deps {}), or export everything at once",
            dest.display(),
            dest.display()
        )));
    };
    if state.get("site").and_then(|s| s.as_str()) != Some(site_name) {
        return Err(Error::msg(format!(
            "{} holds the dependencies of other wheels than this app's (its lock changed since \
             --scope=deps made it); make it again with --scope=deps --force",
            dest.display()
        )));
    }
    let app_dir = dest.join(APP_DIR);
    let work = dest.join(format!(".{APP_DIR}.dpex-work.{}", std::process::id()));
    let _ = remove_any(&work);
    copy_tree(&record.app_dir, &work)?;
    let _ = remove_any(&app_dir);
    fs::rename(&work, &app_dir).map_err(|e| Error::io("move into place", &app_dir, e))?;
    let pex = dest.join("pex");
    let pex_work = dest.join(format!(".pex.dpex-work.{}", std::process::id()));
    copy_app(app_file, &pex_work)?;
    set_mode(&pex_work, 0o755)?;
    fs::rename(&pex_work, &pex).map_err(|e| Error::io("move into place", &pex, e))?;
    write_run_files(app_file, interpreter, dest)?;
    let state_file = dest.join(SCOPE_STATE);
    fs::remove_file(&state_file).map_err(|e| Error::io("remove", &state_file, e))
}

/// `dest` absolute, through its parent's real path (created if missing), so
/// relative links computed from it resolve as the kernel resolves them.
fn resolved(dest: &Path) -> Result<PathBuf> {
    let dest = if dest.is_absolute() {
        dest.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io("read", ".", e))?
            .join(dest)
    };
    let name = dest
        .file_name()
        .ok_or_else(|| Error::msg(format!("{} names no folder", dest.display())))?;
    let parent = dest.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    let parent = fs::canonicalize(parent).map_err(|e| Error::io("resolve", parent, e))?;
    Ok(parent.join(name))
}

/// Put the built `work` at `dest`, moving an existing `dest` aside first
/// and removing it after.
fn replace(work: &Path, dest: &Path, exists: bool) -> Result<()> {
    if !exists {
        return fs::rename(work, dest).map_err(|e| Error::io("move into place", dest, e));
    }
    let old = work.with_extension("old");
    fs::rename(dest, &old).map_err(|e| Error::io("move aside", dest, e))?;
    if let Err(e) = fs::rename(work, dest) {
        let _ = fs::rename(&old, dest);
        return Err(Error::io("move into place", dest, e));
    }
    remove_any(&old).map_err(|e| Error::io("remove", &old, e))
}

/// Empty `dir` (best effort: after a failed build).
fn clear(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let _ = remove_any(&entry.path());
        }
    }
}

fn build(
    app_file: &Path,
    record: &EnvRecord,
    interpreter: &InterpreterInfo,
    work: &Path,
    dest: &Path,
    scope: Scope,
) -> Result<()> {
    let site_dir = record.site_dir.as_deref().expect("checked by the caller");
    // The venv as the launcher builds it (pyvenv.cfg, bin/, a site-packages
    // of links to the site, the app's .pth), with paths of `dest`...
    let warnings = venv::build(
        work,
        dest,
        interpreter,
        &record.wheel_dirs,
        site_dir,
        &dest.join(APP_DIR),
    )?;
    for warning in warnings {
        eprintln!("dpex: warning: {warning}");
    }
    // ... then every link into the cache replaced by a copy of what it names.
    materialize(&work.join(&interpreter.purelib_rel))?;
    materialize_scripts(&work.join("bin"), &interpreter.executable)?;
    if scope == Scope::Deps {
        return Ok(());
    }
    copy_tree(&record.app_dir, &work.join(APP_DIR))?;
    let pex = work.join("pex");
    copy_app(app_file, &pex)?;
    set_mode(&pex, 0o755)?;
    write_run_files(app_file, interpreter, work)
}

/// The mark that makes `DIR/pex` run from the venv, and `DIR/__main__.py`.
fn write_run_files(app_file: &Path, interpreter: &InterpreterInfo, dir: &Path) -> Result<()> {
    let pex_hash = AppZip::open(app_file)?.read_pex_info()?.pex_hash;
    let mark = serde_json::json!({ "python": interpreter.executable, "pex_hash": pex_hash });
    write(&dir.join(VENV_MARK), mark.to_string().as_bytes())?;
    write(&dir.join("__main__.py"), MAIN_PY.as_bytes())
}

/// `DIR/pex`: a copy of the app file that runs without `sh`. A
/// multi-architecture app's front (its prelude, then a launcher per
/// architecture, each in whole blocks) is replaced by the launcher running
/// now, which the prelude cut out of this app and checked, then zeros to the
/// front's length so the zip's offsets hold: the venv's `pex` is a
/// single-architecture app for this host and never cuts a launcher into a
/// cache. (`dpex venv` hands over an app it has already rebuilt with its own
/// launcher for this host.) A new file, so a read-only app copies too.
fn copy_app(app_file: &Path, to: &Path) -> Result<()> {
    let mut app = fs::File::open(app_file).map_err(|e| Error::io("open", app_file, e))?;
    let mut head = [0u8; PRELUDE_MARK.len()];
    if app.read_exact(&mut head).is_err() || head != PRELUDE_MARK.as_bytes() {
        fs::copy(app_file, to).map_err(|e| Error::io("copy", app_file, e))?;
        return Ok(());
    }
    // The running file itself (a path could have been replaced since).
    let stub = fs::read("/proc/self/exe")
        .map_err(|e| Error::io("read the running launcher", "/proc/self/exe", e))?;
    let front = AppZip::open(app_file)?.front_len()?;
    if front > 64 << 20 {
        return Err(Error::msg(format!(
            "cannot export {}: {front} bytes in front of its zip, more than launchers take; the file is damaged",
            app_file.display()
        )));
    }
    let mut front_bytes = vec![0; front as usize];
    app.seek(SeekFrom::Start(0))
        .and_then(|_| app.read_exact(&mut front_bytes))
        .map_err(|e| Error::io("read", app_file, e))?;
    let own =
        (1..front_bytes.len() / BLOCK).any(|block| front_bytes[block * BLOCK..].starts_with(&stub));
    if !own || !stub.starts_with(b"\x7fELF") {
        return Err(Error::msg(format!(
            "cannot export {}: the launcher running it is not one of the launchers it carries; \
             run the app file itself with PEX_TOOLS=1, or use `dpex venv`",
            app_file.display()
        )));
    }
    let mut out = fs::File::create(to).map_err(|e| Error::io("create", to, e))?;
    front_bytes[..stub.len()].copy_from_slice(&stub);
    front_bytes[stub.len()..].fill(0);
    out.write_all(&front_bytes)
        .and_then(|()| io::copy(&mut app, &mut out).map(drop))
        .map_err(|e| Error::io("write", to, e))
}

/// `python DIR`: hand over to `DIR/pex`, keeping Python's flags.
const MAIN_PY: &str = "\
# dpex: `python DIR` runs the app of this exported venv as `DIR/pex` does.
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, \"app\"))
import __dpex__ as boot

boot._hand_over_to_launcher(os.path.join(here, \"pex\"))
";

/// Replace each symlink in `dir` (a site-packages of links to the site) by a
/// copy of the tree it names, without bytecode (its paths would be the
/// cache's; `--compile` writes the venv's own).
fn materialize(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))? {
        let path = entry.map_err(|e| Error::io("list", dir, e))?.path();
        let meta = path
            .symlink_metadata()
            .map_err(|e| Error::io("read", &path, e))?;
        if !meta.file_type().is_symlink() {
            continue;
        }
        if path.file_name() == Some("__pycache__".as_ref()) {
            // Top-level modules' bytecode: the venv writes its own.
            fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
            fs::create_dir(&path).map_err(|e| Error::io("create", &path, e))?;
            continue;
        }
        let target = fs::canonicalize(&path).map_err(|e| Error::io("resolve", &path, e))?;
        fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
        if target.is_dir() {
            copy_tree(&target, &path)?;
        } else {
            copy_file(&target, &path)?;
        }
    }
    Ok(())
}

/// `bin/`: the interpreter links stay; scripts linked from the cache become copies.
fn materialize_scripts(bin: &Path, python: &Path) -> Result<()> {
    for entry in fs::read_dir(bin).map_err(|e| Error::io("list", bin, e))? {
        let path = entry.map_err(|e| Error::io("list", bin, e))?.path();
        let Ok(target) = fs::read_link(&path) else {
            continue;
        };
        if target == python || target == Path::new("python") {
            continue;
        }
        let resolved = fs::canonicalize(&path).map_err(|e| Error::io("resolve", &path, e))?;
        fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
        copy_file(&resolved, &path)?;
    }
    Ok(())
}

/// Copy the tree `src` to `dst` (real files; links followed), without
/// bytecode: `__pycache__` folders and the shim's boot bytecode (their code
/// names the cache's paths), with its temporary files.
fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    fs::create_dir_all(dst).map_err(|e| Error::io("create", dst, e))?;
    for entry in fs::read_dir(src).map_err(|e| Error::io("list", src, e))? {
        let entry = entry.map_err(|e| Error::io("list", src, e))?;
        let (from, name) = (entry.path(), entry.file_name());
        let boot_bytecode = name
            .to_str()
            .is_some_and(|n| n.starts_with(exec::MAIN_PYC_PREFIX));
        if name == "__pycache__" || boot_bytecode {
            continue;
        }
        let to = dst.join(&name);
        if fs::metadata(&from)
            .map_err(|e| Error::io("read", &from, e))?
            .is_dir()
        {
            copy_tree(&from, &to)?;
        } else {
            copy_file(&from, &to)?;
        }
    }
    Ok(())
}

/// A copy with the source's execute bits (0755 or 0644, as unpacked).
fn copy_file(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to).map_err(|e| Error::io("copy", from, e))?;
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("chmod", path, e))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|e| Error::io("write", path, e))
}

/// Compile every module of `dirs` (the venv's site-packages, its app) in place.
fn compile(dirs: &[PathBuf], dest: &Path) -> Result<()> {
    let python = venv::python_path(dest);
    let status = std::process::Command::new(&python)
        .args(["-m", "compileall", "-q", "-j", "0"])
        .args(dirs)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| Error::msg(format!("cannot run {}: {e}", python.display())))?;
    if !status.success() {
        eprintln!(
            "dpex: warning: compileall reported errors ({status}); modules that failed will compile on import"
        );
    }
    Ok(())
}
