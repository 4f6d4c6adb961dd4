//! `PEX_TOOLS=1 ./app.pex TOOL ...`: the pex tools a dehydrated app offers.
//! One, `venv`, so Dockerfiles that run `PEX_TOOLS=1 ./app.pex venv DIR`
//! keep working (`dpex venv app.pex DIR` is the same from the CLI).

use crate::error::{Error, Result};
use crate::install::export::ExportOptions;
use std::ffi::OsString;
use std::path::PathBuf;

/// A tool run the launcher understood.
pub enum Tool {
    Venv {
        dest: PathBuf,
        options: ExportOptions,
    },
    Help,
}

pub const USAGE: &str = "\
usage: PEX_TOOLS=1 ./app.pex venv [--compile] [--force] DIR

Export the app as a venv of real files at DIR (its wheels downloaded into the
cache first if missing): DIR/pex runs the app as ./app.pex would, without the
cache; DIR/bin/python is the venv's python.

  --compile   compile every module to bytecode
  --force     replace DIR if it exists
";

/// Parse the arguments after the app's path.
pub fn parse(args: &[OsString]) -> Result<Tool> {
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match words.first().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => return Ok(Tool::Help),
        Some("venv") => {}
        Some(other) => {
            return Err(Error::msg(format!(
                "PEX_TOOLS=1: dpex apps offer one tool, `venv`, not {other:?} \
                 (`dpex info app.pex` shows what pex-tools info would). {}",
                USAGE.lines().next().unwrap_or("")
            )))
        }
    }
    let mut options = ExportOptions::default();
    let mut dest = None;
    for word in &words[1..] {
        match word.as_str() {
            "--compile" => options.compile = true,
            "--force" => options.force = true,
            "-h" | "--help" => return Ok(Tool::Help),
            flag if flag.starts_with('-') => {
                return Err(Error::msg(format!(
                    "PEX_TOOLS=1 ./app.pex venv: {flag} is not supported by dpex apps \
                     (only --compile and --force: a dpex venv always holds the app's sources \
                     and scripts, and a `pex` entry)"
                )))
            }
            path if dest.is_none() => dest = Some(PathBuf::from(path)),
            extra => {
                return Err(Error::msg(format!(
                    "PEX_TOOLS=1 ./app.pex venv: one DIR only, got another: {extra:?}"
                )))
            }
        }
    }
    let dest = dest.ok_or_else(|| {
        Error::msg(format!(
            "PEX_TOOLS=1 ./app.pex venv: which DIR? {}",
            USAGE.lines().next().unwrap_or("")
        ))
    })?;
    Ok(Tool::Venv { dest, options })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &[&str]) -> Result<Tool> {
        parse(&words.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn venv_options_and_errors() {
        match parse_words(&["venv", "--compile", "/opt/app"]).unwrap() {
            Tool::Venv { dest, options } => {
                assert_eq!(dest, PathBuf::from("/opt/app"));
                assert!(options.compile && !options.force);
            }
            Tool::Help => panic!("not help"),
        }
        assert!(matches!(parse_words(&[]).unwrap(), Tool::Help));
        assert!(matches!(
            parse_words(&["venv", "--help"]).unwrap(),
            Tool::Help
        ));
        for (words, needle) in [
            (&["graph"][..], "\"graph\""),
            (&["venv"][..], "which DIR"),
            (&["venv", "--pip", "d"][..], "--pip is not supported"),
            (&["venv", "a", "b"][..], "one DIR only"),
        ] {
            let e = parse_words(words).err().unwrap().to_string();
            assert!(e.contains(needle), "{words:?}: {e}");
        }
    }
}
