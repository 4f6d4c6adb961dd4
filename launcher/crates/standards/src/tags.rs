//! Wheel file names and platform compatibility tags.
//!
//! * [`WheelName::parse`](crate::wheel::WheelName::parse) follows `packaging.utils.parse_wheel_filename`
//!   (packaging 26.3): `.whl` suffix, 4 or 5 dashes, PEP 427 name escaping,
//!   PEP 440 version, build tag starting with a digit, compressed tag sets
//!   expanded (with a cap on the product, [`MAX_WHEEL_TAGS`]).
//! * [`supported_tags`] reproduces `packaging.tags.sys_tags()` for the probed
//!   interpreter ([`InterpreterInfo`]), in the same order: `cpython_tags` then
//!   `compatible_tags` on CPython, `generic_tags` then `compatible_tags`
//!   elsewhere. On Linux, `linux_<arch>` goes after the manylinux/musllinux
//!   tags by default (packaging <= 26.2 and uv); [`TagOptions`] can put it
//!   first (packaging >= 26.3).
//! * [`TagRanks`] and [`select_wheel`] pick the wheel whose best tag ranks
//!   highest, then the highest build tag (pip's order after version).
//!
//! The unit tests compare the generated lists with real `packaging` output
//! stored in `launcher/crates/standards/tests/fixtures/tags/` (see `gen.py` there).

use crate::python::InterpreterInfo;
use crate::wheel::{BuildTag, WheelName};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

/// Most tags a wheel file name may expand to (product of the compressed tag
/// set sizes). Real wheels use a handful; this only bounds hostile names.
pub const MAX_WHEEL_TAGS: usize = 256;

/// One `{interpreter}-{abi}-{platform}` compatibility tag, lowercased.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag {
    pub interpreter: String,
    pub abi: String,
    pub platform: String,
}

impl Tag {
    /// A tag from its three parts (lowercased, like `packaging.tags.Tag`).
    pub fn new(interpreter: &str, abi: &str, platform: &str) -> Tag {
        Tag {
            interpreter: interpreter.to_lowercase(),
            abi: abi.to_lowercase(),
            platform: platform.to_lowercase(),
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.interpreter, self.abi, self.platform)
    }
}

impl FromStr for Tag {
    type Err = String;

    /// Parses one uncompressed tag such as `py3-none-any`.
    fn from_str(s: &str) -> Result<Tag, String> {
        let mut tags = parse_tag_set(s, 1)
            .map_err(|e| format!("{e} (expected a single tag like py3-none-any)"))?;
        Ok(tags.remove(0))
    }
}

/// Expands a possibly compressed tag string (`py2.py3-none-any`) into its
/// tags, like `packaging.tags.parse_tag(tag, limit=limit)`: exactly three
/// `-`-separated components, no empty `.`-separated member, interpreters
/// must be identifiers, and at most `limit` tags. Tags are lowercased;
/// duplicates are dropped, order is the cartesian product order.
pub fn parse_tag_set(tag: &str, limit: usize) -> Result<Vec<Tag>, String> {
    let components: Vec<Vec<&str>> = tag.split('-').map(|c| c.split('.').collect()).collect();
    if components.len() != 3 {
        return Err(format!(
            "tag {tag:?} must have exactly three components (interpreter-abi-platform)"
        ));
    }
    for parts in &components {
        if parts.iter().any(|p| p.is_empty()) {
            return Err(format!(
                "tag {tag:?} has an empty component: {:?}",
                parts.join(".")
            ));
        }
    }
    let count = components
        .iter()
        .fold(1usize, |acc, parts| acc.saturating_mul(parts.len()));
    if count > limit {
        return Err(format!(
            "compressed tag set {tag:?} would expand to {count} tags, more than the limit of {limit}"
        ));
    }
    let (interpreters, abis, platforms) = (&components[0], &components[1], &components[2]);
    if let Some(bad) = interpreters.iter().find(|i| !is_identifier(i)) {
        return Err(format!("tag {tag:?} has an invalid interpreter: {bad:?}"));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(count);
    for interpreter in interpreters {
        for abi in abis {
            for platform in platforms {
                let t = Tag::new(interpreter, abi, platform);
                if seen.insert(t.clone()) {
                    out.push(t);
                }
            }
        }
    }
    Ok(out)
}

/// Python's `str.isidentifier()`, approximately (letters, digits, `_`; not
/// starting with a digit).
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Choices where tools disagree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TagOptions {
    /// Put `linux_<arch>` before the manylinux/musllinux tags, like
    /// packaging 26.3 and later. Default `false`: after them, like packaging
    /// up to 26.2 and uv, so a portable wheel wins over a locally built one.
    pub linux_native_first: bool,
}

/// The tags the interpreter supports, best first, in `packaging.tags.sys_tags()`
/// order (with `linux_<arch>` last; see [`TagOptions`]).
pub fn supported_tags(info: &InterpreterInfo) -> Vec<Tag> {
    supported_tags_with(info, TagOptions::default())
}

/// [`supported_tags`] with explicit options.
pub fn supported_tags_with(info: &InterpreterInfo, options: TagOptions) -> Vec<Tag> {
    let platforms = platform_tags_with(info, options);
    let (major, minor) = (info.version.0, info.version.1);
    let short = interpreter_short_name(&info.implementation);
    let nodot = format!("{major}{minor}");
    let mut tags = Vec::new();
    let compat_interpreter = match short.as_str() {
        "cp" => {
            cpython_tags(info, &platforms, &mut tags);
            Some(format!("cp{nodot}"))
        }
        other => {
            let interpreter = format!("{other}{nodot}");
            let mut abis = generic_abi(&info.soabi);
            if !abis.iter().any(|a| a == "none") {
                abis.push("none".to_string());
            }
            for abi in &abis {
                for p in &platforms {
                    tags.push(Tag::new(&interpreter, abi, p));
                }
            }
            (other == "pp").then(|| "pp3".to_string())
        }
    };
    compatible_tags(
        (major, minor),
        compat_interpreter.as_deref(),
        &platforms,
        &mut tags,
    );
    tags
}

/// `packaging.tags.INTERPRETER_SHORT_NAMES`, else the implementation name.
fn interpreter_short_name(implementation: &str) -> String {
    let name = implementation.to_lowercase();
    match name.as_str() {
        "python" => "py".into(),
        "cpython" => "cp".into(),
        "pypy" => "pp".into(),
        "ironpython" => "ip".into(),
        "jython" => "jy".into(),
        _ => name,
    }
}

/// `packaging.tags._cpython_abis`, from `sys.abiflags` and `Py_GIL_DISABLED`.
fn cpython_abis(info: &InterpreterInfo) -> Vec<String> {
    let v = (info.version.0, info.version.1);
    let nodot = format!("{}{}", v.0, v.1);
    let flags = &info.abiflags;
    let threading = if v >= (3, 13) && (info.free_threaded || flags.contains('t')) {
        "t"
    } else {
        ""
    };
    let debug = if flags.contains('d') { "d" } else { "" };
    let mut pymalloc = "";
    let mut ucs4 = "";
    if v < (3, 8) {
        // Windows has no sys.abiflags and no WITH_PYMALLOC: packaging assumes "m".
        let windows = flags.is_empty() && normalize_platform(&info.platform).starts_with("win");
        if flags.contains('m') || windows {
            pymalloc = "m";
        }
        if v < (3, 3) && flags.contains('u') {
            ucs4 = "u";
        }
    }
    let mut abis = vec![format!("cp{nodot}{threading}{debug}{pymalloc}{ucs4}")];
    if v >= (3, 8) && !debug.is_empty() {
        // Debug builds can also load normal extension modules.
        abis.push(format!("cp{nodot}{threading}"));
    }
    abis
}

/// `packaging.tags.cpython_tags` (26.3: `abi3t` for free-threaded builds).
fn cpython_tags(info: &InterpreterInfo, platforms: &[String], out: &mut Vec<Tag>) {
    let v = (info.version.0, info.version.1);
    let interpreter = format!("cp{}{}", v.0, v.1);
    let abis = cpython_abis(info);
    let threading = abis[0]
        .trim_start_matches("cp")
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .contains('t');
    for abi in &abis {
        for p in platforms {
            out.push(Tag::new(&interpreter, abi, p));
        }
    }
    let stable_applies = v >= (3, 2);
    let stable = if threading { "abi3t" } else { "abi3" };
    if stable_applies {
        for p in platforms {
            out.push(Tag::new(&interpreter, stable, p));
        }
    }
    for p in platforms {
        out.push(Tag::new(&interpreter, "none", p));
    }
    if stable_applies {
        for older in (2..v.1).rev() {
            let interpreter = format!("cp{}{older}", v.0);
            for p in platforms {
                out.push(Tag::new(&interpreter, stable, p));
            }
        }
    }
}

/// `packaging.tags._generic_abi`, applied to `SOABI` (which is the middle of
/// `EXT_SUFFIX`): `pypy310-pp73` → `pypy310_pp73`, `cpython-311-…` → `cp311`.
fn generic_abi(soabi: &str) -> Vec<String> {
    let parts: Vec<&str> = soabi.split('-').collect();
    let abi = if soabi.is_empty() {
        return Vec::new();
    } else if soabi.starts_with("cpython") {
        match parts.get(1) {
            Some(v) if !v.is_empty() => format!("cp{v}"),
            _ => return Vec::new(),
        }
    } else if soabi.starts_with("cp") {
        parts[0].to_string()
    } else if soabi.starts_with("pypy") {
        parts[..parts.len().min(2)].join("-")
    } else if soabi.starts_with("graalpy") {
        parts[..parts.len().min(3)].join("-")
    } else {
        soabi.to_string()
    };
    vec![normalize_platform(&abi)]
}

/// `packaging.tags.compatible_tags`.
fn compatible_tags(
    version: (u32, u32),
    interpreter: Option<&str>,
    platforms: &[String],
    out: &mut Vec<Tag>,
) {
    let (major, minor) = version;
    let mut pythons = vec![format!("py{major}{minor}"), format!("py{major}")];
    pythons.extend((0..minor).rev().map(|m| format!("py{major}{m}")));
    for py in &pythons {
        for p in platforms {
            out.push(Tag::new(py, "none", p));
        }
    }
    if let Some(interpreter) = interpreter {
        out.push(Tag::new(interpreter, "none", "any"));
    }
    for py in &pythons {
        out.push(Tag::new(py, "none", "any"));
    }
}

/// `_normalize_string`: `-` and `.` → `_`, lowercased.
fn normalize_platform(s: &str) -> String {
    s.replace(['-', '.'], "_").to_lowercase()
}

/// The interpreter's platform tags, best first (`packaging.tags.platform_tags()`
/// with `linux_<arch>` last).
pub fn platform_tags(info: &InterpreterInfo) -> Vec<String> {
    platform_tags_with(info, TagOptions::default())
}

/// [`platform_tags`] with explicit options.
pub fn platform_tags_with(info: &InterpreterInfo, options: TagOptions) -> Vec<String> {
    let plat = normalize_platform(&info.platform);
    if plat.starts_with("linux_") {
        linux_platforms(info, &plat, options)
    } else if plat.starts_with("macosx_") {
        mac_platforms_for(info)
    } else if plat.is_empty() {
        Vec::new()
    } else {
        // Windows (`win_amd64`, `win32`, `win_arm64`) and everything else.
        vec![plat]
    }
}

/// Architectures packaging offers manylinux tags for (`_manylinux._ALLOWED_ARCHS`).
const MANYLINUX_ARCHS: &[&str] = &[
    "x86_64",
    "aarch64",
    "ppc64",
    "ppc64le",
    "s390x",
    "loongarch64",
    "riscv64",
];

fn linux_platforms(info: &InterpreterInfo, plat: &str, options: TagOptions) -> Vec<String> {
    let mut linux = plat.to_string();
    if info.pointer_bits == 32 {
        if linux == "linux_x86_64" {
            linux = "linux_i686".into();
        } else if linux == "linux_aarch64" {
            linux = "linux_armv8l".into();
        }
    }
    let arch = &linux["linux_".len()..];
    let archs: Vec<&str> = if arch == "armv8l" {
        vec!["armv8l", "armv7l"]
    } else {
        vec![arch]
    };
    let mut out = Vec::new();
    if options.linux_native_first {
        out.extend(archs.iter().map(|a| format!("linux_{a}")));
    }
    if let Some(musl) = info.musl {
        // musl-linked: musllinux only, never manylinux.
        out.extend(musllinux_platforms(&archs, musl));
    } else if let Some(glibc) = info.glibc {
        if have_compatible_abi(&archs, &info.soabi) {
            out.extend(manylinux_platforms(&archs, glibc));
        }
    }
    if !options.linux_native_first {
        out.extend(archs.iter().map(|a| format!("linux_{a}")));
    }
    out
}

/// `_manylinux._have_compatible_abi`, without reading the ELF header: the
/// probe's pointer size already decided i686/armv8l, and a soft-float ARM
/// build shows in its SOABI (`…-linux-gnueabi` rather than `gnueabihf`).
fn have_compatible_abi(archs: &[&str], soabi: &str) -> bool {
    if archs.contains(&"armv7l") {
        return !soabi.contains("gnueabi") || soabi.contains("gnueabihf");
    }
    if archs.contains(&"i686") {
        return true;
    }
    archs.iter().any(|a| MANYLINUX_ARCHS.contains(a))
}

/// `_manylinux.platform_tags`: `manylinux_X_Y_<arch>` from the host glibc
/// down to 2.5 (x86_64/i686) or 2.17, each legacy alias right after its
/// version.
fn manylinux_platforms(archs: &[&str], glibc: (u32, u32)) -> Vec<String> {
    let too_old: (i64, i64) = if archs.iter().any(|a| *a == "x86_64" || *a == "i686") {
        (2, 4)
    } else {
        (2, 16)
    };
    let current = (i64::from(glibc.0), i64::from(glibc.1));
    // Compatibility is assumed across glibc majors; 50 = packaging's
    // `_LAST_GLIBC_MINOR` default.
    let mut maxima = vec![current];
    maxima.extend((2..current.0).rev().map(|major| (major, 50)));
    let mut out = Vec::new();
    for arch in archs {
        for &(major, max_minor) in &maxima {
            let min_minor = if major == too_old.0 { too_old.1 } else { -1 };
            let mut minor = max_minor;
            while minor > min_minor {
                out.push(format!("manylinux_{major}_{minor}_{arch}"));
                let legacy = match (major, minor) {
                    (2, 17) => Some("manylinux2014"),
                    (2, 12) => Some("manylinux2010"),
                    (2, 5) => Some("manylinux1"),
                    _ => None,
                };
                if let Some(legacy) = legacy {
                    out.push(format!("{legacy}_{arch}"));
                }
                minor -= 1;
            }
        }
    }
    out
}

/// `_musllinux.platform_tags`: `musllinux_X_Y_<arch>` for Y from the host's
/// minor down to 0.
fn musllinux_platforms(archs: &[&str], musl: (u32, u32)) -> Vec<String> {
    let mut out = Vec::new();
    for arch in archs {
        for minor in (0..=musl.1).rev() {
            out.push(format!("musllinux_{}_{minor}_{arch}", musl.0));
        }
    }
    out
}

/// The macOS version from the Darwin kernel release (`platform_release`
/// marker, e.g. `23.2.0` → 14.2), else from `sysconfig.get_platform()`
/// (which is the build's deployment target, so only a lower bound).
fn macos_version(info: &InterpreterInfo) -> Option<(u32, u32)> {
    let parse2 = |s: &str| -> Option<(u32, u32)> {
        let mut it = s.split('.');
        let major = it.next()?.trim().parse().ok()?;
        let minor = it.next().and_then(|m| m.trim().parse().ok()).unwrap_or(0);
        Some((major, minor))
    };
    if let Some((darwin, minor)) = info.markers.get("platform_release").and_then(|r| parse2(r)) {
        match darwin {
            // Darwin 25 is macOS 26 (Tahoe): the numbers jumped.
            25.. => return Some((darwin + 1, minor)),
            20..=24 => return Some((darwin - 9, minor)),
            5..=19 => return Some((10, darwin - 4)),
            _ => {}
        }
    }
    // `macosx-11.0-arm64`
    info.platform.split('-').nth(1).and_then(parse2)
}

fn mac_platforms_for(info: &InterpreterInfo) -> Vec<String> {
    let Some(version) = macos_version(info) else {
        return vec![normalize_platform(&info.platform)];
    };
    let machine = info
        .markers
        .get("platform_machine")
        .filter(|m| !m.is_empty())
        .cloned()
        .unwrap_or_else(|| info.platform.rsplit('-').next().unwrap_or("").to_string());
    let arch = if info.pointer_bits == 32 {
        if machine.starts_with("ppc") {
            "ppc".to_string()
        } else {
            "i386".to_string()
        }
    } else {
        machine
    };
    mac_platforms(version, &arch)
}

/// `packaging.tags._mac_binary_formats`.
fn mac_binary_formats(version: (u32, u32), arch: &str) -> Vec<&str> {
    let mut formats = vec![arch];
    match arch {
        "x86_64" => {
            if version < (10, 4) {
                return Vec::new();
            }
            formats.extend(["intel", "fat64", "fat3"]);
        }
        "i386" => {
            if version < (10, 4) {
                return Vec::new();
            }
            formats.extend(["intel", "fat3", "fat"]);
        }
        "ppc64" => {
            if !((10, 4)..=(10, 5)).contains(&version) {
                return Vec::new();
            }
            formats.push("fat64");
        }
        "ppc" => {
            if version > (10, 6) {
                return Vec::new();
            }
            formats.extend(["fat3", "fat"]);
        }
        _ => {}
    }
    if matches!(arch, "arm64" | "x86_64") {
        formats.push("universal2");
    }
    if matches!(arch, "x86_64" | "i386" | "ppc64" | "ppc" | "intel") {
        formats.push("universal");
    }
    formats
}

/// `packaging.tags.mac_platforms(version, arch)`.
pub fn mac_platforms(version: (u32, u32), arch: &str) -> Vec<String> {
    let mut out = Vec::new();
    if ((10, 0)..(11, 0)).contains(&version) {
        for minor in (0..=version.1).rev() {
            for format in mac_binary_formats((10, minor), arch) {
                out.push(format!("macosx_10_{minor}_{format}"));
            }
        }
    }
    if version >= (11, 0) {
        for major in (11..=version.0).rev() {
            for format in mac_binary_formats((major, 0), arch) {
                out.push(format!("macosx_{major}_0_{format}"));
            }
        }
        // x86_64 runs everything back to 10.4; arm64 only universal2 builds.
        for minor in (4..=16).rev() {
            if arch == "x86_64" {
                for format in mac_binary_formats((10, minor), arch) {
                    out.push(format!("macosx_10_{minor}_{format}"));
                }
            } else {
                out.push(format!("macosx_10_{minor}_universal2"));
            }
        }
    }
    out
}

/// Tag → rank (index in the supported list, first occurrence wins), built
/// once per interpreter.
#[derive(Clone, Debug, Default)]
pub struct TagRanks {
    tags: Vec<Tag>,
    ranks: HashMap<Tag, usize>,
}

impl TagRanks {
    /// Ranks for an ordered list of supported tags (best first).
    pub fn new(tags: Vec<Tag>) -> TagRanks {
        let mut ranks = HashMap::with_capacity(tags.len());
        for (i, t) in tags.iter().enumerate() {
            ranks.entry(t.clone()).or_insert(i);
        }
        TagRanks { tags, ranks }
    }

    /// Ranks for [`supported_tags`] of `info`.
    pub fn for_interpreter(info: &InterpreterInfo) -> TagRanks {
        TagRanks::new(supported_tags(info))
    }

    /// The supported tags, best first.
    pub fn tags(&self) -> &[Tag] {
        &self.tags
    }

    /// The rank of one tag, `None` if unsupported.
    pub fn rank_of(&self, tag: &Tag) -> Option<usize> {
        self.ranks.get(tag).copied()
    }

    /// The best (lowest) rank of any of the wheel's tags; `None` if the wheel
    /// is not compatible.
    pub fn rank(&self, wheel: &WheelName) -> Option<usize> {
        wheel.tags.iter().filter_map(|t| self.rank_of(t)).min()
    }
}

/// The compatible candidate with the best (lowest) tag rank, then the highest
/// build tag (no build tag sorts lowest); on a full tie the first one wins.
/// Candidates whose file names do not parse are skipped.
pub fn select_wheel<'a, T>(
    candidates: &'a [T],
    filename: impl Fn(&T) -> &str,
    ranks: &TagRanks,
) -> Option<&'a T> {
    // (rank, build tag, candidate) of the best so far.
    let mut best: Option<(usize, BuildTag, &'a T)> = None;
    for candidate in candidates {
        let Ok(wheel) = WheelName::parse(filename(candidate)) else {
            continue;
        };
        let Some(rank) = ranks.rank(&wheel) else {
            continue;
        };
        let better = match &best {
            None => true,
            Some((best_rank, best_build, _)) => {
                rank < *best_rank || (rank == *best_rank && wheel.build > *best_build)
            }
        };
        if better {
            best = Some((rank, wheel.build, candidate));
        }
    }
    best.map(|(_, _, c)| c)
}

/// The first `n` tags joined by `, `, noting how many more there are, for
/// "no compatible wheel" messages.
pub fn best_tags_summary(tags: &[Tag], n: usize) -> String {
    if tags.is_empty() {
        return "(no supported tags)".to_string();
    }
    let shown: Vec<String> = tags.iter().take(n).map(Tag::to_string).collect();
    let rest = tags.len().saturating_sub(n);
    match (shown.is_empty(), rest) {
        (true, _) => format!("{rest} supported tags"),
        (false, 0) => shown.join(", "),
        (false, _) => format!("{}, … ({rest} more)", shown.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::normalize_name;
    use crate::wheel::is_valid_version;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    /// A probed interpreter; `platform` is `sysconfig.get_platform()`.
    fn info(implementation: &str, version: (u32, u32, u32), platform: &str) -> InterpreterInfo {
        let soabi = if implementation == "cpython" {
            format!("cpython-{}{}-x86_64-linux-gnu", version.0, version.1)
        } else {
            String::new()
        };
        InterpreterInfo {
            executable: PathBuf::from("/usr/bin/python3"),
            version,
            implementation: implementation.to_string(),
            abiflags: String::new(),
            soabi,
            platform: platform.to_string(),
            pointer_bits: 64,
            glibc: None,
            musl: None,
            free_threaded: false,
            markers: BTreeMap::new(),
            purelib_rel: String::new(),
            bytecode_magic: String::new(),
        }
    }

    fn cpython(minor: u32, platform: &str, glibc: Option<(u32, u32)>) -> InterpreterInfo {
        let mut i = info("cpython", (3, minor, 1), platform);
        i.glibc = glibc;
        i
    }

    fn strings<T: ToString>(items: &[T]) -> Vec<String> {
        items.iter().map(T::to_string).collect()
    }

    /// Compares with a fixture (one item per line), reporting the first
    /// difference rather than two 900-line lists.
    fn assert_matches_fixture(actual: &[String], fixture: &str, what: &str) {
        let expected: Vec<&str> = fixture.lines().collect();
        for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
            assert_eq!(a, e, "{what}: first difference at index {i}");
        }
        assert_eq!(
            actual.len(),
            expected.len(),
            "{what}: lengths differ (got {}, packaging has {})",
            actual.len(),
            expected.len()
        );
    }

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../tests/fixtures/tags/", $name, ".txt"))
        };
    }

    // ---- supported tags vs packaging -------------------------------------

    #[test]
    fn cp311_glibc_2_36_x86_64_matches_packaging() {
        let i = cpython(11, "linux-x86_64", Some((2, 36)));
        let tags = supported_tags(&i);
        assert_matches_fixture(
            &strings(&tags),
            fixture!("cp311_glibc2_36_x86_64"),
            "cp311 x86_64",
        );
        assert_eq!(tags[0].to_string(), "cp311-cp311-manylinux_2_36_x86_64");
        assert_eq!(tags.last().unwrap().to_string(), "py30-none-any");
        // Legacy aliases right after their manylinux_2_N; linux_* last.
        let plats = platform_tags(&i);
        assert_eq!(plats.len(), 36);
        let pos = |p: &str| plats.iter().position(|x| x == p).unwrap();
        assert_eq!(
            pos("manylinux2014_x86_64"),
            pos("manylinux_2_17_x86_64") + 1
        );
        assert_eq!(
            pos("manylinux2010_x86_64"),
            pos("manylinux_2_12_x86_64") + 1
        );
        assert_eq!(pos("manylinux1_x86_64"), pos("manylinux_2_5_x86_64") + 1);
        assert_eq!(plats.last().unwrap(), "linux_x86_64");
        assert!(!plats.iter().any(|p| p.contains("manylinux_2_4_")));
    }

    #[test]
    fn aarch64_floor_is_2_17() {
        let i = cpython(10, "linux-aarch64", Some((2, 36)));
        assert_matches_fixture(
            &strings(&supported_tags(&i)),
            fixture!("cp310_glibc2_36_aarch64"),
            "cp310 aarch64",
        );
        let plats = platform_tags(&i);
        assert_eq!(plats[plats.len() - 3], "manylinux_2_17_aarch64");
        assert_eq!(plats[plats.len() - 2], "manylinux2014_aarch64");
        assert!(!plats
            .iter()
            .any(|p| p.contains("2_16") || p.contains("manylinux2010")));
    }

    #[test]
    fn i686_for_32_bit_interpreter_on_x86_64() {
        let mut i = cpython(9, "linux-x86_64", Some((2, 17)));
        i.pointer_bits = 32;
        let tags = supported_tags(&i);
        assert_matches_fixture(
            &strings(&tags),
            fixture!("cp39_glibc2_17_i686"),
            "cp39 i686",
        );
        assert!(tags.iter().all(|t| !t.platform.contains("x86_64")));
        // A native i686 system says so itself.
        let native = cpython(9, "linux-i686", Some((2, 17)));
        assert_eq!(supported_tags(&native), tags);
    }

    #[test]
    fn armv8l_for_32_bit_interpreter_on_aarch64() {
        let mut i = cpython(11, "linux-aarch64", Some((2, 31)));
        i.pointer_bits = 32;
        i.soabi = "cpython-311-arm-linux-gnueabihf".into();
        assert_matches_fixture(
            &platform_tags(&i),
            fixture!("plats_glibc2_31_armv8l"),
            "armv8l platforms",
        );
        // Soft-float ARM gets no manylinux tags.
        i.soabi = "cpython-311-arm-linux-gnueabi".into();
        assert_eq!(platform_tags(&i), ["linux_armv8l", "linux_armv7l"]);
    }

    #[test]
    fn musl_host_gets_musllinux_and_no_manylinux() {
        let mut i = cpython(12, "linux-x86_64", None);
        i.musl = Some((1, 2));
        let tags = supported_tags(&i);
        assert_matches_fixture(
            &strings(&tags),
            fixture!("cp312_musl1_2_x86_64"),
            "cp312 musl",
        );
        assert_eq!(
            platform_tags(&i),
            [
                "musllinux_1_2_x86_64",
                "musllinux_1_1_x86_64",
                "musllinux_1_0_x86_64",
                "linux_x86_64"
            ]
        );
        // Never both, even if a probe reported a glibc too.
        i.glibc = Some((2, 36));
        assert_eq!(supported_tags(&i), tags);
        assert!(!tags.iter().any(|t| t.platform.starts_with("manylinux")));
    }

    #[test]
    fn free_threaded_gets_abi3t_not_abi3() {
        let mut i = cpython(13, "linux-x86_64", Some((2, 17)));
        i.free_threaded = true;
        i.abiflags = "t".into();
        let tags = supported_tags(&i);
        assert_matches_fixture(
            &strings(&tags),
            fixture!("cp313t_glibc2_17_x86_64"),
            "cp313t",
        );
        assert_eq!(tags[0].to_string(), "cp313-cp313t-manylinux_2_17_x86_64");
        assert!(tags.iter().all(|t| t.abi != "abi3" && t.abi != "cp313"));
        assert!(tags.contains(&Tag::new("cp312", "abi3t", "manylinux2014_x86_64")));
        // The flag alone (abiflags missing) is enough.
        i.abiflags.clear();
        assert_eq!(supported_tags(&i), tags);
    }

    #[test]
    fn gil_build_gets_abi3_not_abi3t() {
        let tags = supported_tags(&cpython(13, "linux-x86_64", Some((2, 17))));
        assert!(tags.iter().any(|t| t.abi == "abi3"));
        assert!(tags.iter().all(|t| t.abi != "abi3t" && t.abi != "cp313t"));
    }

    #[test]
    fn debug_build_also_loads_normal_extensions() {
        let mut i = cpython(12, "linux-x86_64", Some((2, 17)));
        i.abiflags = "d".into();
        assert_matches_fixture(
            &strings(&supported_tags(&i)),
            fixture!("cp312d_glibc2_17_x86_64"),
            "cp312d",
        );
    }

    #[test]
    fn cp37m_pymalloc_abi() {
        let mut i = cpython(7, "linux-x86_64", Some((2, 12)));
        i.abiflags = "m".into();
        assert_matches_fixture(
            &strings(&supported_tags(&i)),
            fixture!("cp37m_glibc2_12_x86_64"),
            "cp37m",
        );
        // Windows has no sys.abiflags; packaging still says cp37m.
        let w = info("cpython", (3, 7, 9), "win-amd64");
        assert_eq!(supported_tags(&w)[0].to_string(), "cp37-cp37m-win_amd64");
    }

    #[test]
    fn pypy_uses_generic_tags_and_pp3() {
        let mut i = info("pypy", (3, 10, 14), "linux-x86_64");
        i.soabi = "pypy310-pp73".into();
        i.glibc = Some((2, 17));
        let tags = supported_tags(&i);
        assert_matches_fixture(&strings(&tags), fixture!("pp310_glibc2_17_x86_64"), "pp310");
        assert_eq!(
            tags[0].to_string(),
            "pp310-pypy310_pp73-manylinux_2_17_x86_64"
        );
        assert!(tags.contains(&Tag::new("pp3", "none", "any")));
    }

    #[test]
    fn other_implementations_get_no_extra_any_tag() {
        let mut i = info("graalpy", (3, 11, 7), "linux-x86_64");
        i.soabi = "graalpy242-311-native-x86_64-linux".into();
        let tags = strings(&supported_tags(&i));
        assert_eq!(tags[0], "graalpy311-graalpy242_311_native-linux_x86_64");
        assert_eq!(tags[1], "graalpy311-none-linux_x86_64");
        let any: Vec<&String> = tags.iter().filter(|t| t.ends_with("-any")).collect();
        assert_eq!(any[0], "py311-none-any");
        assert_eq!(any.len(), 13);
    }

    #[test]
    fn generic_abi_from_soabi() {
        assert_eq!(generic_abi("cpython-310-x86_64-linux-gnu"), ["cp310"]);
        assert_eq!(generic_abi("cp310-win_amd64"), ["cp310"]);
        assert_eq!(generic_abi("pypy38-pp73-x86_64-linux-gnu"), ["pypy38_pp73"]);
        assert_eq!(generic_abi("pypy310-pp73"), ["pypy310_pp73"]);
        assert_eq!(
            generic_abi("graalpy-38-native-x86_64-darwin"),
            ["graalpy_38_native"]
        );
        assert_eq!(generic_abi("pyston-23.x"), ["pyston_23_x"]);
        assert!(generic_abi("").is_empty());
        assert!(generic_abi("cpython").is_empty());
    }

    #[test]
    fn linux_native_first_matches_packaging_26_3() {
        let i = cpython(12, "linux-aarch64", Some((2, 28)));
        let opts = TagOptions {
            linux_native_first: true,
        };
        let tags = supported_tags_with(&i, opts);
        assert_matches_fixture(
            &strings(&tags),
            fixture!("cp312_glibc2_28_aarch64_native_first"),
            "native first",
        );
        assert_eq!(tags[0].to_string(), "cp312-cp312-linux_aarch64");
        // Same set as the default order, just a different rank.
        let mut a = tags.clone();
        let mut b = supported_tags(&i);
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn linux_without_usable_libc() {
        // Neither glibc nor musl detected: only the native tag.
        assert_eq!(
            platform_tags(&cpython(12, "linux-x86_64", None)),
            ["linux_x86_64"]
        );
        // glibc older than the floor.
        assert_eq!(
            platform_tags(&cpython(12, "linux-x86_64", Some((2, 4)))),
            ["linux_x86_64"]
        );
        assert_eq!(
            platform_tags(&cpython(12, "linux-aarch64", Some((2, 16)))),
            ["linux_aarch64"]
        );
        assert_eq!(
            platform_tags(&cpython(12, "linux-x86_64", Some((2, 5)))),
            ["manylinux_2_5_x86_64", "manylinux1_x86_64", "linux_x86_64"]
        );
        // Architectures without manylinux support.
        assert_eq!(
            platform_tags(&cpython(12, "linux-mips", Some((2, 36)))),
            ["linux_mips"]
        );
        // ... but musllinux has no such list.
        let mut m = cpython(12, "linux-armv7l", None);
        m.musl = Some((1, 1));
        assert_eq!(
            platform_tags(&m),
            [
                "musllinux_1_1_armv7l",
                "musllinux_1_0_armv7l",
                "linux_armv7l"
            ]
        );
    }

    #[test]
    fn ppc64le_s390x_riscv64_get_manylinux() {
        for arch in ["ppc64le", "s390x", "riscv64", "loongarch64"] {
            let plats = platform_tags(&cpython(12, &format!("linux-{arch}"), Some((2, 17))));
            assert_eq!(
                plats,
                [
                    format!("manylinux_2_17_{arch}"),
                    format!("manylinux2014_{arch}"),
                    format!("linux_{arch}")
                ]
            );
        }
    }

    #[test]
    fn glibc_major_3_counts_down_through_2_50() {
        // packaging assumes compatibility across majors (2.x up to 2.50).
        let plats = platform_tags(&cpython(12, "linux-aarch64", Some((3, 1))));
        assert_eq!(
            plats[..4],
            [
                "manylinux_3_1_aarch64",
                "manylinux_3_0_aarch64",
                "manylinux_2_50_aarch64",
                "manylinux_2_49_aarch64"
            ]
        );
        assert_eq!(plats.len(), 2 + 34 + 1 + 1);
    }

    #[test]
    fn macos_platforms_match_packaging() {
        assert_matches_fixture(
            &mac_platforms((14, 2), "arm64"),
            fixture!("plats_macos14_2_arm64"),
            "macOS 14.2 arm64",
        );
        assert_matches_fixture(
            &mac_platforms((14, 2), "x86_64"),
            fixture!("plats_macos14_2_x86_64"),
            "macOS 14.2 x86_64",
        );
        assert_matches_fixture(
            &mac_platforms((10, 15), "x86_64"),
            fixture!("plats_macos10_15_x86_64"),
            "macOS 10.15 x86_64",
        );
        assert_eq!(mac_platforms((14, 2), "arm64").len(), 21);
        assert_eq!(mac_platforms((14, 2), "x86_64").len(), 102);
    }

    #[test]
    fn macos_from_interpreter_info() {
        let mut i = info("cpython", (3, 12, 4), "macosx-11.0-arm64");
        i.markers.insert("platform_release".into(), "21.6.0".into());
        i.markers.insert("platform_machine".into(), "arm64".into());
        let tags = supported_tags(&i);
        assert_matches_fixture(
            &strings(&tags),
            fixture!("cp312_macos12_arm64"),
            "cp312 macOS 12",
        );
        assert_eq!(tags.len(), 474);

        // Darwin → macOS mapping, including the jump to 26.
        for (darwin, mac) in [
            ("19.6.0", (10, 15)),
            ("20.1.0", (11, 1)),
            ("23.2.0", (14, 2)),
            ("24.0.0", (15, 0)),
            ("25.0.0", (26, 0)),
        ] {
            i.markers.insert("platform_release".into(), darwin.into());
            assert_eq!(macos_version(&i), Some(mac), "Darwin {darwin}");
        }
        // No kernel release: fall back to the sysconfig platform version.
        i.markers.clear();
        assert_eq!(macos_version(&i), Some((11, 0)));
        assert_eq!(
            platform_tags(&i)[..2],
            ["macosx_11_0_arm64", "macosx_11_0_universal2"]
        );
        // Universal2 Python on an Intel Mac: the machine decides.
        let mut u = info("cpython", (3, 12, 4), "macosx-10.9-universal2");
        u.markers.insert("platform_release".into(), "23.2.0".into());
        u.markers.insert("platform_machine".into(), "x86_64".into());
        assert_eq!(platform_tags(&u), mac_platforms((14, 2), "x86_64"));
    }

    #[test]
    fn windows_matches_packaging() {
        let i = info("cpython", (3, 12, 4), "win-amd64");
        assert_matches_fixture(
            &strings(&supported_tags(&i)),
            fixture!("cp312_win_amd64"),
            "cp312 win",
        );
        assert_eq!(
            platform_tags(&info("cpython", (3, 12, 4), "win32")),
            ["win32"]
        );
        assert_eq!(
            platform_tags(&info("cpython", (3, 12, 4), "win-arm64")),
            ["win_arm64"]
        );
    }

    // ---- wheel file names ---------------------------------------------------

    fn tag_strings(filename: &str) -> Vec<String> {
        strings(&WheelName::parse(filename).unwrap().tags)
    }

    #[test]
    fn parse_simple_wheel() {
        let w = WheelName::parse("foo-1.0-py3-none-any.whl").unwrap();
        assert_eq!(w.name, "foo");
        assert_eq!(w.version, "1.0");
        assert_eq!(w.build, None);
        assert_eq!(w.tags, [Tag::new("py3", "none", "any")]);
        assert_eq!(w.tags[0].to_string(), "py3-none-any");
    }

    #[test]
    fn parse_keeps_name_as_written_and_normalizes_on_request() {
        let w = WheelName::parse("Foo.Bar-1.0-py3-none-any.whl").unwrap();
        assert_eq!(w.name, "Foo.Bar");
        assert_eq!(w.normalized_name(), "foo-bar");
        let w =
            WheelName::parse("zope.interface-6.0-cp311-cp311-manylinux_2_17_x86_64.whl").unwrap();
        assert_eq!(w.normalized_name(), "zope-interface");
        assert_eq!(normalize_name("A__b.-_C"), "a-b-c");
        assert_eq!(normalize_name("typing_extensions"), "typing-extensions");
        assert_eq!(normalize_name("Django"), "django");
        assert_eq!(
            WheelName::parse("föö-1.0-py3-none-any.whl").unwrap().name,
            "föö"
        );
    }

    #[test]
    fn compressed_tag_sets_expand() {
        assert_eq!(
            tag_strings("six-1.16.0-py2.py3-none-any.whl"),
            ["py2-none-any", "py3-none-any"]
        );
        assert_eq!(
            tag_strings("numpy-2.0.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
            [
                "cp311-cp311-manylinux_2_17_x86_64",
                "cp311-cp311-manylinux2014_x86_64"
            ]
        );
        assert_eq!(
            tag_strings("foo-1.0-py2.py3-none.abi3-a.b.whl").len(),
            2 * 2 * 2
        );
        // Lowercased, deduplicated.
        assert_eq!(tag_strings("foo-1.0-Py3-NONE-Any.whl"), ["py3-none-any"]);
        assert_eq!(
            tag_strings("foo-1.0-py3.PY3-none-any.whl"),
            ["py3-none-any"]
        );
        // packaging accepts this one too: the tag is py3-none-any.whl.
        assert_eq!(
            tag_strings("foo-1.0-py3-none-any.whl.whl"),
            ["py3-none-any", "py3-none-whl"]
        );
    }

    #[test]
    fn compressed_tag_sets_are_capped() {
        let interps: Vec<String> = (0..16).map(|i| format!("py3{i}")).collect();
        let plats: Vec<String> = (0..16).map(|i| format!("p{i}")).collect();
        let ok = format!("foo-1.0-{}-none-{}.whl", interps.join("."), plats.join("."));
        assert_eq!(WheelName::parse(&ok).unwrap().tags.len(), 256);
        let too_many = format!(
            "foo-1.0-{}-none.abi3-{}.whl",
            interps.join("."),
            plats.join(".")
        );
        let err = WheelName::parse(&too_many).unwrap_err();
        assert!(err.contains("512 tags"), "{err}");
        assert!(parse_tag_set("a.b-c-d", 1).is_err());
        assert_eq!(parse_tag_set("a.b-c-d", 2).unwrap().len(), 2);
    }

    #[test]
    fn build_tags() {
        let w = WheelName::parse("foo-1.0-1-py3-none-any.whl").unwrap();
        assert_eq!(w.build, Some((1, String::new())));
        let w = WheelName::parse("foo-1.0-2abc-py3-none-any.whl").unwrap();
        assert_eq!(w.build, Some((2, "abc".to_string())));
        let w = WheelName::parse("foo-1.0-01x-py3-none-any.whl").unwrap();
        assert_eq!(w.build, Some((1, "x".to_string())));
        let w = WheelName::parse("foo-1.0-00-py3-none-any.whl").unwrap();
        assert_eq!(w.build, Some((0, String::new())));
        let w = WheelName::parse("foo-1.0-99999999999999999999999-py3-none-any.whl").unwrap();
        assert_eq!(w.build, Some((u64::MAX, String::new())));
        assert!(WheelName::parse("foo-1.0-x1-py3-none-any.whl")
            .unwrap_err()
            .contains("build tag"));
        // Ordering as (int, str), absent lowest.
        let mut builds = vec![
            Some((2, "a".to_string())),
            None,
            Some((10, String::new())),
            Some((2, String::new())),
        ];
        builds.sort();
        assert_eq!(
            builds,
            [
                None,
                Some((2, String::new())),
                Some((2, "a".to_string())),
                Some((10, String::new()))
            ]
        );
    }

    #[test]
    fn bad_wheel_names_are_rejected() {
        // Each of these is rejected by packaging 26.4 parse_wheel_filename.
        for bad in [
            "foo.whl",
            "a-b-c.whl",
            "foo__bar-1.0-py3-none-any.whl",
            "foo-1.0-py3-none-any.WHL",
            "foo-1.0-py3-none-any.zip",
            "foo-1.0-py3-none-any",
            "foo-1.0-py3--any.whl",
            "foo-1.0-py3.-none-any.whl",
            "foo-1.0-3py-none-any.whl",
            "foo-1.0-py3-none-any-x.whl",
            "foo-1.0-1-2-py3-none-any.whl",
            "-1.0-py3-none-any.whl",
            "foo bar-1.0-py3-none-any.whl",
            "foo-1..0-py3-none-any.whl",
            "foo-.1-py3-none-any.whl",
            "foo-1.0+-py3-none-any.whl",
            "foo-1.0.devx-py3-none-any.whl",
            "foo-1.0-py3-none-any.whl ",
            "foo-bar-1.0-py3-none-any.whl.x",
        ] {
            assert!(WheelName::parse(bad).is_err(), "{bad} should be rejected");
        }
        let err = WheelName::parse("foo__bar-1.0-py3-none-any.whl").unwrap_err();
        assert!(err.contains("project name"), "{err}");
        let err = WheelName::parse("a-b-c.whl").unwrap_err();
        assert!(err.contains("4 or 5 dashes"), "{err}");
    }

    #[test]
    fn versions_follow_pep_440() {
        // Verdicts from packaging 26.4's Version().
        let valid = [
            "1.0",
            "v1.0",
            "V1.0",
            "1!2.0",
            "1.0a",
            "1.0a.dev",
            "1.0rc",
            "1.0.r.1",
            "1.0c1",
            "1.0preview2",
            "1.0.dev",
            "1.0dev",
            "1.0a1.post2.dev3+ubuntu.1",
            "1.0+Ubuntu_1",
            "1.0RC1",
            "1.0a.",
            "1.0.post.dev",
            "1.0alpha_1",
            "1.0a.+a",
            "1.0rev",
            "1.0r",
            "1.0postdev",
            "1.0.a1",
            "1.0_rc1",
            "1.0.post",
            "2024.1.15",
            "0",
            "1.0+abc.1",
        ];
        for v in valid {
            assert!(is_valid_version(v), "{v} should be valid");
        }
        let invalid = [
            "",
            "1..0",
            ".1",
            "1.0+",
            "1.0.devx",
            "1.0+ab..c",
            "1.0.",
            "1.0a1a2",
            "1.0.+a",
            "1.0_",
            "!1.0",
            "1!",
            "vv1",
            "1.0a..1",
            "1.0..a1",
            "abc",
            "1.0 beta",
            "1.0+a+b",
        ];
        for v in invalid {
            assert!(!is_valid_version(v), "{v} should be invalid");
        }
        assert!(WheelName::parse("foo-1.0a1.post2.dev3+ubuntu.1-py3-none-any.whl").is_ok());
    }

    #[test]
    fn tag_from_str() {
        let t: Tag = "CP311-cp311-Manylinux_2_17_x86_64".parse().unwrap();
        assert_eq!(t, Tag::new("cp311", "cp311", "manylinux_2_17_x86_64"));
        assert!("py2.py3-none-any".parse::<Tag>().is_err());
        assert!("py3-none".parse::<Tag>().is_err());
    }

    // ---- ranking and selection ---------------------------------------------

    #[test]
    fn rank_is_best_tag_index() {
        let i = cpython(11, "linux-x86_64", Some((2, 36)));
        let ranks = TagRanks::for_interpreter(&i);
        assert_eq!(ranks.tags().len(), 914);
        let w = WheelName::parse("foo-1.0-py2.py3-none-any.whl").unwrap();
        let py3_any = ranks.rank_of(&Tag::new("py3", "none", "any")).unwrap();
        assert_eq!(ranks.rank(&w), Some(py3_any));
        let w =
            WheelName::parse("foo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
                .unwrap();
        assert_eq!(
            ranks.rank(&w),
            ranks.rank_of(&Tag::new("cp311", "cp311", "manylinux_2_17_x86_64"))
        );
        let w = WheelName::parse("foo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl").unwrap();
        assert_eq!(ranks.rank(&w), None);
        // First occurrence wins for duplicate tags.
        let t = Tag::new("py3", "none", "any");
        let r = TagRanks::new(vec![t.clone(), Tag::new("a", "b", "c"), t.clone()]);
        assert_eq!(r.rank_of(&t), Some(0));
    }

    fn names(list: &[&'static str]) -> Vec<&'static str> {
        list.to_vec()
    }

    #[test]
    fn select_prefers_newest_manylinux_the_host_supports() {
        let ranks = TagRanks::for_interpreter(&cpython(11, "linux-x86_64", Some((2, 36))));
        let c = names(&[
            "foo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "foo-1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
            "foo-1.0-cp311-cp311-manylinux_2_39_x86_64.whl",
            "foo-1.0-cp311-cp311-musllinux_1_2_x86_64.whl",
            "foo-1.0-cp311-cp311-linux_x86_64.whl",
        ]);
        assert_eq!(select_wheel(&c, |s| s, &ranks), Some(&c[1]));
        // On a glibc 2.17 host only the 2014 wheel fits (linux_* ranks last).
        let old = TagRanks::for_interpreter(&cpython(11, "linux-x86_64", Some((2, 17))));
        assert_eq!(select_wheel(&c, |s| s, &old), Some(&c[0]));
    }

    #[test]
    fn select_prefers_exact_abi_then_abi3_then_pure() {
        let ranks = TagRanks::for_interpreter(&cpython(11, "linux-x86_64", Some((2, 36))));
        let mut c = names(&[
            "foo-1.0-py3-none-any.whl",
            "foo-1.0-cp38-abi3-manylinux_2_17_x86_64.whl",
            "foo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        ]);
        assert_eq!(select_wheel(&c, |s| s, &ranks), Some(&c[2]));
        c.pop();
        assert_eq!(select_wheel(&c, |s| s, &ranks), Some(&c[1]));
        c.pop();
        assert_eq!(select_wheel(&c, |s| s, &ranks), Some(&c[0]));
    }

    #[test]
    fn select_breaks_ties_by_highest_build_tag() {
        let ranks = TagRanks::for_interpreter(&cpython(11, "linux-x86_64", Some((2, 36))));
        let c = names(&[
            "foo-1.0-py3-none-any.whl",
            "foo-1.0-2-py3-none-any.whl",
            "foo-1.0-10-py3-none-any.whl",
            "foo-1.0-2b-py3-none-any.whl",
        ]);
        assert_eq!(select_wheel(&c, |s| s, &ranks), Some(&c[2]));
        // Tag rank beats build tag.
        let c = names(&[
            "foo-1.0-99-py3-none-any.whl",
            "foo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        ]);
        assert_eq!(select_wheel(&c, |s| s, &ranks), Some(&c[1]));
        // Full tie: the first candidate.
        let c = names(&["foo-1.0-py3-none-any.whl", "Foo-1.0-py3-none-any.whl"]);
        assert!(std::ptr::eq(
            select_wheel(&c, |s| s, &ranks).unwrap(),
            &c[0]
        ));
    }

    #[test]
    fn select_skips_unparseable_and_returns_none_when_nothing_fits() {
        let ranks = TagRanks::for_interpreter(&cpython(11, "linux-x86_64", Some((2, 36))));
        struct Locked {
            filename: String,
        }
        let c = vec![
            Locked {
                filename: "foo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl".into(),
            },
            Locked {
                filename: "foo-1.0-cp311-cp311-win_amd64.whl".into(),
            },
            Locked {
                filename: "foo-1.0-cp311-cp311-manylinux_2_17_aarch64.whl".into(),
            },
            Locked {
                filename: "foo-1.0-cp311-cp311-musllinux_1_1_x86_64.whl".into(),
            },
            Locked {
                filename: "not a wheel".into(),
            },
        ];
        assert!(select_wheel(&c, |l| l.filename.as_str(), &ranks).is_none());
        let empty: Vec<Locked> = Vec::new();
        assert!(select_wheel(&empty, |l| l.filename.as_str(), &ranks).is_none());
        let c = vec![
            Locked {
                filename: "foo__x-1.0-py3-none-any.whl".into(),
            },
            Locked {
                filename: "foo-1.0-py3-none-any.whl".into(),
            },
        ];
        assert_eq!(
            select_wheel(&c, |l| l.filename.as_str(), &ranks)
                .unwrap()
                .filename,
            "foo-1.0-py3-none-any.whl"
        );
    }

    #[test]
    fn summary_lists_best_tags() {
        let tags = supported_tags(&cpython(11, "linux-x86_64", Some((2, 36))));
        assert_eq!(
            best_tags_summary(&tags, 2),
            "cp311-cp311-manylinux_2_36_x86_64, cp311-cp311-manylinux_2_35_x86_64, … (912 more)"
        );
        assert_eq!(
            best_tags_summary(&tags[..1], 3),
            "cp311-cp311-manylinux_2_36_x86_64"
        );
        assert_eq!(best_tags_summary(&tags, 0), "914 supported tags");
        assert_eq!(best_tags_summary(&[], 3), "(no supported tags)");
    }
}
