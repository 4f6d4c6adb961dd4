//! The hand-off to Python: decide what to run (entry point, console script or
//! the interpreter itself), shape argv and the environment the way pex does,
//! and `execve` the environment's python, which keeps our PID.

use crate::error::Error;
use crate::pexinfo::{InheritPath, PexInfo};
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

/// pex's booleans: `1/0/true/false`, any case.
pub fn env_flag(name: &str) -> bool {
    matches!(
        std::env::var(name)
            .map(|v| v.to_ascii_lowercase())
            .as_deref(),
        Ok("1") | Ok("true")
    )
}

fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Choose the entry, pex's precedence: PEX_INTERPRETER, PEX_SCRIPT,
/// PEX_MODULE, then PEX-INFO's script or entry point, else the interpreter.
/// The bool says whether `inject_args` apply (only to the built-in entry).
pub fn choose_entry(info: &PexInfo) -> (Entry, bool) {
    if env_flag("PEX_INTERPRETER") {
        return (Entry::Interpreter, false);
    }
    if let Some(script) = env_value("PEX_SCRIPT") {
        return (Entry::Script(script), false);
    }
    if let Some(module) = env_value("PEX_MODULE") {
        return (Entry::EntryPoint(module), false);
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

/// The path the app was started by, absolute (`./app.pex` -> `/x/app.pex`):
/// where pexrc files beside the app are looked for.
pub fn invoked_path(argv0: &OsStr, current_exe: &Path) -> PathBuf {
    let named = Path::new(argv0);
    if named.components().count() > 1 {
        if named.is_absolute() {
            return named.to_path_buf();
        }
        if let Ok(cwd) = std::env::current_dir() {
            // Drop `.` components; symlinks stay as the user named them.
            return cwd.join(named).components().collect();
        }
    }
    current_exe.to_path_buf()
}

/// The app's real path (symlinks resolved), as pex sets `PEX` and `sys.argv[0]`.
pub fn app_path(invoked: &Path) -> PathBuf {
    std::fs::canonicalize(invoked).unwrap_or_else(|_| invoked.to_path_buf())
}

/// Exec the environment's python. Returns only on failure.
pub fn exec_python(
    python: &Path,
    app_dir: &Path,
    info: &PexInfo,
    app_path: &Path,
    user_args: &[OsString],
) -> Error {
    let (entry, with_injected) = choose_entry(info);
    let mut python_args: Vec<OsString> = env_value("__DPEX_PYTHON_ARGS")
        .map(|a| {
            a.split('\x1f')
                .filter(|s| !s.is_empty())
                .map(OsString::from)
                .collect()
        })
        .unwrap_or_default();
    let mut rest = user_args.to_vec();
    if entry == Entry::Interpreter {
        let (flags, remaining) = split_python_flags(user_args);
        python_args.extend(flags);
        rest = remaining;
    }
    let mut inherit = info.inherit_path;
    // As in pex, the variable can only turn inheritance on.
    if let Some(value) = env_value("PEX_INHERIT_PATH").and_then(|v| InheritPath::parse(&v)) {
        if value != InheritPath::False {
            inherit = value;
        }
    }
    let mut command = std::process::Command::new(python);
    command.arg0(python);
    // Run the shim's `__main__.py` as a script, not the folder: Python puts
    // the folder first on sys.path either way, and a script skips runpy
    // (about 4 ms of imports on every start).
    command.args(&python_args).arg(app_dir.join("__main__.py"));
    if with_injected {
        command.args(&info.inject_args);
    }
    command.args(&rest);
    for (key, _) in std::env::vars_os() {
        let key_str = key.to_string_lossy();
        let strip =
            key_str.starts_with("__DPEX_") || (info.strip_pex_env && key_str.starts_with("PEX_"));
        if strip {
            command.env_remove(&key);
        }
    }
    for (key, value) in &info.inject_env {
        if std::env::var_os(key).is_none() {
            command.env(key, value);
        }
    }
    command.env("PEX", app_path);
    if let Some(extra) = env_value("PEX_EXTRA_SYS_PATH") {
        command.env("__DPEX_EXTRA_SYS_PATH", extra);
    }
    command.env("__DPEX_ENTRY", entry.encode());
    command.env("__DPEX_INHERIT_PATH", inherit.as_str());
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
