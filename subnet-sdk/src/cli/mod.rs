//! The `subforge` command-line tool: a thin layer over the SDK.
//!
//! Each command group is a module with a clap `Args` struct and a `run` function. Errors reach
//! the user as one line, `error: <what went wrong>`, and a non-zero exit status.

mod chain_opts;
mod epoch;
#[cfg(feature = "gateway")]
mod gateway;
mod localnet;
mod metagraph;
mod neuron;
mod node;
mod register;
mod schema;
#[cfg(feature = "wasm")]
mod scorer;
mod stake;
mod subnet;
mod transfer;
mod wallet;
mod wallet_chain;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Build Bittensor-style subnets in Rust.
#[derive(Debug, Parser)]
#[command(name = "subforge", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalOpts,
    #[command(subcommand)]
    command: Command,
}

/// Options every command accepts.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct GlobalOpts {
    /// Folder holding the wallets [default: $BT_WALLET_PATH, else ~/.bittensor/wallets].
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) wallet_path: Option<PathBuf>,
    /// Log lines as readable text or as JSON (one object per line); `RUST_LOG` filters them.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per event.
    Json,
}

/// Logs to stderr: `RUST_LOG` if set, else Subforge's own events at `info` (`warn` for the
/// localnet, whose progress bar and report say what happens) and others' at `warn`.
fn init_logging(format: LogFormat, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if quiet {
        "warn"
    } else {
        "warn,subforge_sdk=info,subforge=info"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.compact().try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a whole subnet on this machine: chain, miners and validators in one process.
    Localnet(localnet::LocalnetArgs),
    /// Run a miner: serve a subnet's tasks on an axon.
    Miner(neuron::MinerArgs),
    /// Run a validator: query miners, score them and set weights.
    Validator(neuron::ValidatorArgs),
    /// Serve a subnet's miners as an HTTP API: OpenAI completions, tasks as JSON, metrics.
    #[cfg(feature = "gateway")]
    Gateway(gateway::GatewayArgs),
    /// Create, restore, list and show wallets (coldkeys and hotkeys).
    Wallet(wallet::WalletArgs),
    /// Run a local chain and serve it over JSON-RPC (HTTP and WebSocket).
    Node(node::NodeArgs),
    /// Create and list subnets; read and set hyperparameters.
    Subnet(subnet::SubnetArgs),
    /// Register a hotkey on a subnet by burning the registration price.
    Register(register::RegisterArgs),
    /// Add, remove and show stake.
    Stake(stake::StakeArgs),
    /// Send free balance to another account.
    Transfer(transfer::TransferArgs),
    /// Show a subnet's metagraph.
    Metagraph(metagraph::MetagraphArgs),
    /// Print a task's JSON Schema.
    Schema(schema::SchemaArgs),
    /// Run Yuma Consensus epochs offline (`epoch simulate --scenario FILE`).
    Epoch(epoch::EpochArgs),
    /// Inspect and run sandboxed WASM scoring modules.
    #[cfg(feature = "wasm")]
    Scorer(scorer::ScorerArgs),
}

/// Runs the `subforge` tool with the process's arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(
        cli.global.log_format,
        matches!(cli.command, Command::Localnet(_)),
    );
    let result = match cli.command {
        Command::Localnet(args) => localnet::run(args, &cli.global),
        Command::Miner(args) => neuron::run_miner(args, &cli.global),
        Command::Validator(args) => neuron::run_validator(args, &cli.global),
        #[cfg(feature = "gateway")]
        Command::Gateway(args) => gateway::run(args, &cli.global),
        Command::Schema(args) => schema::run(args, &cli.global),
        Command::Wallet(args) => wallet::run(args, &cli.global),
        Command::Node(args) => node::run(args, &cli.global),
        Command::Subnet(args) => subnet::run(args, &cli.global),
        Command::Register(args) => register::run(args, &cli.global),
        Command::Stake(args) => stake::run(args, &cli.global),
        Command::Transfer(args) => transfer::run(args, &cli.global),
        Command::Metagraph(args) => metagraph::run(args, &cli.global),
        Command::Epoch(args) => epoch::run(args, &cli.global),
        #[cfg(feature = "wasm")]
        Command::Scorer(args) => scorer::run(args, &cli.global),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A multi-threaded tokio runtime for commands that need async.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))
}
