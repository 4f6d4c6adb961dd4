//! Getting a locked wheel's bytes: from local find-links folders, flat
//! find-links pages, hydration indices, then the URL recorded in PEX-INFO.
//! Every byte is hashed while it streams to disk or memory; the pinned sha256
//! (and size) decide, so any source is safe.

use crate::error::{Error, Result};
use crate::format::pexinfo::LockedWheel;
use crate::install::stream::StreamUnpack;
use crate::settings::{Mirror, Settings};
use dpex_net::http::{Agent, ErrorKind};
use dpex_net::index::{self, IndexFile, PageError};
use dpex_net::url::{local_path, redact_url, Url};
use dpex_standards::digest::hex;
use dpex_standards::wheel::WheelName;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Attempts per URL for transient failures (connection errors, 5xx, 429,
/// bodies cut short).
const ATTEMPTS: u32 = 3;

/// The most bytes read for a wheel whose lock gives no size.
const MAX_UNSIZED_DOWNLOAD: u64 = 16 << 30;

/// One place a wheel may be fetched from.
#[derive(Clone, Debug)]
enum Location {
    File(PathBuf),
    Url(String),
}

impl Location {
    fn describe(&self) -> String {
        match self {
            Location::File(p) => p.display().to_string(),
            Location::Url(u) => redact_url(u),
        }
    }
}

/// A location's source, as a warning names it: a URL's origin (without
/// credentials), a file's folder.
fn source_name(location: &Location) -> String {
    match location {
        Location::File(p) => p.parent().unwrap_or(p).display().to_string(),
        Location::Url(u) => url_source(u),
    }
}

fn url_source(url: &str) -> String {
    Url::parse(url)
        .map(|p| format!("{}://{}", p.scheme(), p.hostport()))
        .unwrap_or_else(|| redact_url(url))
}

/// The run-time sources, from `DPEX_FIND_LINKS`,
/// `PEX_BOOTSTRAP_HYDRATION_INDICES` and `DPEX_MIRROR` (each a list separated
/// by commas or whitespace), before the URLs recorded in PEX-INFO.
pub struct Sources {
    find_links: Vec<String>,
    indices: Vec<String>,
    mirrors: Vec<Mirror>,
    /// Sources already reported as failing (once per process, not per wheel).
    warned: Mutex<HashSet<String>>,
    /// Sources that gave no answer at all in this run (connection refused,
    /// timed out or reset before a response, after every attempt), with why:
    /// later wheels try them last (once, unless nothing follows), and load no
    /// more pages from them, so a dead proxy costs one round of retries per
    /// run, not one per wheel. An answer (a 5xx, a 429, a cut body) is about
    /// one file and marks nothing; a success clears the mark.
    unreachable: Mutex<HashMap<String, String>>,
    agent: Agent,
    pages: Mutex<HashMap<String, std::result::Result<Vec<IndexFile>, String>>>,
    /// `DPEX_OFFLINE=1`: local files only, never the network.
    offline: bool,
    verbose: u32,
}

impl Sources {
    pub fn new(settings: &Settings) -> Sources {
        Sources {
            find_links: settings.find_links.clone(),
            indices: settings.hydration_indices.clone(),
            mirrors: settings.mirrors.clone(),
            warned: Mutex::new(HashSet::new()),
            unreachable: Mutex::new(HashMap::new()),
            agent: Agent::new(settings.net.clone()),
            pages: Mutex::new(HashMap::new()),
            offline: settings.offline,
            verbose: settings.verbose,
        }
    }

    pub fn offline(&self) -> bool {
        self.offline
    }

    /// Offline: whether some local source (a find-links folder, or a
    /// `file://` URL recorded in PEX-INFO) has this wheel.
    pub fn has_local_copy(&self, wheel: &LockedWheel) -> bool {
        self.find_links
            .iter()
            .filter_map(|link| local_path(link))
            .any(|dir| dir.join(&wheel.filename).is_file())
            || local_path(&wheel.url).is_some_and(|p| p.is_file())
    }

    /// Fetch the page once per process (several wheels share a project or a
    /// find-links page), and not at all from a source found unreachable.
    fn page(
        &self,
        key: String,
        page_url: &str,
        load: impl FnOnce() -> std::result::Result<Vec<IndexFile>, PageError>,
    ) -> std::result::Result<Vec<IndexFile>, String> {
        if let Some(hit) = self.pages.lock().unwrap().get(&key) {
            return hit.clone();
        }
        let source = url_source(page_url);
        if let Some(why) = self.unreachable_reason(&source) {
            return Err(format!(
                "{}: not tried, {source} failed earlier in this run ({why})",
                redact_url(page_url)
            ));
        }
        let loaded = load().map_err(|e| {
            if e.unreachable() {
                self.mark_unreachable(source.clone(), &e.to_string());
            }
            String::from(e)
        });
        if loaded.is_ok() {
            self.clear_unreachable(&source);
        }
        self.pages.lock().unwrap().insert(key, loaded.clone());
        loaded
    }

    fn mark_unreachable(&self, source: String, why: &str) {
        self.unreachable
            .lock()
            .unwrap()
            .entry(source)
            .or_insert_with(|| why.to_string());
    }

    /// A source that answered is no longer skipped.
    fn clear_unreachable(&self, source: &str) {
        self.unreachable.lock().unwrap().remove(source);
    }

    fn unreachable_reason(&self, source: &str) -> Option<String> {
        self.unreachable.lock().unwrap().get(source).cloned()
    }

    fn is_unreachable(&self, location: &Location) -> bool {
        matches!(location, Location::Url(_))
            && self.unreachable_reason(&source_name(location)).is_some()
    }

    /// Every location to try for `wheel` of `project`, in order, plus the
    /// reasons sources could not offer it: each with the source's name when
    /// the source itself failed (a page that did not load), else `None`.
    fn locations(
        &self,
        project: &str,
        wheel: &LockedWheel,
    ) -> (Vec<Location>, Vec<(Option<String>, String)>) {
        let mut found = Vec::new();
        let mut skipped = Vec::new();
        for link in &self.find_links {
            if self.offline && local_path(link).is_none() {
                continue;
            }
            if let Some(dir) = local_path(link) {
                let path = dir.join(&wheel.filename);
                if path.is_file() {
                    found.push(Location::File(path));
                } else {
                    skipped.push((None, format!("{}: no such file", path.display())));
                }
                continue;
            }
            let listing = self.page(format!("flat:{link}"), link, || {
                fetch_flat_page(&self.agent, link)
            });
            match listing {
                Ok(files) => match files.into_iter().find(|f| f.filename == wheel.filename) {
                    Some(f) => match index::check_not_downgraded(link, &f.url) {
                        Ok(()) => found.push(Location::Url(f.url)),
                        Err(e) => skipped.push((None, e)),
                    },
                    None => skipped.push((
                        None,
                        format!("{}: does not list {}", redact_url(link), wheel.filename),
                    )),
                },
                Err(e) => skipped.push((Some(redact_url(link)), e)),
            }
        }
        for index_url in self.indices.iter().filter(|_| !self.offline) {
            let page_url = index::project_page_url(index_url, project);
            let listing = self.page(format!("index:{index_url}:{project}"), &page_url, || {
                index::fetch_project_page(&self.agent, index_url, project)
            });
            match listing {
                Ok(files) => match files.into_iter().find(|f| f.filename == wheel.filename) {
                    Some(f) => match index::check_not_downgraded(&page_url, &f.url) {
                        Ok(()) => found.push(Location::Url(f.url)),
                        Err(e) => skipped.push((None, e)),
                    },
                    None => skipped.push((
                        None,
                        format!(
                            "{}: does not list {}",
                            redact_url(&page_url),
                            wheel.filename
                        ),
                    )),
                },
                Err(e) => skipped.push((Some(redact_url(index_url)), e)),
            }
        }
        if let Some(dir) = local_path(&wheel.url) {
            found.push(Location::File(dir));
        } else if !self.offline {
            // The same file on each mirror first (no page to load), then where the lock says.
            for mirror in &self.mirrors {
                if let Some(url) = mirror.rewrite(&wheel.url) {
                    found.push(Location::Url(url));
                }
            }
            found.push(Location::Url(wheel.url.clone()));
        }
        (found, skipped)
    }

    /// Once per failing source and process, say in one line that a later
    /// source is used instead (a fleet's proxy down: every host should know,
    /// but not once per wheel).
    fn warn_fell_back(&self, failed: &[(Option<String>, String)], used: &Location) {
        let mut warned = self.warned.lock().unwrap();
        for (source, why) in failed {
            let Some(source) = source else { continue };
            if warned.insert(source.clone()) {
                eprintln!(
                    "dpex: warning: {source} failed ({why}); fetched from the next source ({}) \
                     instead (said once per source)",
                    source_name(used)
                );
            }
        }
    }

    /// Write the wheel's verified bytes to `dest`. On failure nothing is left
    /// at `dest`, and the error lists every source tried and why it failed.
    pub fn fetch(&self, project: &str, wheel: &LockedWheel, dest: &Path) -> Result<()> {
        let mut sink = FileSink {
            path: dest,
            file: None,
        };
        let fetched = self.fetch_into(project, wheel, &mut sink);
        if fetched.is_err() {
            let _ = std::fs::remove_file(dest);
        }
        fetched
    }

    /// The wheel's verified bytes, in memory (for wheels small enough to
    /// hold: no temporary file written, then read back and deleted).
    pub fn fetch_to_memory(&self, project: &str, wheel: &LockedWheel) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.fetch_into(project, wheel, &mut bytes)?;
        Ok(bytes)
    }

    /// Stream the wheel's bytes into `unpack` as they arrive; `Ok` once they
    /// all came and matched the pinned sha256 (then call
    /// [`StreamUnpack::finish`]).
    pub fn fetch_streamed(
        &self,
        project: &str,
        wheel: &LockedWheel,
        unpack: &mut StreamUnpack,
    ) -> Result<()> {
        self.fetch_into(project, wheel, unpack)
    }

    fn fetch_into(&self, project: &str, wheel: &LockedWheel, sink: &mut dyn Sink) -> Result<()> {
        let (mut locations, mut failures) = self.locations(project, wheel);
        // Sources that gave no answer earlier in this run go last (a stable
        // sort keeps the order otherwise), with one attempt unless last.
        locations.sort_by_cached_key(|location| self.is_unreachable(location));
        let count = locations.len();
        for (i, location) in locations.iter().enumerate() {
            let attempts = if i + 1 < count && self.is_unreachable(location) {
                1
            } else {
                ATTEMPTS
            };
            let is_last = i + 1 == count;
            match self.fetch_from(location, attempts, is_last, wheel, sink) {
                Ok(()) => {
                    if let Location::Url(_) = location {
                        self.clear_unreachable(&source_name(location));
                    }
                    self.warn_fell_back(&failures, location);
                    return Ok(());
                }
                Err(FetchError::Fatal(e)) => return Err(e),
                Err(
                    FetchError::Failed(why)
                    | FetchError::Transient(why)
                    | FetchError::NoAnswer(why)
                    | FetchError::ConnectTimeout(why)
                    | FetchError::Cut(why),
                ) => failures.push((
                    Some(source_name(location)),
                    format!("{}: {why}", location.describe()),
                )),
            }
        }
        let failures: Vec<String> = failures.into_iter().map(|(_, why)| why).collect();
        // Bad bytes everywhere is not a network problem.
        let advice = if failures.iter().all(|why| why.contains(HASH_MISMATCH)) {
            "Every source served other bytes than the app pins: check the index or mirror, \
             or re-lock and rebuild the app"
        } else {
            "Check the network and the index, or put the wheel in a folder named by DPEX_FIND_LINKS"
        };
        Err(Error::msg(format!(
            "could not fetch {} ({} {}, sha256 {}) from any source:\n  - {}\n{advice}",
            wheel.filename,
            project,
            WheelName::parse(&wheel.filename).map_or_else(|_| "?".to_string(), |w| w.version),
            wheel.sha256,
            failures.join("\n  - ")
        )))
    }

    /// Fetch from one location, with up to `attempts` tries; `is_last`: no
    /// other location follows (a connect timeout is then retried too).
    fn fetch_from(
        &self,
        location: &Location,
        attempts: u32,
        is_last: bool,
        wheel: &LockedWheel,
        sink: &mut dyn Sink,
    ) -> std::result::Result<(), FetchError> {
        match location {
            Location::File(path) => {
                let file = File::open(path).map_err(|e| FetchError::Failed(e.to_string()))?;
                copy_verified(file, wheel, sink, &path.display().to_string()).map_err(|e| match e {
                    // A local file is not read again.
                    FetchError::Cut(why) => FetchError::Failed(why),
                    other => other,
                })
            }
            Location::Url(url) => {
                let url = self.with_index_credentials(url);
                let (mut last, mut no_answer) = (String::new(), false);
                for attempt in 0..attempts {
                    if attempt > 0 {
                        let pause = Duration::from_millis(250 << attempt);
                        if self.verbose > 0 {
                            eprintln!(
                                "dpex: retrying {} from {}: {last} (attempt {} of {attempts}, in {:.1} s)",
                                wheel.filename,
                                redact_url(&url),
                                attempt + 1,
                                pause.as_secs_f64()
                            );
                        }
                        std::thread::sleep(pause);
                    }
                    match self.download(&url, wheel, sink) {
                        Ok(()) => return Ok(()),
                        Err(FetchError::Transient(why)) => (last, no_answer) = (why, false),
                        Err(FetchError::NoAnswer(why)) => (last, no_answer) = (why, true),
                        // Nothing accepted the connection for DPEX_CONNECT_TIMEOUT:
                        // the host is down or dropping packets; retrying costs
                        // that long again while another source is waiting.
                        Err(FetchError::ConnectTimeout(why)) if !is_last => {
                            self.mark_unreachable(source_name(location), &why);
                            return Err(FetchError::Failed(format!(
                                "{why} (not retried: another source follows)"
                            )));
                        }
                        Err(FetchError::ConnectTimeout(why)) => (last, no_answer) = (why, true),
                        Err(other) => return Err(other),
                    }
                }
                if no_answer {
                    self.mark_unreachable(source_name(location), &last);
                }
                Err(FetchError::Failed(format!(
                    "{last} (after {attempts} attempt{})",
                    if attempts == 1 { "" } else { "s" }
                )))
            }
        }
    }

    /// A URL without credentials on the origin (scheme, host, port) of a
    /// configured index or find-links URL that has some gets that URL's
    /// credentials (private indexes link their files by absolute URL), as pip
    /// does; no other origin ever gets them.
    fn with_index_credentials(&self, url: &str) -> String {
        let Some(parsed) = Url::parse(url) else {
            return url.to_string();
        };
        let Ok(origin) = parsed.origin() else {
            return url.to_string();
        };
        if parsed.userinfo().is_some() {
            return url.to_string();
        }
        for configured in self.indices.iter().chain(&self.find_links) {
            let Some(configured) = Url::parse(configured) else {
                continue;
            };
            if let Some(userinfo) = configured.userinfo() {
                if configured.origin().is_ok_and(|o| o == origin) {
                    return parsed.with_userinfo(userinfo);
                }
            }
        }
        url.to_string()
    }

    fn download(
        &self,
        url: &str,
        wheel: &LockedWheel,
        sink: &mut dyn Sink,
    ) -> std::result::Result<(), FetchError> {
        let scheme = Url::parse(url)
            .filter(Url::has_authority)
            .map(|u| u.scheme().to_string());
        if !matches!(scheme.as_deref(), Some("https" | "http")) {
            return Err(FetchError::Failed(format!(
                "unsupported URL scheme in {}",
                redact_url(url)
            )));
        }
        let response = self.agent.get(url).call().map_err(|e| match e.kind() {
            ErrorKind::Transient if e.connect_timed_out() => {
                FetchError::ConnectTimeout(e.to_string())
            }
            ErrorKind::Transient => FetchError::NoAnswer(e.to_string()),
            _ => FetchError::Failed(e.to_string()),
        })?;
        let status = response.status().as_u16();
        if status == 429 || status >= 500 {
            return Err(FetchError::Transient(format!("HTTP {status}")));
        }
        if status == 401 || status == 403 {
            return Err(FetchError::Failed(format!(
                "HTTP {status}: the server wants credentials (put them in ~/.netrc, or in the URL of \
                 an index named by PEX_BOOTSTRAP_HYDRATION_INDICES)"
            )));
        }
        if status != 200 {
            return Err(FetchError::Failed(format!("HTTP {status}")));
        }
        let reader = response.into_body().into_reader();
        copy_verified(reader, wheel, sink, &redact_url(url)).map_err(|e| match e {
            // A body cut short is worth another try; a wrong hash is not.
            FetchError::Cut(why) => FetchError::Transient(why),
            other => other,
        })
    }
}

/// How a source's wrong bytes are reported (and recognised in the summary).
const HASH_MISMATCH: &str = "hash mismatch for";

enum FetchError {
    /// Try this source again.
    Transient(String),
    /// No answer at all (refused, timed out, reset before a response): try
    /// again; if it stays so, the whole source is down (`Sources::unreachable`).
    NoAnswer(String),
    /// A [`FetchError::NoAnswer`] where nothing accepted the connection.
    ConnectTimeout(String),
    /// The bytes stopped coming (a read error, or a body shorter than the
    /// locked size): transient for a download, a failure for a local file.
    Cut(String),
    /// Try the next source.
    Failed(String),
    /// Stop: the bytes were wrong, or the cache cannot be written.
    Fatal(Error),
}

/// Where fetched bytes go; each attempt starts it afresh.
trait Sink {
    fn restart(&mut self, expected_size: Option<u64>) -> Result<()>;
    fn write_all(&mut self, bytes: &[u8]) -> Result<()>;
}

impl Sink for Vec<u8> {
    fn restart(&mut self, expected_size: Option<u64>) -> Result<()> {
        self.clear();
        self.reserve(expected_size.unwrap_or(0).min(MAX_MEMORY_RESERVE) as usize);
        Ok(())
    }
    fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

impl Sink for StreamUnpack<'_> {
    fn restart(&mut self, _expected_size: Option<u64>) -> Result<()> {
        StreamUnpack::restart(self)
    }
    fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        self.write(bytes);
        Ok(())
    }
}

/// Never reserve more than this up front for a download held in memory.
const MAX_MEMORY_RESERVE: u64 = 1 << 30;

struct FileSink<'a> {
    path: &'a Path,
    file: Option<File>,
}

impl Sink for FileSink<'_> {
    fn restart(&mut self, _expected_size: Option<u64>) -> Result<()> {
        self.file = Some(File::create(self.path).map_err(|e| Error::io("create", self.path, e))?);
        Ok(())
    }
    fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let file = self.file.as_mut().expect("restart() opens the file");
        file.write_all(bytes)
            .map_err(|e| Error::io("write", self.path, e))
    }
}

/// Stream `reader` to `sink`, hashing on the way; check size and sha256.
fn copy_verified(
    mut reader: impl Read,
    wheel: &LockedWheel,
    out: &mut dyn Sink,
    from: &str,
) -> std::result::Result<(), FetchError> {
    out.restart(wheel.size).map_err(FetchError::Fatal)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size: u64 = 0;
    // Stop at one byte past the locked size (the check below reports it),
    // or at a hard cap when the lock has no size: never ask for more.
    let limit = wheel.size.unwrap_or(MAX_UNSIZED_DOWNLOAD);
    loop {
        let want = (limit - size.min(limit))
            .saturating_add(1)
            .min(buf.len() as u64) as usize;
        let n = match reader.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(FetchError::Cut(format!(
                    "read error after {size} bytes: {e}"
                )))
            }
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(FetchError::Fatal)?;
        size += n as u64;
        if size > limit {
            break;
        }
    }
    let actual = hex(&hasher.finalize());
    if wheel.size.is_some_and(|expected| size < expected) {
        // A body cut short: worth another try of the same source.
        return Err(FetchError::Cut(format!(
            "read error: the body ended after {size} of {} bytes",
            wheel.size.unwrap_or(0)
        )));
    }
    let size_ok = wheel.size.is_none_or(|s| s == size);
    if !size_ok || wheel.sha256 != actual {
        let size_note = match wheel.size {
            Some(expected) if expected != size => format!(
                " (expected {expected} bytes, got {size}{})",
                if size > expected { "+" } else { "" }
            ),
            _ => String::new(),
        };
        return Err(FetchError::Failed(format!(
            "{HASH_MISMATCH} {} from {from}: expected sha256 {}, got {}{size_note}. \
             The file was kept nowhere. The source serves different bytes than were locked: \
             check the mirror or index, or re-lock and rebuild the app",
            wheel.filename,
            wheel.sha256,
            if size_ok {
                actual
            } else {
                format!("{actual} (over the bytes received)")
            }
        )));
    }
    // No fsync: the download is unpacked and deleted at once (or, for
    // `dpex download`, renamed into place); waiting for the disk here would
    // put a full writeback of every wheel on the cold-start path.
    Ok(())
}

fn fetch_flat_page(agent: &Agent, url: &str) -> std::result::Result<Vec<IndexFile>, PageError> {
    let shown = redact_url(url);
    let response = agent
        .get(url)
        .call()
        .map_err(|e| PageError::new(format!("{shown}: {e}"), e.is_transient()))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(PageError::new(format!("{shown}: HTTP {status}"), false));
    }
    // `.../wheels` is a folder listing; `.../index.html` is a page in a folder.
    let last_segment = url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let base = if url.ends_with('/') || last_segment.contains('.') {
        url.to_string()
    } else {
        format!("{url}/")
    };
    // Capped like a project page (ureq's own default cap is 10 MB).
    let body = response
        .into_body()
        .with_config()
        .limit(index::MAX_PAGE_BYTES)
        .read_to_vec()
        .map_err(|e| PageError::new(format!("{shown}: {e}"), false))?;
    index::parse_project_page(&body, "text/html", &base)
        .map_err(|e| PageError::new(format!("{shown}: {e}"), false))
}
