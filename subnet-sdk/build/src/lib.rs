//! # subforge-build
//!
//! What a subnet's build script does so that its binary ships the exact WASM scoring modules
//! its validators run: build the subnet's scorer crate for `wasm32-unknown-unknown` and hand
//! every module to the compiler as an environment variable, which
//! `subforge_sdk::embedded_scorer!` reads.
//!
//! ```no_run
//! // The whole `main` of build.rs, for a subnet whose scorer crate lives in `scorer/`.
//! subforge_build::ScorerBuild::new("scorer")
//!     .only_with_feature("runtime")
//!     .run_or_fail();
//! ```
//!
//! The scorer crate's library is a `cdylib` module, and so is each of its examples (declare
//! them `crate-type = ["cdylib"]`): one module per task, named after its artifact
//! (`my_subnet_scorer` for the library of `my-subnet-scorer`, the example's name otherwise).
//! Module `NAME` reaches the compiler as `SUBFORGE_WASM_NAME`.
//!
//! The modules are built in release mode, stripped, in a target folder of their own beside the
//! outer build's (`<target>/wasm-guest`), so the outer cargo's lock is never contended and the
//! module build stays cached. Flags and wrappers meant for the host build do not reach it, and
//! a module's own build scripts never start another module build.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Set on the module build, so that a build script it runs never starts another.
pub const GUEST_BUILD: &str = "SUBFORGE_GUEST_BUILD";

/// The prefix of the variables naming built modules.
pub const ENV_PREFIX: &str = "SUBFORGE_WASM_";

/// The target scoring modules are built for.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// How to build a subnet's scorer crate. See the [crate documentation](crate).
#[derive(Debug, Clone)]
pub struct ScorerBuild {
    crate_dir: PathBuf,
    feature: Option<String>,
    watch: Vec<PathBuf>,
}

/// A module that was built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltModule {
    /// The artifact's name (`SUBFORGE_WASM_<name>` holds its path).
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
}

impl ScorerBuild {
    /// The scorer crate in `crate_dir`, relative to the subnet crate's folder.
    pub fn new(crate_dir: impl Into<PathBuf>) -> Self {
        Self {
            crate_dir: crate_dir.into(),
            feature: None,
            watch: Vec::new(),
        }
    }

    /// Builds only when the subnet is built with `feature` (the modules are embedded by the
    /// part of the subnet that runs validators; its scorer crate builds it without).
    #[must_use]
    pub fn only_with_feature(mut self, feature: impl Into<String>) -> Self {
        self.feature = Some(feature.into());
        self
    }

    /// Rebuilds when `path` (relative to the subnet crate's folder) changes, besides the
    /// subnet's `src`, the scorer crate and `Cargo.lock`: for example the sources of path
    /// dependencies the modules use.
    #[must_use]
    pub fn watch(mut self, path: impl Into<PathBuf>) -> Self {
        self.watch.push(path.into());
        self
    }

    /// Rebuilds when the Subforge sources a module compiles change: `core/src`,
    /// `subnet-sdk/guest/src` and `.cargo/config.toml` of the Subforge checkout at `checkout`
    /// (relative to the subnet crate's folder, e.g. `../..` inside the Subforge workspace).
    #[must_use]
    pub fn watch_subforge(self, checkout: impl AsRef<Path>) -> Self {
        let checkout = checkout.as_ref();
        self.watch(checkout.join("core/src"))
            .watch(checkout.join("subnet-sdk/guest/src"))
            .watch(checkout.join(".cargo/config.toml"))
    }

    /// Builds the modules and tells cargo about them; panics with the reason on failure,
    /// which is how a build script fails the build.
    pub fn run_or_fail(self) -> Vec<BuiltModule> {
        match self.run() {
            Ok(modules) => modules,
            Err(message) => panic!("{message}"),
        }
    }

    /// Builds the modules and tells cargo about them (nothing when the feature is off or this
    /// is the module build itself).
    pub fn run(self) -> Result<Vec<BuiltModule>, String> {
        println!("cargo:rerun-if-changed=build.rs");
        println!("cargo:rerun-if-env-changed={GUEST_BUILD}");
        if env::var_os(GUEST_BUILD).is_some() {
            return Ok(Vec::new());
        }
        if let Some(feature) = &self.feature {
            let var = format!("CARGO_FEATURE_{}", feature.to_uppercase().replace('-', "_"));
            if env::var_os(var).is_none() {
                return Ok(Vec::new());
            }
        }
        let root = PathBuf::from(var("CARGO_MANIFEST_DIR")?);
        let crate_dir = root.join(&self.crate_dir);
        let manifest = crate_dir.join("Cargo.toml");
        if !manifest.is_file() {
            return Err(format!(
                "no scorer crate at {} (no Cargo.toml there)",
                crate_dir.display()
            ));
        }
        for watched in [root.join("src"), crate_dir.clone()]
            .into_iter()
            .chain(self.watch.iter().map(|w| root.join(w)))
        {
            println!("cargo:rerun-if-changed={}", watched.display());
        }
        if let Some(lock) = root
            .ancestors()
            .map(|a| a.join("Cargo.lock"))
            .find(|l| l.is_file())
        {
            println!("cargo:rerun-if-changed={}", lock.display());
        }

        let target = guest_target_dir(&PathBuf::from(var("OUT_DIR")?));
        let output = cargo_command(&root, &manifest, &target)
            .output()
            .map_err(|e| format!("could not run cargo to build {}: {e}", manifest.display()))?;
        if !output.status.success() {
            return Err(format!(
                "building the scorer crate {} for {WASM_TARGET} failed ({}); install the target \
                 with `rustup target add {WASM_TARGET}`\n{}",
                crate_dir.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let modules = modules_in(&String::from_utf8_lossy(&output.stdout));
        if modules.is_empty() {
            return Err(format!(
                "the scorer crate {} built no WASM module: give it `crate-type = [\"cdylib\"]`",
                crate_dir.display()
            ));
        }
        for module in &modules {
            if !module.path.is_file() {
                return Err(format!(
                    "the scorer build did not produce {}",
                    module.path.display()
                ));
            }
            println!(
                "cargo:rustc-env={ENV_PREFIX}{}={}",
                module.name,
                module.path.display()
            );
        }
        Ok(modules)
    }
}

fn var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|_| format!("cargo did not set {name}"))
}

/// `cargo build` of the scorer crate's library and examples for wasm32, from the subnet's
/// folder (so its `.cargo/config.toml` applies), reporting artifacts as JSON.
fn cargo_command(root: &Path, manifest: &Path, target: &Path) -> Command {
    let mut command = Command::new(env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")));
    // This script's own variables would otherwise reach the module build's scripts as theirs.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_FEATURE_") || key.starts_with("CARGO_CFG_") || key == "OUT_DIR" {
            command.env_remove(&*key);
        }
    }
    command
        .current_dir(root)
        .args(["build", "--release", "--locked", "--lib", "--examples"])
        .args(["--message-format", "json-render-diagnostics"])
        .args(["--target", WASM_TARGET])
        .arg("--manifest-path")
        .arg(manifest)
        .env("CARGO_TARGET_DIR", target)
        .env(GUEST_BUILD, "1")
        // Small modules: no debug info.
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        // Flags and wrappers meant for the host build must not reach the module build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET");
    command
}

/// The `.wasm` files among the artifacts cargo's JSON messages report.
fn modules_in(messages: &str) -> Vec<BuiltModule> {
    let mut out: Vec<BuiltModule> = Vec::new();
    for line in messages.lines() {
        if !line.contains("\"reason\":\"compiler-artifact\"") {
            continue;
        }
        let Some(start) = line.find("\"filenames\":[") else {
            continue;
        };
        let list = &line[start + "\"filenames\":[".len()..];
        let list = &list[..list.find(']').unwrap_or(list.len())];
        for file in list.split(',') {
            let file = file.trim().trim_matches('"').replace("\\\\", "\\");
            let path = PathBuf::from(&file);
            if path.extension().is_some_and(|e| e == "wasm") {
                let name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.retain(|m| m.name != name);
                out.push(BuiltModule { name, path });
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_read_from_cargo_messages() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"core"},"filenames":["/t/deps/libcore.rlib","/t/deps/libcore.rmeta"]}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"kind":["cdylib"],"name":"my_scorer"},"filenames":["/t/release/my_scorer.wasm"]}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"kind":["cdylib"],"name":"denoise"},"filenames":["/t/release/examples/denoise.wasm"]}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
        );
        assert_eq!(
            modules_in(messages),
            [
                BuiltModule {
                    name: "my_scorer".into(),
                    path: "/t/release/my_scorer.wasm".into()
                },
                BuiltModule {
                    name: "denoise".into(),
                    path: "/t/release/examples/denoise.wasm".into()
                },
            ]
        );
        assert!(modules_in("not json\n").is_empty());
    }

    #[test]
    fn the_guest_target_sits_beside_the_outer_one() {
        let out = Path::new("/w/target/debug/build/pkg-1234/out");
        assert_eq!(guest_target_dir(out), Path::new("/w/target/wasm-guest"));
    }
}
