//! Embed the launcher stub in the dpex binary, so that an installed `dpex`
//! (`cargo install --path packer`) carries its stub and users never look for
//! a second binary.
//!
//! `DPEX_STUB=/path/to/dpex-launcher` embeds a prebuilt stub (for example a
//! static musl build). Otherwise the stub is built here from ../launcher, in
//! release mode (it is small and fast whatever profile builds the packer),
//! in a target dir of its own so it never contends with the outer build.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let dest = out_dir.join("dpex-launcher");
    println!("cargo:rerun-if-env-changed=DPEX_STUB");
    // The fuzz targets (fuzz/, built with `--cfg fuzzing`) use only the
    // library part of the packer: they need no stub.
    if env::var_os("CARGO_CFG_FUZZING").is_some() {
        std::fs::write(&dest, b"").expect("write an empty stub");
        return;
    }
    if let Some(stub) = env::var_os("DPEX_STUB") {
        std::fs::copy(&stub, &dest)
            .unwrap_or_else(|e| panic!("cannot copy DPEX_STUB {stub:?}: {e}"));
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
    let target_dir = out_dir.join("stub-target");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let stub_target = choose_stub_target();
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
        .args(["--target", &stub_target]);
    // Don't let the outer build's settings leak into the stub's build.
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        command.env_remove(var);
    }
    if stub_target.ends_with("-linux-musl") {
        // ring compiles a little C: musl-gcc if installed, else the system gcc
        // (ring's C needs no libc headers beyond the compiler's own).
        let cc_var = format!("CC_{}", stub_target.replace('-', "_"));
        if env::var_os(&cc_var).is_none() {
            let cc = if which("musl-gcc") { "musl-gcc" } else { "gcc" };
            command.env(&cc_var, cc);
        }
    }
    let status = command
        .status()
        .expect("run cargo to build the launcher stub");
    assert!(
        status.success(),
        "building the launcher stub for {stub_target} failed"
    );
    let built = target_dir
        .join(&stub_target)
        .join("release")
        .join("dpex-launcher");
    std::fs::copy(&built, &dest).expect("copy the launcher stub");
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
