//! Running `subforge` as a person does, and reading what it said.

use std::process::{Command, Output, Stdio};

/// The `subforge` binary under test, sealed off from the caller's environment: no wallet,
/// chain or log settings come in, and standard input is empty.
pub(crate) fn subforge() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_subforge"));
    for var in [
        "BT_WALLET_PATH",
        "BT_WALLET_NAME",
        "BT_WALLET_HOTKEY",
        "SUBFORGE_CHAIN",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// The standard output of a run that must have succeeded (its standard error is shown if it
/// did not).
pub(crate) fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "expected success, got {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The error of a run that must have failed the way the CLI fails: one `error: ` line that
/// contains `needle`, and no panic.
pub(crate) fn fails_with(out: &Output, needle: &str) -> String {
    assert!(
        !out.status.success(),
        "expected failure, got: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(err.contains(needle), "`{needle}` not in: {err}");
    err
}
