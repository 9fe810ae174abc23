//! Options shared by the commands that talk to a chain: which chain, and which wallet signs.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::Args;
use subforge_core::identity::Keypair;
use subforge_core::{Coldkey, Hotkey};
use zeroize::Zeroizing;

use super::GlobalOpts;
use crate::chain::{Chain, ChainTarget};
use crate::wallet::{self, Wallet, WalletError};

/// Which chain a command talks to.
#[derive(Debug, Clone, Args)]
pub(crate) struct ChainOpts {
    /// The chain: `finney`, `test` or `archive` (the Bittensor networks), `local` (a node on
    /// 127.0.0.1:9944: `subforge node` or a subtensor node), `ws://HOST:PORT` or
    /// `wss://HOST:PORT` of any node (several, comma-separated, are tried in turn), or
    /// `local:DIR` to open a local chain folder directly (each extrinsic then makes a block).
    #[arg(
        long,
        global = true,
        env = crate::chain::ENV_CHAIN,
        default_value = "local",
        value_name = "CHAIN"
    )]
    pub(crate) chain: String,
}

impl ChainOpts {
    /// The chain named by `--chain` (parsed here, not by the argument parser, so a bad name is
    /// one line of error like every other).
    pub(crate) fn target(&self) -> anyhow::Result<ChainTarget> {
        Ok(self.chain.parse()?)
    }

    /// Connects to the chain.
    pub(crate) async fn connect(&self) -> anyhow::Result<Arc<dyn Chain>> {
        let target = self.target()?;
        crate::chain::connect(&target)
            .await
            .map_err(|e| match &target {
                ChainTarget::Folder(dir) => anyhow!(
                    "cannot open the chain in {}: {e} (if `subforge node` is running on it, pass \
                 --chain ws://127.0.0.1:9944 instead)",
                    dir.display()
                ),
                target => anyhow!("cannot reach the chain {target}: {e}"),
            })
    }
}

/// Which wallet signs.
#[derive(Debug, Clone, Args)]
pub(crate) struct WalletOpts {
    /// Wallet name.
    #[arg(long, env = wallet::ENV_WALLET_NAME, default_value = wallet::DEFAULT_NAME)]
    pub(crate) name: String,
    /// Hotkey name.
    #[arg(long, env = wallet::ENV_WALLET_HOTKEY, default_value = wallet::DEFAULT_NAME)]
    pub(crate) hotkey: String,
    /// Read the coldkey password from this environment variable instead of prompting.
    #[arg(long, value_name = "VAR")]
    pub(crate) password_env: Option<String>,
}

impl WalletOpts {
    pub(crate) fn wallet(&self, global: &GlobalOpts) -> anyhow::Result<Wallet> {
        Ok(Wallet::resolve(
            global.wallet_path.as_deref(),
            Some(&self.name),
            Some(&self.hotkey),
        )?)
    }

    /// The coldkey keypair, decrypted with the password from `--password-env` or a prompt.
    pub(crate) fn coldkey(&self, global: &GlobalOpts) -> anyhow::Result<Keypair> {
        let w = self.wallet(global)?;
        let var = self.password_env.clone();
        let path = w.coldkey_path();
        let mut source = move || -> Result<Zeroizing<String>, WalletError> {
            if let Some(var) = &var {
                return std::env::var(var).map(Zeroizing::new).map_err(|_| {
                    WalletError::PasswordRequired {
                        path: path.clone(),
                        reason: format!("environment variable {var} is not set"),
                    }
                });
            }
            if !std::io::stdin().is_terminal() {
                return Err(WalletError::PasswordRequired {
                    path: path.clone(),
                    reason: "no terminal to ask on; pass --password-env VAR".into(),
                });
            }
            rpassword::prompt_password("Coldkey password: ")
                .map(Zeroizing::new)
                .map_err(|e| WalletError::PasswordRequired {
                    path: path.clone(),
                    reason: e.to_string(),
                })
        };
        w.coldkey(&mut source)
            .with_context(|| format!("coldkey of wallet `{}`", w.name()))
    }

    /// The coldkey's public key (no password needed).
    pub(crate) fn coldkeypub(&self, global: &GlobalOpts) -> anyhow::Result<Coldkey> {
        let w = self.wallet(global)?;
        w.coldkeypub()
            .with_context(|| format!("coldkey of wallet `{}`", w.name()))
    }

    /// The selected hotkey's public key.
    pub(crate) fn hotkeypub(&self, global: &GlobalOpts) -> anyhow::Result<Hotkey> {
        let w = self.wallet(global)?;
        w.hotkeypub()
            .with_context(|| format!("hotkey `{}` of wallet `{}`", w.hotkey_name(), w.name()))
    }
}
