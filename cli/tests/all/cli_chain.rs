//! The chain commands of `subforge` as a person uses them, on a chain folder (`local:DIR`).

use std::path::Path;
use std::process::Output;

use crate::run::{self, fails_with, ok};
use serde_json::Value;

const CHARLIE: &str = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y";

fn subforge(wallets: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    run::subforge()
        .arg("--wallet-path")
        .arg(wallets)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn dev_wallet(wallets: &Path, name: &str, cold: &str, hotkey: &str, hot: &str) {
    ok(&subforge(
        wallets,
        &[
            "wallet",
            "regen-coldkey",
            "--name",
            name,
            "--uri",
            cold,
            "--no-password",
        ],
        &[],
    ));
    ok(&subforge(
        wallets,
        &[
            "wallet",
            "regen-hotkey",
            "--name",
            name,
            "--hotkey",
            hotkey,
            "--uri",
            hot,
        ],
        &[],
    ));
}

#[test]
fn subnet_register_stake_transfer_and_metagraph_on_a_chain_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let wallets = tmp.path().join("wallets");
    let chain = format!("local:{}", tmp.path().join("chain").display());
    let c = chain.as_str();
    dev_wallet(&wallets, "alice", "//Alice", "owner", "//Alice//owner");
    dev_wallet(&wallets, "bob", "//Bob", "miner", "//Bob//miner");
    let run = |args: &[&str]| subforge(&wallets, args, &[]);

    let out = ok(&run(&[
        "subnet", "create", "--name", "alice", "--hotkey", "owner", "--chain", c,
    ]));
    assert!(out.contains("created subnet 1"), "{out}");
    let list: Value =
        serde_json::from_str(&ok(&run(&["subnet", "list", "--json", "--chain", c]))).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["netuid"], 1);
    let table = ok(&run(&["subnet", "list", "--chain", c]));
    assert!(
        table.contains("netuid") && table.contains("1/256"),
        "{table}"
    );

    let h: Value = serde_json::from_str(&ok(&run(&[
        "subnet",
        "hyperparameters",
        "--netuid",
        "1",
        "--json",
        "--chain",
        c,
    ])))
    .unwrap();
    assert_eq!(h["tempo"], 360);
    ok(&run(&[
        "subnet", "set", "--netuid", "1", "--param", "tempo", "--value", "720", "--name", "alice",
        "--chain", c,
    ]));
    fails_with(
        &run(&[
            "subnet", "set", "--netuid", "1", "--param", "tempo", "--value", "10", "--name", "bob",
            "--chain", c,
        ]),
        "is not the owner of subnet 1",
    );
    // A misspelt name is a usage error, reported by the argument parser.
    let out = run(&[
        "subnet", "set", "--netuid", "1", "--param", "tempoo", "--value", "10", "--chain", c,
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`tempoo` is not a settable hyperparameter")
    );

    let out = ok(&run(&[
        "register", "--netuid", "1", "--name", "bob", "--hotkey", "miner", "--chain", c,
    ]));
    assert!(out.contains("as uid 1"), "{out}");
    fails_with(
        &run(&[
            "register", "--netuid", "1", "--name", "bob", "--hotkey", "miner", "--chain", c,
        ]),
        "already registered",
    );

    ok(&run(&[
        "stake", "add", "--netuid", "1", "--amount", "10", "--name", "bob", "--hotkey", "miner",
        "--chain", c,
    ]));
    ok(&run(&[
        "stake", "remove", "--netuid", "1", "--amount", "4", "--name", "bob", "--hotkey", "miner",
        "--chain", c,
    ]));
    let show: Value = serde_json::from_str(&ok(&run(&[
        "stake", "show", "--name", "bob", "--json", "--chain", c,
    ])))
    .unwrap();
    assert_eq!(show["stakes"][0]["stake"], 6_000_000_000u64);
    fails_with(
        &run(&[
            "stake", "remove", "--netuid", "1", "--amount", "100", "--name", "bob", "--hotkey",
            "miner", "--chain", c,
        ]),
        "cannot unstake",
    );

    let out = ok(&run(&[
        "transfer", "--dest", CHARLIE, "--amount", "1.5", "--name", "bob", "--chain", c,
    ]));
    assert!(out.contains("sent τ1.500000000"), "{out}");

    let table = ok(&run(&["metagraph", "--netuid", "1", "--chain", c]));
    assert!(table.contains("5E"), "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");
    let m: subforge_core::Metagraph = serde_json::from_str(&ok(&run(&[
        "metagraph",
        "--netuid",
        "1",
        "--json",
        "--chain",
        c,
    ])))
    .unwrap();
    assert_eq!(m.n(), 2);
    assert_eq!(m.stake[1], subforge_core::Balance::from_tao(6));
    fails_with(
        &run(&["metagraph", "--netuid", "7", "--chain", c]),
        "subnet 7 does not exist",
    );

    // What the wallets hold, as btcli shows it: balances of every wallet, and where bob's
    // hotkey is registered with its stake.
    let balances: Value =
        serde_json::from_str(&ok(&run(&["wallet", "balance", "--json", "--chain", c]))).unwrap();
    let bob = balances
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["wallet"] == "bob")
        .unwrap();
    assert_eq!(bob["staked"]["1"], 6_000_000_000u64);
    let table = ok(&run(&["wallet", "balance", "--chain", c]));
    assert!(
        table.contains("total free") && table.contains("on 1"),
        "{table}"
    );
    let overview: Value = serde_json::from_str(&ok(&run(&[
        "wallet", "overview", "--name", "bob", "--json", "--chain", c,
    ])))
    .unwrap();
    let neurons = overview["neurons"].as_array().unwrap();
    assert_eq!(neurons.len(), 1, "{overview}");
    assert_eq!(
        (
            &neurons[0]["hotkey_name"],
            &neurons[0]["netuid"],
            &neurons[0]["uid"]
        ),
        (&Value::from("miner"), &Value::from(1), &Value::from(1))
    );
    assert_eq!(neurons[0]["stake"], 6_000_000_000u64);
    let table = ok(&run(&["wallet", "overview", "--name", "bob", "--chain", c]));
    assert!(
        table.contains("miner") && table.contains("netuid"),
        "{table}"
    );
    fails_with(
        &run(&["wallet", "overview", "--name", "nobody", "--chain", c]),
        "nobody",
    );
}

#[test]
fn encrypted_coldkeys_take_the_password_from_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let wallets = tmp.path().join("wallets");
    let chain = format!("local:{}", tmp.path().join("chain").display());
    let pw = [("PW", "correct horse")];
    ok(&subforge(
        &wallets,
        &[
            "wallet",
            "regen-coldkey",
            "--name",
            "bob",
            "--uri",
            "//Bob",
            "--password-env",
            "PW",
        ],
        &pw,
    ));
    let args = [
        "transfer",
        "--dest",
        CHARLIE,
        "--amount",
        "1",
        "--name",
        "bob",
        "--password-env",
        "PW",
        "--chain",
        &chain,
    ];
    ok(&subforge(&wallets, &args, &pw));
    fails_with(&subforge(&wallets, &args, &[]), "PW");
    fails_with(
        &subforge(&wallets, &args, &[("PW", "wrong password")]),
        "password",
    );
}

#[test]
fn bad_chain_addresses_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = subforge(tmp.path(), &["subnet", "list", "--chain", "ftp://x"], &[]);
    fails_with(&out, "expected finney, test, archive, local, latent-lite");
    let out = subforge(
        tmp.path(),
        &["subnet", "list", "--chain", "ws://127.0.0.1:1"],
        &[],
    );
    fails_with(&out, "cannot reach the chain ws://127.0.0.1:1");
}
