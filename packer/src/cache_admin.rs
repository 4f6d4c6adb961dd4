//! `dpex cache info`, `dpex cache prune` and `dpex cache verify`: taking
//! care of a cache the launcher fills. Which entries are in use is the
//! launcher's (`dpex_launcher::cache::in_use`); see docs/cache.md.

use dpex_launcher::cache::in_use::{
    gc_lock_exclusive, read_record, use_file_of, EnvRecord, SiteRecord, WheelRecord, ENV_RECORD,
    SITE_RECORD, WHEEL_RECORD,
};
use dpex_launcher::cache::lock::LockWait;
use dpex_launcher::cache::{lock, remove_any, Cache};
use dpex_launcher::error::{Error, Result};
use dpex_launcher::install::record::recorded_files;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Bytes under `path`, each file counted once however many hard links it has
/// there (a wheel entry; the whole cache).
fn dir_size(path: &Path) -> u64 {
    let mut seen = HashSet::new();
    tree_size(path, &mut |meta| {
        meta.nlink() == 1 || seen.insert((meta.dev(), meta.ino()))
    })
}

/// Bytes only `path` holds: an environment's files hard-linked from wheel
/// entries are counted with the wheels, not again with each environment.
fn own_size(path: &Path) -> u64 {
    tree_size(path, &mut |meta| meta.nlink() == 1)
}

fn tree_size(path: &Path, count: &mut dyn FnMut(&fs::Metadata) -> bool) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return if meta.is_file() && !count(&meta) {
            0
        } else {
            meta.len()
        };
    }
    fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| tree_size(&e.path(), count)).sum())
        .unwrap_or(0)
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    !p.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .starts_with('.')
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn last_used(env_dir: &Path) -> SystemTime {
    fs::metadata(use_file_of(env_dir))
        .or_else(|_| fs::metadata(env_dir))
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// `30d`, `12h`, `90m`, `2w`, `45s`, or plain seconds.
pub fn parse_age(text: &str) -> Result<Duration> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| Error::msg(format!("{text:?} is not an age like 30d, 12h, 90m or 2w")))?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        "w" => 7 * 86400,
        _ => {
            return Err(Error::msg(format!(
                "{text:?} is not an age like 30d, 12h, 90m or 2w"
            )))
        }
    };
    Ok(Duration::from_secs(n * seconds))
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn age(t: SystemTime) -> String {
    let secs = SystemTime::now()
        .duration_since(t)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match secs {
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86400),
    }
}

/// `dpex cache info`: what the cache holds, and who uses what.
pub fn info(cache: &Cache) -> String {
    let root = cache.root();
    let mut out = format!("cache {}\n", root.display());
    let mut users: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    let mut site_users: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    out.push_str("\nenvironments (app, interpreter, last used, size of the app's code + links):\n");
    for env in entries(&root.join("envs")) {
        let record: Option<EnvRecord> = read_record(&env, ENV_RECORD);
        let key = env
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let (app, interp) = match &record {
            Some(r) => (r.pex_hash.clone(), r.interpreter.display().to_string()),
            None => ("?".into(), "?".into()),
        };
        let size = own_size(&env) + record.as_ref().map(|r| dir_size(&r.app_dir)).unwrap_or(0);
        out.push_str(&format!(
            "  {key}  app {app}  {interp}  {}  {}\n",
            age(last_used(&env)),
            mb(size)
        ));
        let short: String = app.chars().take(12).collect();
        if let Some(site) = record.as_ref().and_then(|r| r.site_dir.clone()) {
            site_users.entry(site).or_default().push(short.clone());
        }
        for wheel in record.map(|r| r.wheel_dirs).unwrap_or_default() {
            users.entry(wheel).or_default().push(short.clone());
        }
    }
    out.push_str("\nsites (wheels, size of their bytecode, used by apps):\n");
    for site in entries(&root.join("sites")) {
        let wheels =
            read_record::<SiteRecord>(&site, SITE_RECORD).map_or(0, |r| r.wheel_dirs.len());
        let apps = site_users
            .get(&site)
            .map(|a| a.join(", "))
            .unwrap_or_else(|| "none".into());
        out.push_str(&format!(
            "  {}  {wheels} wheels  {}  used by: {apps}\n",
            site.file_name().unwrap_or_default().to_string_lossy(),
            mb(own_size(&site))
        ));
    }
    out.push_str("\nwheels (size unpacked, used by apps):\n");
    let mut total = 0;
    for wheel in entries(&root.join("wheels")) {
        let size = dir_size(&wheel);
        total += size;
        let name = read_record::<WheelRecord>(&wheel, WHEEL_RECORD)
            .map(|r| r.filename)
            .unwrap_or_else(|| {
                wheel
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            });
        let apps = users
            .get(&wheel)
            .map(|a| a.join(", "))
            .unwrap_or_else(|| "none".into());
        out.push_str(&format!("  {name}  {}  used by: {apps}\n", mb(size)));
    }
    out.push_str(&format!(
        "\ntotal: {} (wheels {})\n",
        mb(dir_size(root)),
        mb(total)
    ));
    out
}

/// What prune did.
#[derive(Default, Debug)]
pub struct PruneReport {
    pub envs: usize,
    pub apps: usize,
    pub sites: usize,
    pub wheels: usize,
    pub busy: usize,
    pub freed: u64,
}

/// `dpex cache prune`: remove environments unused for `older_than` (and not
/// in use now), then apps, sites and wheels no remaining environment needs.
pub fn prune(cache: &Cache, older_than: Duration) -> Result<PruneReport> {
    let root = cache.root();
    // A cold start builds in seconds to minutes: wait a little, then ask
    // the user to come back rather than hold prune for the whole lock timeout.
    let wait = LockWait {
        timeout: Duration::from_secs(30),
        ..cache.lock_wait()
    };
    let _gc = gc_lock_exclusive(cache, wait)?;
    let mut report = PruneReport::default();
    let cutoff = SystemTime::now()
        .checked_sub(older_than)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut kept_apps = BTreeSet::new();
    let mut kept_sites = BTreeSet::new();
    let mut kept_wheels = BTreeSet::new();
    for env in entries(&root.join("envs")) {
        let record: Option<EnvRecord> = read_record(&env, ENV_RECORD);
        let lock =
            lock::open(&use_file_of(&env)).map_err(|e| Error::io("open", use_file_of(&env), e))?;
        let stale = last_used(&env) < cutoff;
        if stale && lock.try_lock().is_ok() {
            report.freed += own_size(&env);
            remove_entry(&env)?;
            report.envs += 1;
            continue;
        }
        if stale {
            report.busy += 1;
        }
        if let Some(record) = record {
            kept_apps.insert(record.app_dir);
            kept_sites.extend(record.site_dir);
            kept_wheels.extend(record.wheel_dirs);
        }
    }
    for site in entries(&root.join("sites")) {
        if !kept_sites.contains(&site) {
            report.freed += own_size(&site);
            remove_entry(&site)?;
            report.sites += 1;
        }
    }
    for app in entries(&root.join("apps")) {
        if !kept_apps.contains(&app) {
            report.freed += dir_size(&app);
            remove_entry(&app)?;
            report.apps += 1;
        }
    }
    for wheel in entries(&root.join("wheels")) {
        if !kept_wheels.contains(&wheel) {
            report.freed += dir_size(&wheel);
            remove_entry(&wheel)?;
            report.wheels += 1;
        }
    }
    Ok(report)
}

/// Remove an entry so no reader ever sees it half-deleted: rename it aside
/// first (a reader sees it whole or not at all), then delete.
fn remove_entry(entry: &Path) -> Result<()> {
    let name = entry.file_name().unwrap_or_default().to_string_lossy();
    let trash = entry.with_file_name(format!(".{name}.trash.{}", std::process::id()));
    fs::rename(entry, &trash).map_err(|e| Error::io("move aside", entry, e))?;
    remove_any(&trash).map_err(|e| Error::io("remove", &trash, e))
}

/// One damaged wheel entry.
#[derive(Debug)]
pub struct Damage {
    pub entry: PathBuf,
    pub problems: Vec<String>,
}

/// `dpex cache verify`: re-check every unpacked wheel against its RECORD;
/// with `repair`, remove damaged wheels and the environments using them (the
/// next run fetches them again).
pub fn verify(cache: &Cache, repair: bool) -> Result<Vec<Damage>> {
    let root = cache.root();
    let _gc = match repair {
        true => gc_lock_exclusive(cache, cache.lock_wait())?,
        false => None,
    };
    let mut damaged = Vec::new();
    for wheel in entries(&root.join("wheels")) {
        let problems = check_wheel(&wheel);
        if !problems.is_empty() {
            damaged.push(Damage {
                entry: wheel,
                problems,
            });
        }
    }
    // Sites and environments whose entries are gone (removed by hand) are
    // damaged too: their links dangle.
    let gone = |dirs: Vec<&PathBuf>| -> Vec<String> {
        dirs.into_iter()
            .filter(|dir| !dir.exists())
            .map(|dir| format!("{} is gone", dir.display()))
            .collect()
    };
    for site in entries(&root.join("sites")) {
        let Some(record) = read_record::<SiteRecord>(&site, SITE_RECORD) else {
            continue;
        };
        let missing = gone(record.wheel_dirs.iter().collect());
        if !missing.is_empty() {
            damaged.push(Damage {
                entry: site,
                problems: missing,
            });
        }
    }
    for env in entries(&root.join("envs")) {
        let Some(record) = read_record::<EnvRecord>(&env, ENV_RECORD) else {
            continue;
        };
        let dirs = std::iter::once(&record.app_dir)
            .chain(&record.site_dir)
            .chain(&record.wheel_dirs);
        let missing = gone(dirs.collect());
        if !missing.is_empty() {
            damaged.push(Damage {
                entry: env,
                problems: missing,
            });
        }
    }
    if repair && !damaged.is_empty() {
        let bad: BTreeSet<&PathBuf> = damaged.iter().map(|d| &d.entry).collect();
        // The sites and environments linking a damaged wheel go with it.
        for site in entries(&root.join("sites")) {
            let uses_bad = read_record::<SiteRecord>(&site, SITE_RECORD)
                .is_some_and(|r| r.wheel_dirs.iter().any(|w| bad.contains(w)));
            if uses_bad && !bad.contains(&site) {
                remove_entry(&site)?;
            }
        }
        for env in entries(&root.join("envs")) {
            let uses_bad = read_record::<EnvRecord>(&env, ENV_RECORD).is_some_and(|r| {
                r.wheel_dirs
                    .iter()
                    .chain(&r.site_dir)
                    .any(|w| bad.contains(w))
            });
            if uses_bad && !bad.contains(&env) {
                remove_entry(&env)?;
            }
        }
        for entry in bad {
            remove_entry(entry)?;
        }
    }
    Ok(damaged)
}

/// Problems of one unpacked wheel against its RECORD (missing files, wrong
/// hashes or sizes).
fn check_wheel(wheel: &Path) -> Vec<String> {
    let files = match recorded_files(wheel) {
        Ok(files) => files,
        Err(why) => return vec![why],
    };
    let mut problems = Vec::new();
    for file in files {
        let path = &file.path;
        match fs::read(&file.on_disk) {
            Err(_) => problems.push(format!("{path}: missing")),
            Ok(bytes) => {
                if file.size.is_some_and(|size| size != bytes.len() as u64) {
                    problems.push(format!(
                        "{path}: {} bytes, RECORD says {}",
                        bytes.len(),
                        file.size.unwrap_or_default()
                    ));
                } else if urlsafe_b64_nopad(&Sha256::digest(&bytes)) != file.sha256 {
                    problems.push(format!("{path}: content differs from RECORD's sha256"));
                }
            }
        }
    }
    problems
}

/// RECORD's hash encoding (PEP 376): urlsafe base64 without padding.
fn urlsafe_b64_nopad(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse() {
        assert_eq!(parse_age("30d").unwrap(), Duration::from_secs(30 * 86400));
        assert_eq!(parse_age("90m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_age("0").unwrap(), Duration::ZERO);
        assert!(parse_age("3 days").is_err());
        assert!(parse_age("d").is_err());
    }

    #[test]
    fn base64_matches_record_encoding() {
        // sha256("") in RECORD form.
        assert_eq!(
            urlsafe_b64_nopad(&Sha256::digest(b"")),
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
        assert_eq!(urlsafe_b64_nopad(b"a"), "YQ");
        assert_eq!(urlsafe_b64_nopad(b"ab"), "YWI");
    }
}
