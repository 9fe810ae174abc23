//! `subforge dashboard`: the live dashboard of any chain's subnet.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use subforge_core::NetUid;

use super::GlobalOpts;
use super::chain_opts::ChainOpts;
use crate::dashboard::{DashboardConfig, serve};
use crate::neuron::shutdown_signal;

/// `subforge dashboard`.
#[derive(Debug, Args)]
pub(crate) struct DashboardArgs {
    /// The subnet.
    #[arg(long)]
    netuid: u16,
    /// Where to serve the page.
    #[arg(long, default_value = "127.0.0.1:8300", value_name = "ADDR")]
    bind: SocketAddr,
    /// Epochs kept in the plots.
    #[arg(long, default_value_t = 256, value_name = "N")]
    history: usize,
    /// Past epochs to plot at the start, where the chain keeps past state (a subtensor archive
    /// node; a full node for its recent blocks). 0 starts from now.
    #[arg(long, default_value_t = 32, value_name = "N")]
    backfill: usize,
    /// Validator transcript folders to look for miners answering alike.
    #[arg(long, value_name = "DIR")]
    transcripts: Vec<PathBuf>,
    #[command(flatten)]
    chain: ChainOpts,
}

pub(crate) fn run(args: DashboardArgs, _global: &GlobalOpts) -> anyhow::Result<()> {
    if args.history == 0 {
        bail!("--history 0 would plot nothing");
    }
    if !args.bind.ip().is_loopback() {
        eprintln!(
            "warning: the dashboard on {} is open to other hosts (it has no keys)",
            args.bind
        );
    }
    super::runtime()?.block_on(async move {
        let chain = args.chain.connect().await?;
        let netuid = NetUid(args.netuid);
        chain
            .metagraph(netuid)
            .await
            .with_context(|| format!("cannot follow subnet {netuid}"))?;
        let config = DashboardConfig {
            bind: args.bind,
            history: args.history,
            transcripts: args.transcripts,
            backfill: args.backfill,
            ..DashboardConfig::default()
        };
        let (addr, task) = serve(chain, netuid, config, shutdown_signal())
            .await
            .with_context(|| format!("cannot serve the dashboard on {}", args.bind))?;
        println!("dashboard of subnet {netuid} at http://{addr}/; Ctrl-C stops it");
        let _ = task.await;
        Ok(())
    })
}
