//! `subforge wallet …`: create, restore, list and show wallets.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use subforge_core::identity::{Keypair, Mnemonic, WordCount};
use zeroize::Zeroizing;

use super::GlobalOpts;
use super::chain_opts::ChainOpts;
use crate::wallet::{self, Wallet, WalletError};

/// Shortest password accepted for a new coldkey (the Python wallet's minimum).
const MIN_PASSWORD_LEN: usize = 6;

#[derive(Debug, Args)]
pub(crate) struct WalletArgs {
    #[command(subcommand)]
    command: WalletCommand,
}

#[derive(Debug, Subcommand)]
enum WalletCommand {
    /// Create a wallet: a new coldkey (encrypted) and a new hotkey, each from a fresh mnemonic.
    ///
    /// If the wallet's coldkey already exists it is kept and only the hotkey is created.
    Create {
        #[command(flatten)]
        names: Names,
        /// Words in each new mnemonic (12, 15, 18, 21 or 24).
        #[arg(long, default_value_t = 12, value_parser = parse_words)]
        words: usize,
        #[command(flatten)]
        password: PasswordOpts,
        /// Replace existing keyfiles of this wallet and hotkey.
        #[arg(long)]
        overwrite: bool,
    },
    /// Restore a coldkey from its mnemonic (or seed, or secret URI).
    RegenColdkey {
        /// Wallet name.
        #[arg(long, env = wallet::ENV_WALLET_NAME, default_value = wallet::DEFAULT_NAME)]
        name: String,
        #[command(flatten)]
        source: KeySource,
        #[command(flatten)]
        password: PasswordOpts,
        /// Replace an existing coldkey.
        #[arg(long)]
        overwrite: bool,
    },
    /// Restore a hotkey from its mnemonic (or seed, or secret URI).
    RegenHotkey {
        #[command(flatten)]
        names: Names,
        #[command(flatten)]
        source: KeySource,
        /// Replace an existing hotkey.
        #[arg(long)]
        overwrite: bool,
    },
    /// List the wallets and their hotkeys with their addresses.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show a wallet's coldkey and hotkey addresses.
    Show {
        /// Wallet name.
        #[arg(long, env = wallet::ENV_WALLET_NAME, default_value = wallet::DEFAULT_NAME)]
        name: String,
        /// Hotkey name [default: `default`, if it exists].
        #[arg(long, env = wallet::ENV_WALLET_HOTKEY)]
        hotkey: Option<String>,
        /// Print `{"coldkey": "...", "hotkey": "..."}` instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Free balance and stake of each wallet's coldkey on the chain (no password needed).
    Balance {
        /// Only this wallet [default: every wallet].
        #[arg(long, env = wallet::ENV_WALLET_NAME)]
        name: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        chain: ChainOpts,
    },
    /// Each hotkey of a wallet on every subnet it holds a uid on: stake, incentive,
    /// dividends, trust, emission, last weights, axon.
    Overview {
        /// Wallet name.
        #[arg(long, env = wallet::ENV_WALLET_NAME, default_value = wallet::DEFAULT_NAME)]
        name: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        chain: ChainOpts,
    },
}

#[derive(Debug, Args)]
struct Names {
    /// Wallet name.
    #[arg(long, env = wallet::ENV_WALLET_NAME, default_value = wallet::DEFAULT_NAME)]
    name: String,
    /// Hotkey name.
    #[arg(long, env = wallet::ENV_WALLET_HOTKEY, default_value = wallet::DEFAULT_NAME)]
    hotkey: String,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct KeySource {
    /// The key's mnemonic, in quotes.
    #[arg(long, value_name = "WORDS")]
    mnemonic: Option<String>,
    /// The key's 32-byte seed as 0x-prefixed hex.
    #[arg(long, value_name = "HEX")]
    seed: Option<String>,
    /// A secret URI such as `//Alice` or `WORDS//hard/soft` (development keys).
    #[arg(long, value_name = "URI")]
    uri: Option<String>,
}

#[derive(Debug, Args)]
#[group(multiple = false)]
struct PasswordOpts {
    /// Read the coldkey password from this environment variable instead of prompting.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Store the coldkey unencrypted (only for throwaway development keys).
    #[arg(long)]
    no_password: bool,
}

fn parse_words(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    WordCount::from_words(n)
        .map(WordCount::words)
        .ok_or_else(|| format!("{n} words: a mnemonic has 12, 15, 18, 21 or 24"))
}

pub(crate) fn run(args: WalletArgs, global: &GlobalOpts) -> anyhow::Result<()> {
    let dir = wallets_dir(global);
    match args.command {
        WalletCommand::Create {
            names,
            words,
            password,
            overwrite,
        } => create(&dir, &names, words, &password, overwrite),
        WalletCommand::RegenColdkey {
            name,
            source,
            password,
            overwrite,
        } => {
            let w = Wallet::new(&dir, &name, wallet::DEFAULT_NAME)?;
            let key = source.keypair()?;
            refuse_existing(&[w.coldkey_path(), w.coldkeypub_path()], overwrite)?;
            let pw = new_password(&password, "coldkey")?;
            w.set_coldkey(&key, pw.as_deref().map(String::as_str), overwrite)?;
            report_key("coldkey", &key, &w.coldkey_path(), pw.is_some());
            Ok(())
        }
        WalletCommand::RegenHotkey {
            names,
            source,
            overwrite,
        } => {
            let w = Wallet::new(&dir, &names.name, &names.hotkey)?;
            let key = source.keypair()?;
            w.set_hotkey(&key, None, overwrite)
                .map_err(overwrite_hint)?;
            report_key("hotkey", &key, &w.hotkey_path(), false);
            Ok(())
        }
        WalletCommand::List { json } => list(&dir, json),
        WalletCommand::Show { name, hotkey, json } => show(&dir, &name, hotkey.as_deref(), json),
        WalletCommand::Balance { name, json, chain } => {
            super::wallet_chain::balance(&dir, name.as_deref(), &chain, json)
        }
        WalletCommand::Overview { name, json, chain } => {
            super::wallet_chain::overview(&dir, &name, &chain, json)
        }
    }
}

fn wallets_dir(global: &GlobalOpts) -> PathBuf {
    global
        .wallet_path
        .as_deref()
        .map_or_else(wallet::default_wallets_dir, wallet::expand_home)
}

impl KeySource {
    fn keypair(&self) -> anyhow::Result<Keypair> {
        if let Some(words) = &self.mnemonic {
            return Keypair::from_phrase(words).context("cannot restore from --mnemonic");
        }
        if let Some(seed) = &self.seed {
            return Keypair::from_seed_hex(seed).context("cannot restore from --seed");
        }
        if let Some(uri) = &self.uri {
            return Keypair::from_uri(uri).context("cannot restore from --uri");
        }
        bail!("give one of --mnemonic, --seed or --uri")
    }
}

fn create(
    dir: &Path,
    names: &Names,
    words: usize,
    password: &PasswordOpts,
    overwrite: bool,
) -> anyhow::Result<()> {
    let w = Wallet::new(dir, &names.name, &names.hotkey)?;
    let count = WordCount::from_words(words).unwrap_or_default();
    let keep_coldkey = w.exists() && !overwrite;
    refuse_existing(&[w.hotkey_path(), w.hotkeypub_path()], overwrite)?;
    if !keep_coldkey {
        refuse_existing(&[w.coldkey_path(), w.coldkeypub_path()], overwrite)?;
    }

    let mut phrases: Vec<(&str, Zeroizing<String>)> = Vec::new();
    if keep_coldkey {
        let cold = w
            .coldkeypub()
            .with_context(|| format!("wallet `{}`", w.name()))?;
        println!("Coldkey  {cold}  kept: {}", w.coldkeypub_path().display());
    } else {
        let pw = new_password(password, "coldkey")?;
        let mnemonic = Mnemonic::generate(count);
        let cold = Keypair::from_mnemonic(&mnemonic, "");
        w.set_coldkey(&cold, pw.as_deref().map(String::as_str), overwrite)?;
        report_key("coldkey", &cold, &w.coldkey_path(), pw.is_some());
        phrases.push(("coldkey", mnemonic.phrase()));
    }
    let mnemonic = Mnemonic::generate(count);
    let hot = Keypair::from_mnemonic(&mnemonic, "");
    w.set_hotkey(&hot, None, overwrite)?;
    report_key("hotkey", &hot, &w.hotkey_path(), false);
    phrases.push(("hotkey", mnemonic.phrase()));

    println!();
    println!("Write these mnemonics down and keep them secret: they are the only way to restore");
    println!("the keys, and anyone who has them controls the keys.");
    for (role, phrase) in &phrases {
        println!("  {role:<8} {}", phrase.as_str());
    }
    Ok(())
}

fn report_key(role: &str, key: &Keypair, path: &Path, encrypted: bool) {
    let how = if role == "coldkey" && !encrypted {
        ", unencrypted"
    } else if encrypted {
        ", encrypted"
    } else {
        ""
    };
    let label = format!("{}{}", role[..1].to_uppercase(), &role[1..]);
    println!(
        "{label:<8} {}  written to {}{how}",
        key.public(),
        path.display()
    );
}

fn refuse_existing(paths: &[PathBuf], overwrite: bool) -> anyhow::Result<()> {
    if overwrite {
        return Ok(());
    }
    if let Some(p) = paths.iter().find(|p| p.symlink_metadata().is_ok()) {
        bail!(
            "{} already exists (pass --overwrite to replace it)",
            p.display()
        );
    }
    Ok(())
}

fn overwrite_hint(e: WalletError) -> anyhow::Error {
    match e {
        WalletError::AlreadyExists { path } => {
            anyhow!(
                "{} already exists (pass --overwrite to replace it)",
                path.display()
            )
        }
        other => other.into(),
    }
}

/// The password for a new encrypted key: from the environment, or asked twice on the terminal.
fn new_password(opts: &PasswordOpts, role: &str) -> anyhow::Result<Option<Zeroizing<String>>> {
    if opts.no_password {
        return Ok(None);
    }
    let password = if let Some(var) = &opts.password_env {
        let value = std::env::var(var)
            .map_err(|_| anyhow!("environment variable {var} (from --password-env) is not set"))?;
        Zeroizing::new(value)
    } else {
        if !std::io::stdin().is_terminal() {
            bail!(
                "a password is needed to encrypt the {role}, and there is no terminal to ask on: \
                 pass --password-env VAR, or --no-password for an unencrypted development key"
            );
        }
        let first = Zeroizing::new(
            rpassword::prompt_password(format!("Password to encrypt the {role}: "))
                .context("cannot read the password")?,
        );
        let second = Zeroizing::new(
            rpassword::prompt_password("Repeat the password: ")
                .context("cannot read the password")?,
        );
        if first != second {
            bail!("the passwords do not match");
        }
        first
    };
    if password.chars().count() < MIN_PASSWORD_LEN {
        bail!("the password must have at least {MIN_PASSWORD_LEN} characters");
    }
    Ok(Some(password))
}

#[derive(Serialize)]
struct WalletSummary {
    name: String,
    coldkey: Option<String>,
    hotkeys: BTreeMap<String, Option<String>>,
}

fn summarize(dir: &Path, name: &str) -> anyhow::Result<WalletSummary> {
    let w = Wallet::new(dir, name, wallet::DEFAULT_NAME)?;
    let coldkey = w.coldkeypub().ok().map(|c| c.to_ss58());
    let mut hotkeys = BTreeMap::new();
    for hk in w.hotkey_names()? {
        let address = w.with_hotkey(&hk)?.hotkeypub().ok().map(|h| h.to_ss58());
        hotkeys.insert(hk, address);
    }
    Ok(WalletSummary {
        name: name.to_owned(),
        coldkey,
        hotkeys,
    })
}

fn list(dir: &Path, json: bool) -> anyhow::Result<()> {
    let names = wallet::list_wallets(dir)?;
    let summaries = names
        .iter()
        .map(|n| summarize(dir, n))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summaries)?);
        return Ok(());
    }
    if summaries.is_empty() {
        println!("No wallets in {}", dir.display());
        return Ok(());
    }
    println!("Wallets in {}", dir.display());
    for s in &summaries {
        let cold = s
            .coldkey
            .as_deref()
            .unwrap_or("(unreadable coldkeypub.txt)");
        println!("{}  {cold}", s.name);
        for (hk, address) in &s.hotkeys {
            println!("  {hk}  {}", address.as_deref().unwrap_or("(unreadable)"));
        }
    }
    Ok(())
}

fn show(dir: &Path, name: &str, hotkey: Option<&str>, json: bool) -> anyhow::Result<()> {
    let w = Wallet::new(dir, name, hotkey.unwrap_or(wallet::DEFAULT_NAME))?;
    if !w.exists() {
        bail!(
            "wallet `{name}` not found in {} (no coldkey or coldkeypub.txt)",
            dir.display()
        );
    }
    let coldkey = w.coldkeypub().with_context(|| format!("wallet `{name}`"))?;
    let selected = match hotkey {
        Some(h) => Some((
            h.to_owned(),
            w.hotkeypub()
                .with_context(|| format!("hotkey `{h}` of wallet `{name}`"))?,
        )),
        None => w
            .hotkeypub()
            .ok()
            .map(|k| (wallet::DEFAULT_NAME.to_owned(), k)),
    };
    if json {
        let out = serde_json::json!({
            "coldkey": coldkey.to_ss58(),
            "hotkey": selected.as_ref().map(|(_, k)| k.to_ss58()),
        });
        println!("{out}");
        return Ok(());
    }
    println!("wallet   {name}  ({})", w.dir().display());
    println!("coldkey  {coldkey}");
    match &selected {
        Some((h, k)) => println!("hotkey   {k}  ({h})"),
        None => {
            let others = w.hotkey_names()?;
            if others.is_empty() {
                println!("hotkey   none");
            } else {
                println!(
                    "hotkey   no `default` hotkey; this wallet has: {}",
                    others.join(", ")
                );
            }
        }
    }
    Ok(())
}
