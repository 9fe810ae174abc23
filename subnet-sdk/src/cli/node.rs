//! `subforge node`: runs a local chain and serves it over JSON-RPC.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use super::GlobalOpts;
use crate::chain::local::store::DB_FILE;
use crate::chain::{Chain, DEFAULT_RPC_PORT, LocalChain};

#[derive(Debug, Args)]
pub(crate) struct NodeArgs {
    /// Create a development chain if the folder holds none: `//Alice` … `//Ferdie` funded with
    /// 1,000,000 TAO each, `//Alice` the sudo key.
    #[arg(long)]
    dev: bool,
    /// Folder of the chain's database (created if missing, resumed if present).
    #[arg(long, value_name = "DIR")]
    base_path: PathBuf,
    /// Milliseconds between blocks (12000 on the Bittensor chain).
    #[arg(long, default_value_t = 12_000, value_name = "N")]
    block_time_ms: u64,
    /// JSON-RPC port (HTTP and WebSocket).
    #[arg(long, default_value_t = DEFAULT_RPC_PORT, value_name = "P")]
    rpc_port: u16,
    /// Address to bind; 127.0.0.1 unless you mean to expose the node.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST), value_name = "IP")]
    rpc_addr: IpAddr,
}

pub(crate) fn run(args: NodeArgs, _global: &GlobalOpts) -> anyhow::Result<()> {
    if args.block_time_ms == 0 {
        bail!("--block-time-ms must be at least 1");
    }
    if !args.dev && !args.base_path.join(DB_FILE).is_file() {
        bail!(
            "{} holds no chain; pass --dev to create a development chain there",
            args.base_path.display()
        );
    }
    let rt = super::runtime()?;
    rt.block_on(async move {
        let chain = LocalChain::builder()
            .path(&args.base_path)
            .dev()
            .block_time(Duration::from_millis(args.block_time_ms))
            .open()
            .with_context(|| format!("cannot open the chain in {}", args.base_path.display()))?;
        let addr = SocketAddr::new(args.rpc_addr, args.rpc_port);
        let node = crate::chain::node::serve(chain.clone(), addr).await?;
        let info = chain.info().await?;
        println!(
            "subforge node: chain {} at block {} in {}",
            info.genesis_hash,
            info.best_block,
            args.base_path.display()
        );
        println!(
            "listening on ws://{} (and http://{})",
            node.addr(),
            node.addr()
        );
        wait_for_shutdown().await;
        node.stop();
        node.stopped().await;
        println!("stopped at block {}", chain.head().number);
        Ok(())
    })
}

async fn wait_for_shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
