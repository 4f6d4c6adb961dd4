//! Every environment variable the launcher reads, read once at start (after
//! the pexrc files are applied), checked by one set of rules, and passed down
//! as [`Settings`]. docs/environment.md lists the same variables ([`READ`]; a
//! unit test checks that the two agree).
//!
//! The rules, for every variable: an empty value counts as unset; a bad value
//! is an error that names the variable, the value and what is expected, before
//! any download (pex's message text for pex's variables). Booleans are
//! `1/0/true/false` in any case (pex's rule), numbers may have surrounding
//! spaces.

use crate::error::{Error, Result};
use crate::format::pexinfo::InheritPath;
use dpex_net::http::NetConfig;
use std::ffi::OsString;
use std::time::Duration;

/// Every variable the launcher reads (besides the internal `__DPEX_*` ones of
/// the python-shim). Network variables (proxies, trust store, netrc) are read
/// through [`lookup`] by `dpex-net` at the first request.
pub const READ: &[&str] = &[
    "DPEX_ROOT",
    "PEX_ROOT",
    "PEX_PYTHON",
    "PEX_PYTHON_PATH",
    "PEX_INTERPRETER",
    "PEX_MODULE",
    "PEX_SCRIPT",
    "PEX_INHERIT_PATH",
    "PEX_VERBOSE",
    "PEX_BOOTSTRAP_HYDRATION_INDICES",
    "DPEX_FIND_LINKS",
    "DPEX_MIRROR",
    "PEX_EXTRA_SYS_PATH",
    "PEX_IGNORE_RCFILES",
    "PEX_DISABLE_VARIABLES",
    "PEX_TOOLS",
    "PEX_VENV",
    "PEX_COVERAGE",
    "PEX_PROFILE",
    "PEX_IGNORE_ERRORS",
    "PEX_EMIT_WARNINGS",
    "PEX_MAX_INSTALL_JOBS",
    "PEX_PATH",
    "DPEX_OFFLINE",
    "DPEX_CACHE_LAYERS",
    "DPEX_LOCK_TIMEOUT",
    "DPEX_CONNECT_TIMEOUT",
    "DPEX_READ_TIMEOUT",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "DPEX_CA_BUNDLE",
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "NETRC",
    "DPEX_UNPACK_THREADS",
    "DPEX_MAX_UNPACKED_SIZE",
    "DPEX_DOWNLOAD_MEMORY",
    "DPEX_STREAM_UNPACK",
];

/// pex's boolean variables that dpex accepts but does not act on: checked
/// (pex fails on a bad value, so a script that sets one so never worked) and
/// otherwise ignored.
const IGNORED_BOOLS: &[&str] = &[
    "PEX_VENV",
    "PEX_COVERAGE",
    "PEX_PROFILE",
    "PEX_IGNORE_ERRORS",
    "PEX_EMIT_WARNINGS",
];

/// Default of `DPEX_LOCK_TIMEOUT`: a big wheel on a slow link takes minutes.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(600);
/// Default of `DPEX_MAX_UNPACKED_SIZE`: bytes one wheel may unpack to.
pub const DEFAULT_MAX_UNPACKED: u64 = 16 << 30;
/// Default of `DPEX_DOWNLOAD_MEMORY`: bytes of downloads held in memory at
/// once, over all workers; a wheel beyond it goes to a temporary file (in
/// the page cache, mapped and released as it is unpacked). Small enough that
/// a torch-sized cold start stays within a small host's or a pod's memory.
pub const DEFAULT_DOWNLOAD_MEMORY: u64 = 256 << 20;

/// What the environment asks of this run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `PEX_VERBOSE` (0 when unset; negative counts as 0).
    pub verbose: u32,
    /// `PEX_INTERPRETER`.
    pub interpreter_mode: bool,
    /// `PEX_SCRIPT`.
    pub script: Option<String>,
    /// `PEX_MODULE`.
    pub module: Option<String>,
    /// `PEX_INHERIT_PATH`.
    pub inherit_path: Option<InheritPath>,
    /// `PEX_EXTRA_SYS_PATH`.
    pub extra_sys_path: Option<String>,
    /// `PEX_PYTHON`.
    pub python: Option<OsString>,
    /// `PEX_PYTHON_PATH`: where interpreters are looked for instead of `PATH`.
    pub python_path: Option<OsString>,
    /// `PATH`.
    pub path: OsString,
    /// `__DPEX_PYTHON`: the interpreter that ran `python app.pex` (internal).
    pub shim_python: Option<OsString>,
    /// `__DPEX_PYTHON_ARGS`: its flags (internal).
    pub shim_python_args: Option<String>,
    /// `DPEX_ROOT`.
    pub dpex_root: Option<String>,
    /// `PEX_ROOT`.
    pub pex_root: Option<String>,
    /// `DPEX_CACHE_LAYERS`, split on `:`.
    pub cache_layers: Vec<String>,
    /// `DPEX_FIND_LINKS`, split on commas and whitespace.
    pub find_links: Vec<String>,
    /// `PEX_BOOTSTRAP_HYDRATION_INDICES`, split on commas and whitespace.
    pub hydration_indices: Vec<String>,
    /// `DPEX_MIRROR`: where else each wheel's recorded URL may be fetched.
    pub mirrors: Vec<Mirror>,
    /// `DPEX_OFFLINE`.
    pub offline: bool,
    /// `DPEX_LOCK_TIMEOUT`.
    pub lock_timeout: Duration,
    /// `DPEX_CONNECT_TIMEOUT`, `DPEX_READ_TIMEOUT`, `PEX_VERBOSE`.
    pub net: NetConfig,
    /// `DPEX_UNPACK_THREADS` (`None`: the cores, at most 4).
    pub unpack_threads: Option<usize>,
    /// `DPEX_MAX_UNPACKED_SIZE`.
    pub max_unpacked_size: u64,
    /// `DPEX_DOWNLOAD_MEMORY`.
    pub download_memory: u64,
    /// `DPEX_STREAM_UNPACK` (default true).
    pub stream_unpack: bool,
    /// `PEX_TOOLS`: run a tool (`venv`) instead of the app.
    pub tools: bool,
    /// `PEX_PATH`: other pex files pex would merge into the app's sys.path; a
    /// dpex app does not (its environment is its lock's wheels), and says so.
    pub pex_path: Option<String>,
}

impl Settings {
    /// Read and check the process environment.
    pub fn from_env() -> Result<Settings> {
        Settings::from_lookup(&|name| std::env::var_os(name))
    }

    /// Read and check the variables `get` gives.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<OsString>) -> Result<Settings> {
        let vars = Vars { get };
        for name in IGNORED_BOOLS {
            vars.pex_bool(name)?;
        }
        vars.pex_int("PEX_MAX_INSTALL_JOBS")?;
        let tools = vars.pex_bool("PEX_TOOLS")?;
        let interpreter_mode = vars.pex_bool("PEX_INTERPRETER")?;
        let script = vars.string("PEX_SCRIPT");
        let module = vars.string("PEX_MODULE");
        if !interpreter_mode {
            if let (Some(script), Some(module)) = (&script, &module) {
                return Err(Error::msg(format!(
                    "Cannot specify both script and entry_point for a PEX! \
                     (PEX_SCRIPT={script} and PEX_MODULE={module} are both set)"
                )));
            }
        }
        let inherit_path = match vars.string("PEX_INHERIT_PATH").as_deref() {
            None => None,
            Some("false") => Some(InheritPath::False),
            Some("prefer") => Some(InheritPath::Prefer),
            Some("fallback") => Some(InheritPath::Fallback),
            Some(other) => {
                return Err(Error::msg(format!(
                    "Invalid value for PEX_INHERIT_PATH: '{other}' must be one of 'false', 'prefer', 'fallback'"
                )))
            }
        };
        let verbose = vars.pex_int("PEX_VERBOSE")?.unwrap_or(0).clamp(0, 9) as u32;
        let seconds =
            |name, default| -> Result<Duration> { Ok(vars.seconds(name)?.unwrap_or(default)) };
        let net = NetConfig {
            connect_timeout: seconds("DPEX_CONNECT_TIMEOUT", dpex_net::http::CONNECT_TIMEOUT)?,
            read_timeout: seconds("DPEX_READ_TIMEOUT", dpex_net::http::READ_TIMEOUT)?,
            verbose,
        };
        if net.connect_timeout.is_zero() || net.read_timeout.is_zero() {
            let name = if net.connect_timeout.is_zero() {
                "DPEX_CONNECT_TIMEOUT"
            } else {
                "DPEX_READ_TIMEOUT"
            };
            return Err(Error::msg(format!(
                "Invalid value for {name}, must be a number of seconds above 0, got '0'"
            )));
        }
        let unpack_threads = match vars.count("DPEX_UNPACK_THREADS")? {
            Some(0) => return Err(Error::msg(
                "Invalid value for DPEX_UNPACK_THREADS, must be a whole number above 0, got '0'",
            )),
            other => other.map(|n| n as usize),
        };
        Ok(Settings {
            verbose,
            interpreter_mode,
            script,
            module,
            inherit_path,
            extra_sys_path: vars.string("PEX_EXTRA_SYS_PATH"),
            pex_path: vars.string("PEX_PATH"),
            python: vars.os_string("PEX_PYTHON"),
            python_path: vars.os_string("PEX_PYTHON_PATH"),
            path: vars.os_string("PATH").unwrap_or_default(),
            shim_python: vars.os_string("__DPEX_PYTHON"),
            shim_python_args: vars.string("__DPEX_PYTHON_ARGS"),
            dpex_root: vars.string("DPEX_ROOT"),
            pex_root: vars.string("PEX_ROOT"),
            cache_layers: vars
                .string("DPEX_CACHE_LAYERS")
                .unwrap_or_default()
                .split(':')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            find_links: vars.list("DPEX_FIND_LINKS"),
            hydration_indices: vars.list("PEX_BOOTSTRAP_HYDRATION_INDICES"),
            mirrors: vars
                .list("DPEX_MIRROR")
                .iter()
                .map(|entry| Mirror::parse(entry))
                .collect::<Result<_>>()?,
            offline: vars.pex_bool("DPEX_OFFLINE")?,
            lock_timeout: seconds("DPEX_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT)?,
            net,
            unpack_threads,
            max_unpacked_size: vars
                .count("DPEX_MAX_UNPACKED_SIZE")?
                .unwrap_or(DEFAULT_MAX_UNPACKED),
            download_memory: vars
                .count("DPEX_DOWNLOAD_MEMORY")?
                .unwrap_or(DEFAULT_DOWNLOAD_MEMORY),
            stream_unpack: vars.pex_bool_or("DPEX_STREAM_UNPACK", true)?,
            tools,
        })
    }

    /// Where interpreters are looked for: `PEX_PYTHON_PATH`, else `PATH`.
    pub fn python_search_path(&self) -> &OsString {
        self.python_path.as_ref().unwrap_or(&self.path)
    }
}

/// A variable of the process environment, empty counting as unset: for the
/// few readers outside [`Settings`] (pexrc, `dpex-net`'s first request).
pub fn lookup(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// pex's booleans: `1/0/true/false` in any case, else `None`.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}

/// A boolean of the process environment, checked (for pexrc, which runs
/// before [`Settings`] are read).
pub fn flag(name: &str) -> Result<bool> {
    Vars {
        get: &|name| std::env::var_os(name),
    }
    .pex_bool(name)
}

/// `12`, `1.5`, `.25`: whole seconds and a decimal fraction (to the
/// nanosecond). Written out rather than through `f64`, whose parser would add
/// its tables to the stub for this one use.
fn parse_seconds(text: &str) -> Option<Duration> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let nanos = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    (secs < 1_000_000_000_000).then(|| Duration::new(secs, nanos))
}

struct Vars<'a> {
    get: &'a dyn Fn(&str) -> Option<OsString>,
}

impl Vars<'_> {
    fn os_string(&self, name: &str) -> Option<OsString> {
        (self.get)(name).filter(|v| !v.is_empty())
    }

    fn string(&self, name: &str) -> Option<String> {
        self.os_string(name)
            .map(|v| v.to_string_lossy().into_owned())
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.string(name)
            .unwrap_or_default()
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn pex_bool(&self, name: &str) -> Result<bool> {
        self.pex_bool_or(name, false)
    }

    fn pex_bool_or(&self, name: &str, default: bool) -> Result<bool> {
        match self.string(name) {
            None => Ok(default),
            Some(value) => parse_bool(&value).ok_or_else(|| {
                Error::msg(format!(
                    "Invalid bool value for {name}, must be 0/1/false/true, got '{value}'"
                ))
            }),
        }
    }

    /// A value parsed by `parse`; a value it refuses is an error saying what
    /// was `expected` (pex's wording).
    fn parsed<T>(
        &self,
        name: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>> {
        self.string(name)
            .map(|value| {
                parse(value.trim()).ok_or_else(|| {
                    Error::msg(format!(
                        "Invalid value for {name}, must be {expected}, got '{value}'"
                    ))
                })
            })
            .transpose()
    }

    fn pex_int(&self, name: &str) -> Result<Option<i64>> {
        self.parsed(name, "an integer", |v| v.parse().ok())
    }

    /// A whole number of items or bytes, 0 or more.
    fn count(&self, name: &str) -> Result<Option<u64>> {
        self.parsed(name, "a whole number", |v| v.parse().ok())
    }

    /// Seconds, fractions allowed, 0 or more.
    fn seconds(&self, name: &str) -> Result<Option<Duration>> {
        self.parsed(name, "a number of seconds", parse_seconds)
    }
}

/// One `DPEX_MIRROR` entry: `PREFIX`, or `FROM=PREFIX`. A wheel's recorded
/// URL that starts with `FROM` is also tried with `FROM` replaced by
/// `PREFIX`; without `FROM`, every http(s) URL is, with its origin
/// (`scheme://host[:port]`) replaced and its path kept: the layout of a
/// pull-through mirror or caching proxy of the files' host.
#[derive(Clone, Debug, PartialEq)]
pub struct Mirror {
    pub from: Option<String>,
    pub prefix: String,
}

impl Mirror {
    fn parse(entry: &str) -> Result<Mirror> {
        // FROM=PREFIX splits where `=` starts PREFIX's scheme: a `=` elsewhere
        // (a token in userinfo, a path) belongs to the URL.
        let split = ["=http://", "=https://"]
            .iter()
            .filter_map(|sep| entry.to_ascii_lowercase().find(sep))
            .min();
        let (from, prefix) = match split {
            Some(at) => (Some(&entry[..at]), &entry[at + 1..]),
            None => (None, entry),
        };
        if !is_http_url(prefix) || from.is_some_and(|f| !is_http_url(f)) {
            return Err(Error::msg(format!(
                "DPEX_MIRROR: {:?} is not an http(s) URL prefix or FROM=PREFIX of two. Expected a \
                 list of PREFIX or FROM=PREFIX, e.g. https://mirror.example.com/pypi-files or \
                 https://files.example.com=https://mirror.example.com/files",
                hide_credentials(entry)
            )));
        }
        Ok(Mirror {
            from: from.map(|f| f.trim_end_matches('/').to_string()),
            prefix: prefix.trim_end_matches('/').to_string(),
        })
    }

    /// `url` on this mirror, if the mirror covers it.
    pub fn rewrite(&self, url: &str) -> Option<String> {
        let rest = match &self.from {
            Some(from) => url
                .strip_prefix(from.as_str())
                .filter(|rest| rest.is_empty() || rest.starts_with('/'))?,
            None => {
                let parsed = dpex_net::url::Url::parse(url)
                    .filter(|u| is_http_url(url) && u.has_authority())?;
                parsed.path_and_query()
            }
        };
        Some(format!("{}{rest}", self.prefix))
    }
}

/// `text` with everything between its first `://` (or its start) and its
/// last `@` hidden: credentials never reach a message, even in text that
/// does not parse as a URL.
fn hide_credentials(text: &str) -> String {
    match text.rfind('@') {
        Some(at) => {
            let start = text.find("://").map_or(0, |i| i + 3).min(at);
            format!("{}****{}", &text[..start], &text[at..])
        }
        None => text.to_string(),
    }
}

fn is_http_url(text: &str) -> bool {
    dpex_net::url::Url::parse(text).is_some_and(|u| {
        let host = u.hostport();
        matches!(u.scheme(), "http" | "https")
            && u.has_authority()
            && !host.is_empty()
            && host.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']')
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings> {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        Settings::from_lookup(&|name| map.get(name).cloned())
    }

    #[test]
    fn defaults() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.verbose, 0);
        assert!(!s.interpreter_mode && !s.offline);
        assert_eq!(s.lock_timeout, DEFAULT_LOCK_TIMEOUT);
        assert_eq!(s.net.connect_timeout, dpex_net::http::CONNECT_TIMEOUT);
        assert_eq!(s.max_unpacked_size, DEFAULT_MAX_UNPACKED);
        assert_eq!(s.download_memory, DEFAULT_DOWNLOAD_MEMORY);
        assert_eq!(s.unpack_threads, None);
    }

    #[test]
    fn values_are_read_with_one_rule_set() {
        let s = settings(&[
            ("PEX_VERBOSE", " 2 "),
            ("PEX_INTERPRETER", "TRUE"),
            ("DPEX_OFFLINE", "1"),
            ("DPEX_LOCK_TIMEOUT", " 1.5"),
            ("DPEX_READ_TIMEOUT", "2"),
            ("DPEX_DOWNLOAD_MEMORY", "0"),
            ("DPEX_UNPACK_THREADS", "3"),
            ("DPEX_FIND_LINKS", "/a, /b  /c"),
            ("DPEX_CACHE_LAYERS", "/x: :/y"),
            ("PEX_INHERIT_PATH", "prefer"),
            ("PEX_VENV", ""),
        ])
        .unwrap();
        assert_eq!(s.verbose, 2);
        assert_eq!(s.net.verbose, 2);
        assert!(s.interpreter_mode && s.offline);
        assert_eq!(s.lock_timeout, Duration::from_millis(1500));
        assert_eq!(s.net.read_timeout, Duration::from_secs(2));
        assert_eq!(s.download_memory, 0);
        assert_eq!(s.unpack_threads, Some(3));
        assert_eq!(s.find_links, ["/a", "/b", "/c"]);
        assert_eq!(s.cache_layers, ["/x", "/y"]);
        assert_eq!(s.inherit_path, Some(InheritPath::Prefer));
        assert_eq!(settings(&[("PEX_VERBOSE", "-1")]).unwrap().verbose, 0);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value, expected) in [
            (
                "PEX_INTERPRETER",
                "yes",
                "Invalid bool value for PEX_INTERPRETER",
            ),
            ("PEX_VENV", "maybe", "Invalid bool value for PEX_VENV"),
            (
                "PEX_VERBOSE",
                "lots",
                "Invalid value for PEX_VERBOSE, must be an integer",
            ),
            (
                "PEX_INHERIT_PATH",
                "sometimes",
                "'sometimes' must be one of",
            ),
            ("DPEX_OFFLINE", "yes", "Invalid bool value for DPEX_OFFLINE"),
            (
                "DPEX_LOCK_TIMEOUT",
                "soon",
                "Invalid value for DPEX_LOCK_TIMEOUT",
            ),
            (
                "DPEX_LOCK_TIMEOUT",
                "-1",
                "Invalid value for DPEX_LOCK_TIMEOUT",
            ),
            (
                "DPEX_CONNECT_TIMEOUT",
                "0",
                "DPEX_CONNECT_TIMEOUT, must be a number of seconds above 0",
            ),
            (
                "DPEX_READ_TIMEOUT",
                "inf",
                "Invalid value for DPEX_READ_TIMEOUT",
            ),
            (
                "DPEX_MAX_UNPACKED_SIZE",
                "1G",
                "Invalid value for DPEX_MAX_UNPACKED_SIZE",
            ),
            (
                "DPEX_DOWNLOAD_MEMORY",
                "-5",
                "Invalid value for DPEX_DOWNLOAD_MEMORY",
            ),
            (
                "DPEX_UNPACK_THREADS",
                "0",
                "DPEX_UNPACK_THREADS, must be a whole number above 0",
            ),
        ] {
            let e = settings(&[(name, value)]).unwrap_err().to_string();
            assert!(e.contains(expected), "{name}={value}: {e}");
        }
        let e = settings(&[("PEX_SCRIPT", "s"), ("PEX_MODULE", "m")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Cannot specify both script and entry_point"),
            "{e}"
        );
        assert!(settings(&[
            ("PEX_SCRIPT", "s"),
            ("PEX_MODULE", "m"),
            ("PEX_INTERPRETER", "1")
        ])
        .is_ok());
        assert!(settings(&[("PEX_TOOLS", "1")]).unwrap().tools);
        assert!(settings(&[("PEX_TOOLS", "yes")]).is_err());
    }

    #[test]
    fn mirrors_rewrite_the_recorded_urls() {
        let s = settings(&[(
            "DPEX_MIRROR",
            "https://files.example.com/packages=http://127.0.0.1:8080/cache/ https://mirror.example.com/pypi",
        )])
        .unwrap();
        let url = "https://files.example.com/packages/ab/cd/x-1.0-py3-none-any.whl#sha256=00";
        assert_eq!(
            s.mirrors[0].rewrite(url).unwrap(),
            "http://127.0.0.1:8080/cache/ab/cd/x-1.0-py3-none-any.whl#sha256=00"
        );
        assert_eq!(
            s.mirrors[1].rewrite(url).unwrap(),
            "https://mirror.example.com/pypi/packages/ab/cd/x-1.0-py3-none-any.whl"
        );
        // FROM matches whole path segments only; file URLs are never mirrored.
        assert_eq!(
            s.mirrors[0].rewrite("https://files.example.com/packagesX/y.whl"),
            None
        );
        assert_eq!(s.mirrors[1].rewrite("file:///srv/wheels/x.whl"), None);
        for bad in [
            "mirror.example.com",
            "ftp://m.example.com/x",
            "https://a.example.com=/local",
        ] {
            let e = settings(&[("DPEX_MIRROR", bad)]).unwrap_err().to_string();
            assert!(
                e.contains("DPEX_MIRROR") && e.contains("FROM=PREFIX"),
                "{bad}: {e}"
            );
        }
        for leaky in [
            "https://u:secret@m.example.com=x",
            "files.example.com=https://u:secret@m.example.com/x",
            "https:/u:secret@m.example.com",
        ] {
            let e = settings(&[("DPEX_MIRROR", leaky)]).unwrap_err().to_string();
            assert!(!e.contains("secret") && e.contains("****"), "{e}");
        }
        // `=` inside a URL (a token, a path) is not FROM=PREFIX.
        let s = settings(&[(
            "DPEX_MIRROR",
            "https://__token__:YWJj=@mirror.example.com/p=q",
        )])
        .unwrap();
        assert_eq!(s.mirrors[0].from, None);
        assert_eq!(
            s.mirrors[0].rewrite("https://f.example.com/a.whl").unwrap(),
            "https://__token__:YWJj=@mirror.example.com/p=q/a.whl"
        );
    }

    #[test]
    fn seconds_are_decimal() {
        let ok = |t: &str| parse_seconds(t).unwrap();
        assert_eq!(ok("12"), Duration::from_secs(12));
        assert_eq!(ok("1.5"), Duration::from_millis(1500));
        assert_eq!(ok(".25"), Duration::from_millis(250));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("2."), Duration::from_secs(2));
        assert_eq!(ok("0.0000000019"), Duration::from_nanos(1));
        for bad in [
            "",
            ".",
            "-1",
            "1e3",
            "inf",
            "NaN",
            "1.2.3",
            " 1",
            "1s",
            "+1",
            "1000000000000",
        ] {
            assert!(parse_seconds(bad).is_none(), "{bad:?}");
        }
    }

    /// docs/environment.md's launcher table lists exactly [`READ`].
    #[test]
    fn docs_list_exactly_what_is_read() {
        let doc = include_str!("../../docs/environment.md");
        let start = doc
            .find("## Read by `./app.pex`")
            .expect("the launcher section");
        let end = doc[start..].find("\n### ").map_or(doc.len(), |i| start + i);
        let mut documented = std::collections::BTreeSet::new();
        for line in doc[start..end].lines().filter(|l| l.starts_with("| `")) {
            let first_cell = line.split(" | ").next().unwrap_or("");
            for name in first_cell.split('`').skip(1).step_by(2) {
                documented.insert(name.to_string());
            }
        }
        let read: std::collections::BTreeSet<String> = READ.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            documented, read,
            "docs/environment.md's table and settings::READ differ"
        );
    }
}
