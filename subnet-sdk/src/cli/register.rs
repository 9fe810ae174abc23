//! `subforge register`: registers a hotkey on a subnet by burning the registration price.

use clap::Args;
use subforge_core::{Hotkey, NetUid};

use super::GlobalOpts;
use super::chain_opts::{ChainOpts, WalletOpts};

#[derive(Debug, Args)]
pub(crate) struct RegisterArgs {
    /// The subnet.
    #[arg(long)]
    netuid: u16,
    /// Register this hotkey address instead of the wallet's hotkey (it must be unowned or
    /// owned by the wallet's coldkey).
    #[arg(long, value_name = "SS58")]
    hotkey_address: Option<Hotkey>,
    #[command(flatten)]
    wallet: WalletOpts,
    #[command(flatten)]
    chain: ChainOpts,
}

pub(crate) fn run(args: RegisterArgs, global: &GlobalOpts) -> anyhow::Result<()> {
    let rt = super::runtime()?;
    rt.block_on(async move {
        let chain = args.chain.connect().await?;
        let hotkey = match args.hotkey_address {
            Some(h) => h,
            None => args.wallet.hotkeypub(global)?,
        };
        let coldkey = args.wallet.coldkey(global)?;
        let netuid = NetUid(args.netuid);
        let burn = chain.subnet(netuid).await?.burn;
        let uid = chain.register(&coldkey, netuid, &hotkey).await?;
        println!("registered {hotkey} on subnet {netuid} as uid {uid} (burned {burn})");
        Ok(())
    })
}
