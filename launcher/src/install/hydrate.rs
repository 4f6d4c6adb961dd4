//! From PEX-INFO and an interpreter to a ready environment: pick the wheels,
//! fetch and unpack the missing ones in parallel, extract the app, build the
//! site (shared by every app on the same wheels) and the app's venv on it.
//! Each piece is a cache entry published by `atomic_dir`.

use crate::cache::in_use::{
    self, EnvRecord, SiteRecord, WheelRecord, ENV_RECORD, SITE_RECORD, WHEEL_RECORD,
};
use crate::cache::{atomic_dir, publish_all, stage_dir, Cache, Staged};
use crate::error::{Error, Result};
use crate::format::app_zip::AppZip;
use crate::format::pexinfo::{DehydratedRequirement, LockedWheel, PexInfo};
use crate::install::fetch::Sources;
use crate::install::progress::Progress;
use crate::install::repair;
use crate::install::stream::StreamUnpack;
use crate::install::unpack::{self, UnpackLimits};
use crate::settings::Settings;
use dpex_standards::digest::hex;
use dpex_standards::python::InterpreterInfo;
use dpex_standards::tags::{self, TagRanks};
use dpex_standards::version::{Version, VersionSpecifiers};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Download-and-unpack workers: loopback and datacenter links saturate with a
/// handful of connections; unpacking is bound by the cores.
const MAX_WORKERS: usize = 8;

/// A wheel chosen for this interpreter.
#[derive(Clone, Debug)]
pub struct Selected<'a> {
    pub package: &'a DehydratedRequirement,
    pub wheel: &'a LockedWheel,
}

/// Where the app runs from.
pub struct Environment {
    pub env_dir: PathBuf,
    pub app_dir: PathBuf,
    /// Whether this start built it, rather than finding it (ready, or made
    /// meanwhile by a concurrent start).
    pub built: bool,
    /// Whether `app_dir` is the cache's own (not a read-only layer's), where
    /// the shim may add files (its boot bytecode: run::exec::main_pyc_name).
    pub app_dir_writable: bool,
    /// The root of the cache it is in, when this start found no ready
    /// environment (it built it, or waited for a concurrent start that did).
    pub fresh_in: Option<PathBuf>,
}

/// The hash that names the app in the cache.
pub fn app_key(info: &PexInfo) -> Result<&str> {
    info.pex_hash
        .as_deref()
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
        .ok_or_else(|| {
            Error::msg("PEX-INFO has no valid pex_hash; rebuild the app with `dpex build`")
        })
}

/// The venv key: the app and the exact interpreter it runs on.
pub fn env_key(pex_hash: &str, interpreter: &InterpreterInfo) -> String {
    let mut hasher = Sha256::new();
    let (a, b, c) = interpreter.version;
    hasher.update(format!(
        "{pex_hash}\0{}\0{a}.{b}.{c}\0{}",
        interpreter.executable.display(),
        interpreter.soabi
    ));
    hex(&hasher.finalize()[..16])
}

/// The key of the site of `wheel_dirs` (the wheel entries, in order: the
/// order decides file conflicts) in the cache or layer `root`. A site links
/// the entries it was built from (hard links to its own cache's, symlinks to
/// a layer's or, from the fallback cache, the real cache's), so wheels of
/// another root count by path, and wheels of `root` itself by name only: a
/// layer moved or mounted elsewhere keeps its keys. Not the interpreter: a
/// site holds no interpreter paths, and bytecode files are named per Python
/// version (`*.cpython-311.pyc`).
pub fn site_key(wheel_dirs: &[PathBuf], root: &Path) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"dpex-site-1");
    for dir in wheel_dirs {
        hasher.update(b"\0");
        match dir.strip_prefix(root) {
            Ok(inside) => {
                hasher.update(b"=");
                hasher.update(inside.as_os_str().as_encoded_bytes());
            }
            Err(_) => hasher.update(dir.as_os_str().as_encoded_bytes()),
        }
    }
    hex(&hasher.finalize()[..16])
}

/// The locked wheels this interpreter needs: packages whose marker holds, each
/// with its best-ranked compatible wheel.
pub fn select_wheels<'a>(
    info: &'a PexInfo,
    interpreter: &InterpreterInfo,
) -> Result<Vec<Selected<'a>>> {
    let version_text = interpreter
        .markers
        .get("python_full_version")
        .cloned()
        .unwrap_or_default();
    let python_version = Version::parse_python_full_version(&version_text).map_err(Error::msg)?;
    let ranks = TagRanks::new(tags::supported_tags(interpreter));
    let mut selected = Vec::new();
    for package in &info.dehydrated_requirements {
        if let Some(marker) = package.marker.as_deref().filter(|m| !m.trim().is_empty()) {
            let applies = dpex_standards::marker::evaluate(marker, &interpreter.markers, &[])
                .map_err(|e| {
                    Error::msg(format!(
                        "package {} {}: {e}. Rebuild the app with a valid lock",
                        package.name, package.version
                    ))
                })?;
            if !applies {
                continue;
            }
        }
        if let Some(requires) = package
            .requires_python
            .as_deref()
            .filter(|r| !r.trim().is_empty())
        {
            let specifiers = VersionSpecifiers::parse(requires).map_err(|e| {
                Error::msg(format!(
                    "package {} {}: invalid requires-python {requires:?}: {e}",
                    package.name, package.version
                ))
            })?;
            if !specifiers.contains(&python_version) {
                return Err(Error::msg(format!(
                    "package {} {} requires Python {requires}, but the interpreter {} is Python {version_text}. \
                     Run the app with a matching interpreter (PEX_PYTHON), or re-lock for this one",
                    package.name,
                    package.version,
                    interpreter.executable.display()
                )));
            }
        }
        match tags::select_wheel(&package.wheels, |w| w.filename.as_str(), &ranks) {
            Some(wheel) => selected.push(Selected { package, wheel }),
            None => {
                let files: Vec<&str> = package.wheels.iter().map(|w| w.filename.as_str()).collect();
                return Err(Error::msg(format!(
                    "no locked wheel of {} {} fits the interpreter {} (Python {version_text}). \
                     Locked files: {}. This interpreter accepts, best first: {}. \
                     Lock a wheel for this platform, or run the app with another interpreter",
                    package.name,
                    package.version,
                    interpreter.executable.display(),
                    if files.is_empty() {
                        "none".to_string()
                    } else {
                        files.join(", ")
                    },
                    tags::best_tags_summary(&tags::supported_tags(interpreter), 6),
                )));
            }
        }
    }
    Ok(selected)
}

/// Make sure the app's environment for `interpreter` exists, building what is
/// missing. The warm path is one `exists` check.
pub fn ensure_environment(
    cache: &Cache,
    app: &AppZip,
    info: &PexInfo,
    interpreter: &InterpreterInfo,
    settings: &Settings,
) -> Result<Environment> {
    let verbose = settings.verbose;
    let pex_hash = app_key(info)?;
    let key = env_key(pex_hash, interpreter);
    // Warm: a few stats. An environment is used with the app entry of its own
    // cache (or layer); one whose app entry was removed is rebuilt.
    let env_entry = Path::new("envs").join(&key);
    let app_entry = Path::new("apps").join(pex_hash);
    for (i, root) in std::iter::once(cache.root())
        .chain(cache.layers().iter().map(PathBuf::as_path))
        .enumerate()
    {
        let (env_dir, app_dir) = (root.join(&env_entry), root.join(&app_entry));
        if env_dir.exists() && app_dir.join("__main__.py").exists() {
            // Layers are never written (nor pruned): only the cache's own
            // environments are marked in use.
            if i > 0 || in_use::hold_in_use(&env_dir) {
                if i == 0 && env_dir.join(repair::CHECK_MARK).exists() {
                    repair::check_environment(cache, &env_dir, info, interpreter, settings);
                }
                return Ok(Environment {
                    env_dir,
                    app_dir,
                    built: false,
                    app_dir_writable: i == 0,
                    fresh_in: None,
                });
            }
        }
    }
    // Cold: keep `dpex cache prune` out until the environment is built.
    let _gc = in_use::gc_lock_shared(cache);
    let env_dir = cache.env_dir(&key);
    let selected = select_wheels(info, interpreter)?;
    let app_dir = match cache
        .find(&app_entry)
        .filter(|d| d.join("__main__.py").exists())
    {
        Some(existing) => existing,
        None => {
            let app_dir = cache.app_dir(pex_hash);
            atomic_dir(&app_dir, cache.lock_wait(), |work| {
                extract_app(app, work, UnpackLimits::from_settings(settings))
            })?;
            app_dir
        }
    };
    let wheel_dirs = hydrate_wheels(cache, &selected, settings)?;
    let venv_started = std::time::Instant::now();
    let site_dir = ensure_site(cache, &wheel_dirs, verbose)?;
    let built = atomic_dir(&env_dir, cache.lock_wait(), |work| {
        let warnings = crate::install::venv::build(
            work,
            &env_dir,
            interpreter,
            &wheel_dirs,
            &site_dir,
            &app_dir,
        )?;
        let record = EnvRecord {
            pex_hash: pex_hash.to_string(),
            app_dir: app_dir.clone(),
            interpreter: interpreter.executable.clone(),
            wheel_dirs: wheel_dirs.clone(),
            site_dir: Some(site_dir.clone()),
        };
        write_record(work, ENV_RECORD, &record)?;
        warn(verbose, warnings);
        Ok(())
    })?;
    if verbose > 1 {
        eprintln!(
            "dpex: environment built in {} ms",
            venv_started.elapsed().as_millis()
        );
    }
    in_use::hold_in_use(&env_dir);
    let app_dir_writable = app_dir.starts_with(cache.root());
    Ok(Environment {
        env_dir,
        app_dir,
        built,
        app_dir_writable,
        fresh_in: Some(cache.root().to_path_buf()),
    })
}

/// The site of these wheels: found or built in the cache. A read-only
/// layer's site is used only if `dpex hydrate --compile` filled it with
/// bytecode ([`COMPILED_MARK`]): Python cannot write any there, and one of
/// our own (linking the layer's wheels) keeps what it compiles.
fn ensure_site(cache: &Cache, wheel_dirs: &[PathBuf], verbose: u32) -> Result<PathBuf> {
    let key = site_key(wheel_dirs, cache.root());
    let own = cache.site_dir(&key);
    if own.exists() {
        return Ok(own);
    }
    let compiled_layer = cache.layers().iter().find_map(|layer| {
        let site = layer.join("sites").join(site_key(wheel_dirs, layer));
        site.join(COMPILED_MARK).exists().then_some(site)
    });
    if let Some(layer_site) = compiled_layer {
        return Ok(layer_site);
    }
    let site_dir = own;
    atomic_dir(&site_dir, cache.lock_wait(), |work| {
        let warnings = crate::install::venv::build_site(work, wheel_dirs, cache.root())?;
        let record = SiteRecord {
            wheel_dirs: wheel_dirs.to_vec(),
        };
        write_record(work, SITE_RECORD, &record)?;
        warn(verbose, warnings);
        Ok(())
    })?;
    Ok(site_dir)
}

/// Written into a site by `dpex hydrate --compile` once every module in it
/// has bytecode.
pub const COMPILED_MARK: &str = "dpex-compiled";

fn write_record<T: serde::Serialize>(dir: &Path, name: &str, record: &T) -> Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(record).unwrap())
        .map_err(|e| Error::io("write", path, e))
}

fn warn(verbose: u32, warnings: Vec<String>) {
    if verbose > 0 {
        for warning in warnings {
            eprintln!("dpex: warning: {warning}");
        }
    }
}

/// Fetch and unpack every selected wheel not yet in the cache, in parallel.
/// Returns the unpacked wheel folders in the order of `selected`.
pub fn hydrate_wheels(
    cache: &Cache,
    selected: &[Selected],
    settings: &Settings,
) -> Result<Vec<PathBuf>> {
    let dirs: Vec<PathBuf> = selected
        .iter()
        .map(|s| {
            let entry = Path::new("wheels").join(&s.wheel.sha256);
            cache
                .find(&entry)
                .unwrap_or_else(|| cache.wheel_dir(&s.wheel.sha256))
        })
        .collect();
    let mut missing: Vec<usize> = (0..selected.len()).filter(|&i| !dirs[i].exists()).collect();
    // Largest first: the biggest wheel is the tail of a cold start, so start it
    // while the small ones fill the other workers.
    missing.sort_by_key(|&i| std::cmp::Reverse(selected[i].wheel.size.unwrap_or(0)));
    if missing.is_empty() {
        return Ok(dirs);
    }
    let sources = Sources::new(settings);
    let work = Work::new(&sources, cache, settings);
    if sources.offline() {
        let unavailable: Vec<String> = missing
            .iter()
            .map(|&i| &selected[i])
            .filter(|s| !sources.has_local_copy(s.wheel))
            .map(|s| {
                format!(
                    "{} {} ({}, sha256 {})",
                    s.package.name, s.package.version, s.wheel.filename, s.wheel.sha256
                )
            })
            .collect();
        if !unavailable.is_empty() {
            return Err(Error::msg(format!(
                "DPEX_OFFLINE is set and {} wheel(s) this app needs are neither in the cache nor in a \
                 DPEX_FIND_LINKS folder:\n  - {}\nPre-seed them: run `dpex hydrate app.pex` where the \
                 network is reachable (same DPEX_ROOT), or `dpex download app.pex -d DIR` there and set \
                 DPEX_FIND_LINKS=DIR here",
                unavailable.len(),
                unavailable.join("\n  - ")
            )));
        }
    }
    let total_bytes = missing.iter().filter_map(|&i| selected[i].wheel.size).sum();
    let progress = Progress::new(missing.len(), total_bytes, settings.verbose);
    let next = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    // Built wheels wait here, each under its lock, to be made durable with one
    // syncfs and published together (cache::publish_all).
    let staged = Mutex::new(Vec::new());
    let workers = missing.len().min(MAX_WORKERS);
    if settings.verbose > 1 && workers > 0 {
        eprintln!(
            "dpex: fetching {} wheels with {workers} workers, inflating with {}",
            missing.len(),
            crate::install::inflate::BACKEND
        );
    }
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                if !errors.lock().unwrap().is_empty() {
                    break;
                }
                let Some(&i) = missing.get(next.fetch_add(1, Ordering::SeqCst)) else {
                    break;
                };
                let item = &selected[i];
                // Before waiting for another process's lock, publish what is
                // staged, so that its waits never wait on ours.
                let mut publish_staged = || {
                    let batch = std::mem::take(&mut *staged.lock().unwrap());
                    publish_all(batch).map(drop)
                };
                match hydrate_one(&work, item, &dirs[i], &mut publish_staged) {
                    Ok(built) => {
                        staged.lock().unwrap().extend(built);
                        progress.wheel_done(&item.wheel.filename, item.wheel.size.unwrap_or(0))
                    }
                    Err(e) => errors.lock().unwrap().push(e),
                }
            });
        }
    });
    let mut errors = errors.into_inner().unwrap();
    if !errors.is_empty() {
        // The wheels built so far are dropped unpublished (work folders removed).
        return Err(errors.remove(0));
    }
    let staged = staged.into_inner().unwrap();
    let (count, publish_started) = (staged.len(), std::time::Instant::now());
    publish_all(staged)?;
    if settings.verbose > 1 && count > 0 {
        eprintln!(
            "dpex: {count} wheels written to disk (syncfs) and published in {} ms",
            publish_started.elapsed().as_millis()
        );
    }
    Ok(dirs)
}

/// What every download-and-unpack worker shares.
pub(crate) struct Work<'a> {
    sources: &'a Sources,
    /// `DPEX_STREAM_UNPACK`: unpack while the bytes arrive.
    stream: bool,
    budget: MemoryBudget,
    limits: UnpackLimits,
    lock_wait: crate::cache::lock::LockWait,
    verbose: u32,
}

impl<'a> Work<'a> {
    pub(crate) fn new(sources: &'a Sources, cache: &Cache, settings: &Settings) -> Work<'a> {
        Work {
            sources,
            stream: settings.stream_unpack,
            budget: MemoryBudget::new(settings.download_memory),
            limits: UnpackLimits::from_settings(settings),
            lock_wait: cache.lock_wait(),
            verbose: settings.verbose,
        }
    }
}

/// Bytes of downloads held in memory at once, over all workers: above it a
/// wheel goes to a temporary file instead (torch-sized wheels, many at once).
/// `DPEX_DOWNLOAD_MEMORY` sets it (bytes; 0: always a file), for hosts whose
/// memory limit is tight.
struct MemoryBudget {
    limit: u64,
    in_use: AtomicU64,
}

/// A share of the [`MemoryBudget`], returned on drop.
struct MemoryShare<'a>(&'a MemoryBudget, u64);

impl MemoryBudget {
    fn new(limit: u64) -> MemoryBudget {
        MemoryBudget {
            limit,
            in_use: AtomicU64::new(0),
        }
    }

    /// Only wheels whose size the lock records: an unsized one could be anything.
    fn reserve(&self, size: Option<u64>) -> Option<MemoryShare<'_>> {
        let size = size?;
        let before = self.in_use.fetch_add(size, Ordering::SeqCst);
        if before + size > self.limit {
            self.in_use.fetch_sub(size, Ordering::SeqCst);
            return None;
        }
        Some(MemoryShare(self, size))
    }
}

impl Drop for MemoryShare<'_> {
    fn drop(&mut self) {
        self.0.in_use.fetch_sub(self.1, Ordering::SeqCst);
    }
}

/// Fetch and unpack one wheel into its entry, staged for [`publish_all`].
fn hydrate_one(
    work: &Work,
    item: &Selected,
    dir: &Path,
    before_waiting: &mut dyn FnMut() -> Result<()>,
) -> Result<Option<Staged>> {
    stage_dir(dir, work.lock_wait, before_waiting, |staging| {
        fetch_and_unpack(work, item, staging)
    })
}

/// Fetch one wheel and unpack it into `staging`: while its bytes arrive, or
/// (`DPEX_STREAM_UNPACK=0`, or a wheel the stream reader defers) downloaded
/// whole, then unpacked. Writes the entry's [`WheelRecord`].
pub(crate) fn fetch_and_unpack(work: &Work, item: &Selected, staging: &Path) -> Result<()> {
    let (sources, verbose) = (work.sources, work.verbose);
    let wheel = item.wheel;
    if verbose > 1 {
        eprintln!("dpex: fetching {}", wheel.filename);
    }
    let started = std::time::Instant::now();
    let streamed = if work.stream {
        let mut stream = StreamUnpack::new(staging, &wheel.filename, work.limits);
        sources.fetch_streamed(&item.package.name, wheel, &mut stream)?;
        match stream.finish()? {
            Ok(()) => true,
            Err(why) => {
                if verbose > 1 {
                    eprintln!(
                        "dpex: {}: unpacking after the download instead ({why})",
                        wheel.filename
                    );
                }
                false
            }
        }
    } else {
        false
    };
    if streamed {
        if verbose > 1 {
            eprintln!(
                "dpex: {}: fetched and unpacked in {} ms",
                wheel.filename,
                started.elapsed().as_millis()
            );
        }
    } else {
        fetch_then_unpack(work, item, staging, started)?;
    }
    let record = WheelRecord {
        project: item.package.name.clone(),
        version: item.package.version.clone(),
        filename: wheel.filename.clone(),
    };
    write_record(staging, WHEEL_RECORD, &record)
}

/// The whole download first (in memory when it fits the budget, else in a
/// file of the staging folder), then unpacked from the verified bytes.
fn fetch_then_unpack(
    work: &Work,
    item: &Selected,
    staging: &Path,
    started: std::time::Instant,
) -> Result<()> {
    let (sources, wheel) = (work.sources, item.wheel);
    let in_memory = work.budget.reserve(wheel.size);
    let (unpacked, fetched) = if in_memory.is_some() {
        let bytes = sources.fetch_to_memory(&item.package.name, wheel)?;
        let fetched = started.elapsed();
        (
            unpack::unpack_wheel_bytes(&bytes, &wheel.filename, staging, work.limits),
            fetched,
        )
    } else {
        let download = staging.join(".download.whl");
        sources.fetch(&item.package.name, wheel, &download)?;
        let fetched = started.elapsed();
        let unpacked = unpack::unpack_wheel(&download, &wheel.filename, staging, work.limits);
        let _ = std::fs::remove_file(&download);
        (unpacked, fetched)
    };
    if work.verbose > 1 {
        eprintln!(
            "dpex: {}: fetched in {} ms, unpacked in {} ms",
            wheel.filename,
            fetched.as_millis(),
            (started.elapsed() - fetched).as_millis()
        );
    }
    unpacked
}

/// Extract every entry of the app's zip into `dest` (a staging folder).
fn extract_app(app: &AppZip, dest: &Path, limits: UnpackLimits) -> Result<()> {
    let what = app.path.display().to_string();
    // Read, not mapped: someone may rewrite app.pex in place meanwhile, and a
    // map would then fault; the entries' CRCs catch changed bytes.
    let bytes = std::fs::read(&app.path).map_err(|e| Error::io("read", &app.path, e))?;
    unpack::unpack_zip(&bytes, dest, &what, limits, |p| Ok(Some(p.to_path_buf())))
}
