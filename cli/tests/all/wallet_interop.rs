//! Wallets made by the Python `bittensor-wallet` 4.1.1 open in Subforge, and wallets made by
//! Subforge open in the Python package: hotkeys, coldkeypub files and encrypted coldkeys.

use std::path::Path;

use serde_json::Value;
use subforge_core::identity::Keypair;
use subforge_sdk::wallet::{Wallet, WalletError};
use zeroize::Zeroizing;

use crate::python;
use crate::run;

const PACKAGE: &str = "bittensor-wallet==4.1.1";
const PASSWORD: &str = "Correct-Horse-42";

/// Python makes a wallet: a mnemonic coldkey encrypted with a password, a mnemonic hotkey, and
/// a hotkey from a secret URI (no seed in its file); prints the addresses it sees.
const PY_CREATE: &str = r#"
import json, os
from bittensor_wallet import Wallet
root = os.environ["WALLETS"]
w = Wallet(name="py", hotkey="miner", path=root)
w.create_new_coldkey(n_words=12, use_password=True, overwrite=True, suppress=True,
                     coldkey_password=os.environ["PW"])
w.create_new_hotkey(n_words=12, use_password=False, overwrite=True, suppress=True)
d = Wallet(name="py", hotkey="dev", path=root)
d.create_hotkey_from_uri("//Alice//stash", use_password=False, overwrite=True, suppress=True)
print(json.dumps({
    "coldkey": w.coldkeypub.ss58_address,
    "hotkey": w.hotkey.ss58_address,
    "dev": d.hotkey.ss58_address,
}))
"#;

/// Python opens a wallet Subforge made, decrypts its coldkey, and checks a signature Subforge
/// made with the Python-made hotkey.
const PY_OPEN: &str = r#"
import json, os
from bittensor_wallet import Wallet
root = os.environ["WALLETS"]
w = Wallet(name="rs", hotkey="validator", path=root)
cold = w.get_coldkey(password=os.environ["PW"])
try:
    w.get_coldkey(password="not-the-password")
    wrong = "accepted"
except Exception as e:
    wrong = type(e).__name__
py = Wallet(name="py", hotkey="miner", path=root)
sig = bytes.fromhex(os.environ["SIG"][2:])
print(json.dumps({
    "coldkeypub": w.coldkeypub.ss58_address,
    "coldkey": cold.ss58_address,
    "hotkey": w.hotkey.ss58_address,
    "hotkeypub": w.hotkeypub.ss58_address,
    "wrong_password": wrong,
    "signature_ok": py.hotkey.verify(b"signed by subforge", sig),
}))
"#;

fn json(out: &[u8]) -> Value {
    let text = String::from_utf8_lossy(out);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in {text}"));
    serde_json::from_str(line).unwrap()
}

fn password() -> impl FnMut() -> Result<Zeroizing<String>, WalletError> {
    || Ok(Zeroizing::new(PASSWORD.to_owned()))
}

fn subforge(args: &[&str], wallets: &Path) -> Value {
    let out = run::subforge()
        .arg("--wallet-path")
        .arg(wallets)
        .args(args)
        .env("SUBFORGE_TEST_PW", PASSWORD)
        .output()
        .unwrap();
    serde_json::from_str(&run::ok(&out)).unwrap_or(Value::Null)
}

#[test]
fn wallets_move_both_ways_between_python_and_subforge() {
    let python = python::venv("wallet", &[PACKAGE]);
    let scratch = tempfile::tempdir().unwrap();
    let wallets = scratch.path().join("wallets");
    let wallets_str = wallets.to_str().unwrap();
    let env = [("WALLETS", wallets_str), ("PW", PASSWORD)];

    // Python → Subforge.
    let made = json(&python::run(&python, PY_CREATE, scratch.path(), &env).stdout);
    let py = Wallet::new(&wallets, "py", "miner").unwrap();
    assert_eq!(py.coldkeypub().unwrap().to_ss58(), made["coldkey"]);
    assert_eq!(
        py.coldkey(&mut password()).unwrap().public().to_ss58(),
        made["coldkey"]
    );
    let hotkey = py.hotkey_unlocked().unwrap();
    assert_eq!(hotkey.public().to_ss58(), made["hotkey"]);
    assert_eq!(py.hotkeypub().unwrap().to_ss58(), made["hotkey"]);
    let dev = py.with_hotkey("dev").unwrap();
    assert_eq!(
        dev.hotkey_unlocked().unwrap().public().to_ss58(),
        made["dev"]
    );
    assert_eq!(
        Keypair::from_uri("//Alice//stash")
            .unwrap()
            .public()
            .to_ss58(),
        made["dev"]
    );
    let mut wrong = || Ok(Zeroizing::new("not-the-password".to_owned()));
    assert!(matches!(
        py.coldkey(&mut wrong),
        Err(WalletError::WrongPassword { .. })
    ));

    // Subforge → Python: the coldkey and hotkey made by the `subforge` tool itself.
    subforge(
        &[
            "wallet",
            "create",
            "--name",
            "rs",
            "--hotkey",
            "validator",
            "--password-env",
            "SUBFORGE_TEST_PW",
        ],
        &wallets,
    );
    let shown = subforge(
        &[
            "wallet",
            "show",
            "--name",
            "rs",
            "--hotkey",
            "validator",
            "--json",
        ],
        &wallets,
    );
    let signature = hotkey.sign(b"signed by subforge").to_hex();
    let env = [
        ("WALLETS", wallets_str),
        ("PW", PASSWORD),
        ("SIG", signature.as_str()),
    ];
    let seen = json(&python::run(&python, PY_OPEN, scratch.path(), &env).stdout);
    assert_eq!(seen["coldkeypub"], shown["coldkey"]);
    assert_eq!(seen["coldkey"], shown["coldkey"]);
    assert_eq!(seen["hotkey"], shown["hotkey"]);
    assert_eq!(seen["hotkeypub"], shown["hotkey"]);
    assert_ne!(seen["wrong_password"], "accepted");
    assert_eq!(seen["signature_ok"], true);
}
