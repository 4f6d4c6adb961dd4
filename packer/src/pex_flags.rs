//! pex's build flags that `dpex build` does not take as pex does, so a
//! pipeline moving from `pex ... -o app.pex` keeps its command line where it
//! can: those that change nothing for a dehydrated app are taken with a
//! warning (`IGNORED`), the rest refused with the reason (`REFUSED`), every one
//! of them in one run, never clap's generic "unexpected argument". The flags
//! dpex takes under pex's names are `BuildArgs`'s (main.rs).
//! tests/test_pex_build_flags.py runs every flag of the pinned pex's `--help`
//! through `dpex build`.

const RESOLVE: &str = "dpex build resolves nothing: it records the files of a lock (`--lock`: a \
pylock.toml, or `pex3 lock create`'s lock.json) or of a hashed requirements file (`-r`). Give this \
option to `pex3 lock create` and build from the lock";
const LAYOUT: &str = "a dpex app is always one file, a native launcher and a small zip of your \
sources; the wheels are never in it (each host unpacks them into its cache at first run)";
const VENV: &str = "a dpex app always runs from a venv in the host's cache, on a site shared by the \
apps with the same wheels; `dpex venv app.pex DIR` (or `PEX_TOOLS=1 ./app.pex venv DIR`) exports one";
const LAUNCHER: &str = "a dpex app already starts with a native launcher that needs no Python to \
start; scies, the sh boot and pex's native runtime are pex's ways to the same end";
const RUNTIME: &str =
    "a dehydrated app's cache and working folders are chosen on each host at run \
time (DPEX_ROOT or PEX_ROOT, TMPDIR); the build uses none";
const INTERPRETER: &str = "a dehydrated app picks its interpreter on each host (PEX_PYTHON, \
PEX_PYTHON_PATH, PATH) and the build needs none: pass `--interpreter-constraint` (e.g. \
CPython==3.11.*) to restrict it";
const NO_EFFECT: &str = "it sets a PEX-INFO key a dpex app does not act on (see docs/compat.md)";

/// (pex's spellings of a flag, why dpex does not take it).
const REFUSED: &[(&[&str], &str)] = &[
    (
        &[
            "--project",
            "--group",
            "--dependency-group",
            "--constraint",
            "--constraints",
            "--exclude",
            "--override",
            "--requirements-pex",
            "--resolver-version",
            "--pip-version",
            "--allow-pip-version-fallback",
            "--no-allow-pip-version-fallback",
            "--extra-pip-requirement",
            "--keyring-provider",
            "--uploaded-prior-to",
            "--pypi",
            "--no-index",
            "-f",
            "--find-links",
            "--repo",
            "--source",
            "--derive-sources-from-requirements-files",
            "--retries",
            "--resume-retries",
            "--timeout",
            "--proxy",
            "--cert",
            "--client-cert",
            "--cache-ttl",
            "-H",
            "--header",
            "--pex-repository",
            "--path-mapping",
            "--pylock-extra",
            "--pylock-group",
            "--pylock-dependency-group",
            "--pre-resolved-dist",
            "--pre-resolved-dists",
            "--venv-repository",
            "--no-wheel",
            "--no-use-wheel",
            "--no-binary",
            "--no-use-binary",
            "--only-binary",
            "--only-wheel",
            "--build",
            "--only-build",
            "--force-pep517",
            "--use-pep517",
            "--no-use-pep517",
            "--build-isolation",
            "--no-build-isolation",
            "--transitive",
            "--no-transitive",
            "--intransitive",
            "-j",
            "--jobs",
            "--pip-log",
            "--preserve-pip-download-log",
            "--no-preserve-pip-download-log",
            "--manylinux",
            "--no-manylinux",
            "--no-use-manylinux",
            "--resolve-local-platforms",
            "--interpreter-selection-strategy",
            "--pep723",
            "--enable-script-metadata",
            "--no-pep723",
            "--no-enable-script-metadata",
        ],
        RESOLVE,
    ),
    (
        &[
            "--layout",
            "--max-install-jobs",
            "-Z",
            "--compression-method",
            "--compression-level",
            "--check",
        ],
        LAYOUT,
    ),
    (
        &["--venv-system-site-packages", "--non-hermetic-venv-scripts"],
        VENV,
    ),
    (
        &[
            "--sh-boot",
            "--no-sh-boot",
            "--rc",
            "--no-rc",
            "--pexrc",
            "--no-pexrc",
            "--native-runtime",
            "--no-native-runtime",
            "--pexrc-platform",
            "--pexrc-binary",
            "--scie",
            "--par",
            "--scie-only",
            "--no-scie-only",
            "--pex-and-scie",
            "--scie-load-dotenv",
            "--no-scie-load-dotenv",
            "--scie-desktop-file",
            "--scie-icon",
            "--scie-prompt-desktop-install",
            "--no-scie-prompt-desktop-install",
            "--scie-windowed",
            "--scie-name-style",
            "--scie-bind-resource-path",
            "--scie-exe",
            "--scie-args",
            "--scie-env",
            "--scie-busybox",
            "--scie-pex-entrypoint-env-passthrough",
            "--scie-busybox-pex-entrypoint-env-passthrough",
            "--no-scie-pex-entrypoint-env-passthrough",
            "--no-scie-busybox-pex-entrypoint-env-passthrough",
            "--scie-platform",
            "--scie-pbs-release",
            "--scie-pypy-release",
            "--scie-python-version",
            "--scie-pbs-free-threaded",
            "--no-scie-pbs-free-threaded",
            "--scie-pbs-debug",
            "--no-scie-pbs-debug",
            "--scie-pbs-stripped",
            "--no-scie-pbs-stripped",
            "--scie-hash-alg",
            "--scie-science-binary",
            "--scie-assets-base-url",
            "--scie-base",
        ],
        LAUNCHER,
    ),
    (
        &[
            "--pex-root",
            "--runtime-pex-root",
            "--disable-cache",
            "--cache-dir",
            "--tmpdir",
            "--rcfile",
        ],
        RUNTIME,
    ),
    (&["--python", "--python-path"], INTERPRETER),
    (
        &["--pex-path", "-p"],
        "a dpex app's environment is exactly its lock's wheels, hydrated and checked by hash on \
each host; another pex file's packages would come from outside that lock. Lock both requirement \
sets together (pex3 lock create -r app.txt -r other.txt) and build one app from that lock",
    ),
    (
        &["--help-variables", "--docs", "--help-html"],
        "dpex's documentation is in its docs/ \
folder (docs/environment.md for the variables, docs/compat.md for what differs from pex)",
    ),
    (&["--ignore-errors"], NO_EFFECT),
];

/// pex's flags that take no value and change nothing a dpex app does, so a
/// pipeline's command line keeps them: taken, with a warning saying why.
const IGNORED: &[(&[&str], &str)] = &[
    (
        &["--no-pypi"],
        "dpex build looks hashes up only on the indexes given with -i, never on PyPI",
    ),
    (
        &[
            "--pre",
            "--no-pre",
            "--prefer-wheel",
            "--prefer-binary",
            "--no-prefer-wheel",
            "--no-prefer-binary",
            "--use-pip-config",
            "--no-use-pip-config",
        ],
        "nothing is resolved: the app records the lock's (or -r's) pins",
    ),
    (
        &["--wheel", "--binary", "--no-build"],
        "a dpex app installs wheels only (a project the lock has no wheel for is refused)",
    ),
    (
        &["--compile", "--no-compile"],
        "the app carries no wheels to compile: each host compiles a wheel's bytecode at its \
first import, once for every app that uses the wheel",
    ),
    (
        &["--use-system-time", "--no-use-system-time"],
        "the app's zip always has fixed timestamps (1980-01-01), so the same inputs give the \
same bytes",
    ),
    (
        &[
            "--compress",
            "--compressed",
            "--no-compress",
            "--not-compressed",
            "--no-compression",
            "--zip-safe",
            "--not-zip-safe",
            "--unzip",
            "--no-unzip",
            "--always-write-cache",
            "--pre-install-wheels",
            "--no-pre-install-wheels",
        ],
        LAYOUT,
    ),
    (
        &[
            "--venv",
            "--venv-copies",
            "--no-venv-copies",
            "--venv-site-packages-copies",
            "--no-venv-site-packages-copies",
            "--no-venv-system-site-packages",
        ],
        "a dpex app always runs from a venv, made in the host's cache from links to the \
shared wheels (its bin folder is not put on PATH); `dpex venv app.pex DIR` exports one of \
real files",
    ),
    (
        &["--emit-warnings", "--no-emit-warnings"],
        "pex's run-time warnings are about its own resolve, and a dpex app resolves nothing",
    ),
    (
        &["-v"],
        "dpex build prints only its warnings and errors; at run time PEX_VERBOSE sets the \
launcher's verbosity",
    ),
];

/// `dpex build @FILE`: FILE's lines in its place, one argument each (blank
/// lines skipped), as pex reads its argument files: only where an argument
/// starts (not as an option's value, `-o @x.pex`; not after `--`), and an `@`
/// inside one is an argument like any other. Other commands pass unchanged.
pub fn expand_argument_files(
    args: Vec<std::ffi::OsString>,
    value_option: impl Fn(&str) -> Option<bool>,
) -> Result<Vec<std::ffi::OsString>, String> {
    if args.get(1).is_none_or(|a| a != "build") {
        return Ok(args);
    }
    let mut out = Vec::with_capacity(args.len());
    let mut is_value = false;
    let mut after_dashes = false;
    for (i, word) in args.into_iter().enumerate() {
        let text = word.to_str().unwrap_or_default().to_string();
        let expandable = i >= 2 && !is_value && !after_dashes;
        after_dashes |= text == "--";
        is_value = value_option(&text).is_some();
        let Some(path) = text.strip_prefix('@').filter(|_| expandable) else {
            out.push(word);
            continue;
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the argument file {path} (@{path}): {e}"))?;
        out.extend(
            text.lines()
                .filter(|line| !line.trim().is_empty())
                .map(std::ffi::OsString::from),
        );
    }
    Ok(out)
}

fn ignored_warning(flag: &str) -> String {
    let why = IGNORED
        .iter()
        .find(|(names, _)| names.contains(&flag))
        .map_or("", |(_, why)| why);
    format!("pex's {flag} has no effect on a dpex app, because {why}: ignored")
}

/// `dpex build`'s command line as clap gets it, and what the pex flags in it
/// come to.
pub struct Scanned {
    pub args: Vec<std::ffi::OsString>,
    /// One per pex flag taken without effect (removed from `args`).
    pub warnings: Vec<String>,
    /// One per pex flag refused: all of them, so one run lists every change to make.
    pub errors: Vec<String>,
}

/// Go through `dpex build`'s arguments (other commands pass unchanged) for pex
/// flags: the refused ones, and those taken with a warning, which clap then
/// does not see. `value_option(word)` is `Some(takes a leading-dash value)`
/// for a dpex option that takes a value (its value is not a flag), else None.
pub fn scan(args: Vec<std::ffi::OsString>, value_option: impl Fn(&str) -> Option<bool>) -> Scanned {
    let mut scanned = Scanned {
        args: Vec::with_capacity(args.len()),
        warnings: Vec::new(),
        errors: Vec::new(),
    };
    let is_build = args.get(1).is_some_and(|a| a == "build");
    let mut words = args.into_iter().enumerate().peekable();
    while let Some((i, word)) = words.next() {
        let text = word.to_str().unwrap_or_default().to_string();
        if !is_build || i < 2 || !text.starts_with('-') {
            scanned.args.push(word);
            continue;
        }
        if text == "--" {
            scanned.args.push(word);
            scanned.args.extend(words.by_ref().map(|(_, w)| w));
            break;
        }
        // `-vo out.pex`: pex's -v, then the rest of the cluster as its own word.
        let rest = text
            .strip_prefix("-v")
            .filter(|_| !text.starts_with("--"))
            .map(|r| r.trim_start_matches('v').to_string())
            .filter(|r| !r.is_empty());
        let (text, word) = match rest {
            Some(rest) => {
                scanned.warnings.push(ignored_warning("-v"));
                let rest = format!("-{rest}");
                (rest.clone(), std::ffi::OsString::from(rest))
            }
            None => (text, word),
        };
        if let Some(takes_dash_value) = value_option(&text) {
            scanned.args.push(word);
            let is_value = words.peek().is_some_and(|(_, next)| {
                takes_dash_value || !next.to_str().is_some_and(|n| n.starts_with('-'))
            });
            if is_value {
                scanned.args.extend(words.next().map(|(_, w)| w));
            }
            continue;
        }
        // `-vvv` is pex's -v three times; `--venv prepend` or `--venv=append` gives a value.
        let flag = match text.split_once('=') {
            Some(("--venv", "prepend" | "append")) => "--venv".to_string(),
            _ if text.len() > 1 && text[1..].chars().all(|c| c == 'v') => "-v".to_string(),
            _ => text.clone(),
        };
        if IGNORED
            .iter()
            .any(|(names, _)| names.contains(&flag.as_str()))
        {
            scanned.warnings.push(ignored_warning(&flag));
            if flag == "--venv" && !text.contains('=') {
                words.next_if(|(_, next)| next == "prepend" || next == "append");
            }
            continue;
        }
        if let Some(message) = explain(&text) {
            scanned.errors.push(message);
            continue;
        }
        scanned.args.push(word);
    }
    scanned
}

/// The message for `arg` (as clap saw it: `--flag`, `--flag=value`, `-x`,
/// `-xVALUE`), if it is a pex flag dpex does not take.
pub fn explain(arg: &str) -> Option<String> {
    let flag = match arg.strip_prefix("--") {
        Some(long) => format!("--{}", long.split('=').next().unwrap_or(long)),
        None => arg.chars().take(2).collect(),
    };
    REFUSED
        .iter()
        .find(|(names, _)| names.contains(&flag.as_str()))
        .map(|(_, why)| format!("pex's {flag} is not supported by `dpex build`, because {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_flag_and_the_reason() {
        let e = explain("--layout=packed").unwrap();
        assert!(
            e.starts_with("pex's --layout is not supported") && e.contains("one file"),
            "{e}"
        );
        assert!(explain("-fhttps://index.example.com")
            .unwrap()
            .contains("pex3 lock create"));
        assert!(explain("--venv-system-site-packages")
            .unwrap()
            .contains("dpex venv"));
        assert_eq!(explain("--no-such-flag"), None);
    }

    fn scan_words(words: &[&str]) -> Scanned {
        let value_option = |w: &str| match w {
            "-o" | "-e" => Some(false),
            "--inject-python-args" => Some(true),
            _ => None,
        };
        scan(words.iter().map(Into::into).collect(), value_option)
    }

    #[test]
    fn every_refused_flag_is_named_and_harmless_ones_are_dropped_with_a_warning() {
        let s = scan_words(&[
            "dpex",
            "build",
            "--no-pypi",
            "-f",
            "wheels",
            "--venv",
            "prepend",
            "--layout",
            "packed",
            "-vv",
            "--compile",
            "-o",
            "out.pex",
        ]);
        let refused: Vec<&str> = s
            .errors
            .iter()
            .map(|e| e.split(' ').nth(1).unwrap())
            .collect();
        assert_eq!(refused, ["-f", "--layout"]);
        assert_eq!(s.warnings.len(), 4, "{:?}", s.warnings);
        assert!(
            s.warnings[1].starts_with("pex's --venv has no effect"),
            "{:?}",
            s.warnings
        );
        assert!(
            s.warnings[2].starts_with("pex's -v has no effect"),
            "{:?}",
            s.warnings
        );
        // The refused flags' values stay for clap, which is not run when there are errors.
        assert_eq!(
            s.args,
            ["dpex", "build", "wheels", "packed", "-o", "out.pex"]
        );
    }

    #[test]
    fn values_of_dpex_options_and_other_commands_are_left_alone() {
        let s = scan_words(&[
            "dpex",
            "build",
            "--inject-python-args",
            "-v",
            "-e",
            "-v",
            "-o",
            "x",
        ]);
        // -e takes no leading-dash value: its -v is a flag (clap then reports the missing value).
        assert_eq!(
            s.args,
            [
                "dpex",
                "build",
                "--inject-python-args",
                "-v",
                "-e",
                "-o",
                "x"
            ]
        );
        assert_eq!(s.warnings.len(), 1);
        let s = scan_words(&["dpex", "venv", "--compile", "app.pex", "d"]);
        assert!(s.warnings.is_empty() && s.errors.is_empty());
        assert_eq!(s.args.len(), 5);
        let s = scan_words(&["dpex", "build", "-o", "x", "--", "--compile"]);
        assert!(s.warnings.is_empty() && s.args.len() == 6);
        // pex's -v in a cluster: `-vvo out.pex` is -v, then `-o out.pex`.
        let s = scan_words(&["dpex", "build", "-vvo", "out.pex"]);
        assert_eq!(s.args, ["dpex", "build", "-o", "out.pex"]);
        assert_eq!(s.warnings.len(), 1);
    }

    #[test]
    fn argument_files_expand_where_an_argument_starts() {
        let dir = std::env::temp_dir().join(format!("dpex-argfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.args");
        std::fs::write(&file, "--lock\nlock.json\n\n-e\napp:main\n").unwrap();
        let at = format!("@{}", file.display());
        let value_option = |w: &str| matches!(w, "-o" | "--lock" | "-e").then_some(false);
        let expand = |words: &[&str]| {
            let words = words.iter().map(Into::into).collect();
            expand_argument_files(words, value_option).unwrap()
        };
        assert_eq!(
            expand(&["dpex", "build", &at, "-o", "x"]),
            [
                "dpex",
                "build",
                "--lock",
                "lock.json",
                "-e",
                "app:main",
                "-o",
                "x"
            ]
        );
        // An option's value, a word after `--` and other commands stay as they are.
        assert_eq!(expand(&["dpex", "build", "-o", "@x.pex"])[3], "@x.pex");
        assert_eq!(expand(&["dpex", "build", "--", &at])[3], at.as_str());
        assert_eq!(expand(&["dpex", "info", &at])[2], at.as_str());
        let missing = ["dpex", "build", "@/nonexistent/args"]
            .iter()
            .map(Into::into)
            .collect();
        assert!(expand_argument_files(missing, value_option)
            .unwrap_err()
            .contains("argument file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
