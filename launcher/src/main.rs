//! The dpex launcher stub: the native executable at the front of every
//! dehydrated app.pex. See docs/format.md and docs/cache.md.

use dpex_launcher::cache::Cache;
use dpex_launcher::error::{Error, Result};
use dpex_launcher::format::app_zip::AppZip;
use dpex_launcher::install::{export, hydrate, venv};
use dpex_launcher::run::app_file::{self, AppFile};
use dpex_launcher::run::{exec, interpreter, pexrc, tools};
use dpex_launcher::settings::Settings;
use std::ffi::OsString;

#[global_allocator]
static ALLOCATOR: dpex_launcher::arena::StartArena = dpex_launcher::arena::StartArena;

fn main() {
    if let Some(status) = app_file::stub_check() {
        std::process::exit(status);
    }
    let error = match run() {
        Ok(never) => match never {},
        Err(e) => e,
    };
    eprintln!("dpex: error: {error}");
    std::process::exit(1);
}

fn run() -> Result<std::convert::Infallible> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let AppFile { file: exe, invoked } =
        AppFile::current(args.first().map(OsString::as_os_str).unwrap_or_default())?;
    pexrc::apply(&invoked)?;
    // Bad PEX_*/DPEX_* values fail here, before any download, as pex fails at boot.
    let settings = Settings::from_env()?;
    let verbose = settings.verbose;
    if let Some(pex_path) = &settings.pex_path {
        eprintln!(
            "dpex: warning: PEX_PATH is set ({pex_path}), but a dpex app does not merge other pex \
             files: their packages are not on sys.path. Lock their requirements with this app's \
             and build one app (docs/compat.md)."
        );
    }
    let app_path = exec::app_path(&invoked);
    let mut app = AppZip::open(&exe)?;
    let info = app.read_pex_info()?;
    let user_args = &args[1.min(args.len())..];
    if let Some(venv_dir) = export::venv_of(&exe, info.pex_hash.as_deref()) {
        // The `pex` of an exported venv: run from the venv, never the cache.
        if settings.tools {
            return Err(Error::msg(
                "PEX_TOOLS=1 runs on the app file, not on an exported venv's `pex`",
            ));
        }
        let target =
            exec::Target::exported(venv::python_path(venv_dir), venv_dir.join(export::APP_DIR));
        return Err(exec::exec_python(
            &target, &info, &app_path, &invoked, user_args, &settings,
        ));
    }
    let tool = match settings.tools {
        true => match tools::parse(user_args)? {
            tools::Tool::Help => {
                print!("{}", tools::USAGE);
                std::process::exit(0)
            }
            venv_tool => Some(venv_tool),
        },
        false => None,
    };
    let cache = Cache::from_settings(&settings)?;
    let started = std::time::Instant::now();
    let python = interpreter::find_interpreter(
        &cache,
        &info.interpreter_constraints,
        info.python_shebang.as_deref(),
        &settings,
    )?;
    if verbose > 1 {
        eprintln!(
            "dpex: interpreter chosen in {} ms",
            started.elapsed().as_millis()
        );
    }
    if verbose > 0 {
        eprintln!("dpex: interpreter {}", python.executable.display());
    }
    // The fallback cache, when the environment comes from it (`--rm all` removes that one).
    let mut fallback_base = None;
    let env = match hydrate::ensure_environment(&cache, &app, &info, &python, &settings) {
        // An unwritable cache (a read-only home, a locked-down host, a YARN
        // container): run from a per-user temporary cache, as pex does. Warn in
        // one line when that cache gets the app's environment, not on every
        // later start from it (a Spark executor's tasks, a fleet's restarts).
        Err(e) if e.is_unwritable() => {
            let fallback = cache.fallback()?;
            let env = hydrate::ensure_environment(&fallback, &app, &info, &python, &settings)
                .map_err(|e2| {
                    Error::msg(format!(
                        "cannot write the cache {} ({e}), and the temporary cache {} failed too: {e2}",
                        cache.root().display(),
                        fallback.root().display()
                    ))
                })?;
            if env.built || verbose > 0 {
                eprintln!(
                    "dpex: warning: cannot write the cache {} ({e}); using {} instead (later \
                     starts from it say nothing)",
                    cache.root().display(),
                    fallback.root().display()
                );
            }
            fallback_base = Some(fallback.base().to_path_buf());
            env
        }
        other => other?,
    };
    if verbose > 0 {
        eprintln!("dpex: environment {}", env.env_dir.display());
    }
    if let Some(tools::Tool::Venv {
        dest,
        options,
        remove,
    }) = tool
    {
        export::export_venv(&exe, &env, &python, &dest, options)?;
        eprintln!(
            "dpex: the app is exported as a venv at {}; {}",
            dest.display(),
            export::next_step(&dest, options.scope)
        );
        // --rm: what an image keeps is the venv alone (pex's option). The cache
        // first: if it cannot go, the app stays and the error says so.
        if remove == Some(tools::Remove::AppAndCache) {
            let used_cache = fallback_base.as_deref().unwrap_or(cache.base());
            dpex_launcher::cache::atomic::remove_any(used_cache)
                .map_err(|e| Error::io("remove", used_cache, e))?;
            eprintln!("dpex: removed the cache {}", used_cache.display());
        }
        if remove.is_some() {
            std::fs::remove_file(&exe).map_err(|e| Error::io("remove", &exe, e))?;
            eprintln!("dpex: removed {}", exe.display());
        }
        std::process::exit(0);
    }
    let target = exec::Target::new(
        venv::python_path(&env.env_dir),
        env.app_dir,
        env.app_dir_writable,
        env.fresh_in,
        &python,
    );
    Err(exec::exec_python(
        &target, &info, &app_path, &invoked, user_args, &settings,
    ))
}
