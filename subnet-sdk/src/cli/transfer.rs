//! `subforge transfer`: sends free balance to another account.

use clap::Args;
use subforge_core::Balance;
use subforge_core::identity::AccountId;

use super::GlobalOpts;
use super::chain_opts::{ChainOpts, WalletOpts};

#[derive(Debug, Args)]
pub(crate) struct TransferArgs {
    /// The recipient's SS58 address.
    #[arg(long, value_name = "SS58")]
    dest: AccountId,
    /// The amount in TAO, e.g. `1.5`.
    #[arg(long, value_name = "TAO")]
    amount: Balance,
    #[command(flatten)]
    wallet: WalletOpts,
    #[command(flatten)]
    chain: ChainOpts,
}

pub(crate) fn run(args: TransferArgs, global: &GlobalOpts) -> anyhow::Result<()> {
    let rt = super::runtime()?;
    rt.block_on(async move {
        let chain = args.chain.connect().await?;
        let coldkey = args.wallet.coldkey(global)?;
        let receipt = chain.transfer(&coldkey, &args.dest, args.amount).await?;
        let left = chain.balance(&coldkey.public()).await?;
        println!(
            "sent {} to {} in block {}; balance now {left}",
            args.amount, args.dest, receipt.block
        );
        Ok(())
    })
}
