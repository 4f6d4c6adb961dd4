//! The hand-off to Python: decide what to run (entry point, console script or
//! the interpreter itself), shape argv and the environment the way pex does,
//! and `execve` the environment's python, which keeps our PID.

use crate::error::Error;
use crate::format::pexinfo::{InheritPath, PexInfo};
use crate::settings::Settings;
use dpex_standards::python::InterpreterInfo;
use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// What the python-shim runs, passed in `__DPEX_ENTRY`.
#[derive(Debug, PartialEq, Eq)]
pub enum Entry {
    /// `module` or `module:func`.
    EntryPoint(String),
    /// A console script or `.data/scripts` file of a locked wheel.
    Script(String),
    /// Behave like the interpreter: `-c`, `-m`, a file, `-`, the REPL.
    Interpreter,
}

impl Entry {
    fn encode(&self) -> String {
        match self {
            Entry::EntryPoint(e) => format!("entry_point:{e}"),
            Entry::Script(s) => format!("script:{s}"),
            Entry::Interpreter => "interpreter".to_string(),
        }
    }
}

/// Choose the entry, pex's precedence: PEX_INTERPRETER, PEX_SCRIPT,
/// PEX_MODULE, then PEX-INFO's script or entry point, else the interpreter.
/// The bool says whether `inject_args` apply (only to the built-in entry).
pub fn choose_entry(info: &PexInfo, settings: &Settings) -> (Entry, bool) {
    if settings.interpreter_mode {
        return (Entry::Interpreter, false);
    }
    if let Some(script) = &settings.script {
        return (Entry::Script(script.clone()), false);
    }
    if let Some(module) = &settings.module {
        return (Entry::EntryPoint(module.clone()), false);
    }
    if let Some(script) = info.script.as_deref().filter(|s| !s.is_empty()) {
        return (Entry::Script(script.to_string()), true);
    }
    if let Some(entry) = info.entry_point.as_deref().filter(|s| !s.is_empty()) {
        return (Entry::EntryPoint(entry.to_string()), true);
    }
    (Entry::Interpreter, false)
}

/// Split leading interpreter options (`-u`, `-O`, `-X dev`, `-W error`, `-B`,
/// ...) off the arguments of interpreter mode: they go before the app folder
/// on python's command line, as they would with a bare `python`.
pub fn split_python_flags(args: &[OsString]) -> (Vec<OsString>, Vec<OsString>) {
    let mut i = 0;
    while i < args.len() {
        let Some(arg) = args[i].to_str() else { break };
        if arg == "-X" || arg == "-W" {
            if i + 1 >= args.len() {
                break;
            }
            i += 2;
        } else if is_attached_option(arg) || is_flag_cluster(arg) {
            i += 1;
        } else if let Some((flags, command)) = split_joined_command(arg) {
            let mut python_flags = args[..i].to_vec();
            python_flags.push(flags.into());
            let mut rest = vec![OsString::from(command)];
            rest.extend_from_slice(&args[i + 1..]);
            return (python_flags, rest);
        } else {
            break;
        }
    }
    (args[..i].to_vec(), args[i..].to_vec())
}

/// `-Xdev`, `-Werror`: an option with its value attached.
fn is_attached_option(arg: &str) -> bool {
    (arg.starts_with("-X") || arg.starts_with("-W")) && arg.len() > 2
}

/// Python's options that take no value.
const NO_ARG_FLAGS: &str = "bBdEhiIOPqRsSuvVx";

/// `-u`, `-OO`, `-uB`, `-V`, `--version`: flags that take no value.
fn is_flag_cluster(arg: &str) -> bool {
    if arg == "--version" || arg == "--help" {
        return true;
    }
    arg.len() > 1
        && arg.starts_with('-')
        && !arg.starts_with("--")
        && arg[1..].chars().all(|c| NO_ARG_FLAGS.contains(c))
}

/// `-uc` / `-Bm`: flags joined to a final `-c` or `-m`; split into the flags
/// and the `-c`/`-m` option.
fn split_joined_command(arg: &str) -> Option<(String, String)> {
    let body = arg.strip_prefix('-').filter(|_| !arg.starts_with("--"))?;
    let mut chars = body.chars();
    let last = chars.next_back()?;
    let flags = chars.as_str();
    if matches!(last, 'c' | 'm')
        && !flags.is_empty()
        && flags.chars().all(|c| NO_ARG_FLAGS.contains(c))
    {
        return Some((format!("-{flags}"), format!("-{last}")));
    }
    None
}

/// The path the app was started by, made absolute the way Python makes
/// `sys.argv[0]` of `python app.pex` absolute (joined to the working directory,
/// not normalized, symlinks kept: `./app.pex` -> `/x/./app.pex`), which is the
/// `sys.argv[0]` pex gives the app. A bare name (found on `PATH` by the shell)
/// is looked up on `PATH` as the shell did; pexrc files beside the app are
/// looked for in this path's folder.
pub fn invoked_path(argv0: &OsStr, current_exe: &Path) -> PathBuf {
    let named = Path::new(argv0);
    if argv0.as_encoded_bytes().contains(&b'/') {
        if named.is_absolute() {
            return named.to_path_buf();
        }
        if let Ok(cwd) = std::env::current_dir() {
            return cwd.join(named);
        }
    } else if !argv0.is_empty() {
        if let Some(found) = find_on_path(argv0, current_exe) {
            return found;
        }
    }
    current_exe.to_path_buf()
}

/// The first `PATH` entry holding `name` that is this very launcher.
fn find_on_path(name: &OsStr, current_exe: &Path) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let me = std::fs::canonicalize(current_exe).ok()?;
    for dir in std::env::split_paths(&path) {
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let candidate = dir.join(name);
        if std::fs::canonicalize(&candidate).ok().as_deref() == Some(me.as_path()) {
            if candidate.is_absolute() {
                return Some(candidate);
            }
            return std::env::current_dir().ok().map(|cwd| cwd.join(candidate));
        }
    }
    None
}

/// The app's real path (symlinks resolved), as pex sets `PEX` and `sys.argv[0]`.
pub fn app_path(invoked: &Path) -> PathBuf {
    std::fs::canonicalize(invoked).unwrap_or_else(|_| invoked.to_path_buf())
}

/// Replace `{pex.env.NAME}` (and `{pex.env[NAME]}`) in an `inject_args` entry
/// with the variable's value in the app's environment, or nothing when unset,
/// as pex does (`str.format` with a lenient namespace): `{{` and `}}` are
/// literal braces; other `{...}` fields are kept as written.
pub fn substitute_env(arg: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(arg.len());
    let mut rest = arg;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('{') {
            if let Some(close) = tail.find('}') {
                let field = &tail[1..close];
                let name = field.strip_prefix("pex.env.").or_else(|| {
                    field
                        .strip_prefix("pex.env[")
                        .and_then(|f| f.strip_suffix(']'))
                });
                if let Some(name) = name.filter(|n| !n.is_empty()) {
                    out.push_str(&lookup(name).unwrap_or_default());
                    rest = &tail[close + 1..];
                    continue;
                }
            }
        }
        out.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

/// What to exec: an environment's python and the app's cache entry.
pub struct Target {
    pub python: PathBuf,
    pub app_dir: PathBuf,
    /// The shim's boot module compiled for this interpreter (see
    /// [`main_pyc_name`]), when the entry has it: run in place of `__main__.py`.
    pub main_pyc: Option<PathBuf>,
    /// Where the shim should keep that file, when the entry lacks it.
    pub keep_main_pyc: Option<PathBuf>,
    /// The root of the cache the environment is in, when no environment was
    /// ready as this start began: other starts may be making the same first
    /// imports right now, so the shim has them compile each module of that
    /// cache once between them (docs/cache.md, "Bytecode").
    pub fresh_in: Option<PathBuf>,
}

impl Target {
    /// An app's cache entry run by `python` (the interpreter `info` probed);
    /// the shim adds its boot bytecode to a `writable` entry (not a layer's).
    pub fn new(
        python: PathBuf,
        app_dir: PathBuf,
        writable: bool,
        fresh_in: Option<PathBuf>,
        info: &InterpreterInfo,
    ) -> Target {
        let (mut main_pyc, mut keep_main_pyc) = (None, None);
        if let Some(name) = main_pyc_name(info) {
            let path = app_dir.join(name);
            if main_pyc_fits(&path, &app_dir, info) {
                main_pyc = Some(path);
            } else if writable {
                keep_main_pyc = Some(path);
            }
        }
        Target {
            python,
            app_dir,
            main_pyc,
            keep_main_pyc,
            fresh_in,
        }
    }

    /// An exported venv's app: always its `__main__.py` (nothing is written there).
    pub fn exported(python: PathBuf, app_dir: PathBuf) -> Target {
        Target {
            python,
            app_dir,
            main_pyc: None,
            keep_main_pyc: None,
            fresh_in: None,
        }
    }
}

/// How the names of [`main_pyc_name`] start (exports leave these files out).
pub const MAIN_PYC_PREFIX: &str = "__dpex_main__.";

/// The file name of the shim's boot module (`__dpex__/__init__.py`) compiled
/// by this interpreter, kept at the root of the app's cache entry:
/// `__dpex_main__.<magic>.pyc`, `<magic>` being the interpreter's bytecode
/// magic number in hex (from the probe). Python runs a `.pyc` file given as
/// the script without compiling anything and without the import system,
/// which a `__main__.py` that imports the boot module pays on every start
/// (~0.4 ms of a 15 ms `-c pass`; issue 10). When run as the script, Python
/// checks only the magic number, and would refuse the file on every start if
/// it were another's: hence the name. CPython only.
pub fn main_pyc_name(info: &InterpreterInfo) -> Option<String> {
    let magic = &info.bytecode_magic;
    let hex = magic.len() == 8 && magic.bytes().all(|b| b.is_ascii_hexdigit());
    (info.implementation == "cpython" && hex).then(|| format!("{MAIN_PYC_PREFIX}{magic}.pyc"))
}

/// Whether the kept boot bytecode at `pyc` may be run: its header is the one
/// the import system wrote for the entry's `__dpex__/__init__.py` (this magic
/// number, timestamp-based, the source's mtime and size), and it is as long
/// as the bytecode the import system keeps for it, which it is a copy of. A
/// file cut short, damaged or stale is not run (`__main__.py` is, and the
/// shim keeps a new copy): the import system would recompile such a file,
/// while Python refuses it as a script, at every start.
fn main_pyc_fits(pyc: &Path, app_dir: &Path, info: &InterpreterInfo) -> bool {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let boot = app_dir.join("__dpex__");
    let (major, minor, _) = info.version;
    let cached = boot.join(format!("__pycache__/__init__.cpython-{major}{minor}.pyc"));
    let mut header = [0u8; 16];
    let kept = std::fs::File::open(pyc).and_then(|mut f| {
        f.read_exact(&mut header)?;
        f.metadata()
    });
    let (Ok(kept), Ok(source), Ok(cached)) = (
        kept,
        std::fs::metadata(boot.join("__init__.py")),
        std::fs::metadata(cached),
    ) else {
        return false;
    };
    let word = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().unwrap());
    dpex_standards::digest::hex(&header[..4]) == info.bytecode_magic.to_ascii_lowercase()
        && word(4) == 0
        && word(8) == source.mtime() as u32
        && word(12) == source.size() as u32
        && kept.len() == cached.len()
}

/// Exec the environment's python. Returns only on failure.
pub fn exec_python(
    target: &Target,
    info: &PexInfo,
    app_path: &Path,
    invoked: &Path,
    user_args: &[OsString],
    settings: &Settings,
) -> Error {
    let (entry, with_injected) = choose_entry(info, settings);
    // pex's order: the app's frozen interpreter flags, then those of
    // `python FLAGS app.pex`, then (interpreter mode) the user's leading ones.
    let mut python_args: Vec<OsString> =
        info.inject_python_args.iter().map(OsString::from).collect();
    python_args.extend(
        settings
            .shim_python_args
            .as_deref()
            .unwrap_or_default()
            .split('\x1f')
            .filter(|s| !s.is_empty())
            .map(OsString::from),
    );
    let mut rest = user_args.to_vec();
    if entry == Entry::Interpreter {
        let (flags, remaining) = split_python_flags(user_args);
        python_args.extend(flags);
        rest = remaining;
    }
    let mut inherit = info.inherit_path;
    // As in pex, the variable can only turn inheritance on.
    if let Some(value) = settings.inherit_path {
        if value != InheritPath::False {
            inherit = value;
        }
    }
    // The app's environment, in pex's order: strip PEX_* (when asked), add
    // inject_env where unset, set PEX; `{pex.env.X}` in inject_args reads it.
    let mut app_env: std::collections::BTreeMap<OsString, OsString> = std::env::vars_os()
        .filter(|(key, _)| {
            let key = key.to_string_lossy();
            !(key.starts_with("__DPEX_") || (info.strip_pex_env && key.starts_with("PEX_")))
        })
        .collect();
    for (key, value) in &info.inject_env {
        app_env
            .entry(OsString::from(key))
            .or_insert_with(|| OsString::from(value));
    }
    app_env.insert("PEX".into(), app_path.into());
    let python = &target.python;
    let mut command = std::process::Command::new(python);
    command.arg0(python);
    // Run the shim's `__main__.py` (or its boot module's bytecode) as a
    // script, not the folder: Python puts the folder first on sys.path either
    // way, and a script skips runpy (about 4 ms of imports on every start).
    let script = match &target.main_pyc {
        Some(pyc) => pyc.clone(),
        None => target.app_dir.join("__main__.py"),
    };
    command.args(&python_args).arg(script);
    if with_injected {
        let lookup = |name: &str| {
            app_env
                .get(OsStr::new(name))
                .map(|v| v.to_string_lossy().into_owned())
        };
        command.args(info.inject_args.iter().map(|a| substitute_env(a, lookup)));
    }
    command.args(&rest);
    command.env_clear().envs(&app_env);
    if let Some(extra) = &settings.extra_sys_path {
        command.env("__DPEX_EXTRA_SYS_PATH", extra);
    }
    // sys.argv[0], as pex sets it: the path the app was started by.
    command.env("__DPEX_ARGV0", invoked);
    command.env("__DPEX_ENTRY", entry.encode());
    if !info.bind_resource_paths.is_empty() {
        // Resolved by the shim on the app's sys.path (NAME US path RS ...).
        let binds: Vec<String> = info
            .bind_resource_paths
            .iter()
            .map(|(name, path)| format!("{name}\x1f{path}"))
            .collect();
        command.env("__DPEX_BIND_RESOURCE_PATHS", binds.join("\x1e"));
    }
    command.env("__DPEX_INHERIT_PATH", inherit.as_str());
    if let Some(root) = &target.fresh_in {
        command.env("__DPEX_FRESH_ENV", root);
    }
    if let Some(pyc) = &target.keep_main_pyc {
        command.env("__DPEX_MAIN_PYC", pyc);
    }
    let error = command.exec();
    Error::io("run", python, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn inject_args_placeholders() {
        let env = |name: &str| match name {
            "HOME" => Some("/home/me".to_string()),
            "PEX_X" => Some("x".to_string()),
            _ => None,
        };
        assert_eq!(
            substitute_env("--home={pex.env.HOME}", env),
            "--home=/home/me"
        );
        assert_eq!(substitute_env("{pex.env.UNSET}", env), "");
        assert_eq!(substitute_env("{pex.env[PEX_X]}{pex.env.PEX_X}", env), "xx");
        assert_eq!(
            substitute_env("{{literal}} {other} {", env),
            "{literal} {other} {"
        );
        assert_eq!(substitute_env("plain", env), "plain");
        assert_eq!(substitute_env("a}b", env), "a}b");
    }

    #[test]
    fn python_flags_are_split_off() {
        let (flags, rest) = split_python_flags(&os(&[
            "-u", "-X", "dev", "-Werror", "-OO", "-c", "pass", "-u",
        ]));
        assert_eq!(flags, os(&["-u", "-X", "dev", "-Werror", "-OO"]));
        assert_eq!(rest, os(&["-c", "pass", "-u"]));
        let (flags, rest) = split_python_flags(&os(&["script.py", "-u"]));
        assert!(flags.is_empty());
        assert_eq!(rest, os(&["script.py", "-u"]));
        let (flags, rest) = split_python_flags(&os(&["-m", "mod"]));
        assert!(flags.is_empty());
        assert_eq!(rest, os(&["-m", "mod"]));
        let (flags, rest) = split_python_flags(&os(&["-uc", "print(1)", "x"]));
        assert_eq!(flags, os(&["-u"]));
        assert_eq!(rest, os(&["-c", "print(1)", "x"]));
        let (flags, rest) = split_python_flags(&os(&["-V"]));
        assert_eq!(flags, os(&["-V"]));
        assert!(rest.is_empty());
        let (flags, rest) = split_python_flags(&os(&["-"]));
        assert!(flags.is_empty());
        assert_eq!(rest, os(&["-"]));
    }
}
