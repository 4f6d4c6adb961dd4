//! Resolving a parsed requirements file to wheel files: each pinned hash is
//! looked up on the project page of the first index that has the project
//! (never a later one, to avoid dependency confusion); sizes missing from the
//! page come from a HEAD request; yanked files are packed with a warning;
//! the wheels' requires-python is recorded when they agree.

use super::{parse_wheel_filename, same_version, strip_credentials, LockInput, RequirementsFile};
use dpex_launcher::format::pexinfo::{DehydratedRequirement, LockedWheel};
use dpex_launcher::net::http::Agent;
use dpex_launcher::net::index::{self, IndexFile};
use dpex_launcher::net::url::{basename, redact_url};
use dpex_launcher::standards::version::normalize_name;
use std::collections::{BTreeSet, HashMap};

/// The indexes to search, in order, without duplicates. There is no default
/// index: a build names where its wheels come from.
pub fn effective_indexes(index_urls: &[String], file: &RequirementsFile) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let all = index_urls
        .iter()
        .chain(file.index_url.iter())
        .chain(file.extra_index_urls.iter());
    for u in all {
        let u = u.trim().trim_end_matches('/').to_string();
        if !u.is_empty() && !out.contains(&u) {
            out.push(u);
        }
    }
    out
}

/// Map each parsed requirement's hashes to wheel files on the indexes.
pub fn resolve_requirements(
    file: RequirementsFile,
    index_urls: &[String],
    agent: &Agent,
    source: &str,
) -> Result<LockInput, String> {
    let indexes = effective_indexes(index_urls, &file);
    let shown_indexes = indexes
        .iter()
        .map(|u| redact_url(u))
        .collect::<Vec<_>>()
        .join(", ");
    let mut warnings = file
        .warnings
        .iter()
        .map(|w| format!("{source}, {w}"))
        .collect::<Vec<_>>();
    let mut pages: HashMap<String, (usize, Vec<IndexFile>)> = HashMap::new();
    let mut packages = Vec::new();
    let mut direct = BTreeSet::new();

    for req in &file.requirements {
        let name = normalize_name(&req.name);
        let what = format!("{source}, line {}: {}=={}", req.line, req.name, req.version);
        direct.insert(req.to_requirement_string());

        if let Some(url) = &req.url {
            let size = head_content_length(agent, url.split('#').next().unwrap_or(url));
            let bare = url.split('#').next().unwrap_or(url);
            let recorded = strip_credentials(bare, &what, &mut warnings);
            let filename = basename(bare).unwrap_or_default();
            packages.push(DehydratedRequirement {
                name,
                version: req.version.clone(),
                marker: req.marker.clone(),
                requires_python: None,
                wheels: vec![LockedWheel {
                    filename,
                    url: recorded,
                    sha256: req.hashes[0].clone(),
                    size,
                }],
            });
            continue;
        }

        if !pages.contains_key(&name) {
            if indexes.is_empty() {
                return Err(format!(
                    "{what}: no index to look up its wheel files in; pass one with --index-url \
                     https://index.example.com/simple (your own index or mirror), or put an \
                     --index-url line in the requirements file"
                ));
            }
            let mut found = None;
            for (i, idx) in indexes.iter().enumerate() {
                if let Some(files) = index::fetch_project_page_opt(agent, idx, &name)
                    .map_err(|e| format!("{what}: {e}"))?
                {
                    found = Some((i, files));
                    break;
                }
            }
            let Some(found) = found else {
                return Err(format!(
                    "{what}: no index has the project {name} (searched {shown_indexes}); check the name, or \
                     pass the index that hosts it with --index-url"
                ));
            };
            pages.insert(name.clone(), found);
        }
        let (idx_no, files) = &pages[&name];
        let index_shown = redact_url(&indexes[*idx_no]);

        let mut wheels: Vec<LockedWheel> = Vec::new();
        let mut requires_pythons: BTreeSet<Option<String>> = BTreeSet::new();
        let mut matched_other = Vec::new();
        for h in &req.hashes {
            let matching: Vec<&IndexFile> = files
                .iter()
                .filter(|f| f.sha256.as_deref() == Some(h.as_str()))
                .collect();
            if matching.is_empty() {
                let unhashed = files.iter().filter(|f| f.sha256.is_none()).count();
                let note = if unhashed > 0 {
                    format!(" ({unhashed} of its files for {name} have no published sha256)")
                } else {
                    String::new()
                };
                return Err(format!(
                    "{what}: the hash sha256:{h} matches no file of {name} on the index {index_shown}{note}, \
                     the first index that has {name} (dpex uses only that one, to avoid dependency \
                     confusion). The lock was made against another index, or the files changed: re-lock, \
                     or pass the right --index-url"
                ));
            }
            for f in matching {
                if !f.filename.ends_with(".whl") {
                    matched_other.push(f.filename.clone());
                    continue;
                }
                let (wn, wv) = parse_wheel_filename(&f.filename).map_err(|e| {
                    format!("{what}: the index {index_shown} lists a file with this hash, but it has an {e}")
                })?;
                if wn != name || !same_version(&wv, &req.version) {
                    return Err(format!(
                        "{what}: the hash sha256:{h} belongs to {} on {index_shown}, not to {name} {}; the \
                         lock is inconsistent: re-lock",
                        f.filename, req.version
                    ));
                }
                if wheels
                    .iter()
                    .any(|w| w.filename == f.filename && w.sha256 == *h)
                {
                    continue;
                }
                index::check_not_downgraded(
                    &index::project_page_url(&indexes[*idx_no], &name),
                    &f.url,
                )
                .map_err(|e| format!("{what}: {e}"))?;
                if f.yanked {
                    warnings.push(format!(
                        "{what}: {} is yanked on {index_shown}; dpex packs it because the lock pins it",
                        f.filename
                    ));
                }
                let size = f.size.or_else(|| head_content_length(agent, &f.url));
                let url = strip_credentials(&f.url, &what, &mut warnings);
                requires_pythons.insert(f.requires_python.clone());
                wheels.push(LockedWheel {
                    filename: f.filename.clone(),
                    url,
                    sha256: h.clone(),
                    size,
                });
            }
        }
        if wheels.is_empty() {
            return Err(format!(
                "{what}: its hashes match only {} on {index_shown}, no wheel; dpex needs wheels: the launcher \
                 installs prebuilt wheels and never builds. Pin a version that publishes wheels, or build one, \
                 host it on an index and re-lock",
                matched_other.join(", ")
            ));
        }
        let requires_python = if requires_pythons.len() == 1 {
            requires_pythons.into_iter().next().flatten()
        } else {
            warnings.push(format!(
                "{what}: its wheels declare different requires-python values; dpex records none for it"
            ));
            None
        };
        wheels.sort_by(|a, b| a.filename.cmp(&b.filename));
        packages.push(DehydratedRequirement {
            name,
            version: req.version.clone(),
            marker: req.marker.clone(),
            requires_python,
            wheels,
        });
    }

    Ok(LockInput {
        interpreter_constraints: Vec::new(),
        packages,
        direct_requirements: direct.into_iter().collect(),
        requires_python: None,
        warnings,
        dependencies: None,
    })
}

/// `Content-Length` from a HEAD request, when the server answers 2xx and
/// tells; `None` on any failure.
fn head_content_length(agent: &Agent, url: &str) -> Option<u64> {
    let response = agent.head(url).call().ok()?;
    if !response.status().is_success() {
        return None;
    }
    response
        .headers()
        .get("content-length")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::test_support::{parse, H1, H2, H3, H4};
    use dpex_launcher::standards::digest::Sha256Hex;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    // --- a tiny local index on 127.0.0.1 -------------------------------------

    type Route = (&'static str, u16, &'static str, String);

    /// Serve fixed responses on 127.0.0.1 until the test process ends.
    fn serve(routes: Vec<Route>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf);
                let mut first = head.lines().next().unwrap_or("").split(' ');
                let method = first.next().unwrap_or("").to_string();
                let path = first.next().unwrap_or("").to_string();
                let (status, ctype, body) = routes
                    .iter()
                    .find(|r| r.0 == path)
                    .map(|r| (r.1, r.2, r.3.clone()))
                    .unwrap_or((404, "text/plain", "not found".to_string()));
                let mut resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                if method != "HEAD" {
                    resp.extend_from_slice(body.as_bytes());
                }
                let _ = stream.write_all(&resp);
            }
        });
        format!("http://127.0.0.1:{}", addr.port())
    }

    fn json_page(files: &[(&str, &str, &str, Option<u64>)]) -> String {
        let files: Vec<String> = files
            .iter()
            .map(|(name, url, h, size)| {
                let size = size.map(|s| format!(", \"size\": {s}")).unwrap_or_default();
                format!(
                    r#"{{"filename": "{name}", "url": "{url}", "hashes": {{"sha256": "{h}"}}, "requires-python": ">=3.8"{size}}}"#
                )
            })
            .collect();
        format!(
            r#"{{"meta": {{"api-version": "1.1"}}, "name": "x", "files": [{}]}}"#,
            files.join(",")
        )
    }

    const JSON: &str = "application/vnd.pypi.simple.v1+json";

    #[test]
    fn resolves_hashes_through_a_local_index() {
        let first = serve(vec![
            (
                "/simple/foo/",
                200,
                JSON,
                json_page(&[
                    (
                        "foo-1.0-py3-none-any.whl",
                        "../../files/foo-1.0-py3-none-any.whl",
                        H1,
                        Some(10),
                    ),
                    ("foo-1.0.tar.gz", "../../files/foo-1.0.tar.gz", H2, Some(20)),
                    (
                        "foo-0.9-py3-none-any.whl",
                        "../../files/foo-0.9-py3-none-any.whl",
                        H3,
                        Some(30),
                    ),
                ]),
            ),
            (
                "/files/bar-2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
                200,
                "application/octet-stream",
                "x".repeat(77),
            ),
        ]);
        let second = serve(vec![
            // bar is only on the second index, as HTML without sizes.
            (
                "/simple/bar/",
                200,
                "text/html",
                format!(
                    "<a href=\"{first}/files/bar-2.0-cp311-cp311-manylinux_2_17_x86_64.whl#sha256={H3}\" \
                     data-requires-python=\"&gt;=3.11\" data-yanked>bar-2.0-cp311-cp311-manylinux_2_17_x86_64.whl</a>"
                ),
            ),
            // foo on the second index would match H4: it must never be consulted.
            (
                "/simple/foo/",
                200,
                JSON,
                json_page(&[("foo-1.0-py3-none-any.whl", "/evil/foo-1.0-py3-none-any.whl", H4, Some(1))]),
            ),
        ]);
        let text = format!(
            "--extra-index-url {second}/simple/\n\
             foo==1.0 --hash=sha256:{H1} --hash=sha256:{H2}\n\
             Bar[x]==2.0 ; python_version >= '3.11' --hash=sha256:{H3}\n"
        );
        let file = parse(&text).unwrap();
        let agent = Agent::new(Default::default());
        let lock = resolve_requirements(
            file.clone(),
            &[format!("{first}/simple")],
            &agent,
            "reqs.txt",
        )
        .unwrap();
        assert_eq!(lock.packages.len(), 2);
        let foo = &lock.packages[0];
        assert_eq!(foo.name, "foo");
        assert_eq!(foo.requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(
            foo.wheels,
            vec![LockedWheel {
                filename: "foo-1.0-py3-none-any.whl".into(),
                url: format!("{first}/files/foo-1.0-py3-none-any.whl"),
                sha256: Sha256Hex::parse(H1).unwrap(),
                size: Some(10),
            }]
        );
        let bar = &lock.packages[1];
        assert_eq!(bar.name, "bar");
        assert_eq!(bar.marker.as_deref(), Some("python_version >= '3.11'"));
        assert_eq!(bar.requires_python.as_deref(), Some(">=3.11"));
        assert_eq!(bar.wheels[0].size, Some(77), "size from HEAD");
        assert_eq!(
            lock.direct_requirements,
            vec![
                "bar[x]==2.0; python_version >= '3.11'".to_string(),
                "foo==1.0".to_string()
            ]
        );
        assert!(
            lock.warnings.iter().any(|w| w.contains("yanked")),
            "{:?}",
            lock.warnings
        );

        // A hash that is on no file of the first index that has the project.
        let text = format!("foo==1.0 --hash=sha256:{H4}\n");
        let e = resolve_requirements(
            parse(&text).unwrap(),
            &[format!("{first}/simple"), format!("{second}/simple")],
            &agent,
            "reqs.txt",
        )
        .unwrap_err();
        assert!(
            e.contains("reqs.txt, line 1: foo==1.0")
                && e.contains(H4)
                && e.contains(&first)
                && e.contains("--index-url"),
            "{e}"
        );
        // sdist-only hashes.
        let text = format!("foo==1.0 --hash=sha256:{H2}\n");
        let e = resolve_requirements(
            parse(&text).unwrap(),
            &[format!("{first}/simple")],
            &agent,
            "r.txt",
        )
        .unwrap_err();
        assert!(
            e.contains("foo-1.0.tar.gz") && e.contains("dpex needs wheels"),
            "{e}"
        );
        // Hash of another version.
        let text = format!("foo==1.0 --hash=sha256:{H3}\n");
        let e = resolve_requirements(
            parse(&text).unwrap(),
            &[format!("{first}/simple")],
            &agent,
            "r.txt",
        )
        .unwrap_err();
        assert!(e.contains("foo-0.9-py3-none-any.whl"), "{e}");
        // Unknown project everywhere.
        let text = format!("nope==1.0 --hash=sha256:{H3}\n");
        let e = resolve_requirements(
            parse(&text).unwrap(),
            &[format!("{first}/simple")],
            &agent,
            "r.txt",
        )
        .unwrap_err();
        assert!(e.contains("no index has the project nope"), "{e}");
    }

    #[test]
    fn index_errors_name_url_and_status() {
        let base = serve(vec![(
            "/simple/foo/",
            500,
            "text/plain",
            "boom".to_string(),
        )]);
        let agent = Agent::new(Default::default());
        let url = base.replace("http://", "http://u:pw@");
        let text = format!("foo==1.0 --hash=sha256:{H1}\n");
        let e = resolve_requirements(
            parse(&text).unwrap(),
            &[format!("{url}/simple")],
            &agent,
            "r.txt",
        )
        .unwrap_err();
        assert!(
            e.contains("HTTP 500") && e.contains("/simple/foo/") && !e.contains("pw"),
            "{e}"
        );
    }

    #[test]
    fn direct_url_requirements() {
        let base = serve(vec![(
            "/w/baz-2.0-py3-none-any.whl",
            200,
            "application/octet-stream",
            "y".repeat(5),
        )]);
        let agent = Agent::new(Default::default());
        let text = format!("baz @ {base}/w/baz-2.0-py3-none-any.whl --hash=sha256:{H1}\n");
        let lock = resolve_requirements(
            parse(&text).unwrap(),
            &[format!("{base}/simple")],
            &agent,
            "r.txt",
        )
        .unwrap();
        assert_eq!(lock.packages[0].wheels[0].size, Some(5));
        assert_eq!(
            lock.packages[0].wheels[0].url,
            format!("{base}/w/baz-2.0-py3-none-any.whl")
        );
        assert_eq!(lock.direct_requirements, vec!["baz==2.0".to_string()]);
    }
}
