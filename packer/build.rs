//! Embed the launcher stubs in the dpex binary, so that an installed `dpex`
//! (`cargo install --path packer`, or the wheel) carries them and users never
//! look for a second binary.
//!
//! One stub per architecture an app can run on (x86_64 and aarch64 Linux):
//! the packer's own architecture always, the other one when its Rust target
//! (`<arch>-unknown-linux-musl`) and a C cross compiler for it are installed
//! (ring compiles a little C). Without them that stub is left empty, with a
//! warning, and apps built by this dpex run on its own architecture only.
//!
//! The x86_64 stub inflates with ISA-L when nasm and autotools are installed
//! (`use_isal`; `DPEX_ISAL=0/1` forces either way).
//!
//! `DPEX_STUB=/path` embeds a prebuilt stub for the packer's architecture,
//! `DPEX_STUB_AARCH64=/path` / `DPEX_STUB_X86_64=/path` one for that
//! architecture. Otherwise the stubs are built here from ../launcher, in
//! release mode (small and fast whatever profile builds the packer), in a
//! target dir of their own so they never contend with the outer build.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The architectures an app can carry a launcher for (`launchers.rs`).
const ARCHS: [&str; 2] = ["x86_64", "aarch64"];

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let host_arch = env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets CARGO_CFG_TARGET_ARCH");
    println!("cargo:rerun-if-env-changed=DPEX_STUB");
    for arch in ARCHS {
        println!("cargo:rerun-if-env-changed={}", prebuilt_var(arch));
    }
    // The fuzz targets (fuzz/, built with `--cfg fuzzing`) use only the
    // library part of the packer: they need no stub.
    if env::var_os("CARGO_CFG_FUZZING").is_some() {
        for arch in ARCHS {
            std::fs::write(stub_file(&out_dir, arch), b"").expect("write an empty stub");
            report_inflater(arch, "none");
        }
        return;
    }
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap();
    for watched in [
        "launcher/src",
        "launcher/crates",
        "launcher/Cargo.toml",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    for arch in ARCHS {
        let dest = stub_file(&out_dir, arch);
        let prebuilt = env::var_os(prebuilt_var(arch)).or_else(|| {
            (arch == host_arch)
                .then(|| env::var_os("DPEX_STUB"))
                .flatten()
        });
        if let Some(stub) = prebuilt {
            std::fs::copy(&stub, &dest)
                .unwrap_or_else(|e| panic!("cannot copy the prebuilt {arch} stub {stub:?}: {e}"));
            report_inflater(arch, "what it was built with (a prebuilt stub)");
            continue;
        }
        let target = if arch == host_arch {
            Some(choose_stub_target())
        } else {
            cross_target(arch)
        };
        let inflater = match target {
            Some(target) => build_stub(workspace, &out_dir, &target, &dest),
            None => {
                std::fs::write(&dest, b"").expect("write an empty stub");
                "none"
            }
        };
        report_inflater(arch, inflater);
    }
}

/// What each embedded stub inflates with, for `dpex --version` (and the
/// tests that check CI ships ISA-L).
fn report_inflater(arch: &str, inflater: &str) {
    println!(
        "cargo:rustc-env=DPEX_STUB_INFLATE_{}={inflater}",
        arch.to_uppercase()
    );
}

fn prebuilt_var(arch: &str) -> String {
    format!("DPEX_STUB_{}", arch.to_uppercase())
}

fn stub_file(out_dir: &Path, arch: &str) -> PathBuf {
    out_dir.join(format!("dpex-launcher-{arch}"))
}

/// Build the stub for `stub_target` into `dest`; returns its inflater. A
/// failed ISA-L build the user did not ask for (`DPEX_ISAL` unset) falls
/// back to zlib-rs with a warning.
fn build_stub(workspace: &Path, out_dir: &Path, stub_target: &str, dest: &Path) -> &'static str {
    if use_isal(stub_target) {
        if try_build_stub(workspace, out_dir, stub_target, dest, true) {
            return "isa-l";
        }
        assert!(
            env::var("DPEX_ISAL").as_deref() != Ok("1"),
            "building the launcher stub for {stub_target} with ISA-L (DPEX_ISAL=1) failed"
        );
        println!(
            "cargo:warning=building the {stub_target} launcher stub with ISA-L failed (see the \
             build log): it inflates with zlib-rs instead"
        );
    }
    assert!(
        try_build_stub(workspace, out_dir, stub_target, dest, false),
        "building the launcher stub for {stub_target} failed"
    );
    "zlib-rs"
}

fn try_build_stub(
    workspace: &Path,
    out_dir: &Path,
    stub_target: &str,
    dest: &Path,
    isal: bool,
) -> bool {
    let target_dir = out_dir.join("stub-target");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "dpex-launcher",
            "--bin",
            "dpex-launcher",
        ])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .args(["--target", stub_target]);
    if isal {
        command.args(["--features", "isal"]);
    }
    // Don't let the outer build's settings leak into the stub's build.
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        command.env_remove(var);
    }
    let target_var = stub_target.replace('-', "_");
    let cc_var = format!("CC_{target_var}");
    if env::var_os(&cc_var).is_none() {
        if let Some(cc) = c_compiler_for(stub_target) {
            command.env(&cc_var, &cc);
            // A cross target links with the same cross gcc (musl's crt and
            // libc come with Rust's target: the result is static).
            let linker_var = format!("CARGO_TARGET_{}_LINKER", target_var.to_uppercase());
            if !is_host_arch(stub_target) && env::var_os(&linker_var).is_none() {
                command.env(&linker_var, &cc);
            }
        }
    }
    let status = command
        .status()
        .expect("run cargo to build the launcher stub");
    if !status.success() {
        return false;
    }
    let built = target_dir
        .join(stub_target)
        .join("release")
        .join("dpex-launcher");
    std::fs::copy(&built, dest).expect("copy the launcher stub");
    true
}

/// Whether the stub for `target` inflates with ISA-L (x86_64 only; see
/// launcher/src/install/inflate.rs): when its build tools are installed, or
/// always with `DPEX_ISAL=1` (the build then fails without them); never with
/// `DPEX_ISAL=0`. Without them the stub uses zlib-rs, with a warning.
fn use_isal(target: &str) -> bool {
    println!("cargo:rerun-if-env-changed=DPEX_ISAL");
    if !target.starts_with("x86_64-") {
        return false;
    }
    match env::var("DPEX_ISAL").as_deref() {
        Ok("0") => return false,
        Ok("1") => return true,
        _ => {}
    }
    // isal-sys runs autogen.sh (autoreconf, aclocal/automake, libtoolize),
    // configure and make, and nasm for the assembly. scripts/isal-tools
    // checks the same list for the test and fuzz scripts.
    let missing: Vec<&str> = [
        "nasm",
        "autoreconf",
        "aclocal",
        "automake",
        "libtoolize",
        "make",
    ]
    .into_iter()
    .filter(|tool| !which(tool))
    .collect();
    if missing.is_empty() {
        return true;
    }
    println!(
        "cargo:warning=the x86_64 launcher stub inflates wheels with zlib-rs, not ISA-L \
         (1.2-1.6x as fast): {} not found. Debian: apt-get install nasm autoconf automake libtool",
        missing.join(", ")
    );
    false
}

fn is_host_arch(target: &str) -> bool {
    env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| target.starts_with(&format!("{arch}-")))
}

/// ring compiles a little C (no libc headers beyond the compiler's own and
/// the C library's for that architecture): for the host, musl-gcc if
/// installed, else the system gcc; for another architecture, Debian's cross
/// gcc (`gcc-aarch64-linux-gnu`, `libc6-dev-arm64-cross`).
fn c_compiler_for(target: &str) -> Option<String> {
    let arch = target.split('-').next()?;
    if is_host_arch(target) {
        if !target.ends_with("-linux-musl") {
            return None;
        }
        return Some(if which("musl-gcc") { "musl-gcc" } else { "gcc" }.into());
    }
    let cross = format!("{arch}-linux-gnu-gcc");
    which(&cross).then_some(cross)
}

/// The static stub for another architecture, if this machine can build it.
fn cross_target(arch: &str) -> Option<String> {
    let target = format!("{arch}-unknown-linux-musl");
    let cc_set = env::var_os(format!("CC_{}", target.replace('-', "_"))).is_some();
    if target_installed(&target) && (cc_set || c_compiler_for(&target).is_some()) {
        return Some(target);
    }
    println!(
        "cargo:warning=no {arch} launcher stub: apps this dpex builds run on {} hosts only. \
         For both, `rustup target add {target}`, install a C cross compiler for {arch} \
         (Debian: gcc-{arch}-linux-gnu and libc6-dev-{}-cross) and rebuild",
        env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default(),
        if arch == "aarch64" { "arm64" } else { "amd64" }
    );
    None
}

/// The stub runs on every host an app is copied to, so it is built static
/// (musl, static-pie) whenever the musl target is installed for this
/// architecture: then it needs no particular glibc. `DPEX_STUB_TARGET`
/// picks a target explicitly; otherwise the packer's own target is used,
/// with a warning that the stub is dynamically linked.
fn choose_stub_target() -> String {
    println!("cargo:rerun-if-env-changed=DPEX_STUB_TARGET");
    if let Some(target) = env::var("DPEX_STUB_TARGET").ok().filter(|t| !t.is_empty()) {
        return target;
    }
    let target = env::var("TARGET").expect("cargo sets TARGET");
    if let Some(musl) = target
        .strip_suffix("-linux-gnu")
        .map(|arch| format!("{arch}-linux-musl"))
    {
        if target_installed(&musl) {
            return musl;
        }
        println!(
            "cargo:warning=the launcher stub is linked against this machine's glibc; for a static stub that \
             runs on any {} Linux, `rustup target add {musl}` and rebuild",
            target.split('-').next().unwrap_or("")
        );
    }
    target
}

fn target_installed(target: &str) -> bool {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", target])
        .output()
    else {
        return false;
    };
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    out.status.success()
        && std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("libstd"))
            })
            .unwrap_or(false)
}

fn which(program: &str) -> bool {
    env::var_os("PATH")
        .map(|paths| env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}
