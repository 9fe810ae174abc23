//! `subforge metagraph`: a subnet's neurons as a table, or JSON.

use clap::Args;
use subforge_core::NetUid;

use super::GlobalOpts;
use super::chain_opts::ChainOpts;

#[derive(Debug, Args)]
pub(crate) struct MetagraphArgs {
    /// The subnet.
    #[arg(long)]
    netuid: u16,
    /// Print the full metagraph as JSON (weights and bonds included).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    chain: ChainOpts,
}

pub(crate) fn run(args: MetagraphArgs, _global: &GlobalOpts) -> anyhow::Result<()> {
    let rt = super::runtime()?;
    rt.block_on(async move {
        let chain = args.chain.connect().await?;
        let m = chain.metagraph(NetUid(args.netuid)).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&m)?);
            return Ok(());
        }
        println!(
            "subnet {}  block {}  neurons {}/{}  tempo {}  last epoch {}",
            m.netuid,
            m.block,
            m.n(),
            m.hyperparameters.max_allowed_uids,
            m.tempo,
            m.last_step
        );
        println!(
            "{:>4}  {:<48}  {:>20}  {:>7}  {:>7}  {:>7}  {:>7}  {:>6}  {:>16}  axon",
            "uid", "hotkey", "stake", "incent", "divs", "cons", "vtrust", "permit", "emission"
        );
        for n in m.neurons() {
            let axon = if n.axon.is_serving() {
                n.axon.socket_addr().to_string()
            } else {
                "-".to_owned()
            };
            println!(
                "{:>4}  {:<48}  {:>20}  {:>7}  {:>7}  {:>7}  {:>7}  {:>6}  {:>16}  {axon}",
                n.uid,
                n.hotkey.to_string(),
                n.stake.to_string(),
                n.incentive.to_string(),
                n.dividends.to_string(),
                n.consensus.to_string(),
                n.validator_trust.to_string(),
                if n.validator_permit { "yes" } else { "no" },
                n.emission.to_string(),
            );
        }
        Ok(())
    })
}
