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
    if let Some(stub) = env::var_os("DPEX_STUB") {
        std::fs::copy(&stub, &dest).unwrap_or_else(|e| panic!("cannot copy DPEX_STUB {stub:?}: {e}"));
        return;
    }
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap();
    for watched in ["launcher/src", "launcher/Cargo.toml", "Cargo.lock", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", workspace.join(watched).display());
    }
    let target_dir = out_dir.join("stub-target");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--locked", "-p", "dpex-launcher", "--bin", "dpex-launcher"])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    // Don't let the outer build's settings leak into the stub's build.
    for var in ["CARGO_TARGET_DIR", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET", "RUSTC_WORKSPACE_WRAPPER"] {
        command.env_remove(var);
    }
    let status = command.status().expect("run cargo to build the launcher stub");
    assert!(status.success(), "building the launcher stub failed");
    std::fs::copy(target_dir.join("release").join("dpex-launcher"), &dest).expect("copy the launcher stub");
}
