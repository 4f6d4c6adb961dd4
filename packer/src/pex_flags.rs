//! pex's build flags that `dpex build` does not take, each with the reason, so
//! a pipeline moving from `pex ... -o app.pex` gets "not supported in a
//! dehydrated app, because ..." instead of clap's generic "unexpected
//! argument". The flags dpex does take under pex's names are `BuildArgs`'s
//! (main.rs). tests/test_pex_build_flags.py runs every flag of the pinned
//! pex's `--help` through `dpex build`.

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
const SOURCES: &str = "dpex takes the app's code as source folders: put it in a folder and pass \
`-D DIR` (repeatable)";
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
            "--use-pip-config",
            "--no-use-pip-config",
            "--keyring-provider",
            "--uploaded-prior-to",
            "--pypi",
            "--no-pypi",
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
            "--pre",
            "--no-pre",
            "--wheel",
            "--binary",
            "--no-wheel",
            "--no-use-wheel",
            "--no-binary",
            "--no-use-binary",
            "--only-binary",
            "--only-wheel",
            "--build",
            "--no-build",
            "--only-build",
            "--prefer-wheel",
            "--prefer-binary",
            "--no-prefer-wheel",
            "--no-prefer-binary",
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
            "--pre-install-wheels",
            "--no-pre-install-wheels",
            "--max-install-jobs",
            "--compress",
            "--compressed",
            "--no-compress",
            "--not-compressed",
            "--no-compression",
            "-Z",
            "--compression-method",
            "--compression-level",
            "--zip-safe",
            "--not-zip-safe",
            "--unzip",
            "--no-unzip",
            "--always-write-cache",
            "--check",
            "--compile",
            "--no-compile",
            "--use-system-time",
            "--no-use-system-time",
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
            "--venv-system-site-packages",
            "--no-venv-system-site-packages",
            "--non-hermetic-venv-scripts",
        ],
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
    (
        &[
            "-P",
            "--package",
            "-M",
            "--module",
            "-R",
            "--resources-directory",
        ],
        SOURCES,
    ),
    (&["--python", "--python-path"], INTERPRETER),
    (
        &["--pex-path", "-p"],
        "a dpex app's environment is exactly its lock's wheels, hydrated and checked by hash on \
each host; another pex file's packages would come from outside that lock. Lock both requirement \
sets together (pex3 lock create -r app.txt -r other.txt) and build one app from that lock",
    ),
    (
        &["-v"],
        "dpex build has no verbosity levels (it prints its warnings and errors); at run \
time PEX_VERBOSE sets the launcher's",
    ),
    (
        &["--help-variables", "--docs", "--help-html"],
        "dpex's documentation is in its docs/ \
folder (docs/environment.md for the variables, docs/compat.md for what differs from pex)",
    ),
    (
        &["--emit-warnings", "--no-emit-warnings", "--ignore-errors"],
        NO_EFFECT,
    ),
];

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
        assert!(explain("--venv").unwrap().contains("dpex venv"));
        assert_eq!(explain("--no-such-flag"), None);
    }
}
