//! PEP 508 environment markers: parse them, and evaluate them against the
//! marker variables of an interpreter.
//!
//! Grammar: `or` of `and`s (so `and` binds tighter), parentheses, and
//! comparisons `a op b` where each side is a marker variable or a quoted
//! string (`'…'` or `"…"`, no escapes). Evaluation follows pypa/packaging:
//! for the version-like variables, if both sides parse as PEP 440 the
//! comparison uses specifier semantics (with pre-releases admitted), else it
//! falls back to the string rules of PEP 508.
//!
//! Two deliberate differences from packaging 26.4, both where it strays
//! from PEP 508: a version variable compared with a non-version string uses
//! the string rules (packaging answers False, so `platform_release !=
//! "3.8"` is False for `6.5.0-1-generic`), and `~=`/`===` between plain
//! strings act as `==` (packaging raises).
//!
//! Markers come from lock files and package metadata, so any input gives
//! `Err(String)` with a one-line message rather than a panic.

use std::collections::BTreeMap;
use std::fmt;

use crate::version::{normalize_name, quote, Specifier, Version};

/// The environment keys `evaluate` reads: the caller (the interpreter probe)
/// must supply all of them.
pub const ENV_VARIABLES: [&str; 11] = [
    "implementation_name",
    "implementation_version",
    "os_name",
    "platform_machine",
    "platform_python_implementation",
    "platform_release",
    "platform_system",
    "platform_version",
    "python_full_version",
    "python_version",
    "sys_platform",
];

/// Variables whose values may be compared as PEP 440 versions (packaging's
/// `MARKERS_REQUIRING_VERSION`).
const VERSION_VARIABLES: [&str; 4] = [
    "implementation_version",
    "platform_release",
    "python_full_version",
    "python_version",
];

/// Parentheses nest at most this deep, so hostile input can't overflow the
/// stack of the recursive parser.
const MAX_DEPTH: usize = 64;

/// A comparison operator in a marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarkerOp {
    Less,
    LessEqual,
    NotEqual,
    Equal,
    GreaterEqual,
    Greater,
    Compatible,
    ArbitraryEqual,
    In,
    NotIn,
}

impl MarkerOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MarkerOp::Less => "<",
            MarkerOp::LessEqual => "<=",
            MarkerOp::NotEqual => "!=",
            MarkerOp::Equal => "==",
            MarkerOp::GreaterEqual => ">=",
            MarkerOp::Greater => ">",
            MarkerOp::Compatible => "~=",
            MarkerOp::ArbitraryEqual => "===",
            MarkerOp::In => "in",
            MarkerOp::NotIn => "not in",
        }
    }
}

impl fmt::Display for MarkerOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MarkerValue {
    /// A marker variable by its canonical name (`os.name` becomes `os_name`).
    Variable(&'static str),
    /// A quoted string, without its quotes.
    Literal(String),
}

impl fmt::Display for MarkerValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MarkerValue::Variable(name) => f.write_str(name),
            // A parsed literal can't hold both quote kinds; pick the one
            // it doesn't contain.
            MarkerValue::Literal(s) if s.contains('"') => write!(f, "'{s}'"),
            MarkerValue::Literal(s) => write!(f, "\"{s}\""),
        }
    }
}

/// One comparison, such as `python_version < "3.11"`. `parse` guarantees
/// exactly one side is a variable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MarkerExpression {
    pub lhs: MarkerValue,
    pub op: MarkerOp,
    pub rhs: MarkerValue,
}

/// A parsed marker. `And`/`Or` hold at least two items.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MarkerTree {
    Expression(MarkerExpression),
    And(Vec<MarkerTree>),
    Or(Vec<MarkerTree>),
}

/// Parse a marker without evaluating it (the packer validates markers at
/// build time this way). Unknown variables and misuse of `extra`, `extras`
/// and `dependency_groups` are errors.
pub fn parse(marker: &str) -> Result<MarkerTree, String> {
    let fail = |why: String| format!("invalid marker {}: {why}", quote(marker));
    let tokens = tokenize(marker).map_err(fail)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let tree = parser.parse_or().map_err(fail)?;
    if let Some((at, token)) = parser.tokens.get(parser.pos) {
        return Err(fail(format!(
            "unexpected {} at position {at} (expected 'and', 'or' or the end)",
            token.describe()
        )));
    }
    Ok(tree)
}

/// Evaluate `marker` for an interpreter whose marker variables are `env`
/// (keys as in `ENV_VARIABLES`), with the requested `extras` (used by
/// `extra == "x"` and `"x" in extras`; `dependency_groups` is empty).
pub fn evaluate(
    marker: &str,
    env: &BTreeMap<String, String>,
    extras: &[String],
) -> Result<bool, String> {
    parse(marker)?
        .evaluate(env, extras)
        .map_err(|why| format!("cannot evaluate marker {}: {why}", quote(marker)))
}

impl MarkerTree {
    /// Evaluate against `env` and `extras`; see the free function `evaluate`.
    pub fn evaluate(
        &self,
        env: &BTreeMap<String, String>,
        extras: &[String],
    ) -> Result<bool, String> {
        let extras: Vec<String> = extras.iter().map(|e| normalize_name(e)).collect();
        self.eval(env, &extras)
    }

    // Every branch is evaluated (no short-circuit), so a missing variable is
    // reported whatever the values of the others.
    fn eval(&self, env: &BTreeMap<String, String>, extras: &[String]) -> Result<bool, String> {
        match self {
            MarkerTree::Expression(e) => e.eval(env, extras),
            MarkerTree::And(items) => {
                let mut all = true;
                for item in items {
                    all &= item.eval(env, extras)?;
                }
                Ok(all)
            }
            MarkerTree::Or(items) => {
                let mut any = false;
                for item in items {
                    any |= item.eval(env, extras)?;
                }
                Ok(any)
            }
        }
    }
}

impl fmt::Display for MarkerTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MarkerTree::Expression(e) => write!(f, "{} {} {}", e.lhs, e.op, e.rhs),
            MarkerTree::And(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" and ")?;
                    }
                    // `or` binds looser, so it needs its parentheses back.
                    match item {
                        MarkerTree::Or(_) => write!(f, "({item})")?,
                        _ => write!(f, "{item}")?,
                    }
                }
                Ok(())
            }
            MarkerTree::Or(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    write!(f, "{item}")?;
                }
                Ok(())
            }
        }
    }
}

impl MarkerExpression {
    fn eval(&self, env: &BTreeMap<String, String>, extras: &[String]) -> Result<bool, String> {
        use MarkerValue::{Literal, Variable};
        let (var, literal, var_on_left) = match (&self.lhs, &self.rhs) {
            (Variable(var), Literal(lit)) => (*var, lit.as_str(), true),
            (Literal(lit), Variable(var)) => (*var, lit.as_str(), false),
            _ => {
                return Err(format!(
                    "'{self}' must compare a variable with a quoted string"
                ))
            }
        };
        check_special_variable(var, self.op, var_on_left)?;
        match var {
            // Extras are names: compare them PEP 685-normalized.
            "extra" => {
                let requested = extras.contains(&normalize_name(literal));
                Ok(if self.op == MarkerOp::Equal {
                    requested
                } else {
                    !requested
                })
            }
            "extras" | "dependency_groups" => {
                // No dependency groups are selected at run time.
                let set: &[String] = if var == "extras" { extras } else { &[] };
                let member = set.contains(&normalize_name(literal));
                Ok(if self.op == MarkerOp::In {
                    member
                } else {
                    !member
                })
            }
            _ => {
                let mut value = env
                    .get(var)
                    .ok_or_else(|| format!("the environment has no value for '{var}'"))?
                    .clone();
                // Interpreters built from a dev checkout report `3.14.0+`,
                // which isn't a version; packaging repairs it this way.
                if var == "python_full_version" && value.ends_with('+') {
                    value.push_str("local");
                }
                let (lhs, rhs) = if var_on_left {
                    (value.as_str(), literal)
                } else {
                    (literal, value.as_str())
                };
                Ok(compare(var, lhs, self.op, rhs))
            }
        }
    }
}

impl fmt::Display for MarkerExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.lhs, self.op, self.rhs)
    }
}

/// `lhs op rhs` for a plain (non-extra) variable `var`.
fn compare(var: &str, lhs: &str, op: MarkerOp, rhs: &str) -> bool {
    if VERSION_VARIABLES.contains(&var) {
        if op == MarkerOp::ArbitraryEqual {
            // `===` is case-insensitive string equality by definition.
            return lhs.eq_ignore_ascii_case(rhs);
        }
        if let Some(result) = compare_versions(lhs, op, rhs) {
            return result;
        }
    }
    // PEP 508 string rules. `~=` and `===` have no string meaning; the spec
    // allows treating them as `==`, which beats failing the whole marker.
    match op {
        MarkerOp::In => rhs.contains(lhs),
        MarkerOp::NotIn => !rhs.contains(lhs),
        MarkerOp::NotEqual => lhs != rhs,
        MarkerOp::Less | MarkerOp::Greater => false,
        MarkerOp::Equal
        | MarkerOp::LessEqual
        | MarkerOp::GreaterEqual
        | MarkerOp::Compatible
        | MarkerOp::ArbitraryEqual => lhs == rhs,
    }
}

/// Specifier semantics (`Specifier(op + rhs).contains(lhs)`), or `None` when
/// either side isn't a PEP 440 version for this operator.
fn compare_versions(lhs: &str, op: MarkerOp, rhs: &str) -> Option<bool> {
    if matches!(op, MarkerOp::In | MarkerOp::NotIn) {
        return None;
    }
    let spec = Specifier::parse(&format!("{op}{rhs}")).ok()?;
    // `op + rhs` can re-tokenize (`<` + `=3` is `<=3`): that isn't a version
    // comparison, so fall back to strings.
    if spec.operator().as_str() != op.as_str() {
        return None;
    }
    let version = Version::parse(lhs).ok()?;
    Some(spec.contains(&version))
}

/// The canonical name of a marker variable, accepting packaging's legacy
/// spellings (`os.name`, `python_implementation`, …).
fn canonical_variable(word: &str) -> Option<&'static str> {
    Some(match word {
        "os_name" | "os.name" => "os_name",
        "sys_platform" | "sys.platform" => "sys_platform",
        "platform_machine" | "platform.machine" => "platform_machine",
        "platform_python_implementation"
        | "platform.python_implementation"
        | "python_implementation" => "platform_python_implementation",
        "platform_release" => "platform_release",
        "platform_system" => "platform_system",
        "platform_version" | "platform.version" => "platform_version",
        "python_version" => "python_version",
        "python_full_version" => "python_full_version",
        "implementation_name" => "implementation_name",
        "implementation_version" => "implementation_version",
        "extra" => "extra",
        "extras" => "extras",
        "dependency_groups" => "dependency_groups",
        _ => return None,
    })
}

/// `extra` is one name compared with `==`/`!=`; `extras` and
/// `dependency_groups` are sets that only appear as `"name" in extras`.
fn check_special_variable(var: &str, op: MarkerOp, var_on_left: bool) -> Result<(), String> {
    match var {
        "extra" if !matches!(op, MarkerOp::Equal | MarkerOp::NotEqual) => Err(format!(
            "'extra' can only be compared with == or !=, not '{op}'"
        )),
        "extras" | "dependency_groups"
            if var_on_left || !matches!(op, MarkerOp::In | MarkerOp::NotIn) =>
        {
            Err(format!(
                "'{var}' is a set: use it as \"name\" in {var} or \"name\" not in {var}"
            ))
        }
        _ => Ok(()),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    LParen,
    RParen,
    Str(String),
    /// A bare word: a variable, or one of `and`, `or`, `not`, `in`.
    Word(String),
    Op(MarkerOp),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::LParen => "'('".into(),
            Token::RParen => "')'".into(),
            Token::Str(s) => format!("quoted string {}", quote(s)),
            Token::Word(w) => format!("'{w}'"),
            Token::Op(op) => format!("operator '{op}'"),
        }
    }
}

/// Split a marker into tokens, each with its 1-based character position.
fn tokenize(marker: &str) -> Result<Vec<(usize, Token)>, String> {
    let chars: Vec<char> = marker.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let at = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' || c == ')' {
            tokens.push((
                at,
                if c == '(' {
                    Token::LParen
                } else {
                    Token::RParen
                },
            ));
            i += 1;
        } else if c == '\'' || c == '"' {
            // No escapes: the string ends at the next quote of its kind.
            let len = chars[i + 1..]
                .iter()
                .position(|&x| x == c)
                .ok_or_else(|| format!("unterminated quoted string starting at position {at}"))?;
            tokens.push((at, Token::Str(chars[i + 1..i + 1 + len].iter().collect())));
            i += len + 2;
        } else if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            let len = chars[i..]
                .iter()
                .take_while(|x| x.is_ascii_alphanumeric() || **x == '_' || **x == '.')
                .count();
            tokens.push((at, Token::Word(chars[i..i + len].iter().collect())));
            i += len;
        } else {
            // Longest operators first: `===` before `==`, `<=` before `<`.
            let ops = [
                MarkerOp::ArbitraryEqual,
                MarkerOp::Equal,
                MarkerOp::NotEqual,
                MarkerOp::LessEqual,
                MarkerOp::GreaterEqual,
                MarkerOp::Compatible,
                MarkerOp::Less,
                MarkerOp::Greater,
            ];
            let op = ops
                .into_iter()
                .find(|op| {
                    let text: Vec<char> = op.as_str().chars().collect();
                    chars[i..].starts_with(&text)
                })
                .ok_or_else(|| format!("unexpected character {c:?} at position {at}"))?;
            tokens.push((at, Token::Op(op)));
            i += op.as_str().len();
        }
    }
    if tokens.is_empty() {
        return Err("it is empty".into());
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn next(&mut self) -> Option<(usize, Token)> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w == word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Describe what was found instead of `expected`, for an error.
    fn unexpected(&self, found: Option<(usize, Token)>, expected: &str) -> String {
        match found {
            Some((at, token)) => format!(
                "expected {expected} at position {at}, found {}",
                token.describe()
            ),
            None => format!("expected {expected}, found the end of the marker"),
        }
    }

    /// `marker_or := marker_and ('or' marker_and)*`
    fn parse_or(&mut self) -> Result<MarkerTree, String> {
        let mut items = vec![self.parse_and()?];
        while self.eat_word("or") {
            items.push(self.parse_and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            MarkerTree::Or(items)
        })
    }

    /// `marker_and := marker_atom ('and' marker_atom)*`
    fn parse_and(&mut self) -> Result<MarkerTree, String> {
        let mut items = vec![self.parse_atom()?];
        while self.eat_word("and") {
            items.push(self.parse_atom()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            MarkerTree::And(items)
        })
    }

    /// `marker_atom := '(' marker_or ')' | value op value`
    fn parse_atom(&mut self) -> Result<MarkerTree, String> {
        if self.peek() != Some(&Token::LParen) {
            return self.parse_expression();
        }
        self.pos += 1;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("parentheses nest more than {MAX_DEPTH} deep"));
        }
        let tree = self.parse_or()?;
        match self.next() {
            Some((_, Token::RParen)) => {}
            found => return Err(self.unexpected(found, "')', 'and' or 'or'")),
        }
        self.depth -= 1;
        Ok(tree)
    }

    fn parse_expression(&mut self) -> Result<MarkerTree, String> {
        let start = self.tokens.get(self.pos).map_or(0, |(at, _)| *at);
        let lhs = self.parse_value()?;
        let op = self.parse_op()?;
        let rhs = self.parse_value()?;
        let (var, var_on_left) = match (&lhs, &rhs) {
            (MarkerValue::Variable(v), MarkerValue::Literal(_)) => (*v, true),
            (MarkerValue::Literal(_), MarkerValue::Variable(v)) => (*v, false),
            (MarkerValue::Literal(_), MarkerValue::Literal(_)) => {
                return Err(format!(
                    "the comparison at position {start} has two quoted strings; \
                     one side must be a marker variable"
                ))
            }
            (MarkerValue::Variable(_), MarkerValue::Variable(_)) => {
                return Err(format!(
                    "the comparison at position {start} has two variables; \
                     one side must be a quoted string"
                ))
            }
        };
        check_special_variable(var, op, var_on_left)?;
        // Store extra names normalized, as packaging does.
        let normalize = |value: MarkerValue| match value {
            MarkerValue::Literal(s) if matches!(var, "extra" | "extras" | "dependency_groups") => {
                MarkerValue::Literal(normalize_name(&s))
            }
            other => other,
        };
        Ok(MarkerTree::Expression(MarkerExpression {
            lhs: normalize(lhs),
            op,
            rhs: normalize(rhs),
        }))
    }

    fn parse_value(&mut self) -> Result<MarkerValue, String> {
        match self.next() {
            Some((_, Token::Str(s))) => Ok(MarkerValue::Literal(s)),
            Some((at, Token::Word(w))) if !matches!(w.as_str(), "and" | "or" | "not" | "in") => {
                match canonical_variable(&w) {
                    Some(name) => Ok(MarkerValue::Variable(name)),
                    None if w.starts_with(|c: char| c.is_ascii_digit()) => Err(format!(
                        "the value {w} at position {at} must be quoted, as in \"{w}\""
                    )),
                    None => Err(format!("unknown marker variable '{w}' at position {at}")),
                }
            }
            found => Err(self.unexpected(found, "a marker variable or a quoted string")),
        }
    }

    fn parse_op(&mut self) -> Result<MarkerOp, String> {
        match self.next() {
            Some((_, Token::Op(op))) => Ok(op),
            Some((_, Token::Word(w))) if w == "in" => Ok(MarkerOp::In),
            Some((at, Token::Word(w))) if w == "not" => {
                if self.eat_word("in") {
                    Ok(MarkerOp::NotIn)
                } else {
                    Err(format!("expected 'in' after 'not' at position {at}"))
                }
            }
            found => Err(self.unexpected(
                found,
                "an operator (<, <=, ==, !=, >=, >, ~=, ===, in, not in)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CPython 3.11.4 on x86_64 Linux.
    fn linux_env() -> BTreeMap<String, String> {
        [
            ("implementation_name", "cpython"),
            ("implementation_version", "3.11.4"),
            ("os_name", "posix"),
            ("platform_machine", "x86_64"),
            ("platform_python_implementation", "CPython"),
            ("platform_release", "6.5.0-1-generic"),
            ("platform_system", "Linux"),
            ("platform_version", "#1 SMP PREEMPT_DYNAMIC Debian 6.5.3-1"),
            ("python_full_version", "3.11.4"),
            ("python_version", "3.11"),
            ("sys_platform", "linux"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// CPython 3.9.13 on 64-bit Windows.
    fn windows_env() -> BTreeMap<String, String> {
        let mut env = linux_env();
        for (k, v) in [
            ("os_name", "nt"),
            ("platform_machine", "AMD64"),
            ("platform_release", "10"),
            ("platform_system", "Windows"),
            ("platform_version", "10.0.19045"),
            ("python_full_version", "3.9.13"),
            ("python_version", "3.9"),
            ("implementation_version", "3.9.13"),
            ("sys_platform", "win32"),
        ] {
            env.insert(k.to_string(), v.to_string());
        }
        env
    }

    fn with(k: &str, v: &str) -> BTreeMap<String, String> {
        let mut env = linux_env();
        env.insert(k.to_string(), v.to_string());
        env
    }

    fn eval_in(marker: &str, env: &BTreeMap<String, String>) -> bool {
        match evaluate(marker, env, &[]) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        }
    }

    fn eval(marker: &str) -> bool {
        eval_in(marker, &linux_env())
    }

    fn eval_extras(marker: &str, extras: &[&str]) -> bool {
        let extras: Vec<String> = extras.iter().map(|s| s.to_string()).collect();
        match evaluate(marker, &linux_env(), &extras) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn real_world_markers() {
        let linux = linux_env();
        let win = windows_env();
        let cases = [
            (r#"python_version < "3.11""#, false, true),
            (r#"python_version >= "3.11""#, true, false),
            (
                r#"sys_platform == "win32" and platform_machine == "AMD64""#,
                false,
                true,
            ),
            (
                r#"(os_name == "nt" or os_name == "posix") and python_full_version >= "3.8.1""#,
                true,
                true,
            ),
            ("platform_python_implementation != 'PyPy'", true, true),
            (r#""linux" in sys_platform"#, true, false),
            (r#"sys_platform != "win32""#, true, false),
            (r#"platform_system == "Darwin""#, false, false),
            (r#"implementation_name == "cpython""#, true, true),
            (
                r#"python_version >= "3.8" and python_version < "3.12" and platform_machine != "aarch64""#,
                true,
                true,
            ),
            (
                r#"platform_machine == "x86_64" or platform_machine == "AMD64" or platform_machine == "arm64""#,
                true,
                true,
            ),
            (r#"python_full_version < "3.9.2""#, false, false),
            (
                r#"python_full_version >= "3.9.0" and python_full_version < "3.9.2""#,
                false,
                false,
            ),
            (
                r#"platform_release >= "10" and sys_platform == "win32""#,
                false,
                true,
            ),
            (r#"extra == "socks""#, false, false),
        ];
        for (marker, on_linux, on_windows) in cases {
            assert_eq!(eval_in(marker, &linux), on_linux, "linux: {marker}");
            assert_eq!(eval_in(marker, &win), on_windows, "windows: {marker}");
        }
    }

    #[test]
    fn python_version_compares_as_a_version() {
        let env = with("python_version", "3.10");
        assert!(eval_in(r#"python_version > "3.9""#, &env));
        assert!(eval_in(r#"python_version >= "3.9""#, &env));
        assert!(!eval_in(r#"python_version < "3.9""#, &env));
        assert!(eval_in(r#"python_version < "3.11""#, &env));
        assert!(eval_in(r#"python_version == "3.10""#, &env));
        assert!(eval_in(r#"python_version == "3.10.0""#, &env));
        assert!(eval_in(r#"python_version != "3.1""#, &env));
        assert!(eval_in(r#"python_version ~= "3.8""#, &env));
        assert!(!eval_in(r#"python_version ~= "3.11""#, &env));
        assert!(eval_in(r#"python_version == "3.*""#, &env));
        assert!(!eval_in(r#"python_version == "3.1.*""#, &env));
        assert!(eval_in(r#"python_version === "3.10""#, &env));
        assert!(!eval_in(r#"python_version === "3.10.0""#, &env));
        // `in` on a version variable is a substring test.
        assert!(eval_in(r#""3.1" in python_version"#, &env));
        assert!(!eval_in(r#""3.1" not in python_version"#, &env));
    }

    #[test]
    fn variable_may_be_on_the_right() {
        let env = with("python_version", "3.10");
        assert!(eval_in(r#""3.9" < python_version"#, &env));
        assert!(!eval_in(r#""3.11" < python_version"#, &env));
        assert!(eval_in(r#""3.10" == python_version"#, &env));
        assert!(eval_in(r#""posix" == os_name"#, &env));
        assert!(eval_in(r#""x86" in platform_machine"#, &env));
        assert!(eval_extras(r#""socks" == extra"#, &["socks"]));
    }

    #[test]
    fn full_version_and_pre_release_interpreters() {
        let env = with("python_full_version", "3.8.1");
        assert!(eval_in(r#"python_full_version >= "3.8.1""#, &env));
        assert!(!eval_in(r#"python_full_version > "3.8.1""#, &env));
        assert!(eval_in(r#"python_full_version == "3.8.*""#, &env));

        // Pre-releases are admitted, but `<V` still excludes V's own.
        let env = with("python_full_version", "3.13.0rc1");
        assert!(eval_in(r#"python_full_version >= "3.8""#, &env));
        assert!(eval_in(r#"python_full_version > "3.12""#, &env));
        assert!(!eval_in(r#"python_full_version < "3.13""#, &env));
        assert!(eval_in(r#"python_full_version < "3.13.0rc2""#, &env));
        assert!(!eval_in(r#"python_full_version >= "3.13""#, &env));

        let env = with("implementation_version", "7.3.13");
        assert!(eval_in(r#"implementation_version >= "7.3""#, &env));
        assert!(!eval_in(r#"implementation_version < "7.3.9""#, &env));
    }

    #[test]
    fn trailing_plus_in_full_version_is_repaired() {
        let env = with("python_full_version", "3.14.0+");
        assert!(eval_in(r#"python_full_version >= "3.14""#, &env));
        assert!(eval_in(r#"python_full_version == "3.14.0""#, &env));
        assert!(!eval_in(r#"python_full_version < "3.14""#, &env));
        assert!(!eval_in(r#"python_full_version > "3.14""#, &env));
        // Only python_full_version gets the repair.
        let env = with("python_version", "3.14+");
        assert!(!eval_in(r#"python_version >= "3.14""#, &env));
        assert!(eval_in(r#"python_version == "3.14+""#, &env));
    }

    #[test]
    fn non_version_values_fall_back_to_string_rules() {
        // "6.5.0-1-generic" isn't PEP 440.
        assert!(eval(r#"platform_release == "6.5.0-1-generic""#));
        assert!(!eval(r#"platform_release >= "5""#));
        assert!(!eval(r#"platform_release > "5""#));
        assert!(!eval(r#"platform_release < "7""#));
        assert!(eval(r#"platform_release >= "6.5.0-1-generic""#));
        assert!(eval(r#""generic" in platform_release"#));
        // A version variable against a non-version literal.
        assert!(!eval(r#"python_version < "three""#));
        assert!(eval(r#"python_version != "three""#));
        // A version-like release compares as a version.
        let env = with("platform_release", "6.5.0");
        assert!(eval_in(r#"platform_release >= "5.10""#, &env));
        // platform_version is a string variable, even when version-like.
        let env = with("platform_version", "10.0.19045");
        assert!(!eval_in(r#"platform_version > "9""#, &env));
        assert!(eval_in(r#"platform_version >= "10.0.19045""#, &env));
    }

    #[test]
    fn concatenated_operator_does_not_change_meaning() {
        // `<` + `=3.8` must not turn into `<=3.8`.
        let env = with("python_version", "3.8");
        assert!(!eval_in(r#"python_version < "=3.8""#, &env));
        assert!(!eval_in(r#"python_version == "=3.8""#, &env));
    }

    #[test]
    fn string_rules() {
        assert!(eval(r#"sys_platform == "linux""#));
        assert!(!eval(r#"sys_platform == "Linux""#));
        assert!(eval(r#"sys_platform != "Linux""#));
        assert!(eval(r#"sys_platform <= "linux""#));
        assert!(eval(r#"sys_platform >= "linux""#));
        assert!(!eval(r#"sys_platform >= "darwin""#));
        assert!(!eval(r#"sys_platform < "zzz""#));
        assert!(!eval(r#"sys_platform > "a""#));
        assert!(eval(r#"sys_platform ~= "linux""#));
        assert!(eval(r#"sys_platform === "linux""#));
        assert!(eval(r#""lin" in sys_platform"#));
        assert!(eval(r#""win" not in sys_platform"#));
        assert!(eval(r#"sys_platform in "linux linux2 cygwin""#));
        assert!(!eval(r#"sys_platform not in "linux2 cygwin linux""#));
        assert!(eval(
            r##"platform_version == "#1 SMP PREEMPT_DYNAMIC Debian 6.5.3-1""##
        ));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        // posix or (nt and win32): true on linux.
        assert!(eval(
            r#"os_name == "posix" or os_name == "nt" and sys_platform == "win32""#
        ));
        // nt or (posix and win32): false on linux.
        assert!(!eval(
            r#"os_name == "nt" or os_name == "posix" and sys_platform == "win32""#
        ));
        assert!(!eval(
            r#"(os_name == "nt" or os_name == "posix") and sys_platform == "win32""#
        ));
        assert!(eval(
            r#"sys_platform == "win32" and os_name == "nt" or os_name == "posix""#
        ));
        assert!(!eval(
            r#"sys_platform == "win32" and (os_name == "nt" or os_name == "posix")"#
        ));
    }

    #[test]
    fn parentheses_and_whitespace() {
        assert!(eval(r#"((os_name == "posix"))"#));
        assert!(eval(r#"( os_name=="posix" )and(sys_platform=='linux')"#));
        assert!(eval("python_version>'3'"));
        assert!(eval(
            "(\tos_name == 'posix' and (python_version >= '3.8' or\n python_version < '2'))"
        ));
        let deep = format!("{}os_name == 'posix'{}", "(".repeat(60), ")".repeat(60));
        assert!(eval(&deep));
    }

    #[test]
    fn quotes_of_both_kinds_without_escapes() {
        let env = with("platform_version", r#"it's "quoted""#);
        assert!(eval_in(r#""'s" in platform_version"#, &env));
        assert!(eval_in(r#"'"quoted"' in platform_version"#, &env));
        // A backslash is an ordinary character.
        let env = with("platform_version", r"a\");
        assert!(eval_in(r#"platform_version == 'a\'"#, &env));
        assert!(eval_in(r#"platform_version == "a\""#, &env));
    }

    #[test]
    fn extras() {
        assert!(eval_extras(r#"extra == "socks""#, &["socks"]));
        assert!(eval_extras(r#"extra == "socks""#, &["http", "socks"]));
        assert!(!eval_extras(r#"extra == "socks""#, &["http"]));
        assert!(!eval_extras(r#"extra == "socks""#, &[]));
        assert!(eval_extras(r#"extra != "socks""#, &[]));
        assert!(!eval_extras(r#"extra != "socks""#, &["socks"]));
        // PEP 685: both sides normalized.
        assert!(eval_extras(r#"extra == "Socks_Proxy""#, &["socks-proxy"]));
        assert!(eval_extras(r#"extra == "socks-proxy""#, &["SOCKS.proxy"]));
        assert!(eval_extras(
            r#"python_version >= "3.8" and extra == "socks""#,
            &["socks"]
        ));
        assert!(!eval_extras(
            r#"python_version < "3.8" and extra == "socks""#,
            &["socks"]
        ));
        // Lock-file sets.
        assert!(eval_extras(r#""test" in extras"#, &["test"]));
        assert!(eval_extras(r#""Test_Suite" in extras"#, &["test.suite"]));
        assert!(!eval_extras(r#""test" in extras"#, &[]));
        assert!(eval_extras(r#""test" not in extras"#, &[]));
        assert!(!eval_extras(r#""dev" in dependency_groups"#, &["dev"]));
        assert!(eval_extras(r#""dev" not in dependency_groups"#, &[]));
    }

    #[test]
    fn legacy_variable_spellings() {
        assert!(eval(r#"os.name == "posix""#));
        assert!(eval(r#"sys.platform == "linux""#));
        assert!(eval(r#"platform.machine == "x86_64""#));
        assert!(eval(r#"python_implementation == "CPython""#));
        assert!(eval(r#"platform.python_implementation == "CPython""#));
        assert!(eval(r#""SMP" in platform.version"#));
        assert_eq!(
            parse(r#"os.name == "posix""#).unwrap().to_string(),
            r#"os_name == "posix""#
        );
    }

    #[test]
    fn parse_and_display_round_trip() {
        for (input, want) in [
            ("os_name=='posix'", r#"os_name == "posix""#),
            (
                r#"(os_name == "nt" or os_name == "posix") and python_full_version >= "3.8.1""#,
                r#"(os_name == "nt" or os_name == "posix") and python_full_version >= "3.8.1""#,
            ),
            ("sys_platform=='x'", r#"sys_platform == "x""#),
            (
                r#""linux" not in sys_platform"#,
                r#""linux" not in sys_platform"#,
            ),
            (
                r#"platform_version == 'say "hi"'"#,
                r#"platform_version == 'say "hi"'"#,
            ),
            (r#"extra == "Socks_Proxy""#, r#"extra == "socks-proxy""#),
            (
                r#"os_name == "a" or (os_name == "b" and os_name == "c")"#,
                r#"os_name == "a" or os_name == "b" and os_name == "c""#,
            ),
        ] {
            let tree = parse(input).unwrap();
            let shown = tree.to_string();
            assert_eq!(shown, want, "{input}");
            assert_eq!(parse(&shown).unwrap(), tree, "{input}");
        }
    }

    #[test]
    fn parse_gives_a_tree() {
        let tree = parse(r#"os_name == "nt" and python_version < "3.9" or extra == "x""#).unwrap();
        let MarkerTree::Or(items) = &tree else {
            panic!("{tree:?}")
        };
        assert_eq!(items.len(), 2);
        assert!(matches!(&items[0], MarkerTree::And(a) if a.len() == 2));
        assert_eq!(
            items[1],
            MarkerTree::Expression(MarkerExpression {
                lhs: MarkerValue::Variable("extra"),
                op: MarkerOp::Equal,
                rhs: MarkerValue::Literal("x".into()),
            })
        );
    }

    #[test]
    fn malformed_markers_are_errors() {
        for bad in [
            "",
            "   ",
            "python_ver < '3'",
            "python_version",
            "python_version <",
            "python_version < ",
            "< '3.8'",
            "python_version < 3.8",
            "python_version < '3.8",
            "python_version < \"3.8'",
            "python_version = '3.8'",
            "python_version => '3.8'",
            "python_version ! '3.8'",
            "python_version ~ '3.8'",
            "python_version <> '3.8'",
            "python_version not '3.8'",
            "python_version not == '3.8'",
            "'3.8' < python_version < '4'",
            "(python_version < '3.8'",
            "python_version < '3.8')",
            "((python_version < '3.8')",
            "()",
            "and python_version < '3.8'",
            "python_version < '3.8' and",
            "python_version < '3.8' or",
            "python_version < '3.8' and or os_name == 'nt'",
            "python_version < '3.8' os_name == 'nt'",
            "python_version < '3.8' AND os_name == 'nt'",
            "Python_Version < '3.8'",
            "'a' == 'a'",
            "os_name == sys_platform",
            "extra in 'a b'",
            "extra < 'a'",
            "extras == 'a'",
            "extras in 'a'",
            "'a' == extras",
            "dependency_groups != 'dev'",
            "os_name == 'posix';",
            "os_name == 'posix' # comment",
            "os_name == 'posix' \\",
            "os_name == 'posix' && sys_platform == 'linux'",
            "os_name == 'posix' || sys_platform == 'linux'",
            "not os_name == 'posix'",
            "os_name == posix",
            "in in in",
            "os_name == 'é' and ümlaut == 'x'",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.starts_with("invalid marker"), "{err}");
            assert!(!err.contains('\n'), "{err}");
            assert!(evaluate(bad, &linux_env(), &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_messages_are_helpful() {
        let err = parse("python_ver < '3'").unwrap_err();
        assert!(
            err.contains("unknown marker variable 'python_ver'"),
            "{err}"
        );
        let err = parse("python_version < 3.8").unwrap_err();
        assert!(err.contains("must be quoted"), "{err}");
        let err = parse("python_version < '3.8").unwrap_err();
        assert!(err.contains("unterminated"), "{err}");
        let err = parse("(os_name == 'nt'").unwrap_err();
        assert!(err.contains("expected ')'"), "{err}");
        let err = parse("os_name == 'nt' )").unwrap_err();
        assert!(err.contains("unexpected ')'"), "{err}");
        let err = parse("extras == 'a'").unwrap_err();
        assert!(err.contains("is a set"), "{err}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!(
            "{}os_name == 'posix'{}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        let err = parse(&deep).unwrap_err();
        assert!(err.contains("nest"), "{err}");
        assert!(err.len() < 400);
        // Long flat chains are fine: they aren't recursive.
        let long = vec!["os_name == 'posix'"; 10_000].join(" and ");
        assert!(eval(&long));
    }

    #[test]
    fn missing_environment_values_are_errors() {
        let mut env = linux_env();
        env.remove("platform_release");
        let err = evaluate(r#"platform_release >= "5""#, &env, &[]).unwrap_err();
        assert!(err.contains("platform_release"), "{err}");
        // Even when another branch already decides the result.
        assert!(evaluate(
            r#"os_name == "posix" or platform_release >= "5""#,
            &env,
            &[]
        )
        .is_err());
        // extra/extras don't need the environment.
        assert!(!evaluate(r#"extra == "x""#, &BTreeMap::new(), &[]).unwrap());
        // Parsing alone needs no environment.
        assert!(parse(r#"platform_release >= "5""#).is_ok());
    }

    #[test]
    fn hand_built_trees_are_checked_too() {
        let tree = MarkerTree::Expression(MarkerExpression {
            lhs: MarkerValue::Literal("a".into()),
            op: MarkerOp::Equal,
            rhs: MarkerValue::Literal("a".into()),
        });
        assert!(tree.evaluate(&linux_env(), &[]).is_err());
        let tree = MarkerTree::Expression(MarkerExpression {
            lhs: MarkerValue::Variable("extras"),
            op: MarkerOp::Equal,
            rhs: MarkerValue::Literal("a".into()),
        });
        assert!(tree.evaluate(&linux_env(), &[]).is_err());
    }

    #[test]
    fn env_variables_list_matches_the_parser() {
        for name in ENV_VARIABLES {
            assert_eq!(canonical_variable(name), Some(name));
        }
        for name in VERSION_VARIABLES {
            assert!(ENV_VARIABLES.contains(&name));
        }
        // Every variable the probe supplies is usable in a marker.
        for name in ENV_VARIABLES {
            assert!(eval(&format!("{name} == {name:?} or {name} != {name:?}")));
        }
    }

    #[test]
    fn no_panics_on_odd_input() {
        let env = linux_env();
        for s in [
            "'",
            "\"",
            "(",
            ")",
            "((",
            "))",
            "=",
            "==",
            "===",
            "~",
            "!",
            "<",
            "not",
            "not in",
            "'a' in",
            "in 'a'",
            "\u{0}",
            "é",
            "'é' == os_name",
            "os_name == '\u{1F600}'",
            "os_name==''",
            "python_version == ''",
            "python_version >= '3.8.*'",
            "python_version ~= '3'",
            "python_version == '3.8+local'",
            "python_full_version<'3.8'or'x'==os_name",
        ] {
            let _ = parse(s);
            let _ = evaluate(s, &env, &[]);
        }
        assert!(eval("os_name == 'posix' and 'é' != os_name"));
        assert!(!eval("python_version == ''"));
        // `~=` with one segment isn't a valid specifier: string rules apply.
        assert!(!eval("python_version ~= '3'"));
        assert!(eval("python_full_version<'3.8'or'posix'==os_name"));
    }
}
