//! `dpex hydrate`, `dpex download` and `dpex kernelspec install`: operations on
//! a built app.pex, through the same library code its launcher runs.

use crate::cache_admin;
use dpex_launcher::cache::in_use::{read_record, EnvRecord, ENV_RECORD};
use dpex_launcher::cache::Cache;
use dpex_launcher::format::app_zip::AppZip;
use dpex_launcher::format::pexinfo::{LockedWheel, PexInfo};
use dpex_launcher::install::fetch::Sources;
use dpex_launcher::install::{export, hydrate, venv};
use dpex_launcher::run::interpreter;
use dpex_launcher::settings::Settings;
use dpex_launcher::standards::python::InterpreterInfo;
use std::path::{Path, PathBuf};

/// The launcher's settings, read from this process's environment: `dpex`
/// commands fill and read the same cache the apps' launchers use.
fn settings() -> Result<Settings, String> {
    Settings::from_env().map_err(|e| e.to_string())
}

/// The interpreter an app with these constraints (and `--python-shebang`)
/// would run under here.
pub fn this_hosts_interpreter(
    constraints: &[String],
    shebang: Option<&str>,
) -> Result<InterpreterInfo, String> {
    let settings = settings()?;
    let cache = Cache::from_settings(&settings).map_err(|e| e.to_string())?;
    interpreter::find_interpreter(&cache, constraints, shebang, &settings)
        .map_err(|e| e.to_string())
}

fn open_app(app: &Path) -> Result<(AppZip, PexInfo), String> {
    let mut zip = AppZip::open(app).map_err(|e| e.to_string())?;
    let info = zip.read_pex_info().map_err(|e| e.to_string())?;
    Ok((zip, info))
}

/// Choose the interpreter as the launcher would, or use `python`.
fn choose_interpreter(
    cache: &Cache,
    info: &PexInfo,
    python: Option<&Path>,
    settings: &Settings,
) -> Result<InterpreterInfo, String> {
    let mut settings = settings.clone();
    if let Some(python) = python {
        // The launcher's own precedence starts with PEX_PYTHON.
        settings.python = Some(python.into());
    }
    interpreter::find_interpreter(
        cache,
        &info.interpreter_constraints,
        info.python_shebang.as_deref(),
        &settings,
    )
    .map_err(|e| e.to_string())
}

/// The app's environment for `python` (or the interpreter the launcher would
/// choose), made as a first run makes it: -> (the cache, the interpreter, the environment).
fn ensure_environment(
    app: &Path,
    python: Option<&Path>,
) -> Result<(Cache, InterpreterInfo, hydrate::Environment), String> {
    let (zip, info) = open_app(app)?;
    let mut settings = settings()?;
    // Progress and warnings, as with PEX_VERBOSE=1.
    settings.verbose = settings.verbose.max(1);
    let cache = Cache::from_settings(&settings).map_err(|e| e.to_string())?;
    let python = choose_interpreter(&cache, &info, python, &settings)?;
    let env = hydrate::ensure_environment(&cache, &zip, &info, &python, &settings)
        .map_err(|e| e.to_string())?;
    Ok((cache, python, env))
}

/// `dpex build --seed`: hydrate the app just written, as `dpex hydrate` does,
/// and print on stdout what pex's `--seed` prints: the command that runs it
/// (a dpex app runs warm from its own file), or with `verbose` a JSON object
/// (`seeded_from`, `pex_root`: the cache, `python`, `pex`: what to run).
pub fn seed(app: &Path, verbose: bool) -> Result<(), String> {
    let (cache, python, _) = ensure_environment(app, None)?;
    let app = std::fs::canonicalize(app).map_err(|e| format!("{}: {e}", app.display()))?;
    if verbose {
        let info = serde_json::json!({
            "seeded_from": app,
            "pex_root": cache.root(),
            "python": python.executable,
            "pex": app,
        });
        println!("{info}");
    } else {
        println!("{}", app.display());
    }
    Ok(())
}

/// Fill the cache for `app` ahead of time: the same steps as a first run,
/// without running the app.
pub fn hydrate(app: &Path, python: Option<&Path>, compile: bool) -> Result<(), String> {
    let (cache, python, env) = ensure_environment(app, python)?;
    if compile {
        // The wheels' bytecode goes to the shared site (the venv links its
        // folders; compileall does not follow links), the app's next to it.
        let python_path = venv::python_path(&env.env_dir);
        let site_dir = read_record::<EnvRecord>(&env.env_dir, ENV_RECORD).and_then(|r| r.site_dir);
        let site = site_dir
            .as_ref()
            .map(|site| site.join(venv::SITE_PACKAGES))
            .unwrap_or_else(|| env.env_dir.join(&python.purelib_rel));
        let status = std::process::Command::new(&python_path)
            .args(["-m", "compileall", "-q", "-j", "0"])
            .arg(&site)
            .arg(&env.app_dir)
            .env_remove("PYTHONDONTWRITEBYTECODE")
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|e| format!("cannot run {}: {e}", python_path.display()))?;
        if !status.success() {
            eprintln!(
                "dpex: warning: compileall reported errors ({status}); modules that failed will compile on import"
            );
        } else if let Some(site_dir) = site_dir.filter(|s| s.starts_with(cache.root())) {
            // A cache mounted read-only later (an image layer) is worth
            // sharing with new versions of the app only with its bytecode.
            let mark = site_dir.join(hydrate::COMPILED_MARK);
            if let Err(e) = std::fs::write(&mark, b"") {
                eprintln!("dpex: warning: cannot write {}: {e}", mark.display());
            }
        }
    }
    eprintln!(
        "dpex: {} is ready for {} in {}",
        app.display(),
        python.executable.display(),
        env.env_dir.display()
    );
    Ok(())
}

/// `dpex venv`: hydrate the app, then export its environment as a venv. The
/// app is first rebuilt with this dpex's launcher ([`pexfile::restub`]): the
/// venv's `pex` must know how to run from the venv, even for an app built by
/// an older dpex.
pub fn venv(
    app: &Path,
    dest: &Path,
    python: Option<&Path>,
    options: export::ExportOptions,
) -> Result<(), String> {
    let bytes = crate::pexfile::restub(app)?;
    let settings = settings()?;
    let cache = Cache::from_settings(&settings).map_err(|e| e.to_string())?;
    let tmp = cache.tmp_dir();
    std::fs::create_dir_all(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    let restubbed = tmp.join(format!("venv-app-{}.pex", std::process::id()));
    crate::pexfile::write_executable(&restubbed, &bytes)?;
    let exported = (|| {
        let (zip, info) = open_app(&restubbed)?;
        let python = choose_interpreter(&cache, &info, python, &settings)?;
        let env = hydrate::ensure_environment(&cache, &zip, &info, &python, &settings)
            .map_err(|e| e.to_string())?;
        export::export_venv(&restubbed, &env, &python, dest, options).map_err(|e| e.to_string())?;
        Ok::<_, String>(python)
    })();
    let _ = std::fs::remove_file(&restubbed);
    let python = exported?;
    eprintln!(
        "dpex: {} is exported as a venv at {} (python {}); {}",
        app.display(),
        dest.display(),
        python.executable.display(),
        export::next_step(dest, options.scope)
    );
    Ok(())
}

/// `dpex info`: PEX-INFO's main keys, then the wheels an interpreter of this
/// host would use and whether each is in the cache (or a layer).
pub fn info(app: &Path, python: Option<&Path>, raw: bool) -> Result<(), String> {
    let (_, info) = open_app(app)?;
    if raw {
        println!(
            "{}",
            serde_json::to_string_pretty(&info).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    let settings = settings()?;
    let cache = Cache::from_settings(&settings).map_err(|e| e.to_string())?;
    let entry = info
        .entry_point
        .as_deref()
        .map(|e| format!("entry point {e}"))
        .or_else(|| info.script.as_deref().map(|s| format!("script {s}")))
        .unwrap_or_else(|| "interpreter (no entry point)".to_string());
    println!("{}", app.display());
    println!("  runs: {entry}");
    println!("  pex_hash: {}", info.pex_hash.as_deref().unwrap_or("?"));
    let mut head = Vec::new();
    if let Ok(file) = std::fs::File::open(app) {
        let _ = std::io::Read::read_to_end(&mut std::io::Read::take(file, 4096), &mut head);
    }
    let archs: Vec<&str> = crate::launchers::archs_of(&head)
        .into_iter()
        .map(|a| a.name())
        .collect();
    println!(
        "  launchers: {}",
        if archs.is_empty() {
            "unknown".to_string()
        } else {
            archs.join(", ") + " Linux"
        }
    );
    if !info.interpreter_constraints.is_empty() {
        println!(
            "  interpreter constraints: {}",
            info.interpreter_constraints.join(" or ")
        );
    }
    let locked: usize = info
        .dehydrated_requirements
        .iter()
        .map(|p| p.wheels.len())
        .sum();
    println!(
        "  locked: {} packages, {locked} wheels",
        info.dehydrated_requirements.len()
    );
    let python = match choose_interpreter(&cache, &info, python, &settings) {
        Ok(python) => python,
        Err(e) => {
            println!("  on this host: no interpreter fits ({e})");
            return Ok(());
        }
    };
    let selected = hydrate::select_wheels(&info, &python).map_err(|e| e.to_string())?;
    println!(
        "  on this host: {} ({} wheels, cache {})",
        interpreter::describe(&python.executable, &python),
        selected.len(),
        cache.root().display()
    );
    for s in &selected {
        let entry = Path::new("wheels").join(&s.wheel.sha256);
        let state = match cache.find(&entry) {
            Some(dir) if dir.starts_with(cache.root()) => "cached",
            Some(_) => "in a cache layer",
            None => "missing",
        };
        let size = s.wheel.size.map_or_else(
            || "size not locked".to_string(),
            |b| format!("{:.1} MB", b as f64 / 1e6),
        );
        println!(
            "    {} {}  {}  {size}  {state}",
            s.package.name, s.package.version, s.wheel.filename
        );
    }
    Ok(())
}

/// Fetch the app's wheels into `dest` (all locked wheels, or those one
/// interpreter needs), verified, for `DPEX_FIND_LINKS` on air-gapped hosts.
pub fn download(app: &Path, dest: &Path, python: Option<&Path>) -> Result<(), String> {
    let (_, info) = open_app(app)?;
    let settings = settings()?;
    let wanted: Vec<(&str, &LockedWheel)> = match python {
        Some(_) => {
            let cache = Cache::from_settings(&settings).map_err(|e| e.to_string())?;
            let python = choose_interpreter(&cache, &info, python, &settings)?;
            hydrate::select_wheels(&info, &python)
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|s| (s.package.name.as_str(), s.wheel))
                .collect()
        }
        None => info
            .dehydrated_requirements
            .iter()
            .flat_map(|p| p.wheels.iter().map(move |w| (p.name.as_str(), w)))
            .collect(),
    };
    std::fs::create_dir_all(dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    let sources = Sources::new(&settings);
    let mut fetched = 0;
    for (project, wheel) in &wanted {
        let target = dest.join(&wheel.filename);
        if target.is_file() && file_sha256(&target).as_deref() == Some(wheel.sha256.as_str()) {
            continue;
        }
        let partial = dest.join(format!(".{}.part", wheel.filename));
        sources
            .fetch(project, wheel, &partial)
            .map_err(|e| e.to_string())?;
        std::fs::rename(&partial, &target)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        fetched += 1;
    }
    eprintln!(
        "dpex: {} wheels in {} ({fetched} fetched)",
        wanted.len(),
        dest.display()
    );
    Ok(())
}

fn file_sha256(path: &Path) -> Option<String> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).ok()?;
    Some(dpex_launcher::standards::digest::hex(&hasher.finalize()))
}

/// Where `dpex kernelspec install` writes.
pub enum KernelLocation {
    User,
    Prefix(PathBuf),
}

/// Write a Jupyter kernelspec that starts `app` as an ipykernel in
/// interpreter mode. Returns the kernelspec folder.
pub fn install_kernelspec(
    app: &Path,
    name: &str,
    display_name: Option<&str>,
    location: KernelLocation,
) -> Result<PathBuf, String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
    {
        return Err(format!(
            "kernel name {name:?} may only hold ASCII letters, digits, '-', '.' and '_'"
        ));
    }
    open_app(app)?;
    let app =
        std::fs::canonicalize(app).map_err(|e| format!("cannot resolve {}: {e}", app.display()))?;
    let base = match location {
        KernelLocation::Prefix(prefix) => prefix.join("share").join("jupyter"),
        KernelLocation::User => {
            match std::env::var_os("JUPYTER_DATA_DIR").filter(|v| !v.is_empty()) {
                Some(dir) => PathBuf::from(dir),
                None => dirs::data_dir()
                    .ok_or("cannot find the user data folder: set HOME or JUPYTER_DATA_DIR")?
                    .join("jupyter"),
            }
        }
    };
    let dir = base.join("kernels").join(name.to_lowercase());
    let spec = serde_json::json!({
        "argv": [app, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display_name.unwrap_or(name),
        "language": "python",
        "interrupt_mode": "signal",
        "env": {"PEX_INTERPRETER": "1"},
        "metadata": {"dpex": {"app": app}},
    });
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let text = serde_json::to_string_pretty(&spec).unwrap() + "\n";
    std::fs::write(dir.join("kernel.json"), text)
        .map_err(|e| format!("cannot write {}: {e}", dir.join("kernel.json").display()))?;
    Ok(dir)
}

/// `dpex cache ...`.
pub enum CacheOp {
    Info,
    Prune(String),
    Verify { repair: bool },
}

pub fn cache(op: CacheOp) -> Result<(), String> {
    let cache = Cache::from_settings(&settings()?).map_err(|e| e.to_string())?;
    match op {
        CacheOp::Info => print!("{}", cache_admin::info(&cache)),
        CacheOp::Prune(age) => {
            let older_than = cache_admin::parse_age(&age).map_err(|e| e.to_string())?;
            let report = cache_admin::prune(&cache, older_than).map_err(|e| e.to_string())?;
            println!(
                "removed {} environments, {} apps, {} sites, {} wheels ({:.1} MB); {} unused environments are in use now and were kept",
                report.envs,
                report.apps,
                report.sites,
                report.wheels,
                report.freed as f64 / 1e6,
                report.busy
            );
        }
        CacheOp::Verify { repair } => {
            let damaged = cache_admin::verify(&cache, repair).map_err(|e| e.to_string())?;
            for damage in &damaged {
                println!("damaged: {}", damage.entry.display());
                for problem in damage.problems.iter().take(10) {
                    println!("  {problem}");
                }
            }
            if damaged.is_empty() {
                println!("all wheel entries match their RECORD");
            } else if repair {
                println!(
                    "removed {} damaged wheel entries and the environments using them",
                    damaged.len()
                );
            } else {
                return Err(format!(
                    "{} wheel entries are damaged; run `dpex cache verify --repair` to remove them \
                     (the next run fetches them again)",
                    damaged.len()
                ));
            }
        }
    }
    Ok(())
}
