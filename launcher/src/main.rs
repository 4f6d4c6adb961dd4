//! The dpex launcher stub: the native executable at the front of every
//! dehydrated app.pex. See docs/format.md and docs/cache.md.

use dpex_launcher::cache::Cache;
use dpex_launcher::error::Result;
use dpex_launcher::{hydrate, interpreter, launch, venv, ziptail::AppZip};
use std::ffi::OsString;

fn main() {
    let error = match run() {
        Ok(never) => match never {},
        Err(e) => e,
    };
    eprintln!("dpex: error: {error}");
    std::process::exit(1);
}

fn run() -> Result<std::convert::Infallible> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let exe = std::env::current_exe().map_err(|e| {
        dpex_launcher::error::Error::msg(format!("cannot find the launcher's own file: {e}"))
    })?;
    let invoked = launch::invoked_path(
        args.first().map(OsString::as_os_str).unwrap_or_default(),
        &exe,
    );
    dpex_launcher::pexrc::apply(&invoked);
    // Bad PEX_* values fail here, before any download, as pex fails at boot.
    launch::check_env()?;
    let app_path = launch::app_path(&invoked);
    let verbose: u32 = std::env::var("PEX_VERBOSE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut app = AppZip::open(&exe)?;
    let info = app.read_pex_info()?;
    let cache = Cache::from_env()?;
    let started = std::time::Instant::now();
    let python = interpreter::find_interpreter(&cache, &info.interpreter_constraints)?;
    if verbose > 1 {
        eprintln!(
            "dpex: interpreter chosen in {} ms",
            started.elapsed().as_millis()
        );
    }
    if verbose > 0 {
        eprintln!("dpex: interpreter {}", python.executable.display());
    }
    let env = match hydrate::ensure_environment(&cache, &mut app, &info, &python, verbose) {
        // An unwritable cache (a read-only home, a locked-down host): warn in
        // one line, run from a per-user temporary cache, as pex does.
        Err(e) if e.is_unwritable() => {
            let fallback = cache.fallback()?;
            eprintln!(
                "dpex: warning: cannot write the cache {} ({e}); using {} for this run",
                cache.root().display(),
                fallback.root().display()
            );
            hydrate::ensure_environment(&fallback, &mut app, &info, &python, verbose)?
        }
        other => other?,
    };
    if verbose > 0 {
        eprintln!("dpex: environment {}", env.env_dir.display());
    }
    Err(launch::exec_python(
        &venv::python_path(&env.env_dir),
        &env.app_dir,
        &info,
        &app_path,
        &args[1.min(args.len())..],
    ))
}
