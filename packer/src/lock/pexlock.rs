//! The pex lock reader (`pex3 lock create ... -o lock.json`): every locked
//! artifact with its URL and hash, so reading it needs no network, like
//! pylock.toml. A pex lock gives no per-package markers: which packages a
//! host needs follows from the root requirements and each package's
//! `requires_dists` (pex walks that graph at install time). dpex walks it
//! once here and records each package's marker: the `or` over the ways to
//! reach it of the `and` of the markers on the way, with `extra == "..."`
//! decided by the extras each package is asked for. The launcher then
//! evaluates those markers as it does pylock.toml's.

use super::{check_wheel_url, parse_wheel_filename, same_version, strip_credentials, LockInput};
use dpex_launcher::format::pexinfo::{DehydratedRequirement, LockedWheel};
use dpex_launcher::net::url::{basename, redact_url};
use dpex_launcher::standards::digest::Sha256Hex;
use dpex_launcher::standards::marker::{self, MarkerTree, MarkerValue};
use dpex_launcher::standards::version::{is_valid_name, normalize_name, VersionSpecifiers};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

const RELOCK: &str = "re-create it with `pex3 lock create` (wheels only: `--wheel --no-build`)";

#[derive(Deserialize)]
struct PexLockDoc {
    #[serde(default)]
    requirements: Vec<String>,
    #[serde(default)]
    requires_python: Vec<String>,
    locked_resolves: Option<Vec<LockedResolve>>,
}

#[derive(Deserialize)]
struct LockedResolve {
    #[serde(default)]
    locked_requirements: Vec<LockedRequirement>,
}

#[derive(Deserialize)]
struct LockedRequirement {
    project_name: String,
    version: String,
    #[serde(default)]
    requires_dists: Vec<String>,
    requires_python: Option<String>,
    #[serde(default)]
    artifacts: Vec<Artifact>,
}

#[derive(Deserialize)]
struct Artifact {
    algorithm: Option<String>,
    hash: Option<String>,
    url: Option<String>,
    filename: Option<String>,
}

/// Whether `text` (a lock file's content) is a pex lock rather than a pylock.toml.
pub fn looks_like_pex_lock(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// A requirement as the graph walk needs it.
struct Edge {
    name: String,
    extras: Vec<String>,
    marker: Option<MarkerTree>,
}

/// `name[extras] specifiers ; marker` (or `name @ url ; marker`).
fn parse_edge(text: &str, what: &str) -> Result<Edge, String> {
    let bad = |why: &str| format!("{what}: the requirement {text:?} {why}; {RELOCK}");
    let (spec, marker_text) = if text.contains('@') {
        match text.split_once(" ;") {
            Some((s, m)) => (s, Some(m)),
            None => (text, None),
        }
    } else {
        match text.split_once(';') {
            Some((s, m)) => (s, Some(m)),
            None => (text, None),
        }
    };
    let spec = spec.trim();
    let name_end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(spec.len());
    let name = &spec[..name_end];
    if !is_valid_name(name) {
        return Err(bad("does not start with a project name"));
    }
    let mut extras = Vec::new();
    if let Some(rest) = spec[name_end..].trim_start().strip_prefix('[') {
        let close = rest.find(']').ok_or_else(|| bad("has an unclosed `[`"))?;
        extras = rest[..close]
            .split(',')
            .map(|e| normalize_name(e.trim()))
            .filter(|e| !e.is_empty())
            .collect();
    }
    let marker = match marker_text.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => Some(marker::parse(m).map_err(|e| bad(&format!("has an {e}")))?),
        None => None,
    };
    Ok(Edge {
        name: normalize_name(name),
        extras,
        marker,
    })
}

/// A condition on the host, in disjunctive normal form: the `or` of
/// clauses, each the `and` of marker comparisons (as printed). No clause:
/// never; an empty clause: always. Finite over the lock's comparisons, and
/// it only grows during the walk, so the walk settles.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cond(BTreeSet<BTreeSet<String>>);

impl Cond {
    fn never() -> Cond {
        Cond(BTreeSet::new())
    }

    fn always() -> Cond {
        Cond(BTreeSet::from([BTreeSet::new()]))
    }

    fn is_never(&self) -> bool {
        self.0.is_empty()
    }

    fn or(&self, other: &Cond) -> Cond {
        absorbed(self.0.iter().chain(&other.0).cloned().collect())
    }

    fn and(&self, other: &Cond) -> Cond {
        let mut clauses = BTreeSet::new();
        for a in &self.0 {
            for b in &other.0 {
                clauses.insert(a.union(b).cloned().collect());
            }
        }
        absorbed(clauses)
    }

    /// Comparisons in all clauses together (to cap the size of a marker).
    fn size(&self) -> usize {
        self.0.iter().map(BTreeSet::len).sum()
    }

    /// The PEP 508 marker, `None` for always (and never, which is not asked).
    fn marker(&self) -> Option<String> {
        if self.0.iter().any(BTreeSet::is_empty) {
            return None;
        }
        let clauses: Vec<String> = self
            .0
            .iter()
            .map(|c| c.iter().cloned().collect::<Vec<_>>().join(" and "))
            .collect();
        Some(clauses.join(" or "))
    }
}

/// `x or (x and y)` is `x`: drop every clause that holds another.
fn absorbed(clauses: BTreeSet<BTreeSet<String>>) -> Cond {
    let kept = clauses
        .iter()
        .filter(|c| !clauses.iter().any(|o| o != *c && o.is_subset(c)))
        .cloned()
        .collect();
    Cond(kept)
}

/// `tree` as a condition, with `extra` comparisons decided for a package
/// asked for with `extra` (`None`: with no extra), as pip evaluates a
/// dependency's marker once per requested extra.
fn decide_extras(tree: &MarkerTree, extra: Option<&str>) -> Cond {
    match tree {
        MarkerTree::Expression(e) => {
            let about_extras = [&e.lhs, &e.rhs]
                .iter()
                .any(|v| matches!(v, MarkerValue::Variable("extra" | "extras")));
            if !about_extras {
                return Cond(BTreeSet::from([BTreeSet::from([tree.to_string()])]));
            }
            let extras: Vec<String> = extra.into_iter().map(str::to_string).collect();
            match tree.evaluate(&BTreeMap::new(), &extras) {
                Ok(true) => Cond::always(),
                _ => Cond::never(),
            }
        }
        MarkerTree::And(items) => items
            .iter()
            .fold(Cond::always(), |acc, t| acc.and(&decide_extras(t, extra))),
        MarkerTree::Or(items) => items
            .iter()
            .fold(Cond::never(), |acc, t| acc.or(&decide_extras(t, extra))),
    }
}

fn edge_cond(edge: &Edge, extra: Option<&str>) -> Cond {
    edge.marker
        .as_ref()
        .map_or_else(Cond::always, |m| decide_extras(m, extra))
}

/// Comparisons a package's condition may hold before it counts as always.
const MAX_MARKER_SIZE: usize = 256;

/// Parse pex lock JSON; `source` names the file in messages. The walk starts
/// from `selected` requirements if any (pex's `--lock L REQ...`), else from
/// the lock's own; packages it does not reach are left out.
pub fn parse_pex_lock(text: &str, source: &str, selected: &[String]) -> Result<LockInput, String> {
    let doc: PexLockDoc = serde_json::from_str(text)
        .map_err(|e| format!("{source} is not a valid pex lock file (JSON): {e}; {RELOCK}"))?;
    let Some(resolves) = doc.locked_resolves.filter(|r| !r.is_empty()) else {
        return Err(format!(
            "{source} has no `locked_resolves`, so it is not a pex lock; {RELOCK}"
        ));
    };
    let mut warnings = Vec::new();
    // Every resolve's packages, merged by name (one version per project).
    let mut locked: BTreeMap<String, (LockedRequirement, Vec<LockedWheel>)> = BTreeMap::new();
    let mut sdist_only = Vec::new();
    for resolve in resolves {
        for req in resolve.locked_requirements {
            let name = normalize_name(&req.project_name);
            let what = format!("{source}: {name} {}", req.version);
            if let Some(rp) = &req.requires_python {
                VersionSpecifiers::parse(rp)
                    .map_err(|e| format!("{what} has an invalid requires_python {rp:?}: {e}"))?;
            }
            let mut wheels = Vec::new();
            let mut others = 0;
            for artifact in &req.artifacts {
                match artifact_wheel(artifact, &name, &req.version, &what, &mut warnings)? {
                    Some(wheel) => wheels.push(wheel),
                    None => others += 1,
                }
            }
            if wheels.is_empty() {
                sdist_only.push((
                    name.clone(),
                    format!("{name} {} ({} artifact(s), no wheel)", req.version, others),
                ));
                continue;
            }
            match locked.get_mut(&name) {
                Some((earlier, known)) => {
                    if !same_version(&earlier.version, &req.version) {
                        return Err(format!(
                            "{source} locks {name} at {} and {} in different resolves; a dehydrated app \
                             records one version per project: lock one resolve (one interpreter, or \
                             `--style universal`)",
                            earlier.version, req.version
                        ));
                    }
                    for wheel in wheels {
                        if !known.iter().any(|w| w.filename == wheel.filename) {
                            known.push(wheel);
                        }
                    }
                    // Another resolve (another platform) may list other dependencies.
                    for dist in req.requires_dists {
                        if !earlier.requires_dists.contains(&dist) {
                            earlier.requires_dists.push(dist);
                        }
                    }
                }
                None => {
                    locked.insert(name, (req, wheels));
                }
            }
        }
    }
    let refuse_sdist_only =
        |names: Vec<&String>| {
            format!(
            "{source} locks projects without a wheel, which a dehydrated app cannot install (the \
             launcher installs prebuilt wheels and never builds): {}. Lock versions that publish \
             wheels ({RELOCK}), or build wheels, host them on an index and re-lock",
            names.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        )
        };
    // The whole lock: every project must have a wheel. A selection: those it reaches (below).
    if selected.is_empty() && !sdist_only.is_empty() {
        return Err(refuse_sdist_only(
            sdist_only.iter().map(|(_, d)| d).collect(),
        ));
    }

    // Walk from the root requirements: for each package, the condition under
    // which it is needed ("") and under which each of its extras is asked for.
    type Conds = BTreeMap<String, BTreeMap<String, Cond>>;
    fn grow(state: &mut Conds, name: &str, extra: &str, by: &Cond) -> bool {
        let slot = state
            .entry(name.to_string())
            .or_default()
            .entry(extra.to_string())
            .or_insert_with(Cond::never);
        let grown = slot.or(by);
        let changed = grown != *slot;
        *slot = grown;
        changed
    }
    let mut state: Conds = BTreeMap::new();
    let roots = if selected.is_empty() {
        &doc.requirements
    } else {
        selected
    };
    for text in roots {
        let edge = parse_edge(text, &format!("{source}: requirements"))?;
        let cond = edge_cond(&edge, None);
        grow(&mut state, &edge.name, "", &cond);
        for extra in &edge.extras {
            grow(&mut state, &edge.name, extra, &cond);
        }
    }
    let mut edges: BTreeMap<&str, Vec<Edge>> = BTreeMap::new();
    for (name, (req, _)) in &locked {
        let what = format!("{source}: {name} {}", req.version);
        let parsed = req
            .requires_dists
            .iter()
            .map(|d| parse_edge(d, &what))
            .collect::<Result<Vec<_>, _>>()?;
        edges.insert(name, parsed);
    }
    let mut converged = false;
    for _ in 0..=2 * locked.len() + 2 {
        let mut changed = false;
        let snapshot = state.clone();
        for (name, conds) in &snapshot {
            let Some(base) = conds.get("").filter(|c| !c.is_never()) else {
                continue;
            };
            for edge in edges.get(name.as_str()).into_iter().flatten() {
                let mut reach = base.and(&edge_cond(edge, None));
                for (extra, asked) in conds.iter().filter(|(e, _)| !e.is_empty()) {
                    reach = reach.or(&asked.and(&edge_cond(edge, Some(extra))));
                }
                if reach.is_never() {
                    continue;
                }
                if reach.size() > MAX_MARKER_SIZE {
                    warnings.push(format!(
                        "{source}: {} is reached through too many conditional paths to record them \
                         as one marker; it is installed on every host",
                        edge.name
                    ));
                    reach = Cond::always();
                }
                changed |= grow(&mut state, &edge.name, "", &reach);
                for extra in &edge.extras {
                    changed |= grow(&mut state, &edge.name, extra, &reach);
                }
            }
        }
        if !changed {
            converged = true;
            break;
        }
    }
    if !converged {
        // Not expected (the conditions are finite); over-install rather than leave one out.
        warnings.push(format!(
            "{source}: the requirement graph's markers did not settle; every reached package is \
             installed on every host"
        ));
        for conds in state.values_mut() {
            for cond in conds.values_mut().filter(|c| !c.is_never()) {
                *cond = Cond::always();
            }
        }
    }

    if !selected.is_empty() {
        // What the selection reaches must be in the lock, with a wheel (pex refuses a
        // selection whose dependencies the lock does not satisfy, e.g. an extra not locked).
        let reached: Vec<(&String, Option<String>)> = state
            .iter()
            .filter_map(|(name, conds)| {
                let cond = conds.get("").filter(|c| !c.is_never())?;
                Some((name, cond.marker()))
            })
            .filter(|(name, marker)| {
                !locked.contains_key(name.as_str())
                    && marker
                        .as_deref()
                        .is_none_or(|m| super::possible_on_linux(m, None))
            })
            .collect();
        let no_wheel: Vec<&String> = sdist_only
            .iter()
            .filter(|(name, _)| reached.iter().any(|(r, _)| *r == name))
            .map(|(_, description)| description)
            .collect();
        if !no_wheel.is_empty() {
            return Err(refuse_sdist_only(no_wheel));
        }
        if !reached.is_empty() {
            let names: Vec<&str> = reached.iter().map(|(n, _)| n.as_str()).collect();
            return Err(format!(
                "the selected requirements need {}, which {source} does not lock (an extra or a \
                 dependency the lock was not made for); re-lock with them, or change the selection",
                names.join(", ")
            ));
        }
    }
    let mut packages = Vec::new();
    for (name, (req, wheels)) in locked {
        let cond = state
            .get(&name)
            .and_then(|c| c.get(""))
            .filter(|c| !c.is_never());
        let marker = match cond {
            Some(cond) => cond.marker(),
            None if selected.is_empty() => {
                warnings.push(format!(
                    "{source}: {name} {} is not reached from the lock's requirements; left out",
                    req.version
                ));
                continue;
            }
            None => continue, // not needed by the selection
        };
        packages.push(DehydratedRequirement {
            name,
            version: req.version.trim().to_string(),
            marker,
            requires_python: req
                .requires_python
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty()),
            wheels,
        });
    }
    Ok(LockInput {
        packages,
        direct_requirements: super::sorted_trimmed(roots),
        requires_python: None,
        interpreter_constraints: doc.requires_python,
        warnings,
        dependencies: None,
    })
}

/// The wheel an artifact names, `None` for an sdist (or another non-wheel file).
fn artifact_wheel(
    artifact: &Artifact,
    name: &str,
    version: &str,
    what: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<LockedWheel>, String> {
    let Some(url) = artifact.url.as_deref().map(str::trim) else {
        return Err(format!("{what}: an artifact has no `url`; {RELOCK}"));
    };
    let filename = match &artifact.filename {
        Some(f) => f.trim().to_string(),
        None => basename(url).ok_or_else(|| {
            format!(
                "{what}: cannot take a file name from the URL {}",
                redact_url(url)
            )
        })?,
    };
    if !filename.ends_with(".whl") {
        return Ok(None);
    }
    check_wheel_url(url, what, warnings)?;
    let url = strip_credentials(url, what, warnings);
    let algorithm = artifact.algorithm.as_deref().unwrap_or("");
    if !algorithm.eq_ignore_ascii_case("sha256") {
        return Err(format!(
            "{what}: wheel {filename} is pinned by {:?}, but dpex needs sha256 (what indexes publish \
             and what the launcher verifies); {RELOCK}",
            algorithm
        ));
    }
    let hash = artifact.hash.as_deref().unwrap_or("").trim();
    let sha256 = Sha256Hex::parse_any_case(hash).map_err(|_| {
        format!(
            "{what}: wheel {filename} has sha256 {hash:?}, which is not 64 hex digits; {RELOCK}"
        )
    })?;
    let (wheel_name, wheel_version) =
        parse_wheel_filename(&filename).map_err(|e| format!("{what}: {e}; {RELOCK}"))?;
    if wheel_name != name || !same_version(&wheel_version, version) {
        return Err(format!(
            "{what}: wheel {filename} is not a file of {name} {version}; the lock is inconsistent; {RELOCK}"
        ));
    }
    Ok(Some(LockedWheel {
        filename,
        url,
        sha256,
        size: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "1324c476b4811eff41a8bc2122cd0bbd4d9c7234c725446d99ab1612b3a7fdd2";

    fn req(name: &str, version: &str, deps: &[&str], files: &[&str]) -> serde_json::Value {
        serde_json::json!({
            "project_name": name,
            "version": version,
            "requires_dists": deps,
            "requires_python": ">=3.8",
            "artifacts": files.iter().map(|f| serde_json::json!({
                "algorithm": "sha256", "hash": H,
                "url": format!("https://index.example.com/files/{f}"),
            })).collect::<Vec<_>>(),
        })
    }

    fn lock(requirements: &[&str], reqs: Vec<serde_json::Value>) -> String {
        serde_json::json!({
            "requirements": requirements,
            "requires_python": ["CPython==3.11.*"],
            "style": "universal",
            "locked_resolves": [{"locked_requirements": reqs, "marker": null, "platform_tag": null}],
        })
        .to_string()
    }

    fn markers(input: &LockInput) -> BTreeMap<String, Option<String>> {
        input
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.marker.clone()))
            .collect()
    }

    #[test]
    fn markers_follow_the_requirement_graph() {
        let text = lock(
            &["app-core[socks]", "winonly; sys_platform == \"win32\""],
            vec![
                req(
                    "app-core",
                    "1.0",
                    &[
                        "shared",
                        "pysocks; extra == \"socks\"",
                        "brotli; extra == \"brotli\"",
                        "oldpy; python_version < \"3.12\"",
                    ],
                    &["app_core-1.0-py3-none-any.whl"],
                ),
                req("shared", "2.0", &[], &["shared-2.0-py3-none-any.whl"]),
                req("pysocks", "1.7", &[], &["pysocks-1.7-py3-none-any.whl"]),
                req("brotli", "1.1", &[], &["brotli-1.1-py3-none-any.whl"]),
                req("oldpy", "0.1", &["shared"], &["oldpy-0.1-py3-none-any.whl"]),
                req(
                    "winonly",
                    "3.0",
                    &["shared"],
                    &["winonly-3.0-py3-none-any.whl"],
                ),
            ],
        );
        let input = parse_pex_lock(&text, "lock.json", &[]).unwrap();
        let m = markers(&input);
        assert_eq!(m["app-core"], None);
        assert_eq!(
            m["shared"], None,
            "reached unconditionally through app-core"
        );
        assert_eq!(m["pysocks"], None, "the root asks for app-core[socks]");
        assert!(
            !m.contains_key("brotli"),
            "no one asks for the brotli extra"
        );
        assert_eq!(m["oldpy"].as_deref(), Some("python_version < \"3.12\""));
        assert_eq!(m["winonly"].as_deref(), Some("sys_platform == \"win32\""));
        assert!(
            input.warnings.iter().any(|w| w.contains("brotli")),
            "{:?}",
            input.warnings
        );
        assert_eq!(
            input.interpreter_constraints,
            vec!["CPython==3.11.*".to_string()]
        );
        assert_eq!(input.direct_requirements.len(), 2);
    }

    #[test]
    fn an_extra_asked_for_under_a_condition_keeps_it() {
        // b (Windows only) asks for a[win]; a's pywin32 comes with that extra only.
        let text = lock(
            &["a", "b; sys_platform == \"win32\""],
            vec![
                req(
                    "a",
                    "1",
                    &["pywin32; extra == \"win\""],
                    &["a-1-py3-none-any.whl"],
                ),
                req("b", "1", &["a[win]"], &["b-1-py3-none-any.whl"]),
                req(
                    "pywin32",
                    "306",
                    &[],
                    &["pywin32-306-cp311-cp311-win_amd64.whl"],
                ),
            ],
        );
        let m = markers(&parse_pex_lock(&text, "lock.json", &[]).unwrap());
        assert_eq!(m["a"], None);
        assert_eq!(m["pywin32"].as_deref(), Some("sys_platform == \"win32\""));
    }

    #[test]
    fn cycles_under_compound_conditions_settle() {
        let text = lock(
            &[
                "a; os_name == \"posix\" and python_version >= \"3.8\"",
                "winonly; sys_platform == \"win32\"",
            ],
            vec![
                req(
                    "a",
                    "1",
                    &["b; python_version >= \"3.10\""],
                    &["a-1-py3-none-any.whl"],
                ),
                req(
                    "b",
                    "1",
                    &["a; implementation_name == \"cpython\""],
                    &["b-1-py3-none-any.whl"],
                ),
                req("winonly", "1", &[], &["winonly-1-py3-none-any.whl"]),
            ],
        );
        let input = parse_pex_lock(&text, "lock.json", &[]).unwrap();
        assert!(input.warnings.is_empty(), "{:?}", input.warnings);
        let m = markers(&input);
        assert_eq!(
            m["a"].as_deref(),
            Some("os_name == \"posix\" and python_version >= \"3.8\"")
        );
        assert_eq!(
            m["b"].as_deref(),
            Some(
                "os_name == \"posix\" and python_version >= \"3.10\" and python_version >= \"3.8\""
            )
        );
        assert_eq!(m["winonly"].as_deref(), Some("sys_platform == \"win32\""));
        for marker in m.values().flatten() {
            marker::parse(marker).unwrap();
        }
    }

    #[test]
    fn sdist_only_projects_are_named_and_refused() {
        let text = lock(
            &["a", "b", "c"],
            vec![
                req("a", "1", &[], &["a-1.tar.gz"]),
                req("b", "2", &[], &["b-2-py3-none-any.whl", "b-2.tar.gz"]),
                req("c", "3", &[], &["c-3.zip"]),
            ],
        );
        let e = parse_pex_lock(&text, "lock.json", &[]).unwrap_err();
        assert!(
            e.contains("a 1 (1 artifact(s), no wheel)") && e.contains("c 3"),
            "{e}"
        );
        assert!(!e.contains("b 2"), "{e}");
        // A selection is refused only for the projects it reaches.
        let sel = |s: &[&str]| s.iter().map(|r| r.to_string()).collect::<Vec<_>>();
        let input = parse_pex_lock(&text, "lock.json", &sel(&["b"])).unwrap();
        assert_eq!(input.packages.len(), 1);
        let e = parse_pex_lock(&text, "lock.json", &sel(&["a"])).unwrap_err();
        assert!(e.contains("a 1") && !e.contains("c 3"), "{e}");
    }

    #[test]
    fn a_selection_needing_what_the_lock_lacks_is_refused() {
        let text = lock(
            &["requests"],
            vec![
                req(
                    "requests",
                    "2.32.3",
                    &[
                        "idna",
                        "PySocks!=1.5.7,>=1.5.6; extra == \"socks\"",
                        "win-inet-pton; sys_platform == \"win32\" and extra == \"socks\"",
                    ],
                    &["requests-2.32.3-py3-none-any.whl"],
                ),
                req("idna", "3.10", &[], &["idna-3.10-py3-none-any.whl"]),
            ],
        );
        let sel = |s: &[&str]| s.iter().map(|r| r.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_pex_lock(&text, "lock.json", &sel(&["requests"]))
                .unwrap()
                .packages
                .len(),
            2
        );
        // The socks extra was not locked: pysocks is missing (win-inet-pton, Windows only, is not).
        let e = parse_pex_lock(&text, "lock.json", &sel(&["requests[socks]"])).unwrap_err();
        assert!(
            e.contains("need pysocks,") && !e.contains("win-inet-pton"),
            "{e}"
        );
    }

    #[test]
    fn bad_locks_are_clear_errors() {
        let md5 = serde_json::json!({"requirements": ["a"], "locked_resolves": [{"locked_requirements": [{
            "project_name": "a", "version": "1", "artifacts": [{"algorithm": "md5", "hash": "00",
            "url": "https://index.example.com/a-1-py3-none-any.whl"}]}]}]})
        .to_string();
        for (text, needle) in [
            ("{", "not a valid pex lock"),
            ("{}", "no `locked_resolves`"),
            (md5.as_str(), "needs sha256"),
        ] {
            let e = parse_pex_lock(text, "lock.json", &[]).unwrap_err();
            assert!(e.contains("lock.json") && e.contains(needle), "{e}");
        }
    }
}
