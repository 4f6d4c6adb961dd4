//! `PEX_TOOLS=1 ./app.pex TOOL ...`: the pex tools a dehydrated app offers.
//! One, `venv`, so Dockerfiles that run `PEX_TOOLS=1 ./app.pex venv DIR`
//! keep working (`dpex venv app.pex DIR` is the same from the CLI).

use crate::error::{Error, Result};
use crate::install::export::{ExportOptions, Scope};
use std::ffi::OsString;
use std::path::PathBuf;

/// A tool run the launcher understood.
pub enum Tool {
    Venv {
        dest: PathBuf,
        options: ExportOptions,
        remove: Option<Remove>,
    },
    Help,
}

/// pex-tools venv's `--rm`: what to delete once the venv is made (an
/// image's build step that keeps only the venv).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remove {
    /// The app file.
    App,
    /// The app file and the dpex cache it ran from.
    AppAndCache,
}

pub const USAGE: &str = "\
usage: PEX_TOOLS=1 ./app.pex venv [--compile] [--force] [--scope {all,deps,srcs}] [--rm {pex,all}] DIR

Export the app as a venv of real files at DIR (its wheels downloaded into the
cache first if missing): DIR/pex runs the app as ./app.pex would, without the
cache; DIR/bin/python is the venv's python.

  --compile        compile every module to bytecode
  --force          replace DIR if it exists
  --scope SCOPE    all (the default); deps: the wheels only; srcs: then the app's
                   sources and DIR/pex, into the DIR --scope=deps made (an image's
                   dependency layer, then its code layer)
  --rm pex         delete the app file afterwards; all: the dpex cache too
  --collisions-ok  accepted (a dpex venv has no colliding files to allow)
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
    let mut remove = None;
    let mut rest = words[1..].iter();
    while let Some(word) = rest.next() {
        // `--scope=deps` or `--scope deps`.
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (word.as_str(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| rest.next().cloned())
                .ok_or_else(|| {
                    Error::msg(format!("PEX_TOOLS=1 ./app.pex venv: {name} needs a value"))
                })
        };
        match flag {
            "--compile" => options.compile = true,
            "--force" => options.force = true,
            "--collisions-ok" => {}
            "--scope" => {
                let scope = value("--scope")?;
                options.scope = Scope::parse(&scope).ok_or_else(|| {
                    Error::msg(format!(
                        "PEX_TOOLS=1 ./app.pex venv: --scope is all, deps or srcs, not {scope:?}"
                    ))
                })?;
            }
            "--rm" | "--remove" => {
                remove = Some(match value("--rm")?.as_str() {
                    "pex" => Remove::App,
                    "all" => Remove::AppAndCache,
                    other => {
                        return Err(Error::msg(format!(
                            "PEX_TOOLS=1 ./app.pex venv: --rm is pex or all, not {other:?}"
                        )))
                    }
                })
            }
            "-h" | "--help" => return Ok(Tool::Help),
            flag if flag.starts_with('-') => {
                return Err(Error::msg(format!(
                    "PEX_TOOLS=1 ./app.pex venv: {flag} is not supported by dpex apps \
                     (--compile, --force, --scope, --rm and --collisions-ok are: a dpex venv \
                     always holds real files, its console scripts and a `pex` entry)"
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
    Ok(Tool::Venv {
        dest,
        options,
        remove,
    })
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
            Tool::Venv {
                dest,
                options,
                remove,
            } => {
                assert_eq!(dest, PathBuf::from("/opt/app"));
                assert!(options.compile && !options.force && remove.is_none());
                assert_eq!(options.scope, Scope::All);
            }
            Tool::Help => panic!("not help"),
        }
        match parse_words(&[
            "venv",
            "--scope=deps",
            "--rm",
            "all",
            "--collisions-ok",
            "d",
        ])
        .unwrap()
        {
            Tool::Venv {
                options, remove, ..
            } => {
                assert_eq!(
                    (options.scope, remove),
                    (Scope::Deps, Some(Remove::AppAndCache))
                );
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
            (&["venv", "--scope", "some", "d"][..], "all, deps or srcs"),
            (&["venv", "--rm=venv", "d"][..], "pex or all"),
            (&["venv", "d", "--scope"][..], "needs a value"),
        ] {
            let e = parse_words(words).err().unwrap().to_string();
            assert!(e.contains(needle), "{words:?}: {e}");
        }
    }
}
