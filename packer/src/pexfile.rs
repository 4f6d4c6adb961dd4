//! Writing app.pex: the launcher(s) (`launchers.rs`), then a zip of the app's
//! sources, the python-shim and PEX-INFO. Deterministic: same inputs, same bytes.

use crate::launchers::{self, Arch};
use dpex_launcher::format::pexinfo::PexInfo;
use dpex_launcher::standards::digest::hex;
use sha1::{Digest, Sha1};
use std::collections::BTreeMap;
use std::fs;
use std::io::{Cursor, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;

/// The python-shim files, at their paths inside the zip.
pub const SHIM_FILES: &[(&str, &str)] = &[
    ("__main__.py", include_str!("../python-shim/__main__.py")),
    (
        "__dpex__/__init__.py",
        include_str!("../python-shim/__dpex__/__init__.py"),
    ),
    (
        "__dpex__/rare.py",
        include_str!("../python-shim/__dpex__/rare.py"),
    ),
];

/// One file of the app zip.
pub struct ZipFile {
    pub bytes: Vec<u8>,
    pub executable: bool,
}

/// Zip path -> file. A BTreeMap keeps the order (and the bytes) stable.
pub type AppFiles = BTreeMap<String, ZipFile>;

/// Collect the app's sources: the files under each sources directory
/// (`-D`), relative to it, then each package (`-P`) and module (`-M`).
/// Skips `__pycache__`, `*.pyc` and dot-files, which are build leftovers.
pub fn collect_sources(
    dirs: &[PathBuf],
    packages: &[String],
    modules: &[String],
) -> Result<AppFiles, String> {
    let mut files = AppFiles::new();
    for dir in dirs {
        if !dir.is_dir() {
            return Err(format!(
                "the sources directory {} does not exist or is not a directory",
                dir.display()
            ));
        }
        walk(dir, dir, &mut files)?;
    }
    for spec in packages {
        add_package_or_module(&mut files, spec, true)?;
    }
    for spec in modules {
        add_package_or_module(&mut files, spec, false)?;
    }
    for (reserved, _) in SHIM_FILES.iter().chain([("PEX-INFO", "")].iter()) {
        let top = reserved.split('/').next().unwrap();
        if files
            .keys()
            .any(|k| k == reserved || k.split('/').next() == Some(top) && top.starts_with("__dpex"))
        {
            return Err(format!(
                "the sources contain {reserved}, which dpex writes itself; rename or remove it \
                 (use -e/--entry-point to say what the app runs)"
            ));
        }
    }
    Ok(files)
}

/// pex's `-P NAME[@DIR]` (a package, with its subpackages) and `-M
/// NAME[@DIR]` (a module): `foo.bar@src` takes `src/foo/bar/` (or
/// `src/foo/bar.py`) as `foo/bar/...` in the zip, with the `__init__.py` of
/// each package above it; DIR defaults to the current folder.
pub fn add_package_or_module(
    files: &mut AppFiles,
    spec: &str,
    package: bool,
) -> Result<(), String> {
    let flag = if package {
        "-P/--package"
    } else {
        "-M/--module"
    };
    let (dotted, dir) = match spec.rsplit_once('@') {
        Some((dotted, dir)) => (dotted, Path::new(dir)),
        None => (spec, Path::new(".")),
    };
    let parts: Vec<&str> = dotted.split('.').collect();
    let is_identifier = |p: &&str| {
        p.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && p.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    if !parts.iter().all(is_identifier) {
        return Err(format!(
            "{flag} {spec:?}: {dotted:?} is not a dotted Python name (NAME[@DIR], e.g. foo.bar@src)"
        ));
    }
    let relative = parts.join("/");
    if package {
        let path = dir.join(&relative);
        if !path.is_dir() {
            return Err(format!(
                "{flag} {spec}: {} is not a folder (the package {dotted} under {})",
                path.display(),
                dir.display()
            ));
        }
        walk(dir, &path, files)?;
    } else {
        let path = dir.join(format!("{relative}.py"));
        add_file(files, dir, &path)?;
    }
    // The packages above it, so `import foo.bar` finds `foo`.
    for depth in 1..parts.len() {
        let init = dir.join(parts[..depth].join("/")).join("__init__.py");
        let key = format!("{}/__init__.py", parts[..depth].join("/"));
        if init.is_file() && !files.contains_key(&key) {
            add_file(files, dir, &init)?;
        }
    }
    Ok(())
}

/// One file of a source folder `root`, keyed by its path under `root`.
fn add_file(files: &mut AppFiles, root: &Path, path: &Path) -> Result<(), String> {
    let meta = fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    let key = path
        .strip_prefix(root)
        .unwrap_or(path)
        .to_str()
        .ok_or_else(|| format!("{} has a name that is not UTF-8", path.display()))?
        .to_string();
    if files.contains_key(&key) {
        return Err(format!(
            "{key} comes from more than one source (-D, -P, -M); keep one"
        ));
    }
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    files.insert(
        key,
        ZipFile {
            bytes,
            executable: meta.permissions().mode() & 0o111 != 0,
        },
    );
    Ok(())
}

fn walk(root: &Path, dir: &Path, files: &mut AppFiles) -> Result<(), String> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "__pycache__" || name.ends_with(".pyc") {
            continue;
        }
        let path = entry.path();
        let meta =
            fs::metadata(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if meta.is_dir() {
            walk(root, &path, files)?;
        } else if meta.is_file() {
            add_file(files, root, &path)?;
        }
    }
    Ok(())
}

/// pex's `--exe FILE`: the script goes in as `__pex_executable__.py` and runs
/// as that module (what pex's `set_executable` does). Returns the entry point.
pub fn add_executable(files: &mut AppFiles, script: &Path) -> Result<String, String> {
    const NAME: &str = "__pex_executable__";
    let bytes = fs::read(script)
        .map_err(|e| format!("cannot read the --exe script {}: {e}", script.display()))?;
    let path = format!("{NAME}.py");
    if files.contains_key(&path) {
        return Err(format!(
            "the sources already hold {path}, where --exe {} would go: rename it",
            script.display()
        ));
    }
    files.insert(
        path,
        ZipFile {
            bytes,
            executable: false,
        },
    );
    Ok(NAME.to_string())
}

/// pex's `--preamble-file FILE`: Python run first in the app's `__main__.py`,
/// before dpex's boot (pex puts it before its bootstrap). Run once per start:
/// in the app's environment, not in the `python app.pex` process that hands
/// over to the launcher first. Part of `__main__.py`, so of `code_hash`.
pub fn add_preamble(files: &mut AppFiles, preamble: &Path) -> Result<(), String> {
    let source = fs::read_to_string(preamble).map_err(|e| {
        format!(
            "cannot read the --preamble-file {} (it must be UTF-8 Python): {e}",
            preamble.display()
        )
    })?;
    let main = files
        .get_mut("__main__.py")
        .expect("the shim is added first");
    let shim = String::from_utf8(std::mem::take(&mut main.bytes)).expect("the shim is UTF-8");
    let name = preamble.file_name().unwrap_or_default().to_string_lossy();
    // The source as a Python string literal: JSON's escapes are Python's.
    let literal = serde_json::to_string(&source).expect("a string serializes");
    let name = serde_json::to_string(&format!("<preamble {name}>")).expect("a string serializes");
    main.bytes = format!(
        "import os as _dpex_os\n\
         if \"__DPEX_ENTRY\" in _dpex_os.environ:  # the app's own start, not `python app.pex` handing over\n    \
         exec(compile({literal}, {name}, \"exec\"))\n\
         {PREAMBLE_END}{shim}"
    )
    .into_bytes();
    Ok(())
}

/// The last line of a preamble in `__main__.py`; the shim follows it.
const PREAMBLE_END: &str = "del _dpex_os\n";

/// The preamble part of an app's `__main__.py` (through [`PREAMBLE_END`]), if it has one.
fn preamble_of(files: &AppFiles) -> Option<Vec<u8>> {
    let main = std::str::from_utf8(&files.get("__main__.py")?.bytes).ok()?;
    main.starts_with("import os as _dpex_os\n")
        .then(|| main.find(PREAMBLE_END))
        .flatten()
        .map(|at| main.as_bytes()[..at + PREAMBLE_END.len()].to_vec())
}

/// Add the python-shim files.
pub fn add_shim(files: &mut AppFiles) {
    for (path, text) in SHIM_FILES {
        files.insert(
            path.to_string(),
            ZipFile {
                bytes: text.as_bytes().to_vec(),
                executable: false,
            },
        );
    }
}

/// code_hash: sha1 over every zip entry but PEX-INFO, in path order, of
/// `path NUL length NUL bytes`. See docs/format.md.
pub fn code_hash(files: &AppFiles) -> String {
    let mut hasher = Sha1::new();
    for (path, file) in files {
        hasher.update(path.as_bytes());
        hasher.update(format!("\0{}\0", file.bytes.len()).as_bytes());
        hasher.update(&file.bytes);
    }
    hex(&hasher.finalize())
}

/// pex_hash: sha1 of the PEX-INFO JSON with `pex_hash` unset, as pex does.
pub fn pex_hash(info: &PexInfo) -> String {
    let mut without = info.clone();
    without.pex_hash = None;
    hex(&Sha1::digest(without.to_json().as_bytes()))
}

/// The whole app.pex as bytes: `front` (the launchers), then the zip (with offsets counted from
/// the start of the file, so `unzip` and zipimport read it without warnings).
pub fn render(front: &[u8], files: &AppFiles, info: &PexInfo) -> Result<Vec<u8>, String> {
    let mut out = Cursor::new(Vec::with_capacity(front.len() + 64 * 1024));
    out.write_all(front).unwrap();
    let mut zip = zip::ZipWriter::new(out);
    let fixed_time = zip::DateTime::default(); // 1980-01-01 00:00:00: reproducible
    let options = |executable: bool| {
        SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(fixed_time)
            .unix_permissions(if executable { 0o755 } else { 0o644 })
    };
    let pex_info = info.to_json();
    let entries = files
        .iter()
        .map(|(k, f)| (k.as_str(), f.bytes.as_slice(), f.executable));
    for (path, bytes, executable) in entries.chain([("PEX-INFO", pex_info.as_bytes(), false)]) {
        zip.start_file(path, options(executable))
            .map_err(|e| format!("cannot write {path} into the zip: {e}"))?;
        zip.write_all(bytes)
            .map_err(|e| format!("cannot write {path} into the zip: {e}"))?;
    }
    let out = zip
        .finish()
        .map_err(|e| format!("cannot finish the zip: {e}"))?;
    Ok(out.into_inner())
}

/// The app file `app` rebuilt with this dpex's launcher and python-shim (its
/// sources, PEX-INFO and pins kept; code_hash and pex_hash recomputed), so
/// what it runs knows this dpex's features (`dpex venv`'s `DIR/pex`). It gets
/// this host's launcher only (a venv runs where it was made): a
/// single-architecture app built by this dpex comes out byte for byte the same.
pub fn restub(app: &Path) -> Result<Vec<u8>, String> {
    let shown = app.display();
    let file = std::fs::File::open(app).map_err(|e| format!("cannot open {shown}: {e}"))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| format!("{shown} has no readable app zip ({e})"))?;
    let mut files = AppFiles::new();
    let mut info = None;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| format!("{shown}: entry {i} is unreadable ({e})"))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .name()
            .map_err(|e| format!("{shown}: entry {i} has an unreadable name ({e})"))?
            .to_string();
        let executable = entry.unix_mode().is_some_and(|m| m & 0o111 != 0);
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes)
            .map_err(|e| format!("{shown}: cannot read {name} ({e})"))?;
        if name == "PEX-INFO" {
            info =
                Some(PexInfo::from_slice(&bytes).map_err(|e| format!("{shown}: PEX-INFO: {e}"))?);
        } else {
            files.insert(name, ZipFile { bytes, executable });
        }
    }
    let mut info = info.ok_or_else(|| format!("{shown} has no PEX-INFO: it is not a dpex app"))?;
    // This dpex's shim, after the app's preamble if it has one.
    let preamble = preamble_of(&files);
    add_shim(&mut files);
    if let (Some(mut head), Some(main)) = (preamble, files.get_mut("__main__.py")) {
        head.append(&mut main.bytes);
        main.bytes = head;
    }
    info.code_hash = Some(code_hash(&files));
    info.pex_hash = None;
    info.pex_hash = Some(pex_hash(&info));
    let arch = Arch::host();
    let stub = arch
        .embedded_stub()
        .ok_or("this dpex has no launcher for its own architecture")?;
    render(&launchers::front(&[(arch, stub)]), &files, &info)
}

/// Write `bytes` to `path` atomically, with its execute bits.
pub fn write_executable(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| format!("{} is not a file path", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = fs::write(&tmp, bytes)
        .and_then(|()| fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)))
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    Ok(())
}
