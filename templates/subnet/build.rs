//! With the `runtime` feature, builds the scorer crate (`scorer/`) for `wasm32-unknown-unknown`
//! and hands the module to the compiler (`SUBNET_SCORER_WASM`), so the binary ships the exact
//! module its validators run in the sandbox.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Set on the scorer build, so that this script never starts another from inside it.
const GUEST_BUILD: &str = "SUBNET_SCORER_BUILD";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if env::var_os("CARGO_FEATURE_RUNTIME").is_none() || env::var_os(GUEST_BUILD).is_some() {
        return;
    }
    if let Err(message) = build_scorer() {
        // A build script fails the build by panicking.
        panic!("{message}");
    }
}

fn var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|_| format!("cargo did not set {name}"))
}

fn build_scorer() -> Result<(), String> {
    let root = PathBuf::from(var("CARGO_MANIFEST_DIR")?);
    let package = format!("{}-scorer", var("CARGO_PKG_NAME")?);
    let artifact = format!("{}.wasm", package.replace('-', "_"));
    for watched in [
        "src",
        "scorer/src",
        "scorer/Cargo.toml",
        "Cargo.lock",
        ".cargo/config.toml",
        "{{subforge_path}}/core/src",
        "{{subforge_path}}/subnet-sdk/guest/src",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    // A target folder of the scorer's own beside this build's: the outer cargo holds the lock
    // of its own, and the scorer build stays cached between builds.
    let target = guest_target_dir(&PathBuf::from(var("OUT_DIR")?));
    let mut command = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    // This script's own variables would otherwise reach the scorer build's scripts as theirs.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_FEATURE_") || key.starts_with("CARGO_CFG_") || key == "OUT_DIR" {
            command.env_remove(&*key);
        }
    }
    let status = command
        .current_dir(&root)
        .args(["build", "--release", "--locked"])
        .args(["--target", "wasm32-unknown-unknown", "-p", &package])
        .env("CARGO_TARGET_DIR", &target)
        .env(GUEST_BUILD, "1")
        // Small modules: no debug info.
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        // Flags and wrappers meant for the host build must not reach the WASM build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .map_err(|e| format!("could not run cargo to build {package}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building {package} for wasm32-unknown-unknown failed ({status}); install the \
             target with `rustup target add wasm32-unknown-unknown`"
        ));
    }
    let module = target.join("wasm32-unknown-unknown/release").join(artifact);
    if !module.is_file() {
        return Err(format!(
            "the scorer build did not produce {}",
            module.display()
        ));
    }
    println!("cargo:rustc-env=SUBNET_SCORER_WASM={}", module.display());
    Ok(())
}

/// `<target>/wasm-guest`, where `OUT_DIR` is `<target>[/<triple>]/<profile>/build/<pkg>/out`
/// (the triple folder exists when cargo was given `--target`).
fn guest_target_dir(out: &Path) -> PathBuf {
    let profile_dir = out.ancestors().nth(3).unwrap_or(out);
    let mut target = profile_dir.parent().unwrap_or(profile_dir);
    let triple = env::var_os("TARGET");
    if triple.is_some() && target.file_name() == triple.as_deref() {
        target = target.parent().unwrap_or(target);
    }
    target.join("wasm-guest")
}
