//! Shell-style word splitting, the one rule set for every option text the
//! packer splits: requirement-line options (pip splits them with
//! `shlex.split`) and `--inject-args` / `--inject-python-args` (pex splits
//! them with `shlex.split`). Matching Python's `shlex.split` (POSIX mode, no
//! comments) keeps a lock or a build line meaning what it means to pip and pex.

/// Python's `shlex.split(text)`: words separated by space, tab, CR or LF;
/// inside `'…'` everything is literal; inside `"…"` a backslash escapes only
/// `\` and `"` (any other backslash stays); outside quotes a backslash
/// escapes the next character. `#` is an ordinary character. An unclosed
/// quote or a trailing backslash is an error naming it.
pub fn split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A word can be empty (`''`), so "in a word" is not `!word.is_empty()`.
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            // shlex's whitespace, not Unicode's: U+00A0 stays in a word.
            ' ' | '\t' | '\r' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("an unclosed ' quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("an unclosed \" quote".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("an unclosed \" quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err("a trailing \\ with nothing to escape".into()),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split;

    /// Each expected value is what `/usr/bin/python3.11 -c 'import shlex;
    /// print(shlex.split(text))'` gives.
    #[test]
    fn matches_python_shlex_split() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            (" \t\r\n", &[]),
            ("a 'b c' \"d\\\"e\" f\\ g", &["a", "b c", "d\"e", "f g"]),
            ("''", &[""]),
            ("\"\"", &[""]),
            ("'' ''", &["", ""]),
            ("a''", &["a"]),
            ("a\"\" b", &["a", "b"]),
            ("a\"b\"c", &["abc"]),
            ("--hash=sha256:\"ab\"", &["--hash=sha256:ab"]),
            ("'\\'", &["\\"]),
            ("\"\\\\\"", &["\\"]),
            ("\"\\t\"", &["\\t"]),
            ("x\\ty", &["xty"]),
            // Inside "…" only `\` and `"` are escapable (unlike sh: `$`, backtick
            // and newline keep their backslash).
            ("a \"b\\$c\" d", &["a", "b\\$c", "d"]),
            ("a \"x\\`y\"", &["a", "x\\`y"]),
            ("\"a\\\nb\"", &["a\\\nb"]),
            // Outside quotes a backslash-newline is a newline, not a continuation.
            ("a\\\nb", &["a\nb"]),
            ("\tx\t\ty\r\nz", &["x", "y", "z"]),
            ("a#b #c", &["a#b", "#c"]),
            (
                "a\u{a0}b a\u{b}b a\u{c}b",
                &["a\u{a0}b", "a\u{b}b", "a\u{c}b"],
            ),
            ("日本 '語 x'", &["日本", "語 x"]),
        ];
        for (text, want) in cases {
            assert_eq!(split(text).unwrap(), *want, "split({text:?})");
        }
    }

    #[test]
    fn errors_like_python_shlex_split() {
        // Python: "No closing quotation" / "No escaped character".
        assert_eq!(split("it's").unwrap_err(), "an unclosed ' quote");
        assert_eq!(split("'open").unwrap_err(), "an unclosed ' quote");
        assert_eq!(split("\"open").unwrap_err(), "an unclosed \" quote");
        assert_eq!(split("\"a\\").unwrap_err(), "an unclosed \" quote");
        assert_eq!(
            split("a\\").unwrap_err(),
            "a trailing \\ with nothing to escape"
        );
    }
}
