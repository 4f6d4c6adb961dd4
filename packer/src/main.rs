//! `dpex`: build dehydrated PEX files. See README.md and docs/.

mod build_properties;
mod cache_admin;
mod launchers;
mod ops;
mod pex_flags;
mod pexfile;
mod platforms;

use clap::{Args, Parser, Subcommand};
use dpex_launcher::format::pexinfo::{InheritPath, PexInfo};
use dpex_launcher::install::export;
use dpex_launcher::standards::version::normalize_name;
use dpex_packer::{lock, shell};
use launchers::Arch;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "dpex",
    version,
    long_version = long_version(),
    // `dpex build --version` as `pex --version`: pipelines that check the tool's version.
    propagate_version = true,
    about = "Build dehydrated PEX files: a native launcher and your code; \
the locked wheels are fetched, verified and cached at first run."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `dpex --version`: what each embedded launcher inflates with (packer/build.rs), and what
/// this binary itself does when it unpacks wheels (hydrate, venv: the linked backend).
fn long_version() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "{}\nlaunchers: x86_64 inflates with {}, aarch64 with {}\nhydrate, venv: dpex inflates with {}",
            env!("CARGO_PKG_VERSION"),
            env!("DPEX_STUB_INFLATE_X86_64"),
            env!("DPEX_STUB_INFLATE_AARCH64"),
            dpex_launcher::install::inflate::BACKEND
        )
    })
}

#[derive(Subcommand)]
enum Command {
    /// Write app.pex from a lock and your sources. Downloads no wheel.
    #[command(display_name = "dpex")]
    Build(Box<BuildArgs>),
    /// Fill the cache for an app ahead of its first run (image builds, deploy
    /// pipelines): the same steps as a first run, without running it.
    Hydrate {
        /// The app.
        app: PathBuf,
        /// Prepare it for this interpreter (default: the one the app would choose).
        #[arg(long, value_name = "PATH")]
        python: Option<PathBuf>,
        /// Also write the bytecode of every module (in parallel), so that even the
        /// first import of each is warm: for images, where the time is free.
        #[arg(long)]
        compile: bool,
    },
    /// Fetch the wheels an app needs into a folder, verified (for air-gapped
    /// hosts: point DPEX_FIND_LINKS at it).
    Download {
        /// The app.
        app: PathBuf,
        /// The folder to fill.
        #[arg(short = 'd', long = "dest", value_name = "DIR")]
        dest: PathBuf,
        /// Only the wheels this interpreter needs (default: every locked wheel).
        #[arg(long, value_name = "PATH")]
        python: Option<PathBuf>,
    },
    /// Export an app as a venv of real files (Docker images, air-gapped hosts):
    /// DIR/pex runs it as ./app.pex would, without the cache. The same as
    /// `PEX_TOOLS=1 ./app.pex venv DIR`.
    Venv {
        /// The app.
        app: PathBuf,
        /// The venv to create.
        dir: PathBuf,
        /// The venv's interpreter (default: the one the app would choose).
        #[arg(long, value_name = "PATH")]
        python: Option<PathBuf>,
        /// Compile every module to bytecode.
        #[arg(long)]
        compile: bool,
        /// Replace DIR if it exists.
        #[arg(long)]
        force: bool,
        /// all; deps: the wheels only; srcs: then the app's sources and DIR/pex,
        /// into the DIR `--scope deps` made (an image's dependency layer, then its code layer).
        #[arg(long, value_name = "SCOPE", default_value = "all", value_parser = ["all", "deps", "srcs"])]
        scope: String,
    },
    /// What an app holds and needs: PEX-INFO, and the wheels it would use with
    /// an interpreter of this host, each with whether it is cached.
    Info {
        /// The app.
        app: PathBuf,
        /// For this interpreter (default: the one the app would choose).
        #[arg(long, value_name = "PATH")]
        python: Option<PathBuf>,
        /// PEX-INFO as JSON (what `PEX_TOOLS=1 ./app.pex info` prints for a pex).
        #[arg(long)]
        raw: bool,
    },
    /// Jupyter kernelspecs that start an app as an ipykernel.
    #[command(subcommand)]
    Kernelspec(KernelspecCommand),
    /// Inspect, prune and verify the cache (DPEX_ROOT).
    #[command(subcommand)]
    Cache(CacheCommand),
}

#[derive(Subcommand)]
enum CacheCommand {
    /// Sizes per app environment and per wheel, and which apps use each wheel.
    Info,
    /// Remove environments not used for a while (and not running now), then
    /// the apps and wheels no remaining environment needs.
    Prune {
        /// Only environments unused for this long: 30d, 12h, 90m, 2w, 0 (all unused).
        #[arg(long = "older-than", value_name = "AGE", default_value = "30d")]
        older_than: String,
    },
    /// Re-check every unpacked wheel against its RECORD.
    Verify {
        /// Remove damaged wheels and the environments using them (the next run fetches them again).
        #[arg(long)]
        repair: bool,
    },
}

#[derive(Subcommand)]
enum KernelspecCommand {
    /// Write a kernelspec whose argv is `app.pex -m ipykernel_launcher -f {connection_file}`
    /// (with PEX_INTERPRETER=1). ipykernel must be in the app's lock.
    Install {
        /// The app.
        app: PathBuf,
        /// The kernel's name (folder name).
        #[arg(long)]
        name: String,
        /// The name Jupyter shows (default: --name).
        #[arg(long = "display-name")]
        display_name: Option<String>,
        /// Install for the current user (the default).
        #[arg(long, conflicts_with = "prefix")]
        user: bool,
        /// Install under DIR/share/jupyter/kernels.
        #[arg(long, value_name = "DIR")]
        prefix: Option<PathBuf>,
    },
}

#[derive(Args)]
struct BuildArgs {
    /// A PEP 751 pylock.toml, or a pex lock (`pex3 lock create`, JSON): every
    /// wheel of every package is recorded.
    #[arg(
        long,
        alias = "pex-lock",
        alias = "pylock",
        alias = "pep-751-lock",
        value_name = "FILE"
    )]
    lock: Option<PathBuf>,
    /// With --lock: build from only what these requirements need (pex's
    /// `pex --lock lock.json REQ...`), e.g. `requests` or `idna>=3`.
    #[arg(value_name = "REQUIREMENT")]
    requirements: Vec<String>,
    /// A requirements.txt where every line is pinned `==` with `--hash=sha256:`;
    /// each hash is looked up on the index (no wheel is downloaded). With
    /// --lock: requirements to select from the lock, as REQUIREMENT does.
    #[arg(
        short = 'r',
        long = "requirement",
        alias = "requirements",
        alias = "with-requirements",
        value_name = "FILE"
    )]
    requirement: Option<PathBuf>,
    /// Simple index (PEP 503/691) to look `-r` hashes up on; repeatable, first match wins.
    #[arg(short = 'i', long = "index-url", alias = "index", value_name = "URL")]
    index_url: Vec<String>,
    /// A directory of the app's sources, put at the zip's root; repeatable
    /// (pex's `-R`/`--resources-directory` is the same).
    #[arg(
        short = 'D',
        long = "sources-directory",
        short_alias = 'R',
        alias = "resources-directory",
        value_name = "DIR"
    )]
    sources_directory: Vec<PathBuf>,
    /// A package of the app (with its subpackages), as pex's `-P`: `foo`
    /// (from the current folder) or `foo.bar@src`; repeatable.
    #[arg(short = 'P', long = "package", value_name = "NAME[@DIR]")]
    package: Vec<String>,
    /// A module of the app, as pex's `-M`: `foo` (foo.py) or `foo.bar@src`; repeatable.
    #[arg(short = 'M', long = "module", value_name = "NAME[@DIR]")]
    module: Vec<String>,
    /// What the app runs: `module` (as __main__) or `module:function`.
    #[arg(
        short = 'e',
        visible_short_alias = 'm',
        long = "entry-point",
        value_name = "MOD[:FUNC]",
        conflicts_with = "script"
    )]
    entry_point: Option<String>,
    /// Run a console script of a locked wheel instead of an entry point.
    #[arg(
        short = 'c',
        long = "script",
        alias = "console-script",
        value_name = "NAME"
    )]
    script: Option<String>,
    /// Run this Python script as the app (pex's `--exe`): it is packed as
    /// `__pex_executable__.py` and run as the `__pex_executable__` module, as pex does.
    #[arg(
        long = "exe",
        alias = "executable",
        alias = "python-script",
        value_name = "FILE",
        conflicts_with_all = ["entry_point", "script"]
    )]
    exe: Option<PathBuf>,
    /// Where to write the app.
    #[arg(short = 'o', long = "output-file", value_name = "FILE")]
    output_file: PathBuf,
    /// The interpreter `./app.pex` runs under, as pex's shebang picks it:
    /// `/usr/bin/env python3.11` (a name on PATH) or `/usr/bin/python3.11`.
    /// PEX_PYTHON, PEX_PYTHON_PATH and `python app.pex` choose over it.
    #[arg(long = "python-shebang", value_name = "SHEBANG")]
    python_shebang: Option<String>,
    /// Interpreters the app may run on, e.g. `CPython==3.11.*`; repeatable (any may match).
    #[arg(long = "interpreter-constraint", value_name = "CONSTRAINT")]
    interpreter_constraint: Vec<String>,
    /// Let PYTHONPATH in: `prefer` (before the app's wheels), `fallback` (after), `false`.
    #[arg(long = "inherit-path", value_name = "MODE", num_args = 0..=1, default_missing_value = "prefer", default_value = "false")]
    inherit_path: String,
    /// Arguments put before the user's, for the built-in entry point (shell-quoted).
    #[arg(long = "inject-args", value_name = "ARGS")]
    inject_args: Vec<String>,
    /// `NAME=VALUE` set for the app when not already set; repeatable.
    #[arg(long = "inject-env", value_name = "NAME=VALUE")]
    inject_env: Vec<String>,
    /// Interpreter flags every run starts Python with, e.g. `-u` or `-X dev` (shell-quoted).
    #[arg(
        long = "inject-python-args",
        value_name = "ARGS",
        allow_hyphen_values = true
    )]
    inject_python_args: Vec<String>,
    /// Keep PEX_* variables in the app's environment.
    #[arg(long = "no-strip-pex-env")]
    no_strip_pex_env: bool,
    /// pex's default, and dpex's: strip PEX_* variables (accepted for pex's command lines).
    #[arg(
        long = "strip-pex-env",
        hide = true,
        conflicts_with = "no_strip_pex_env"
    )]
    _strip_pex_env: bool,
    /// Don't check that the entry point's module is among the sources.
    #[arg(long = "no-validate-entry-point")]
    no_validate_entry_point: bool,
    /// dpex always checks the entry point (accepted for pex's command lines).
    #[arg(
        long = "validate-entry-point",
        hide = true,
        conflicts_with = "no_validate_entry_point"
    )]
    _validate_entry_point: bool,
    /// Every dpex app has the `venv` tool (accepted for pex's command lines).
    #[arg(long = "include-tools", hide = true)]
    _include_tools: bool,
    /// A host kind the app is for, as pex spells it (PLATFORM-IMPL-PYVER-ABI,
    /// e.g. manylinux2014_aarch64-cp-311-cp311); repeatable. Only wheels that
    /// fit one are recorded, and the app carries launchers for their
    /// architectures. Default: every architecture the lock has wheels for.
    #[arg(
        long = "platform",
        alias = "abbreviated-platform",
        value_name = "PLATFORM"
    )]
    platform: Vec<String>,
    /// A host kind as a JSON file of `pex3 interpreter inspect --markers --tags`; repeatable.
    #[arg(long = "complete-platform", value_name = "FILE")]
    complete_platform: Vec<PathBuf>,
    /// `ENV_NAME=RESOURCE_PATH`: at run time ENV_NAME is set to the absolute path of the first
    /// file RESOURCE_PATH (relative, `/`-separated) names on sys.path; repeatable.
    #[arg(long = "bind-resource-path", value_name = "ENV=PATH")]
    bind_resource_path: Vec<String>,
    /// Python run first at every start of the app, before dpex's boot (pex's option).
    #[arg(long = "preamble-file", value_name = "FILE")]
    preamble_file: Option<PathBuf>,
    /// PEX-INFO build_properties: a JSON object, or a file holding one.
    #[arg(long = "build-properties", value_name = "JSON|FILE")]
    build_properties: Option<String>,
    /// Add `NAME=VALUE` to build_properties (VALUE as JSON, else a string); repeatable.
    #[arg(long = "build-property", value_name = "NAME=VALUE")]
    build_property: Vec<String>,
    /// Record the git state (commit, description, branch, tag) in build_properties.
    #[arg(long = "record-git-state", overrides_with = "no_record_git_state")]
    record_git_state: bool,
    /// pex's default, and dpex's: no git state (accepted for pex's command lines).
    #[arg(
        long = "no-record-git-state",
        hide = true,
        overrides_with = "record_git_state"
    )]
    no_record_git_state: bool,
    /// After the build, fill this host's cache for the app (as `dpex hydrate`)
    /// and print the command to run it (`args`, the default) or a JSON object
    /// of what was seeded (`verbose`), as pex's `--seed` does.
    #[arg(
        long = "seed",
        value_name = "none|args|verbose",
        num_args = 0..=1,
        default_missing_value = "args",
        value_parser = ["none", "args", "verbose"]
    )]
    seed: Option<String>,
    /// pex's deprecated `--seed=none`.
    #[arg(long = "no-seed", hide = true, conflicts_with = "seed")]
    _no_seed: bool,
    /// The launcher stub to prepend (default: the ones built with this dpex).
    #[arg(long = "launcher", value_name = "PATH", conflicts_with_all = ["platform", "complete_platform"])]
    launcher: Option<PathBuf>,
}

/// For a word of `dpex build`'s command line: `Some(its value may start with
/// a dash)` if it is one of its options that takes a value, else None.
fn build_value_option(word: &str) -> Option<bool> {
    use clap::CommandFactory;
    let command = Cli::command();
    let build = command.find_subcommand("build")?;
    let arg = build.get_arguments().find(|arg| {
        if let Some(long) = word.strip_prefix("--") {
            arg.get_long() == Some(long)
                || arg
                    .get_all_aliases()
                    .is_some_and(|aliases| aliases.contains(&long))
        } else {
            let mut chars = word.chars();
            let (Some('-'), Some(short), None) = (chars.next(), chars.next(), chars.next()) else {
                return false;
            };
            arg.get_short() == Some(short)
                || arg
                    .get_all_short_aliases()
                    .is_some_and(|s| s.contains(&short))
        }
    })?;
    arg.get_action()
        .takes_values()
        .then(|| arg.is_allow_hyphen_values_set())
}

fn main() -> ExitCode {
    // `dpex info app.pex | head`: end quietly when the reader goes, as Unix tools
    // do, instead of panicking in println! on EPIPE (Rust ignores SIGPIPE).
    // SAFETY: setting a signal's disposition to its default, before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // pex's flags in a `dpex build` command line: every refused one named at
    // once, the harmless ones dropped with a warning.
    let args =
        match pex_flags::expand_argument_files(std::env::args_os().collect(), build_value_option) {
            Ok(args) => args,
            Err(message) => {
                eprintln!("dpex: error: {message}");
                return ExitCode::from(2);
            }
        };
    let scanned = pex_flags::scan(args, build_value_option);
    if !scanned.errors.is_empty() {
        for message in &scanned.errors {
            eprintln!("dpex: error: {message}");
        }
        return ExitCode::from(2);
    }
    for warning in &scanned.warnings {
        eprintln!("dpex: warning: {warning}");
    }
    let cli = match Cli::try_parse_from(scanned.args) {
        Ok(cli) => cli,
        Err(e) => {
            // A pex flag dpex does not take: say why, not just "unexpected argument".
            if e.kind() == clap::error::ErrorKind::UnknownArgument {
                if let Some(clap::error::ContextValue::String(arg)) =
                    e.get(clap::error::ContextKind::InvalidArg)
                {
                    if let Some(message) = pex_flags::explain(arg) {
                        eprintln!("dpex: error: {message}");
                        return ExitCode::from(2);
                    }
                }
            }
            e.exit()
        }
    };
    let result = match cli.command {
        Command::Build(args) => build(*args),
        Command::Hydrate {
            app,
            python,
            compile,
        } => ops::hydrate(&app, python.as_deref(), compile),
        Command::Download { app, dest, python } => ops::download(&app, &dest, python.as_deref()),
        Command::Cache(command) => ops::cache(command_to_op(command)),
        Command::Venv {
            app,
            dir,
            python,
            compile,
            force,
            scope,
        } => ops::venv(
            &app,
            &dir,
            python.as_deref(),
            export::ExportOptions {
                compile,
                force,
                scope: export::Scope::parse(&scope).unwrap_or_default(),
            },
        ),
        Command::Info { app, python, raw } => ops::info(&app, python.as_deref(), raw),
        Command::Kernelspec(KernelspecCommand::Install {
            app,
            name,
            display_name,
            user: _,
            prefix,
        }) => {
            let location = match prefix {
                Some(dir) => ops::KernelLocation::Prefix(dir),
                None => ops::KernelLocation::User,
            };
            ops::install_kernelspec(&app, &name, display_name.as_deref(), location).map(|dir| {
                eprintln!("dpex: installed kernelspec {name} in {}", dir.display());
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("dpex: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn command_to_op(command: CacheCommand) -> ops::CacheOp {
    match command {
        CacheCommand::Info => ops::CacheOp::Info,
        CacheCommand::Prune { older_than } => ops::CacheOp::Prune(older_than),
        CacheCommand::Verify { repair } => ops::CacheOp::Verify { repair },
    }
}

fn build(args: BuildArgs) -> Result<(), String> {
    if args.lock.is_none() && !args.requirements.is_empty() {
        return Err(format!(
            "{} selects from a lock: give --lock FILE (dpex build resolves nothing; lock the \
             requirements first, e.g. pex3 lock create {} -o lock.json)",
            args.requirements.join(" "),
            args.requirements.join(" ")
        ));
    }
    let lock = match (&args.lock, &args.requirement) {
        (Some(path), selection) => {
            let mut selected = args.requirements.clone();
            if let Some(file) = selection {
                selected.extend(lock::read_selection(file)?);
            }
            lock::read_lock(path, &selected)?
        }
        (None, Some(path)) => {
            // The launcher's network settings (timeouts, PEX_VERBOSE), read the same way.
            let settings =
                dpex_launcher::settings::Settings::from_env().map_err(|e| e.to_string())?;
            let agent = dpex_launcher::net::http::Agent::new(settings.net);
            lock::read_requirements(path, &args.index_url, &agent)?
        }
        (None, None) => lock::LockInput::default(),
    };
    for warning in &lock.warnings {
        eprintln!("dpex: warning: {warning}");
    }
    let inherit_path = InheritPath::parse(&args.inherit_path).ok_or_else(|| {
        format!(
            "--inherit-path must be false, prefer or fallback, not {:?}",
            args.inherit_path
        )
    })?;
    let mut files = pexfile::collect_sources(&args.sources_directory, &args.package, &args.module)?;
    let mut entry_point = args.entry_point.clone();
    if let Some(exe) = &args.exe {
        entry_point = Some(pexfile::add_executable(&mut files, exe)?);
    }
    if let Some(entry_point) = &entry_point {
        check_entry_point(
            entry_point,
            &files,
            &lock,
            args.no_validate_entry_point,
            &args.sources_directory,
        )?;
    }
    pexfile::add_shim(&mut files);
    if let Some(preamble) = &args.preamble_file {
        pexfile::add_preamble(&mut files, preamble)?;
    }

    let mut packages = lock.packages.clone();
    let mut targets = Vec::new();
    for spelled in &args.platform {
        targets.push(if spelled == "current" {
            let constraints = if args.interpreter_constraint.is_empty() {
                &lock.interpreter_constraints
            } else {
                &args.interpreter_constraint
            };
            let shebang = args.python_shebang.as_deref();
            platforms::Platform::of_interpreter(&ops::this_hosts_interpreter(
                constraints,
                shebang,
            )?)?
        } else {
            platforms::Platform::abbreviated(spelled)?
        });
    }
    for path in &args.complete_platform {
        targets.push(platforms::Platform::complete(path)?);
    }
    let archs = if args.launcher.is_some() {
        Vec::new() // the given launcher goes in front, whatever the lock serves
    } else if targets.is_empty() {
        let chosen = platforms::default_archs(&packages, &launchers::available())?;
        for why in &chosen.left_out {
            eprintln!("dpex: warning: {why}");
        }
        chosen.archs
    } else {
        platforms::restrict(&mut packages, &targets)?;
        let mut archs: Vec<Arch> = targets.iter().map(|t| t.arch).collect();
        archs.sort();
        archs.dedup();
        archs
    };
    if let Some(requires_python) = &lock.requires_python {
        for package in packages.iter_mut().filter(|p| p.requires_python.is_none()) {
            package.requires_python = Some(requires_python.clone());
        }
    }
    let mut distributions = BTreeMap::new();
    for wheel in packages.iter().flat_map(|p| &p.wheels) {
        distributions.insert(wheel.filename.clone(), wheel.sha256.to_string());
    }
    let split_all = |option: &str, texts: &[String]| -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for text in texts {
            out.extend(shell::split(text).map_err(|e| format!("{option} {text:?} has {e}"))?);
        }
        Ok(out)
    };
    let inject_args = split_all("--inject-args", &args.inject_args)?;
    let inject_python_args = split_all("--inject-python-args", &args.inject_python_args)?;
    if let Some(bad) = inject_python_args.iter().find(|a| !a.starts_with('-')) {
        return Err(format!(
            "--inject-python-args takes interpreter flags (like -u or -X dev), not {bad:?}; \
             arguments for the app go in --inject-args"
        ));
    }
    let mut inject_env = BTreeMap::new();
    for pair in &args.inject_env {
        let (key, value) = pair
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| format!("--inject-env wants NAME=VALUE, not {pair:?}"))?;
        inject_env.insert(key.to_string(), value.to_string());
    }
    let mut bind_resource_paths = BTreeMap::new();
    for pair in &args.bind_resource_path {
        let (name, path) = pair
            .split_once('=')
            .filter(|(name, path)| !name.is_empty() && !path.is_empty())
            .ok_or_else(|| {
                format!("--bind-resource-path wants ENV_NAME=RESOURCE_PATH (a path on sys.path, with /), not {pair:?}")
            })?;
        if path.starts_with('/') || path.split('/').any(|part| part == "..") {
            return Err(format!(
                "--bind-resource-path {pair}: the resource path must be relative to sys.path (no leading / or ..)"
            ));
        }
        bind_resource_paths.insert(name.to_string(), path.to_string());
    }
    let mut build_properties: BTreeMap<_, _> = build_properties::from_flags(
        args.build_properties.as_deref(),
        &args.build_property,
        args.record_git_state,
    )?
    .into_iter()
    .collect();
    build_properties.insert(
        "dpex_version".to_string(),
        serde_json::Value::from(env!("CARGO_PKG_VERSION")),
    );
    let mut info = PexInfo {
        entry_point,
        script: args.script.clone(),
        requirements: lock.direct_requirements.clone(),
        // The command line's, else the lock's (a pex lock records them).
        interpreter_constraints: sorted(if args.interpreter_constraint.is_empty() {
            lock.interpreter_constraints.clone()
        } else {
            args.interpreter_constraint.clone()
        }),
        python_shebang: match &args.python_shebang {
            Some(shebang) => {
                dpex_launcher::run::interpreter::shebang_python(shebang)?;
                Some(shebang.trim().trim_start_matches("#!").trim().to_string())
            }
            None => None,
        },
        inherit_path,
        inject_args,
        inject_env,
        inject_python_args,
        strip_pex_env: !args.no_strip_pex_env,
        bind_resource_paths,
        code_hash: Some(pexfile::code_hash(&files)),
        pex_hash: None,
        build_properties,
        distributions,
        deps_are_wheel_files: true,
        dehydrated_requirements: packages,
    };
    for constraint in &info.interpreter_constraints {
        let (_, specifiers) = dpex_launcher::standards::python::split_constraint(constraint);
        dpex_launcher::standards::version::VersionSpecifiers::parse(specifiers).map_err(
            |e| match (&args.lock, args.interpreter_constraint.is_empty()) {
                (Some(lock), true) => format!(
                    "{}: its interpreter constraint {constraint:?} (requires_python) is not \
                     valid: {e}. Fix the lock, or give --interpreter-constraint",
                    lock.display()
                ),
                _ => format!("--interpreter-constraint {constraint:?} is not valid: {e}"),
            },
        )?;
    }
    info.pex_hash = Some(pexfile::pex_hash(&info));

    let front = match &args.launcher {
        Some(path) => std::fs::read(path)
            .map_err(|e| format!("cannot read the launcher {}: {e}", path.display()))?,
        None => {
            let mut stubs = Vec::new();
            for arch in archs {
                let stub = arch.embedded_stub().ok_or_else(|| {
                    format!(
                        "this dpex has no {} launcher (it was built without the {}-unknown-linux-musl \
                         target); build the app with --platform for {} only, or use a dpex built with both",
                        arch.name(),
                        arch.name(),
                        Arch::host().name()
                    )
                })?;
                stubs.push((arch, stub));
            }
            launchers::front(&stubs)
        }
    };
    let bytes = pexfile::render(&front, &files, &info)?;
    // `-o dist/app.pex` in a clean checkout: make the folder, as pex does.
    if let Some(parent) = args
        .output_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}, the folder of -o: {e}", parent.display()))?;
    }
    pexfile::write_executable(&args.output_file, &bytes)?;
    match args.seed.as_deref() {
        Some(mode @ ("args" | "verbose")) => ops::seed(&args.output_file, mode == "verbose"),
        _ => Ok(()),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The entry point's module must be among the sources (or be a locked
/// package's top-level name), so a typo fails at build time, not on a host.
fn check_entry_point(
    entry_point: &str,
    files: &pexfile::AppFiles,
    lock: &lock::LockInput,
    skip: bool,
    dirs: &[PathBuf],
) -> Result<(), String> {
    let (module, function) = match entry_point.split_once(':') {
        Some((m, f)) => (m, Some(f)),
        None => (entry_point, None),
    };
    let is_identifier = |s: &str| {
        !s.is_empty()
            && s.split('.').all(|p| {
                !p.is_empty()
                    && !p.starts_with(|c: char| c.is_ascii_digit())
                    && p.chars().all(|c| c.is_alphanumeric() || c == '_')
            })
    };
    if !is_identifier(module) || function.is_some_and(|f| !is_identifier(f)) {
        return Err(format!(
            "the entry point {entry_point:?} is not of the form module or module:function"
        ));
    }
    if skip {
        return Ok(());
    }
    let path = module.replace('.', "/");
    let found = files.contains_key(&format!("{path}.py"))
        || files.contains_key(&format!("{path}/__init__.py"))
        || files.keys().any(|k| k.starts_with(&format!("{path}/")))
        // A compiled module: `pkg/mod.cpython-311-x86_64-linux-gnu.so`, `pkg/mod.abi3.so`.
        || files.keys().any(|k| k.starts_with(&format!("{path}.")) && k.ends_with(".so"));
    if found {
        return Ok(());
    }
    let top = module.split('.').next().unwrap_or(module);
    if lock
        .packages
        .iter()
        .any(|p| normalize_name(&p.name) == normalize_name(top))
    {
        return Ok(());
    }
    let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(format!(
        "the entry point module {module:?} is not in the sources ({}): looked for {path}.py and {path}/__init__.py. \
         Check the -e value and -D directories, or pass --no-validate-entry-point if a locked wheel provides it",
        if searched.is_empty() { "no -D given".to_string() } else { searched.join(", ") }
    ))
}
