//! PEX-INFO `build_properties` from pex's flags: `--build-properties` (a JSON
//! object, or a file holding one), `--build-property NAME=VALUE` (VALUE as
//! JSON, else a string; repeatable, later wins) and `--record-git-state`
//! (`git_state`: commit, description, branch, tag, as pex records them).
//! Informational: the launcher never reads them; they change `pex_hash`, as in pex.

use serde_json::{Map, Value};
use std::path::Path;
use std::process::Command;

pub fn from_flags(
    properties: Option<&str>,
    entries: &[String],
    record_git_state: bool,
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    if let Some(text) = properties {
        let (json, origin) = if Path::new(text).is_file() {
            let json = std::fs::read_to_string(text)
                .map_err(|e| format!("--build-properties: cannot read {text}: {e}"))?;
            (json, format!("the file {text}"))
        } else {
            (text.to_string(), "the JSON given".to_string())
        };
        match serde_json::from_str::<Value>(&json) {
            Ok(Value::Object(map)) => out.extend(map),
            Ok(other) => {
                return Err(format!(
                    "--build-properties: {origin} holds a JSON {}, not an object like {{\"team\": \"data\"}}",
                    kind(&other)
                ))
            }
            Err(e) => {
                return Err(format!(
                    "--build-properties: {origin} is neither a JSON object nor an existing file ({e})"
                ))
            }
        }
    }
    for entry in entries {
        let (name, value) = entry.split_once('=').ok_or_else(|| {
            format!("--build-property wants NAME=VALUE (VALUE as JSON, or a string), not {entry:?}")
        })?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value));
        out.insert(name.to_string(), value);
    }
    if record_git_state {
        out.insert("git_state".to_string(), Value::Object(git_state()));
    }
    Ok(out)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// pex's `git_state`, from the current folder's repository: `description`
/// and `commit` when git gives them (a warning otherwise), `branch` and `tag`
/// empty when there is none.
fn git_state() -> Map<String, Value> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let mut state = Map::new();
    for (key, args, default) in [
        (
            "description",
            &["describe", "--always", "--dirty", "--long"][..],
            None,
        ),
        ("commit", &["rev-parse", "HEAD"][..], None),
        ("branch", &["branch", "--show-current"][..], Some("")),
        ("tag", &["describe", "--exact-match"][..], Some("")),
    ] {
        match git(args).or(default.map(str::to_string)) {
            Some(value) => {
                state.insert(key.to_string(), Value::from(value));
            }
            None => eprintln!(
                "dpex: warning: --record-git-state: `git {}` failed; no {key:?} recorded",
                args.join(" ")
            ),
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_then_entries_then_git() {
        let got = from_flags(
            Some(r#"{"team": "data", "n": 1}"#),
            &[
                "n=2".into(),
                "who=ann".into(),
                r#"list=["spam", 42]"#.into(),
            ],
            false,
        )
        .unwrap();
        assert_eq!(
            Value::Object(got),
            serde_json::json!({"team": "data", "n": 2, "who": "ann", "list": ["spam", 42]})
        );
        assert!(from_flags(Some("[1]"), &[], false)
            .unwrap_err()
            .contains("array"));
        assert!(from_flags(Some("{nope"), &[], false)
            .unwrap_err()
            .contains("neither a JSON object nor an existing file"));
        assert!(from_flags(None, &["novalue".into()], false)
            .unwrap_err()
            .contains("NAME=VALUE"));
    }
}
