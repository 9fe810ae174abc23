//! `subforge stake …`: add, remove and show stake.

use clap::{Args, Subcommand};
use subforge_core::{Balance, Hotkey, NetUid};

use super::GlobalOpts;
use super::chain_opts::{ChainOpts, WalletOpts};

#[derive(Debug, Args)]
pub(crate) struct StakeArgs {
    #[command(subcommand)]
    command: StakeCommand,
    #[command(flatten)]
    chain: ChainOpts,
}

#[derive(Debug, Args)]
struct Target {
    /// The subnet.
    #[arg(long)]
    netuid: u16,
    /// The amount: TAO to stake; to unstake, the subnet's stake unit (TAO on the local
    /// chain, the subnet's alpha on the Bittensor chain).
    #[arg(long, value_name = "AMOUNT")]
    amount: Balance,
    /// Stake on this hotkey (a delegate) instead of the wallet's own hotkey.
    #[arg(long, value_name = "SS58")]
    hotkey_address: Option<Hotkey>,
    #[command(flatten)]
    wallet: WalletOpts,
}

#[derive(Debug, Subcommand)]
enum StakeCommand {
    /// Stake free balance from the wallet's coldkey onto a hotkey.
    Add(Target),
    /// Move stake back to the coldkey's free balance.
    Remove(Target),
    /// Show the coldkey's balance and stakes.
    Show {
        #[command(flatten)]
        wallet: WalletOpts,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(args: StakeArgs, global: &GlobalOpts) -> anyhow::Result<()> {
    let rt = super::runtime()?;
    rt.block_on(async move {
        let chain = args.chain.connect().await?;
        match args.command {
            StakeCommand::Add(t) => {
                let hotkey = match t.hotkey_address {
                    Some(h) => h,
                    None => t.wallet.hotkeypub(global)?,
                };
                let coldkey = t.wallet.coldkey(global)?;
                chain
                    .add_stake(&coldkey, &hotkey, NetUid(t.netuid), t.amount)
                    .await?;
                println!("staked {} on {hotkey} on subnet {}", t.amount, t.netuid);
            }
            StakeCommand::Remove(t) => {
                let hotkey = match t.hotkey_address {
                    Some(h) => h,
                    None => t.wallet.hotkeypub(global)?,
                };
                let coldkey = t.wallet.coldkey(global)?;
                chain
                    .remove_stake(&coldkey, &hotkey, NetUid(t.netuid), t.amount)
                    .await?;
                println!("unstaked {} from {hotkey} on subnet {}", t.amount, t.netuid);
            }
            StakeCommand::Show { wallet, json } => {
                let coldkey = wallet.coldkeypub(global)?;
                let free = chain.balance(&coldkey.0).await?;
                let stakes = chain.stakes(&coldkey).await?;
                if json {
                    let out = serde_json::json!({
                        "coldkey": coldkey,
                        "free": free.rao(),
                        "stakes": stakes,
                    });
                    println!("{}", serde_json::to_string_pretty(&out)?);
                    return Ok(());
                }
                println!("coldkey {coldkey}");
                println!("free    {free}");
                if stakes.is_empty() {
                    println!("no stake");
                }
                for s in stakes {
                    println!("  subnet {:>3}  {}  {}", s.netuid, s.hotkey, s.stake);
                }
            }
        }
        Ok(())
    })
}
