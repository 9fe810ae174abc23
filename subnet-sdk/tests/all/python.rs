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

/// Runs the peer script `script` in `mode` with `config` as one JSON line on stdin, `HOME` in
/// `home`; returns the JSON it prints last. Bounded to two minutes.
pub(crate) async fn run_peer_at(
    python: &Path,
    script: &Path,
    home: &Path,
    mode: &str,
    config: serde_json::Value,
) -> serde_json::Value {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(python)
        .arg(script)
        .arg(mode)
        .env("HOME", home)
        .env("BT_NO_PARSE_CLI_ARGS", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{config}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        child.wait_with_output(),
    )
    .await
    .expect("the python peer timed out")
    .unwrap();
    assert!(
        out.status.success(),
        "python peer {mode} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(stdout.lines().last().unwrap_or("null"))
        .unwrap_or_else(|e| panic!("python peer {mode} printed no JSON ({e}): {stdout}"))
}
