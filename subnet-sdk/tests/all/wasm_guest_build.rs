//! Builds the example scorer crate for `wasm32-unknown-unknown`, once per process, for the tests
//! and benchmarks that run real guest modules. A failed build fails the caller: nothing is
//! skipped for want of an artifact.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The built modules.
#[derive(Debug)]
pub(crate) struct GuestModules {
    /// The edit-distance scorer (the example crate's library).
    pub(crate) scorer: PathBuf,
    /// The scorer that decodes its input and scores 0 (the crate's `empty_scorer` example).
    pub(crate) empty: PathBuf,
}

/// Builds (or finds up to date) the example modules.
pub(crate) fn guest_modules() -> &'static GuestModules {
    static BUILT: OnceLock<GuestModules> = OnceLock::new();
    BUILT.get_or_init(build)
}

fn build() -> GuestModules {
    // A target folder of its own: the outer cargo may still hold the lock of its own.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .join("wasm-guest");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = Command::new(env!("CARGO"))
        .current_dir(&workspace)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "subforge-example-wasm-scorer",
            "--lib",
            "--example",
            "empty_scorer",
        ])
        .env("CARGO_TARGET_DIR", &target)
        // Small, quick guest builds: no debug info in the module.
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "building the example scorer for wasm32-unknown-unknown failed ({status}); \
         install the target with `rustup target add wasm32-unknown-unknown`"
    );
    let out = target.join("wasm32-unknown-unknown/release");
    let modules = GuestModules {
        scorer: out.join("subforge_example_wasm_scorer.wasm"),
        empty: out.join("examples/empty_scorer.wasm"),
    };
    for path in [&modules.scorer, &modules.empty] {
        assert!(
            path.is_file(),
            "the build did not produce {}",
            path.display()
        );
    }
    modules
}
