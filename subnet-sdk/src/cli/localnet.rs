//! `subforge localnet`: a whole subnet on this machine, in one command.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;

use super::GlobalOpts;
use crate::localnet::{Localnet, LocalnetConfig, Progress, Report, Role};
use crate::neuron::shutdown_signal;
use crate::registry::{MinerSpec, Registry};

/// Start the embedded chain with fast blocks, create a subnet, register miners of different
/// quality and validators (native and WASM scoring), run some tempos and show who earned what.
#[derive(Debug, Args)]
pub(crate) struct LocalnetArgs {
    /// The subnet kind to run (see `subforge subnet kinds`) [default: the only one linked
    /// into this program, else `text`].
    #[arg(long)]
    subnet: Option<String>,
    /// Miners, in the line-up the subnet chooses (for `text`: falling quality, the last
    /// answering junk).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=200))]
    miners: u16,
    /// Run these miner models instead, one miner each (repeat the flag; see
    /// `subforge subnet kinds`).
    #[arg(long = "model", value_name = "MODEL", conflicts_with = "miners")]
    models: Vec<String>,
    /// Validators, alternating native and WASM scoring.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    validators: u16,
    /// Tempos (epochs) to run before showing the result.
    #[arg(long, default_value_t = 10)]
    tempos: u64,
    /// Blocks per tempo.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(2..))]
    tempo: u16,
    /// Milliseconds between blocks.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    block_time_ms: u64,
    /// Keep the chain, wallets and validator state here (resumed on the next run); in memory
    /// otherwise.
    #[arg(long, value_name = "DIR")]
    base_path: Option<PathBuf>,
    /// After the report, keep everything running until Ctrl-C.
    #[arg(long)]
    keep_running: bool,
    /// Also serve the chain over JSON-RPC on 127.0.0.1:PORT, so other processes can join.
    #[arg(long, value_name = "PORT")]
    rpc_port: Option<u16>,
    /// Serve a live dashboard (plots of incentive, dividends, emission and trust, the
    /// emission curve, integrity findings) on 127.0.0.1:PORT.
    #[arg(long, value_name = "PORT")]
    dashboard: Option<u16>,
    /// Also serve the subnet's miners as an HTTP API (OpenAI completions, tasks as JSON) on
    /// 127.0.0.1:PORT, signed with the first validator's hotkey; no API keys.
    #[cfg(feature = "gateway")]
    #[arg(long, value_name = "PORT")]
    gateway: Option<u16>,
    /// Fix the validators' challenge seed, for reproducible runs.
    #[arg(long)]
    seed: Option<u64>,
    /// Set weights directly instead of through commit-reveal.
    #[arg(long)]
    no_commit_reveal: bool,
    /// Validators write signed transcripts of every step under
    /// BASE/validators/validatorN/transcripts (needs --base-path); `subforge audit` checks them.
    #[arg(long)]
    transcripts: bool,
    /// Print the final report as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(
    args: LocalnetArgs,
    _global: &GlobalOpts,
    registry: &Registry,
) -> anyhow::Result<()> {
    if args.tempos == 0 && !args.keep_running {
        bail!("--tempos 0 without --keep-running would stop at once");
    }
    let name = match (&args.subnet, registry.names().as_slice()) {
        (Some(name), _) => name.clone(),
        (None, [only]) => (*only).to_owned(),
        (None, _) => "text".to_owned(),
    };
    let kind = registry.get(&name)?;
    let mut config = LocalnetConfig::new(kind, args.miners.into(), args.validators.into());
    if !args.models.is_empty() {
        config.miners = args.models.iter().map(MinerSpec::model).collect();
    }
    config.tempo = args.tempo;
    config.block_time = Duration::from_millis(args.block_time_ms);
    config.base_path = args.base_path.clone();
    config.seed = args.seed;
    config.commit_reveal = !args.no_commit_reveal;
    if args.transcripts && args.base_path.is_none() {
        bail!("--transcripts needs --base-path DIR, where the transcripts stay");
    }
    config.transcripts = args.transcripts;
    let quiet = args.json;

    super::runtime()?.block_on(async move {
        let started = Instant::now();
        let say = |line: &str| {
            if !quiet {
                println!("{line}");
            }
        };
        let mut net = Localnet::start(registry, &config, say).await?;
        let _node = match args.rpc_port {
            Some(port) => {
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                let node = crate::chain::node::serve(net.chain().clone(), addr).await?;
                say(&format!("chain served at {} (JSON-RPC)", node.ws_url()));
                Some(node)
            }
            None => None,
        };
        #[cfg(feature = "gateway")]
        let _gateway = match args.gateway {
            Some(port) => {
                let hotkey = net
                    .validator_hotkey(0)
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("--gateway needs a validator's hotkey"))?;
                let config = crate::gateway::GatewayConfig {
                    bind: SocketAddr::from(([127, 0, 0, 1], port)),
                    ..crate::gateway::GatewayConfig::default()
                };
                let chain: std::sync::Arc<dyn crate::chain::Chain> =
                    std::sync::Arc::new(net.chain().clone());
                let gateway =
                    crate::gateway::serve(kind, chain, net.netuid(), hotkey, config).await?;
                say(&format!(
                    "gateway at http://{} (OpenAI base URL {})",
                    gateway.local_addr(),
                    gateway.openai_base_url()
                ));
                Some(gateway)
            }
            None => None,
        };

        let (stop_dashboard, dashboard_stopped) = tokio::sync::oneshot::channel::<()>();
        if let Some(port) = args.dashboard {
            let chain: std::sync::Arc<dyn crate::chain::Chain> =
                std::sync::Arc::new(net.chain().clone());
            let config = crate::dashboard::DashboardConfig {
                bind: SocketAddr::from(([127, 0, 0, 1], port)),
                transcripts: match (&args.base_path, args.transcripts) {
                    (Some(base), true) => (0..config.validators.len())
                        .map(|i| base.join(format!("validators/validator{i}/transcripts")))
                        .collect(),
                    _ => Vec::new(),
                },
                ..crate::dashboard::DashboardConfig::default()
            };
            let (addr, _) = crate::dashboard::serve(chain, net.netuid(), config, async move {
                let _ = dashboard_stopped.await;
            })
            .await
            .with_context(|| format!("cannot serve the dashboard on port {port}"))?;
            say(&format!("dashboard at http://{addr}/"));
        }

        let mut shutdown = std::pin::pin!(shutdown_signal());
        let mut bar = ProgressBar::new(quiet);
        let finished = tokio::select! {
            r = net.run_epochs(args.tempos, |p| bar.show(p)) => { bar.done(); r.map(|()| true) }
            () = &mut shutdown => { bar.done(); Ok(false) }
        };
        let completed = match finished {
            Ok(completed) => completed,
            Err(e) => {
                let _ = net.shutdown().await;
                return Err(e.into());
            }
        };
        let report = net.report().await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_report(&report, started.elapsed());
        }
        if completed && args.keep_running {
            say("still running; Ctrl-C stops everything");
            shutdown.await;
        }
        let _ = stop_dashboard.send(());
        net.shutdown().await?;
        say("stopped cleanly");
        Ok(())
    })
}

fn print_report(report: &Report, elapsed: Duration) {
    println!();
    println!(
        "netuid {} after {} epochs (block {}, {:.0} s):",
        report.netuid,
        report.epochs,
        report.block,
        elapsed.as_secs_f64()
    );
    println!(
        "{:>4}  {:<20}  {:>18}  {:>16}  {:>9}  {:>9}  {:>16}  {:>6}",
        "uid", "role", "stake", "earned", "incentive", "dividends", "emission", "vtrust"
    );
    for r in &report.rows {
        let role = match &r.role {
            Role::Owner => "owner".to_owned(),
            Role::Miner(m) => format!("miner {m}"),
            Role::Validator(v) => format!("validator {v}"),
        };
        println!(
            "{:>4}  {:<20}  {:>18}  {:>16}  {:>9.4}  {:>9.4}  {:>16}  {:>6.3}",
            r.uid,
            role,
            r.stake.to_string(),
            r.earned.to_string(),
            r.incentive,
            r.dividends,
            r.emission.to_string(),
            r.validator_trust
        );
    }
    println!();
    println!(
        "minted {}; paid out or pending {}",
        report.minted, report.distributed
    );
    println!("verdict: {}", report.verdict);
}

/// A one-line progress bar on a terminal, or a line per epoch otherwise.
struct ProgressBar {
    quiet: bool,
    tty: bool,
    last_epochs: Option<u64>,
}

impl ProgressBar {
    fn new(quiet: bool) -> Self {
        Self {
            quiet,
            tty: std::io::stderr().is_terminal(),
            last_epochs: None,
        }
    }

    fn show(&mut self, p: Progress) {
        if self.quiet {
            return;
        }
        const WIDTH: u64 = 30;
        if self.tty {
            let filled = (p.epochs * WIDTH)
                .checked_div(p.target)
                .unwrap_or(WIDTH)
                .min(WIDTH);
            let bar: String = (0..WIDTH)
                .map(|i| if i < filled { '#' } else { '.' })
                .collect();
            eprint!(
                "\r[{bar}] epoch {}/{}  block {}   ",
                p.epochs, p.target, p.block
            );
            let _ = std::io::stderr().flush();
        } else if self.last_epochs != Some(p.epochs) {
            eprintln!("epoch {}/{} at block {}", p.epochs, p.target, p.block);
        }
        self.last_epochs = Some(p.epochs);
    }

    fn done(&mut self) {
        if self.tty && !self.quiet && self.last_epochs.is_some() {
            eprintln!();
        }
    }
}
