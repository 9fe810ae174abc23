//! The real Python packages from PyPI as test peers, each in its own virtual environment made
//! (once, under the target folder) by `scripts/pyenv.sh`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The interpreter of a virtual environment holding exactly `packages`, made if needed.
pub(crate) fn venv(name: &str, packages: &[&str]) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .to_owned();
    // The workspace's script, found from whichever crate's tests include this file.
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("scripts/pyenv.sh"))
        .find(|p| p.is_file())
        .expect("scripts/pyenv.sh in the workspace");
    let out = Command::new(&script)
        .arg(target.join("pyenv").join(name))
        .args(packages)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "making the Python environment `{name}` with {packages:?} failed (PyPI must be reachable):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Runs `script` with the interpreter, `HOME` in a scratch folder, and the given environment;
/// fails the test with Python's own output if the script fails.
pub(crate) fn run(python: &Path, script: &str, home: &Path, env: &[(&str, &str)]) -> Output {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .env("HOME", home)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "the Python peer failed:\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
