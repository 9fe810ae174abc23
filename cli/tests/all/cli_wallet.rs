//! The `subforge wallet` commands as a person uses them: output, exit codes, files on disk.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use crate::run::{self, fails_with, ok};
use serde_json::Value;

const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const DEV_PHRASE: &str = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
/// The key of the development phrase itself (no derivation path).
const DEV_PHRASE_ADDRESS: &str = "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV";

fn subforge(wallets: &Path, args: &[&str]) -> Output {
    run::subforge()
        .arg("--wallet-path")
        .arg(wallets)
        .args(args)
        .output()
        .unwrap()
}

fn show(wallets: &Path, name: &str, hotkey: &str) -> Value {
    serde_json::from_str(&ok(&subforge(
        wallets,
        &[
            "wallet", "show", "--name", name, "--hotkey", hotkey, "--json",
        ],
    )))
    .unwrap()
}

#[test]
fn create_writes_private_files_and_refuses_to_clobber() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&subforge(
        dir.path(),
        &[
            "wallet",
            "create",
            "--name",
            "w",
            "--hotkey",
            "h",
            "--no-password",
        ],
    ));
    assert!(out.contains("Write these mnemonics down"), "{out}");
    let shown = show(dir.path(), "w", "h");
    assert!(out.contains(shown["coldkey"].as_str().unwrap()));
    assert!(out.contains(shown["hotkey"].as_str().unwrap()));
    for file in ["coldkey", "coldkeypub.txt", "hotkeys/h", "hotkeys/hpub.txt"] {
        let mode = fs::metadata(dir.path().join("w").join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }

    let before = fs::read(dir.path().join("w/hotkeys/h")).unwrap();
    fails_with(
        &subforge(
            dir.path(),
            &[
                "wallet",
                "create",
                "--name",
                "w",
                "--hotkey",
                "h",
                "--no-password",
            ],
        ),
        "already exists (pass --overwrite",
    );
    assert_eq!(fs::read(dir.path().join("w/hotkeys/h")).unwrap(), before);

    // A second hotkey in the same wallet keeps the coldkey.
    let out = ok(&subforge(
        dir.path(),
        &[
            "wallet",
            "create",
            "--name",
            "w",
            "--hotkey",
            "h2",
            "--no-password",
        ],
    ));
    assert!(out.contains("kept"), "{out}");
    assert_eq!(show(dir.path(), "w", "h2")["coldkey"], shown["coldkey"]);

    // --overwrite replaces both keys.
    ok(&subforge(
        dir.path(),
        &[
            "wallet",
            "create",
            "--name",
            "w",
            "--hotkey",
            "h",
            "--no-password",
            "--overwrite",
        ],
    ));
    assert_ne!(show(dir.path(), "w", "h")["coldkey"], shown["coldkey"]);
}

#[test]
fn regen_restores_known_keys() {
    let dir = tempfile::tempdir().unwrap();
    ok(&subforge(
        dir.path(),
        &[
            "wallet",
            "regen-coldkey",
            "--name",
            "dev",
            "--mnemonic",
            DEV_PHRASE,
            "--no-password",
        ],
    ));
    ok(&subforge(
        dir.path(),
        &[
            "wallet",
            "regen-hotkey",
            "--name",
            "dev",
            "--hotkey",
            "alice",
            "--uri",
            "//Alice",
        ],
    ));
    let shown = show(dir.path(), "dev", "alice");
    assert_eq!(shown["coldkey"], DEV_PHRASE_ADDRESS);
    assert_eq!(shown["hotkey"], ALICE);

    fails_with(
        &subforge(
            dir.path(),
            &[
                "wallet",
                "regen-hotkey",
                "--name",
                "dev",
                "--hotkey",
                "alice",
                "--uri",
                "//Bob",
            ],
        ),
        "already exists",
    );
    assert_eq!(show(dir.path(), "dev", "alice")["hotkey"], ALICE);
    ok(&subforge(
        dir.path(),
        &[
            "wallet",
            "regen-hotkey",
            "--name",
            "dev",
            "--hotkey",
            "alice",
            "--uri",
            "//Bob",
            "--overwrite",
        ],
    ));
    assert_ne!(show(dir.path(), "dev", "alice")["hotkey"], ALICE);
}

#[test]
fn environment_variables_pick_the_wallet() {
    let dir = tempfile::tempdir().unwrap();
    let out = run::subforge()
        .args(["wallet", "regen-hotkey", "--uri", "//Alice"])
        .env("BT_WALLET_PATH", dir.path())
        .env("BT_WALLET_NAME", "envw")
        .env("BT_WALLET_HOTKEY", "envh")
        .output()
        .unwrap();
    ok(&out);
    assert!(dir.path().join("envw/hotkeys/envh").is_file());
}

#[test]
fn list_shows_every_wallet_and_hotkey() {
    let dir = tempfile::tempdir().unwrap();
    assert!(ok(&subforge(dir.path(), &["wallet", "list"])).contains("No wallets"));
    ok(&subforge(
        dir.path(),
        &[
            "wallet",
            "regen-coldkey",
            "--name",
            "a",
            "--uri",
            "//A",
            "--no-password",
        ],
    ));
    ok(&subforge(
        dir.path(),
        &[
            "wallet",
            "regen-hotkey",
            "--name",
            "a",
            "--hotkey",
            "x",
            "--uri",
            "//Alice",
        ],
    ));
    let text = ok(&subforge(dir.path(), &["wallet", "list"]));
    assert!(text.contains(ALICE), "{text}");
    let listed: Value =
        serde_json::from_str(&ok(&subforge(dir.path(), &["wallet", "list", "--json"]))).unwrap();
    assert_eq!(listed[0]["name"], "a");
    assert_eq!(listed[0]["hotkeys"]["x"], ALICE);
}

#[test]
fn bad_input_gets_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    fails_with(
        &subforge(dir.path(), &["wallet", "show", "--name", "ghost"]),
        "wallet `ghost` not found",
    );
    fails_with(
        &subforge(
            dir.path(),
            &[
                "wallet",
                "regen-coldkey",
                "--name",
                "w",
                "--mnemonic",
                "bottom drive obey",
                "--no-password",
            ],
        ),
        "3 words",
    );
    fails_with(
        &subforge(
            dir.path(),
            &[
                "wallet",
                "regen-hotkey",
                "--name",
                "w",
                "--mnemonic",
                &DEV_PHRASE.replace("walk", "walks"),
            ],
        ),
        "word 12 (`walks`)",
    );
    fails_with(
        &subforge(
            dir.path(),
            &["wallet", "regen-hotkey", "--name", "w", "--seed", "0x12"],
        ),
        "32 bytes of hex",
    );
    // No terminal to prompt on, and no password option.
    fails_with(
        &subforge(dir.path(), &["wallet", "create", "--name", "w"]),
        "--password-env",
    );
    fails_with(
        &subforge(
            dir.path(),
            &[
                "wallet",
                "create",
                "--name",
                "w",
                "--password-env",
                "SURELY_UNSET_VAR_4711",
            ],
        ),
        "SURELY_UNSET_VAR_4711",
    );
    assert!(
        !dir.path().join("w").exists(),
        "a refused command left files behind"
    );

    // Damaged files are named in the error.
    ok(&subforge(
        dir.path(),
        &[
            "wallet",
            "regen-coldkey",
            "--name",
            "d",
            "--uri",
            "//D",
            "--no-password",
        ],
    ));
    ok(&subforge(
        dir.path(),
        &[
            "wallet",
            "regen-hotkey",
            "--name",
            "d",
            "--hotkey",
            "h",
            "--uri",
            "//H",
        ],
    ));
    let hot = dir.path().join("d/hotkeys/h");
    fs::remove_file(dir.path().join("d/hotkeys/hpub.txt")).unwrap();
    let full = fs::read(&hot).unwrap();
    fs::write(&hot, &full[..full.len() / 2]).unwrap();
    fails_with(
        &subforge(
            dir.path(),
            &["wallet", "show", "--name", "d", "--hotkey", "h"],
        ),
        "d/hotkeys/h is not a valid keyfile",
    );
    fs::write(dir.path().join("d/coldkeypub.txt"), b"\x00\xffgarbage").unwrap();
    fails_with(
        &subforge(dir.path(), &["wallet", "show", "--name", "d"]),
        "coldkeypub.txt is not a valid keyfile",
    );
    let out = subforge(dir.path(), &["wallet", "show", "--name", "../etc"]);
    fails_with(&out, "invalid wallet name");
}
