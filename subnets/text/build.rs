//! With the `runtime` feature, builds the text scorer (`scorer/`) for `wasm32-unknown-unknown`
//! so the runtime ships the exact module validators run in the sandbox.

// A build script fails the build by panicking; the variables it reads are set by cargo.
#![allow(clippy::expect_used)]

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const PACKAGE: &str = "subforge-subnet-text-scorer";
/// Set on the guest build, so that a build script it runs never starts another.
const GUEST_BUILD: &str = "SUBFORGE_GUEST_BUILD";
const ARTIFACT: &str = "subforge_subnet_text_scorer.wasm";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if env::var_os("CARGO_FEATURE_RUNTIME").is_none() || env::var_os(GUEST_BUILD).is_some() {
        return;
    }
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest.join("../..");
    for watched in [
        "src/scoring.rs",
        "src/ngram.rs",
        "src/task.rs",
        "scorer/src",
        "scorer/Cargo.toml",
        "../../core/src",
        "../../subnet-sdk/guest/src",
        "../../Cargo.lock",
        "../../.cargo/config.toml",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            manifest.join(watched).display()
        );
    }

    // A target folder of the guest's own, beside this build's, so the outer cargo's lock is
    // never contended and the guest build is cached across builds.
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = guest_target_dir(&out);
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    // This script's own variables (`CARGO_FEATURE_*`, `OUT_DIR`, ...) would otherwise reach the
    // guest build's scripts as if they were theirs.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_FEATURE_") || key.starts_with("CARGO_CFG_") || key == "OUT_DIR" {
            command.env_remove(&*key);
        }
    }
    let status = command
        .current_dir(&workspace)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            PACKAGE,
        ])
        .env("CARGO_TARGET_DIR", &target)
        .env(GUEST_BUILD, "1")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        // Flags and wrappers meant for the host build must not leak into the guest build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
        .status();
    let ok = matches!(&status, Ok(s) if s.success());
    assert!(
        ok,
        "building {PACKAGE} for wasm32-unknown-unknown failed ({status:?}); \
         install the target with `rustup target add wasm32-unknown-unknown`"
    );
    let module = target.join("wasm32-unknown-unknown/release").join(ARTIFACT);
    assert!(
        module.is_file(),
        "the guest build did not produce {}",
        module.display()
    );
    println!(
        "cargo:rustc-env=SUBFORGE_TEXT_SCORER_WASM={}",
        module.display()
    );
}

/// `<target>/wasm-guest`, where `OUT_DIR` is `<target>[/<triple>]/<profile>/build/<pkg>/out`
/// (the triple folder exists when the build names its target explicitly).
fn guest_target_dir(out: &Path) -> PathBuf {
    let profile_dir = out.ancestors().nth(3).unwrap_or(out);
    let mut target = profile_dir.parent().unwrap_or(profile_dir);
    let triple = env::var("TARGET").unwrap_or_default();
    if target
        .file_name()
        .is_some_and(|n| !triple.is_empty() && n.to_string_lossy() == triple)
    {
        target = target.parent().unwrap_or(target);
    }
    target.join("wasm-guest")
}
