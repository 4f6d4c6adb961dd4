//! What an unpacked wheel entry should hold, from its `*.dist-info/RECORD`
//! (PEP 376/427): each file's path as the wheel names it, where unpacking put
//! it, its size and sha256. `dpex cache verify` checks the hashes of every
//! entry; a start after an uncaught exception checks the sizes of its
//! environment's entries ([`crate::install::repair`]).

use crate::install::unpack::{safe_relative_path, DATA_DIR, HEADERS_DIR, SCRIPTS_DIR, SITE_DIR};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// One file a RECORD lists with a hash (RECORD itself and bytecode have none).
#[derive(Clone, Debug)]
pub struct RecordedFile {
    /// As the wheel (and so RECORD) names it.
    pub path: String,
    /// Where unpacking put it inside the entry.
    pub on_disk: PathBuf,
    pub size: Option<u64>,
    /// `sha256=` value: urlsafe base64 without padding.
    pub sha256: String,
}

/// The files of the wheel entry `wheel`, or why they cannot be known.
pub fn recorded_files(wheel: &Path) -> Result<Vec<RecordedFile>, String> {
    let site = wheel.join(SITE_DIR);
    let dist_info = fs::read_dir(&site)
        .map_err(|e| format!("cannot list {}: {e}", site.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "dist-info"))
        .ok_or_else(|| "no .dist-info folder".to_string())?;
    let data_prefix = format!(
        "{}.data/",
        dist_info.file_stem().unwrap_or_default().to_string_lossy()
    );
    let record =
        fs::File::open(dist_info.join("RECORD")).map_err(|_| "RECORD is missing".to_string())?;
    let mut files = Vec::new();
    for line in BufReader::new(record).lines().map_while(|l| l.ok()) {
        // path,sha256=...,size; the path may be quoted and hold commas.
        let mut fields = line.rsplitn(3, ',');
        let (size, hash, path) = (
            fields.next().unwrap_or(""),
            fields.next().unwrap_or(""),
            fields.next().unwrap_or(""),
        );
        let path = path.trim_matches('"');
        let Some(sha256) = hash.strip_prefix("sha256=") else {
            continue;
        };
        // RECORD is the wheel's own text: a path in it that leaves the entry
        // (`/etc/x`, `../..`) is refused, never followed.
        let inside = |p: &str| {
            safe_relative_path(p)
                .map_err(|_| format!("RECORD names a path outside the wheel: {path:?}"))
        };
        let on_disk = match path.strip_prefix(&data_prefix) {
            Some(rest) => match rest.split_once('/') {
                Some(("purelib" | "platlib", p)) => site.join(inside(p)?),
                Some(("scripts", p)) => wheel.join(SCRIPTS_DIR).join(inside(p)?),
                Some(("data", p)) => wheel.join(DATA_DIR).join(inside(p)?),
                Some(("headers", p)) => wheel.join(HEADERS_DIR).join(inside(p)?),
                _ => continue,
            },
            None => site.join(inside(path)?),
        };
        files.push(RecordedFile {
            path: path.to_string(),
            on_disk,
            size: size.trim().parse().ok(),
            sha256: sha256.to_string(),
        });
    }
    Ok(files)
}

/// What is wrong with `wheel` as far as sizes tell, one line per problem:
/// RECORD missing, empty or unreadable (a power cut empties RECORD as well),
/// files missing or whose size differs from RECORD's (what lost writes leave:
/// empty or short files). One `stat` per file.
pub fn size_problems(wheel: &Path) -> Vec<String> {
    let files = match recorded_files(wheel) {
        Ok(files) if files.is_empty() => return vec!["RECORD lists no file".into()],
        Ok(files) => files,
        Err(why) => return vec![why],
    };
    let mut wrong = Vec::new();
    for file in files {
        match (fs::metadata(&file.on_disk), file.size) {
            (Err(_), _) => wrong.push(format!("{}: missing", file.path)),
            (Ok(meta), Some(size)) if meta.len() != size => wrong.push(format!(
                "{}: {} bytes, RECORD says {size}",
                file.path,
                meta.len()
            )),
            _ => {}
        }
    }
    wrong
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_paths_sizes_and_data_schemes() {
        let wheel = std::env::temp_dir().join(format!("dpex-record-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&wheel);
        let dist = wheel.join("site/pkg-1.0.dist-info");
        fs::create_dir_all(&dist).unwrap();
        fs::create_dir_all(wheel.join("site/pkg")).unwrap();
        fs::create_dir_all(wheel.join("scripts")).unwrap();
        fs::write(wheel.join("site/pkg/__init__.py"), "").unwrap();
        fs::write(wheel.join("scripts/tool"), "#!python\n").unwrap();
        fs::write(
            dist.join("RECORD"),
            "pkg/__init__.py,sha256=abc,3\n\"pkg/a,b.py\",sha256=def,1\n\
             pkg-1.0.data/scripts/tool,sha256=ghi,9\npkg-1.0.dist-info/RECORD,,\n",
        )
        .unwrap();
        let files = recorded_files(&wheel).unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(files[1].path, "pkg/a,b.py");
        assert_eq!(files[2].on_disk, wheel.join("scripts/tool"));
        assert_eq!(
            size_problems(&wheel),
            [
                "pkg/__init__.py: 0 bytes, RECORD says 3",
                "pkg/a,b.py: missing"
            ]
        );
        // A RECORD emptied by a crash, or naming paths outside the entry.
        fs::write(dist.join("RECORD"), "").unwrap();
        assert_eq!(size_problems(&wheel), ["RECORD lists no file"]);
        for evil in ["/etc/passwd", "../../x", "pkg-1.0.data/scripts/../../../x"] {
            fs::write(dist.join("RECORD"), format!("{evil},sha256=x,1\n")).unwrap();
            assert!(
                recorded_files(&wheel)
                    .unwrap_err()
                    .contains("outside the wheel"),
                "{evil}"
            );
        }
        fs::remove_dir_all(&wheel).unwrap();
    }
}
