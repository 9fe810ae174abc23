//! `subforge gateway`: the OpenAI-style HTTP API over a subnet's miners, as a process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use clap::builder::TypedValueParser;
use subforge_core::{Hotkey, NetUid};

use super::GlobalOpts;
use super::chain_opts::{ChainOpts, WalletOpts};
use crate::gateway::limits::{ApiKeys, KeyLimits};
use crate::gateway::{self, GatewayConfig};
use crate::neuron::shutdown_signal;
use crate::registry::Registry;

/// Serve a subnet's miners over HTTP: OpenAI chat and text completions, every task as JSON,
/// OpenAPI, health and Prometheus metrics. Requests are signed with the wallet's hotkey, which
/// must be registered on the subnet (miners refuse unregistered callers).
#[derive(Debug, Args)]
pub(crate) struct GatewayArgs {
    /// The subnet kind (see `subforge subnet kinds`).
    #[arg(long, env = "SUBFORGE_SUBNET")]
    subnet: String,
    /// The subnet's netuid on the chain.
    #[arg(long, env = "SUBFORGE_NETUID")]
    netuid: u16,
    #[command(flatten)]
    chain: ChainOpts,
    #[command(flatten)]
    wallet: WalletOpts,
    /// Where to listen.
    #[arg(
        long,
        env = "SUBFORGE_GATEWAY_BIND",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    bind: SocketAddr,
    /// API keys, one per line (`key` or `name key`; `#` starts a comment line).
    #[arg(long, value_name = "FILE", conflicts_with = "keys_env")]
    keys_file: Option<PathBuf>,
    /// API keys from this environment variable, comma-separated.
    #[arg(long, value_name = "VAR")]
    keys_env: Option<String>,
    /// Serve without API keys on an address other hosts can reach.
    #[arg(long, conflicts_with_all = ["keys_file", "keys_env"])]
    no_auth: bool,
    /// Requests per second each key may make (0: no rate limit).
    #[arg(long, default_value_t = KeyLimits::default().requests_per_second, value_name = "N")]
    rps: f64,
    /// Requests a key may make at once above its rate.
    #[arg(long, default_value_t = KeyLimits::default().burst, value_name = "N")]
    burst: u32,
    /// Requests of one key in flight at once.
    #[arg(long, default_value_t = KeyLimits::default().max_concurrent, value_name = "N")]
    concurrency: u32,
    /// Miners asked at once for each query.
    #[arg(long, default_value_t = GatewayConfig::default().miners_per_query, value_name = "K",
          value_parser = clap::value_parser!(u16).range(1..=64).map(usize::from))]
    miners_per_query: usize,
    /// How long a query may take in all, retries included, in milliseconds [default: the
    /// task's timeout].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: Option<u64>,
    /// When the subnet picks the best of several answers: how long after the first good
    /// answer the others may still arrive, in milliseconds.
    #[arg(long, default_value_t = 200, value_name = "MS")]
    best_of_wait_ms: u64,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = GatewayConfig::default().max_body_bytes, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1..=(1 << 30)).map(|v| v as usize))]
    max_body_bytes: usize,
    /// Connections open at once; more are closed as they arrive.
    #[arg(long, default_value_t = GatewayConfig::default().max_connections, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..).map(|v| v as usize))]
    max_connections: usize,
    /// Wire convention to ask miners in: `synapse`, `btauth` or `epistula`.
    #[arg(long, default_value = "synapse")]
    wire: String,
}

pub(crate) fn run(
    args: GatewayArgs,
    global: &GlobalOpts,
    registry: &Registry,
) -> anyhow::Result<()> {
    let kind = registry.get(&args.subnet)?;
    let netuid = NetUid(args.netuid);
    let keys = match (&args.keys_file, &args.keys_env) {
        (Some(path), _) => ApiKeys::from_file(path)?,
        (None, Some(var)) => ApiKeys::from_env(var)?,
        (None, None) => {
            if !args.bind.ip().is_loopback() && !args.no_auth {
                bail!(
                    "--bind {}: other hosts could call without a key; pass --keys-file FILE or \
                     --keys-env VAR (or --no-auth to serve anyone)",
                    args.bind
                );
            }
            ApiKeys::open()
        }
    };
    let config = GatewayConfig {
        bind: args.bind,
        miners_per_query: args.miners_per_query,
        timeout: args.timeout_ms.map(Duration::from_millis),
        best_of_wait: Duration::from_millis(args.best_of_wait_ms),
        max_body_bytes: args.max_body_bytes,
        max_connections: args.max_connections,
        keys,
        limits: KeyLimits {
            requests_per_second: args.rps,
            burst: args.burst,
            max_concurrent: args.concurrency,
        },
        wire: super::neuron::parse_wire(&args.wire)?,
    };
    config.limits.validate()?;
    let wallet = args.wallet.wallet(global)?;
    let hotkey = wallet.hotkey_unlocked().with_context(|| {
        format!(
            "hotkey `{}` of wallet `{}`",
            wallet.hotkey_name(),
            wallet.name()
        )
    })?;

    super::runtime()?.block_on(async move {
        let chain = args.chain.connect().await?;
        let me = Hotkey(hotkey.public());
        let keyed = !config.keys.is_open();
        let running = gateway::serve(kind, chain.clone(), netuid, hotkey, config).await?;
        let registered = chain
            .registrations(&me)
            .await?
            .iter()
            .any(|(n, _)| *n == netuid);
        if !registered {
            eprintln!(
                "warning: hotkey {me} holds no uid on netuid {netuid}; miners refuse unregistered \
                 callers (register it with `subforge register --netuid {netuid}`)"
            );
        }
        println!(
            "gateway for netuid {netuid} ({}) at http://{} ({}); OpenAI base URL {}; Ctrl-C stops it",
            kind.name(),
            running.local_addr(),
            if keyed { "API keys required" } else { "no API keys" },
            running.openai_base_url(),
        );
        shutdown_signal().await;
        running.shutdown().await;
        println!("gateway stopped");
        Ok(())
    })
}
