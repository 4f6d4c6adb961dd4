//! `~/.netrc` (or the file `NETRC` names): a login and password per host
//! name, as curl, pip and uv read it.
//!
//! Only `machine` entries are used, and each only for its own host: the
//! `default` entry (credentials for every other host) is ignored, so a page
//! that links a file on some other host, or a redirect there, never carries
//! a password away. `macdef` bodies are skipped; `account` is ignored.

use std::path::PathBuf;

/// One `machine` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub machine: String,
    pub login: String,
    pub password: String,
}

/// The parsed file.
#[derive(Clone, Debug, Default)]
pub struct Netrc {
    entries: Vec<Entry>,
}

impl Netrc {
    /// `NETRC` if set (and not empty), else `~/.netrc`; `None` when the file
    /// does not exist or cannot be read.
    pub fn load() -> Option<Netrc> {
        let text = std::fs::read_to_string(path()?).ok()?;
        Some(Netrc::parse(&text))
    }

    /// Parse netrc text. Lenient, as the other readers are: unknown words
    /// are skipped, and an entry without a password is kept with an empty one.
    pub fn parse(text: &str) -> Netrc {
        let mut tokens = Tokens { rest: text };
        let mut entries = Vec::new();
        // The entry being filled: `None` also inside `default`.
        let mut current: Option<Entry> = None;
        while let Some(word) = tokens.keyword() {
            match word {
                "machine" => {
                    entries.extend(current.take());
                    if let Some(name) = tokens.value() {
                        current = Some(Entry {
                            machine: name.trim_end_matches('.').to_ascii_lowercase(),
                            login: String::new(),
                            password: String::new(),
                        });
                    }
                }
                "default" => entries.extend(current.take()),
                "login" | "user" => {
                    let v = tokens.value().unwrap_or_default();
                    if let Some(e) = current.as_mut() {
                        e.login = v;
                    }
                }
                "password" | "passwd" => {
                    let v = tokens.value().unwrap_or_default();
                    if let Some(e) = current.as_mut() {
                        e.password = v;
                    }
                }
                "account" => {
                    tokens.value();
                }
                "macdef" => {
                    entries.extend(current.take());
                    tokens.value();
                    tokens.skip_macro();
                }
                _ => {}
            }
        }
        entries.extend(current);
        Netrc { entries }
    }

    /// The login and password of the first `machine` entry for `host`
    /// (compared without case, and without a trailing dot).
    pub fn lookup(&self, host: &str) -> Option<(&str, &str)> {
        let host = host.trim_end_matches('.');
        self.entries
            .iter()
            .find(|e| e.machine.eq_ignore_ascii_case(host))
            .map(|e| (e.login.as_str(), e.password.as_str()))
    }
}

/// Where the netrc file is.
pub fn path() -> Option<PathBuf> {
    match std::env::var_os("NETRC") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => dirs::home_dir().map(|h| h.join(".netrc")),
    }
}

struct Tokens<'a> {
    rest: &'a str,
}

impl Tokens<'_> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    /// The next word where a keyword is expected; `#` starts a comment there.
    fn keyword(&mut self) -> Option<&str> {
        loop {
            self.skip_space();
            if self.rest.starts_with('#') {
                let end = self.rest.find('\n').unwrap_or(self.rest.len());
                self.rest = &self.rest[end..];
                continue;
            }
            if self.rest.is_empty() {
                return None;
            }
            let end = self
                .rest
                .find(char::is_whitespace)
                .unwrap_or(self.rest.len());
            let (word, rest) = self.rest.split_at(end);
            self.rest = rest;
            return Some(word);
        }
    }

    /// The next value: a bare word (which may contain `#`), or a
    /// double-quoted string with backslash escapes.
    fn value(&mut self) -> Option<String> {
        self.skip_space();
        if self.rest.is_empty() {
            return None;
        }
        if let Some(quoted) = self.rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        self.rest = &quoted[i + 1..];
                        return Some(out);
                    }
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            out.push(n);
                        }
                    }
                    c => out.push(c),
                }
            }
            self.rest = "";
            return Some(out);
        }
        let end = self
            .rest
            .find(char::is_whitespace)
            .unwrap_or(self.rest.len());
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(word.to_string())
    }

    /// A `macdef` body runs to the first empty line.
    fn skip_macro(&mut self) {
        // The rest of the `macdef NAME` line belongs to the macro.
        match self.rest.find("\n\n") {
            Some(i) => self.rest = &self.rest[i + 2..],
            None => self.rest = "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_machines_and_skips_default_and_macros() {
        let n = Netrc::parse(
            "# a comment\n\
             machine Index.Example.COM login alice password s3cret#x\n\
             machine other.example\n  login bob\n  password \"with space\\\"q\"\n  account acct\n\
             macdef init\ncd /pub\nmachine evil.example login m password macro\n\n\
             default login anon password anon-pw\n\
             machine last.example password only\n",
        );
        assert_eq!(n.lookup("index.example.com"), Some(("alice", "s3cret#x")));
        assert_eq!(n.lookup("index.example.com."), Some(("alice", "s3cret#x")));
        assert_eq!(n.lookup("other.example"), Some(("bob", "with space\"q")));
        assert_eq!(n.lookup("last.example"), Some(("", "only")));
        // Inside the macro body: not an entry.
        assert_eq!(n.lookup("evil.example"), None);
        // `default` is never used for other hosts, nor are suffixes matched.
        assert_eq!(n.lookup("unknown.example"), None);
        assert_eq!(n.lookup("sub.index.example.com"), None);
    }

    #[test]
    fn first_entry_wins_and_odd_files_do_not_panic() {
        let n = Netrc::parse("machine h login a password 1\nmachine h login b password 2\n");
        assert_eq!(n.lookup("h"), Some(("a", "1")));
        for text in [
            "machine",
            "login x",
            "password",
            "machine \"unterminated",
            "\"",
            "macdef",
        ] {
            let _ = Netrc::parse(text).lookup("x");
        }
    }
}
