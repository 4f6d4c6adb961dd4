//! PEP 440 versions and specifiers, and PEP 503 project-name normalization.
//!
//! Parsing accepts exactly what the permissive regex in the PEP 440 appendix
//! accepts (what `packaging.version.Version` accepts), and `Display` gives the
//! normalized form. Ordering follows packaging's comparison key.
//!
//! Specifier matching differs from packaging in one deliberate way: it always
//! admits pre-releases. We only match interpreter versions and
//! `requires-python` against specifiers, and a `3.13.0rc1` interpreter must
//! satisfy `>=3.8`.
//!
//! One limitation: release, pre, post and dev numbers must fit in a `u64`
//! (packaging allows any size); larger ones are a parse error. Local labels
//! have no such limit.
//!
//! Everything here parses untrusted input (lock files, index metadata), so no
//! input may panic: failures are `Err(String)` with a one-line message.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// Quote untrusted input for an error message: escaped (so the message stays
/// on one line) and cut short (so a huge input doesn't flood the terminal).
pub fn quote(s: &str) -> String {
    const MAX_CHARS: usize = 80;
    if s.chars().count() <= MAX_CHARS {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX_CHARS).collect();
        format!("{head:?}…")
    }
}

/// PEP 503 name normalization: runs of `-`, `_`, `.` become one `-`, and the
/// result is lowercased. Use it before comparing project names or extras.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run {
                out.push('-');
            }
            in_separator_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator_run = false;
        }
    }
    out
}

/// Whether `name` is a valid project name:
/// `^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`, case-insensitively.
pub fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        }
        _ => false,
    }
}

/// The kind of a pre-release, in sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PreKind {
    Alpha,
    Beta,
    Rc,
}

impl PreKind {
    fn as_str(self) -> &'static str {
        match self {
            PreKind::Alpha => "a",
            PreKind::Beta => "b",
            PreKind::Rc => "rc",
        }
    }
}

/// One `.`-separated segment of a local label. Numbers are kept as digit
/// strings without leading zeros, so any length works and no overflow is
/// possible; `(len, digits)` order is numeric order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum LocalSegment {
    Num(String),
    Str(String),
}

impl Ord for LocalSegment {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (LocalSegment::Num(a), LocalSegment::Num(b)) => {
                a.len().cmp(&b.len()).then_with(|| a.cmp(b))
            }
            (LocalSegment::Str(a), LocalSegment::Str(b)) => a.cmp(b),
            // PEP 440: numeric segments sort after alphanumeric ones.
            (LocalSegment::Num(_), LocalSegment::Str(_)) => Ordering::Greater,
            (LocalSegment::Str(_), LocalSegment::Num(_)) => Ordering::Less,
        }
    }
}

impl PartialOrd for LocalSegment {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for LocalSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocalSegment::Num(s) | LocalSegment::Str(s) => f.write_str(s),
        }
    }
}

/// A PEP 440 version. Equality, hashing and ordering are PEP 440's:
/// `1.0 == 1.0.0`, `1.0.dev0 < 1.0a0 < 1.0 < 1.0.post0 < 1.0+local`.
#[derive(Debug, Clone)]
pub struct Version {
    epoch: u64,
    release: Vec<u64>,
    pre: Option<(PreKind, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    /// Empty when there is no local label (a label can't be empty).
    local: Vec<LocalSegment>,
}

impl Version {
    /// Parse a version, applying every PEP 440 normalization rule.
    pub fn parse(s: &str) -> Result<Version, String> {
        parse_version(s).map_err(|why| format!("invalid version {}: {why}", quote(s)))
    }

    /// Parse an interpreter's `python_full_version` (`platform.python_version()`).
    /// Builds from a dev checkout report `3.14.0+`, which isn't PEP 440;
    /// like packaging, read it as `3.14.0+local`.
    pub fn parse_python_full_version(s: &str) -> Result<Version, String> {
        match s.trim().strip_suffix('+') {
            Some(head) => Version::parse(&format!("{head}+local")),
            None => Version::parse(s),
        }
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The release numbers, as written (`1.0` gives `[1, 0]`).
    pub fn release(&self) -> &[u64] {
        &self.release
    }

    pub fn pre(&self) -> Option<(PreKind, u64)> {
        self.pre
    }

    pub fn post(&self) -> Option<u64> {
        self.post
    }

    pub fn dev(&self) -> Option<u64> {
        self.dev
    }

    /// The normalized local label without the `+`, if any.
    pub fn local(&self) -> Option<String> {
        if self.local.is_empty() {
            return None;
        }
        let parts: Vec<String> = self.local.iter().map(|s| s.to_string()).collect();
        Some(parts.join("."))
    }

    pub fn has_local(&self) -> bool {
        !self.local.is_empty()
    }

    /// A pre-release or a development release (as packaging defines it).
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    pub fn is_postrelease(&self) -> bool {
        self.post.is_some()
    }

    pub fn is_devrelease(&self) -> bool {
        self.dev.is_some()
    }

    /// This version without its local label.
    pub fn public(&self) -> Version {
        Version {
            local: Vec::new(),
            ..self.clone()
        }
    }

    /// Epoch and release only (`1!2.0rc1.post3+x` gives `1!2.0`).
    pub fn base_version(&self) -> Version {
        Version {
            epoch: self.epoch,
            release: self.release.clone(),
            pre: None,
            post: None,
            dev: None,
            local: Vec::new(),
        }
    }

    /// Release without trailing zeros: the form that compares and hashes
    /// equal for `1.0` and `1.0.0`.
    fn trimmed_release(&self) -> &[u64] {
        let len = self
            .release
            .iter()
            .rposition(|&n| n != 0)
            .map_or(0, |i| i + 1);
        &self.release[..len]
    }

    /// Sort key for the pre-release part. A dev release with no pre or post
    /// part sorts before every pre-release of the same release
    /// (`1.0.dev0 < 1.0a0`); no pre-release sorts after all of them.
    fn pre_key(&self) -> (u8, u64) {
        match (self.pre, self.post, self.dev) {
            (None, None, Some(_)) => (0, 0),
            (Some((kind, n)), _, _) => (1 + kind as u8, n),
            (None, _, _) => (4, 0),
        }
    }

    /// Sort key for the dev part: no dev part sorts after any dev part.
    fn dev_key(&self) -> (u8, u64) {
        match self.dev {
            Some(n) => (0, n),
            None => (1, 0),
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| self.trimmed_release().cmp(other.trimmed_release()))
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            // None < Some: no post part sorts before any post part.
            .then_with(|| self.post.cmp(&other.post))
            .then_with(|| self.dev_key().cmp(&other.dev_key()))
            // Empty (no label) < any label; segments compare in turn and a
            // label that is a prefix of another sorts first.
            .then_with(|| self.local.cmp(&other.local))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    // Must agree with `Eq`, so hash the trimmed release.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.epoch.hash(state);
        self.trimmed_release().hash(state);
        self.pre.hash(state);
        self.post.hash(state);
        self.dev.hash(state);
        self.local.hash(state);
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}!", self.epoch)?;
        }
        for (i, n) in self.release.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{n}")?;
        }
        if let Some((kind, n)) = self.pre {
            write!(f, "{}{n}", kind.as_str())?;
        }
        if let Some(n) = self.post {
            write!(f, ".post{n}")?;
        }
        if let Some(n) = self.dev {
            write!(f, ".dev{n}")?;
        }
        for (i, segment) in self.local.iter().enumerate() {
            f.write_str(if i == 0 { "+" } else { "." })?;
            write!(f, "{segment}")?;
        }
        Ok(())
    }
}

impl FromStr for Version {
    type Err = String;
    fn from_str(s: &str) -> Result<Version, String> {
        Version::parse(s)
    }
}

/// A byte cursor over the lowercased, trimmed version text. It only ever
/// steps over ASCII bytes, so `pos` always sits on a char boundary.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.s.get(self.pos + offset).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// An optional `-`, `_` or `.` between version parts.
    fn eat_separator(&mut self) {
        if matches!(self.peek(), Some(b'-' | b'_' | b'.')) {
            self.pos += 1;
        }
    }

    /// The first of `words` that the text continues with. Order matters
    /// where one word is a prefix of another (`alpha` before `a`).
    fn eat_word(&mut self, words: &[&'static str]) -> Option<&'static str> {
        let rest = &self.s[self.pos..];
        let word = *words.iter().find(|w| rest.starts_with(w.as_bytes()))?;
        self.pos += word.len();
        Some(word)
    }

    /// A run of ASCII digits as a number: `None` if there are no digits.
    fn number(&mut self) -> Result<Option<u64>, String> {
        let mut value: Option<u64> = None;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            let digit = u64::from(b - b'0');
            value = Some(
                value
                    .unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(digit))
                    .ok_or("a number in it is too large")?,
            );
            self.pos += 1;
        }
        Ok(value)
    }
}

/// Parse following the PEP 440 appendix regex:
/// `v? (N!)? N(.N)* [sep? (a|b|rc…) sep? N?] [-N | sep? (post|rev|r) sep? N?]
/// [sep? dev sep? N?] [+local]`. Taking each optional part greedily gives the
/// same result as the regex: whatever follows a part may itself start with a
/// separator, so consuming one never makes a later part fail.
fn parse_version(input: &str) -> Result<Version, String> {
    let text = input.trim().to_ascii_lowercase();
    if text.is_empty() {
        return Err("it is empty".into());
    }
    let mut c = Cursor {
        s: text.as_bytes(),
        pos: 0,
    };
    c.eat(b'v');

    let mut epoch = 0;
    let mut first = c.number()?.ok_or("expected a release number such as 1.0")?;
    if c.eat(b'!') {
        epoch = first;
        first = c
            .number()?
            .ok_or("expected a release number after the epoch")?;
    }
    let mut release = vec![first];
    // A `.` belongs to the release only when a digit follows (`1.0.post1`).
    while c.peek() == Some(b'.') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        c.pos += 1;
        release.push(c.number()?.unwrap_or(0));
    }

    let mut pre = None;
    let start = c.pos;
    c.eat_separator();
    match c.eat_word(&["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"]) {
        Some(word) => {
            let kind = match word {
                "alpha" | "a" => PreKind::Alpha,
                "beta" | "b" => PreKind::Beta,
                _ => PreKind::Rc,
            };
            c.eat_separator();
            pre = Some((kind, c.number()?.unwrap_or(0)));
        }
        None => c.pos = start,
    }

    let mut post = None;
    let start = c.pos;
    if c.peek() == Some(b'-') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        // Implicit post release: `1.0-1` is `1.0.post1`.
        c.pos += 1;
        post = c.number()?;
    } else {
        c.eat_separator();
        if c.eat_word(&["post", "rev", "r"]).is_some() {
            c.eat_separator();
            post = Some(c.number()?.unwrap_or(0));
        } else {
            c.pos = start;
        }
    }

    let mut dev = None;
    let start = c.pos;
    c.eat_separator();
    if c.eat_word(&["dev"]).is_some() {
        c.eat_separator();
        dev = Some(c.number()?.unwrap_or(0));
    } else {
        c.pos = start;
    }

    let mut local = Vec::new();
    if c.eat(b'+') {
        loop {
            let start = c.pos;
            while c.peek().is_some_and(|b| b.is_ascii_alphanumeric()) {
                c.pos += 1;
            }
            let segment = &text[start..c.pos];
            if segment.is_empty() {
                return Err("the local label after '+' needs letters or digits, \
                            separated by single '.', '-' or '_'"
                    .into());
            }
            local.push(if segment.bytes().all(|b| b.is_ascii_digit()) {
                let digits = segment.trim_start_matches('0');
                LocalSegment::Num(if digits.is_empty() { "0" } else { digits }.to_string())
            } else {
                LocalSegment::Str(segment.to_string())
            });
            if !matches!(c.peek(), Some(b'-' | b'_' | b'.')) {
                break;
            }
            c.pos += 1;
        }
    }

    if c.pos != text.len() {
        let rest = &text[c.pos..];
        return Err(format!(
            "unexpected {} (expected a form like 1.2.3, 1.2rc1, 1.2.post1, 1.2.dev1 or 1.2+local)",
            quote(rest)
        ));
    }
    Ok(Version {
        epoch,
        release,
        pre,
        post,
        dev,
        local,
    })
}

/// A specifier's comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `~=`
    Compatible,
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
    /// `<=`
    LessEqual,
    /// `>=`
    GreaterEqual,
    /// `<`
    Less,
    /// `>`
    Greater,
    /// `===`
    ArbitraryEqual,
}

impl Operator {
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Compatible => "~=",
            Operator::Equal => "==",
            Operator::NotEqual => "!=",
            Operator::LessEqual => "<=",
            Operator::GreaterEqual => ">=",
            Operator::Less => "<",
            Operator::Greater => ">",
            Operator::ArbitraryEqual => "===",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a specifier compares against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Target {
    Version(Version),
    /// `==X.*` / `!=X.*`: a release prefix (epoch and release only).
    Prefix(Version),
    /// `===`: compared as a string.
    Arbitrary(String),
}

/// One PEP 440 version specifier, such as `>=3.8` or `==1.4.*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Specifier {
    op: Operator,
    target: Target,
}

impl Specifier {
    pub fn parse(s: &str) -> Result<Specifier, String> {
        parse_specifier(s).map_err(|why| format!("invalid version specifier {}: {why}", quote(s)))
    }

    pub fn operator(&self) -> Operator {
        self.op
    }

    /// The version compared against (the prefix for `==X.*`); `None` for `===`.
    pub fn version(&self) -> Option<&Version> {
        match &self.target {
            Target::Version(v) | Target::Prefix(v) => Some(v),
            Target::Arbitrary(_) => None,
        }
    }

    /// Whether `v` satisfies this specifier. Pre-releases are admitted.
    pub fn contains(&self, v: &Version) -> bool {
        let spec = match &self.target {
            Target::Arbitrary(s) => return v.to_string().eq_ignore_ascii_case(s),
            Target::Prefix(prefix) => {
                let matched = prefix_matches(v, prefix);
                return if self.op == Operator::NotEqual {
                    !matched
                } else {
                    matched
                };
            }
            Target::Version(spec) => spec,
        };
        match self.op {
            Operator::Equal => equal_ignoring_local(v, spec),
            Operator::NotEqual => !equal_ignoring_local(v, spec),
            Operator::LessEqual => v.public() <= *spec,
            Operator::GreaterEqual => v.public() >= *spec,
            // `<V` must not admit the pre-releases of V (`<3.0` excludes
            // `3.0rc1`) unless V is one itself, so for a final or post V the
            // bound is V's own `.dev0`. This is packaging 26.4's reading: `3a1`
            // is a pre-release of `3`, not of `3.post1`, so `<3.post1` admits it.
            Operator::Less => {
                if spec.is_prerelease() {
                    v < spec
                } else {
                    *v < Version {
                        dev: Some(0),
                        ..spec.clone()
                    }
                }
            }
            // `>V` must not admit V's local versions (`>3.0` excludes
            // `3.0+x`), nor V's post-releases (`3.0.post1`, `3.0rc1.post1` for
            // `>3.0rc1`) unless V is a post or dev release.
            Operator::Greater => {
                let post_of_spec = spec.post.is_none()
                    && spec.dev.is_none()
                    && v.epoch == spec.epoch
                    && v.trimmed_release() == spec.trimmed_release()
                    && v.pre == spec.pre;
                v > spec && v.public() != *spec && !post_of_spec
            }
            // `~=2.2.1` is `>=2.2.1, ==2.2.*`.
            Operator::Compatible => {
                let mut prefix = spec.base_version();
                prefix.release.pop();
                v.public() >= *spec && prefix_matches(v, &prefix)
            }
            // Parsing stores `===` as `Target::Arbitrary`.
            Operator::ArbitraryEqual => false,
        }
    }
}

/// `==`: a candidate's local label only counts if the specifier has one.
fn equal_ignoring_local(v: &Version, spec: &Version) -> bool {
    if spec.has_local() {
        v == spec
    } else {
        v.public() == *spec
    }
}

/// `==X.*`: same epoch, and the candidate's release, zero-padded, starts with
/// the prefix's release (so `1.0a1` and `1.0.post1` match `==1.0.*`).
fn prefix_matches(v: &Version, prefix: &Version) -> bool {
    v.epoch == prefix.epoch
        && prefix
            .release
            .iter()
            .enumerate()
            .all(|(i, n)| v.release.get(i).copied().unwrap_or(0) == *n)
}

fn bad_version(text: &str, why: &str) -> String {
    format!("bad version {}: {why}", quote(text))
}

fn parse_specifier(input: &str) -> Result<Specifier, String> {
    let text = input.trim();
    // Longest operators first: `===` before `==`, `<=` before `<`.
    let ops = [
        Operator::ArbitraryEqual,
        Operator::Compatible,
        Operator::Equal,
        Operator::NotEqual,
        Operator::LessEqual,
        Operator::GreaterEqual,
        Operator::Less,
        Operator::Greater,
    ];
    let op = ops
        .into_iter()
        .find(|op| text.starts_with(op.as_str()))
        .ok_or("expected an operator (~=, ==, !=, <=, >=, <, >, ===) before the version")?;
    let rest = text[op.as_str().len()..].trim_start();
    if rest.is_empty() {
        return Err(format!("expected a version after '{op}'"));
    }

    if op == Operator::ArbitraryEqual {
        // packaging's rule: anything but whitespace, ';' and ')'.
        if rest.contains(|c: char| c.is_whitespace() || c == ';' || c == ')') {
            return Err("the '===' version can't contain whitespace, ';' or ')'".into());
        }
        return Ok(Specifier {
            op,
            target: Target::Arbitrary(rest.to_string()),
        });
    }

    if let Some(prefix) = rest.strip_suffix(".*") {
        if !matches!(op, Operator::Equal | Operator::NotEqual) {
            return Err(format!(
                "a '.*' suffix is only allowed with == and !=, not '{op}'"
            ));
        }
        let v = parse_version(prefix).map_err(|why| bad_version(prefix, &why))?;
        if prefix.ends_with(char::is_whitespace) || v != v.base_version() || v.has_local() {
            return Err("a '.*' suffix must directly follow a release such as 1.2".into());
        }
        return Ok(Specifier {
            op,
            target: Target::Prefix(v),
        });
    }

    let v = parse_version(rest).map_err(|why| bad_version(rest, &why))?;
    if v.has_local() && !matches!(op, Operator::Equal | Operator::NotEqual) {
        return Err(format!(
            "a local label (+…) is only allowed with == and !=, not '{op}'"
        ));
    }
    if op == Operator::Compatible && v.release.len() < 2 {
        return Err("'~=' needs at least two release numbers, e.g. ~=1.0".into());
    }
    Ok(Specifier {
        op,
        target: Target::Version(v),
    })
}

impl fmt::Display for Specifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Target::Version(v) => write!(f, "{}{v}", self.op),
            Target::Prefix(v) => write!(f, "{}{v}.*", self.op),
            Target::Arbitrary(s) => write!(f, "{}{s}", self.op),
        }
    }
}

impl FromStr for Specifier {
    type Err = String;
    fn from_str(s: &str) -> Result<Specifier, String> {
        Specifier::parse(s)
    }
}

/// A comma-separated list of specifiers, all of which must hold
/// (`>=3.8, <4`). The empty list matches every version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct VersionSpecifiers(Vec<Specifier>);

impl VersionSpecifiers {
    /// Parse `>=1.0, !=1.3.*, <2`. Blank items are skipped, as packaging
    /// does, so `""` parses to the match-everything list.
    pub fn parse(s: &str) -> Result<VersionSpecifiers, String> {
        let mut specifiers = Vec::new();
        for item in s.split(',') {
            if item.trim().is_empty() {
                continue;
            }
            let spec = parse_specifier(item).map_err(|why| {
                format!(
                    "invalid version specifier {} in {}: {why}",
                    quote(item.trim()),
                    quote(s)
                )
            })?;
            specifiers.push(spec);
        }
        Ok(VersionSpecifiers(specifiers))
    }

    /// Whether `v` satisfies every specifier. Pre-releases are admitted.
    pub fn contains(&self, v: &Version) -> bool {
        self.0.iter().all(|spec| spec.contains(v))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Specifier> {
        self.0.iter()
    }
}

impl fmt::Display for VersionSpecifiers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, spec) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{spec}")?;
        }
        Ok(())
    }
}

impl FromStr for VersionSpecifiers {
    type Err = String;
    fn from_str(s: &str) -> Result<VersionSpecifiers, String> {
        VersionSpecifiers::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn v(s: &str) -> Version {
        match Version::parse(s) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    fn norm(s: &str) -> String {
        v(s).to_string()
    }

    fn specs(s: &str) -> VersionSpecifiers {
        match VersionSpecifiers::parse(s) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    fn matches(spec: &str, version: &str) -> bool {
        specs(spec).contains(&v(version))
    }

    #[test]
    fn normalizes_case_whitespace_and_leading_v() {
        assert_eq!(norm("1.0"), "1.0");
        assert_eq!(norm("  1.0\n"), "1.0");
        assert_eq!(norm("\t v1.0 "), "1.0");
        assert_eq!(norm("V1.0"), "1.0");
        assert_eq!(norm("1.1RC1"), "1.1rc1");
        assert_eq!(norm("1.0+AbC"), "1.0+abc");
    }

    #[test]
    fn normalizes_integers() {
        assert_eq!(norm("00"), "0");
        assert_eq!(norm("09000"), "9000");
        assert_eq!(norm("1.0.09"), "1.0.9");
        assert_eq!(norm("1.0a09"), "1.0a9");
        assert_eq!(norm("1.0.post007"), "1.0.post7");
        assert_eq!(norm("1.0+abc.007"), "1.0+abc.7");
        assert_eq!(norm("1.0+000"), "1.0+0");
    }

    #[test]
    fn parses_epochs() {
        assert_eq!(norm("1!1.0"), "1!1.0");
        assert_eq!(norm("0!1.0"), "1.0");
        assert_eq!(v("2!1.0").epoch(), 2);
        assert_eq!(v("1.0").epoch(), 0);
    }

    #[test]
    fn normalizes_pre_release_spellings() {
        for (input, want) in [
            ("1.0a1", "1.0a1"),
            ("1.0alpha1", "1.0a1"),
            ("1.0b2", "1.0b2"),
            ("1.0beta2", "1.0b2"),
            ("1.0c3", "1.0rc3"),
            ("1.0pre3", "1.0rc3"),
            ("1.0preview3", "1.0rc3"),
            ("1.0rc3", "1.0rc3"),
            ("1.0.a1", "1.0a1"),
            ("1.0-a1", "1.0a1"),
            ("1.0_a1", "1.0a1"),
            ("1.0a.1", "1.0a1"),
            ("1.0a-1", "1.0a1"),
            ("1.0a_1", "1.0a1"),
            ("1.0-alpha_1", "1.0a1"),
            ("1.2a", "1.2a0"),
            ("1.2.beta", "1.2b0"),
            ("1.2-rc", "1.2rc0"),
        ] {
            assert_eq!(norm(input), want, "{input}");
        }
    }

    #[test]
    fn normalizes_post_releases() {
        for (input, want) in [
            ("1.0.post1", "1.0.post1"),
            ("1.0post1", "1.0.post1"),
            ("1.0-post1", "1.0.post1"),
            ("1.0_post1", "1.0.post1"),
            ("1.0.post.1", "1.0.post1"),
            ("1.0.post-1", "1.0.post1"),
            ("1.0.post", "1.0.post0"),
            ("1.0-1", "1.0.post1"),
            ("1.0-r4", "1.0.post4"),
            ("1.0rev4", "1.0.post4"),
            ("1.0.r", "1.0.post0"),
            ("1.0a1-1", "1.0a1.post1"),
            ("1.0a1.post2", "1.0a1.post2"),
        ] {
            assert_eq!(norm(input), want, "{input}");
        }
    }

    #[test]
    fn normalizes_dev_releases() {
        for (input, want) in [
            ("1.0.dev1", "1.0.dev1"),
            ("1.0dev1", "1.0.dev1"),
            ("1.0-dev1", "1.0.dev1"),
            ("1.0_dev_1", "1.0.dev1"),
            ("1.0.dev", "1.0.dev0"),
            ("1.0a1.dev2", "1.0a1.dev2"),
            ("1.0.post1.dev2", "1.0.post1.dev2"),
            ("1.0rc1-1.dev3", "1.0rc1.post1.dev3"),
            ("1!2.0b3.post4.dev5+six.7", "1!2.0b3.post4.dev5+six.7"),
        ] {
            assert_eq!(norm(input), want, "{input}");
        }
    }

    #[test]
    fn normalizes_local_labels() {
        assert_eq!(norm("1.0+ubuntu-1"), "1.0+ubuntu.1");
        assert_eq!(norm("1.0+ubuntu_1"), "1.0+ubuntu.1");
        assert_eq!(norm("1.0+ubuntu.1"), "1.0+ubuntu.1");
        assert_eq!(norm("1.0+Cu118"), "1.0+cu118");
        assert_eq!(v("1.0+a-B_c.1").local().as_deref(), Some("a.b.c.1"));
        assert_eq!(v("1.0").local(), None);
        // Huge numeric local segments don't overflow.
        assert_eq!(
            norm("1.0+000123456789012345678901234567890"),
            "1.0+123456789012345678901234567890"
        );
    }

    #[test]
    fn permissive_trailing_separators_are_accepted_like_packaging() {
        // The appendix regex lets the separator after a label stand alone.
        assert_eq!(norm("1.0a-"), "1.0a0");
        assert_eq!(norm("1.0.post."), "1.0.post0");
        assert_eq!(norm("1.0.dev_"), "1.0.dev0");
    }

    #[test]
    fn rejects_invalid_versions() {
        for bad in [
            "",
            "   ",
            "v",
            "french toast",
            "1.0.",
            ".1.0",
            "1..0",
            "1.0+",
            "1.0+abc.",
            "1.0+abc..def",
            "1.0+abc+def",
            "1.0+ab c",
            "1.0 1",
            "1!",
            "!1.0",
            "1!2!3",
            "1.0-",
            "1.0--1",
            "1.0a1a2",
            "1.0.dev1.post1",
            "1.0.post1.a1",
            "1.0alph1",
            "1.0gamma",
            "1.0*",
            "1.0.*",
            "1.0,2",
            "1.0\u{0661}",
            "١.0",
            "1.0\0",
            "99999999999999999999999",
            "1.99999999999999999999999",
            "1.0a99999999999999999999999",
        ] {
            let err = Version::parse(bad).expect_err(bad);
            assert!(err.starts_with("invalid version"), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn error_messages_are_one_line_and_bounded() {
        let long = format!("1.0\n{}", "x".repeat(10_000));
        let err = Version::parse(&long).unwrap_err();
        assert!(!err.contains('\n'));
        assert!(err.len() < 400, "{}", err.len());
    }

    #[test]
    fn from_str_and_accessors() {
        let x: Version = "1!2.3.4rc5.post6.dev7+abc".parse().unwrap();
        assert_eq!(x.epoch(), 1);
        assert_eq!(x.release(), &[2, 3, 4]);
        assert_eq!(x.pre(), Some((PreKind::Rc, 5)));
        assert_eq!(x.post(), Some(6));
        assert_eq!(x.dev(), Some(7));
        assert!(x.has_local());
        assert!(x.is_prerelease());
        assert!(x.is_postrelease());
        assert!(x.is_devrelease());
        assert_eq!(x.public().to_string(), "1!2.3.4rc5.post6.dev7");
        assert_eq!(x.base_version().to_string(), "1!2.3.4");
        assert_eq!(v("1.0").release(), &[1, 0]);
        assert!(!v("1.0").is_prerelease());
        assert!(!v("1.0.post1").is_prerelease());
        assert!(v("1.0.dev1").is_prerelease());
        assert!(v("1.0b1").is_prerelease());
    }

    #[test]
    fn python_full_version_with_trailing_plus() {
        let x = Version::parse_python_full_version("3.14.0+").unwrap();
        assert_eq!(x.to_string(), "3.14.0+local");
        assert!(specs(">=3.14").contains(&x));
        assert!(specs("==3.14.0").contains(&x));
        assert_eq!(
            Version::parse_python_full_version(" 3.12.1 ").unwrap(),
            v("3.12.1")
        );
        assert!(Version::parse_python_full_version("+").is_err());
        assert!(Version::parse_python_full_version("3.14++").is_err());
        assert!(Version::parse_python_full_version("").is_err());
    }

    #[test]
    fn zero_padding_equality_and_hashing() {
        assert_eq!(v("1.0"), v("1.0.0"));
        assert_eq!(v("1"), v("1.0.0.0"));
        assert_eq!(v("1.0a1"), v("1.0.0a1"));
        assert_ne!(v("1.0"), v("1.0.1"));
        assert_ne!(v("1.0"), v("1!1.0"));
        assert_ne!(v("1.0"), v("1.0+local"));
        // Display keeps what was written.
        assert_eq!(norm("1.0.0"), "1.0.0");
        let set: HashSet<Version> = ["1", "1.0", "1.0.0", "v1.0"].iter().map(|s| v(s)).collect();
        assert_eq!(set.len(), 1);
    }

    /// The ordering example from the PEP 440 text, plus epochs and locals.
    #[test]
    fn pep440_ordering() {
        let ordered = [
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
            "2",
            "10",
            "1!0.1",
            "1!1.0",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
            assert!(v(pair[1]) > v(pair[0]), "{} > {}", pair[1], pair[0]);
        }
        // Sorting a shuffled copy gives the same order back.
        let mut shuffled: Vec<Version> = ordered.iter().rev().map(|s| v(s)).collect();
        shuffled.sort();
        let got: Vec<String> = shuffled.iter().map(|x| x.to_string()).collect();
        assert_eq!(got, ordered);
    }

    #[test]
    fn release_ordering_is_numeric_not_lexical() {
        assert!(v("3.10") > v("3.9"));
        assert!(v("3.9.10") > v("3.9.9"));
        assert!(v("1.0.0.1") > v("1.0"));
        assert!(v("1.10a1") > v("1.9"));
    }

    #[test]
    fn local_label_ordering() {
        // Numeric segments sort after alphanumeric ones; longer after prefix.
        assert!(v("1.0+abc") < v("1.0+1"));
        assert!(v("1.0+1") < v("1.0+1.abc"));
        assert!(v("1.0+1.abc") < v("1.0+1.1"));
        assert!(v("1.0+9") < v("1.0+10"));
        assert!(v("1.0+abc") < v("1.0+abd"));
        assert!(v("1.0+ABC") == v("1.0+abc"));
        assert!(v("1.0+01") == v("1.0+1"));
        assert!(v("1.0") < v("1.0+0"));
        assert!(v("1.0+zzz") < v("1.0.post0"));
        assert!(v("1.0+abc") < v("1.0.0.1"));
    }

    #[test]
    fn dev_and_post_of_pre_releases() {
        assert!(v("1.0a1.dev1") < v("1.0a1"));
        assert!(v("1.0a1") < v("1.0a1.post1.dev1"));
        assert!(v("1.0a1.post1.dev1") < v("1.0a1.post1"));
        assert!(v("1.0a1.post1") < v("1.0a2.dev0"));
        assert!(v("1.0.dev1") < v("1.0a0.dev0"));
        assert!(v("1.0.post1.dev1") > v("1.0"));
        assert!(v("1.0.post1.dev1") < v("1.0.post1"));
        assert!(v("1.0.post0.dev0") > v("1.0+local"));
    }

    #[test]
    fn normalize_name_pep503() {
        for (input, want) in [
            ("friendly-bard", "friendly-bard"),
            ("Friendly-Bard", "friendly-bard"),
            ("FRIENDLY-BARD", "friendly-bard"),
            ("friendly.bard", "friendly-bard"),
            ("friendly_bard", "friendly-bard"),
            ("friendly--bard", "friendly-bard"),
            ("FrIeNdLy-._.-bArD", "friendly-bard"),
            ("zope.interface", "zope-interface"),
            ("_leading", "-leading"),
            ("", ""),
        ] {
            assert_eq!(normalize_name(input), want, "{input}");
        }
    }

    #[test]
    fn valid_names() {
        for good in ["a", "A1", "zope.interface", "typing_extensions", "x-y", "9"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", "-a", "a-", ".a", "a b", "a/b", "ä", "a_"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn empty_specifiers_match_everything() {
        for s in ["", "  ", ",", " , "] {
            let set = specs(s);
            assert!(set.is_empty());
            assert!(set.contains(&v("0")));
            assert!(set.contains(&v("3.13.0rc1")));
        }
    }

    #[test]
    fn equality_with_zero_padding_and_locals() {
        assert!(matches("==1.1", "1.1.0"));
        assert!(matches("==1.1.0", "1.1"));
        assert!(!matches("==1.1", "1.1.1"));
        assert!(!matches("==1.1", "1.1.post1"));
        assert!(!matches("==1.1", "1.1a1"));
        // A candidate's local label is ignored unless the specifier has one.
        assert!(matches("==1.1", "1.1+local"));
        assert!(matches("==1.1+local", "1.1+local"));
        assert!(matches("==1.1+LOCAL", "1.1.0+local"));
        assert!(!matches("==1.1+local", "1.1"));
        assert!(!matches("==1.1+local", "1.1+other"));
        assert!(!matches("!=1.1", "1.1+local"));
        assert!(matches("!=1.1+local", "1.1"));
        assert!(matches("!=1.1", "1.2"));
    }

    #[test]
    fn prefix_matching() {
        assert!(matches("==1.1.*", "1.1"));
        assert!(matches("==1.1.*", "1.1.0"));
        assert!(matches("==1.1.*", "1.1.5"));
        assert!(matches("==1.1.*", "1.1a1"));
        assert!(matches("==1.1.*", "1.1.post1"));
        assert!(matches("==1.1.*", "1.1.dev1"));
        assert!(matches("==1.1.*", "1.1.3+local"));
        assert!(!matches("==1.1.*", "1.10"));
        assert!(!matches("==1.1.*", "1.2"));
        assert!(!matches("==1.1.*", "1!1.1"));
        assert!(matches("==1.1.0.*", "1.1"));
        assert!(matches("==1.1.0.*", "1.1rc1"));
        assert!(matches("==3.*", "3.13.0rc1"));
        assert!(matches("==1!2.*", "1!2.5"));
        assert!(!matches("==2.*", "1!2.5"));
        assert!(matches("!=1.1.*", "1.2"));
        assert!(!matches("!=1.1.*", "1.1.9"));
    }

    #[test]
    fn inclusive_ordered_comparisons() {
        assert!(matches(">=3.8", "3.8"));
        assert!(matches(">=3.8", "3.8.0"));
        assert!(matches(">=3.8", "3.10"));
        assert!(!matches(">=3.8", "3.7.17"));
        assert!(matches("<=3.8", "3.8+local"));
        assert!(matches(">=3.8", "3.8+local"));
        assert!(!matches("<=3.8", "3.8.1"));
        assert!(matches("<=3.8", "3.8rc1"));
        // Pre-releases are admitted (interpreter versions, requires-python).
        assert!(matches(">=3.8", "3.13.0rc1"));
        assert!(matches(">=3.8", "3.13.0a1.dev2"));
        assert!(!matches(">=3.8", "3.8rc1"));
    }

    #[test]
    fn exclusive_ordered_comparisons() {
        assert!(matches("<3.0", "2.9"));
        assert!(!matches("<3.0", "3.0"));
        // `<V` excludes pre-releases of V itself...
        assert!(!matches("<3.0", "3.0rc1"));
        assert!(!matches("<3.0", "3.0.dev0"));
        assert!(!matches("<3", "3.0a1"));
        // ...unless V is a pre-release.
        assert!(matches("<3.0rc2", "3.0rc1"));
        assert!(matches("<3.0rc1", "3.0b1"));
        assert!(matches("<3.0", "2.9rc1"));

        assert!(matches(">3.0", "3.0.1"));
        assert!(!matches(">3.0", "3.0"));
        // `>V` excludes post-releases and local versions of V...
        assert!(!matches(">3.0", "3.0.post1"));
        assert!(!matches(">3.0", "3.0+local"));
        assert!(!matches(">3.0", "3.0.0.post1"));
        // ...unless V is a post-release.
        assert!(matches(">3.0.post1", "3.0.post2"));
        assert!(matches(">3.0", "3.1.post1"));
        assert!(matches(">3.0", "3.1+local"));
        assert!(matches(">3.0", "3.1a1"));
        assert!(!matches(">3.0rc1", "3.0rc1+local"));
        assert!(matches(">3.0rc1", "3.0"));
    }

    /// "Of V" means of V exactly, as in packaging 26.4.
    #[test]
    fn exclusive_comparisons_only_exclude_the_family_of_v_itself() {
        // `3a1` is a pre-release of `3`, not of `3.post1`.
        assert!(matches("<3.post1", "3a1"));
        assert!(matches("<3.post1", "3.post0"));
        assert!(!matches("<3.post1", "3.post1.dev0"));
        assert!(!matches("<3.post1", "3.post1"));
        assert!(!matches("<3.post1", "3.post1.dev0+x"));
        assert!(matches("<3.dev5", "3.dev4"));
        // `3.0.post1` is a post-release of `3.0`, not of `3.0rc1`.
        assert!(matches(">3.0rc1", "3.0.post1"));
        assert!(!matches(">3.0rc1", "3.0rc1.post1"));
        assert!(!matches(">3.0rc1", "3.0rc1.post1.dev0"));
        assert!(matches(">3.0rc1", "3.0rc2"));
        // A dev or post bound admits everything above it but its locals.
        assert!(matches(">3.0.dev1", "3.0.post1"));
        assert!(matches(">3.0.dev1", "3.0+x"));
        assert!(!matches(">3.0.dev1", "3.0.dev1+x"));
        assert!(matches(">3.0.post1", "3.0.post2.dev0"));
        assert!(!matches(">3.0.post1", "3.0.post1+x"));
        assert!(!matches(">3.0", "3.0.post1.dev0"));
        assert!(!matches(">3.0", "3.0.post1+x"));
    }

    #[test]
    fn compatible_release() {
        assert!(matches("~=2.2", "2.2"));
        assert!(matches("~=2.2", "2.9"));
        assert!(!matches("~=2.2", "3.0"));
        assert!(!matches("~=2.2", "2.1"));
        assert!(matches("~=1.4.5", "1.4.5"));
        assert!(matches("~=1.4.5", "1.4.9"));
        assert!(!matches("~=1.4.5", "1.5.0"));
        assert!(!matches("~=1.4.5", "1.4.4"));
        assert!(matches("~=1.4.5a4", "1.4.5"));
        assert!(!matches("~=1.4.5a4", "1.4.5a3"));
        assert!(matches("~=2.2.post3", "2.9"));
        assert!(!matches("~=2.2.post3", "2.2"));
        assert!(matches("~=1!2.2", "1!2.5"));
        assert!(!matches("~=1!2.2", "2.5"));
        assert!(matches("~=2.2", "2.5+local"));
        assert!(matches("~=3.8", "3.13.0rc1"));
    }

    #[test]
    fn arbitrary_equality() {
        assert!(matches("===1.0", "1.0"));
        assert!(!matches("===1.0", "1.0.0"));
        assert!(!matches("===1.0", "1.0+local"));
        assert!(matches("===1.0RC1", "1.0rc1"));
        assert!(Specifier::parse("===foobar").unwrap().version().is_none());
        assert!(!matches("===foobar", "1.0"));
    }

    #[test]
    fn specifier_sets_are_conjunctions() {
        let set = specs(">=3.8, <4, !=3.9.*");
        assert!(set.contains(&v("3.8")));
        assert!(set.contains(&v("3.12.1")));
        assert!(!set.contains(&v("3.9.7")));
        assert!(!set.contains(&v("4.0")));
        assert!(!set.contains(&v("3.7")));
        assert!(specs(">=1.0,<2.0,").contains(&v("1.5")));
        assert_eq!(set.iter().count(), 3);
    }

    #[test]
    fn specifier_whitespace_and_display() {
        assert_eq!(specs(" >= 3.8 ,< 4 ").to_string(), ">=3.8,<4");
        assert_eq!(specs("==v1.0.*").to_string(), "==1.0.*");
        assert_eq!(specs("~=1.4.5RC1").to_string(), "~=1.4.5rc1");
        assert_eq!(specs("===Foo").to_string(), "===Foo");
        let spec = Specifier::parse(">= 3.8").unwrap();
        assert_eq!(spec.operator(), Operator::GreaterEqual);
        assert_eq!(spec.version(), Some(&v("3.8")));
        let spec: Specifier = "==1.*".parse().unwrap();
        assert_eq!(spec.version(), Some(&v("1")));
        let set: VersionSpecifiers = ">=1".parse().unwrap();
        assert!(set.contains(&v("1")));
    }

    #[test]
    fn rejects_invalid_specifiers() {
        for bad in [
            "3.8",
            "=3.8",
            "=>3.8",
            ">=",
            "==",
            "===",
            ">= ",
            "~=1",
            "~=1.*",
            "~=1.0+local",
            ">=1.0+local",
            "<1.0+local",
            ">=1.0.*",
            "<1.*",
            "==1.0a1.*",
            "==1.0.post1.*",
            "==1.0.dev1.*",
            "==1.0+local.*",
            "==1.0 .*",
            "==1.*.*",
            "==*",
            "== 1.0 1",
            "===a b",
            "===a;b",
            ">=3.8;",
            ">=french toast",
            ">=1.0, <",
            ">=1.0; python_version>'3'",
        ] {
            let err = VersionSpecifiers::parse(bad).expect_err(bad);
            assert!(err.starts_with("invalid version specifier"), "{err}");
            assert!(!err.contains('\n'), "{err}");
            if !bad.contains(',') {
                assert!(Specifier::parse(bad).is_err(), "{bad}");
            }
        }
    }

    #[test]
    fn no_panics_on_odd_input() {
        for s in [
            "\u{0}",
            "\u{feff}1.0",
            "1.0\u{301}",
            "+",
            "!",
            "-",
            ".",
            "v.",
            "1!",
            "1+",
            "é",
            "1.0+é",
            "~=",
            "~",
            "<>1",
            "==\u{1F600}",
            "!==1",
            "1.0\u{a0}",
        ] {
            let _ = Version::parse(s);
            let _ = Specifier::parse(s);
            let _ = VersionSpecifiers::parse(s);
            let _ = normalize_name(s);
            let _ = is_valid_name(s);
        }
    }
}
