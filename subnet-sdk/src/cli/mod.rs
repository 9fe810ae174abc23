//! The `subforge` command-line tool: a thin layer over the SDK.
//!
//! A binary names the subnets it runs with [`App`]:
//!
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     subforge_sdk::cli::App::new().subnet(&my_subnet::MySubnet).run()
//! }
//! ```
//!
//! ([`main`] runs the tool with the subnets linked in through `inventory` instead.) Each
//! command group is a module with a clap `Args` struct and a `run` function. Errors reach the
//! user as one line, `error: <what went wrong>`, and a non-zero exit status.

#[cfg(feature = "wasm")]
mod audit;
mod chain_opts;
mod dashboard;
mod epoch;
#[cfg(feature = "gateway")]
mod gateway;
mod integrity;
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

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::registry::{Registry, SubnetKind};

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
    /// Check validator transcripts: signatures, and scores and weights re-derived bit for bit.
    #[cfg(feature = "wasm")]
    Audit(audit::AuditArgs),
    /// Look for weight copying, what a cabal could do, and miners answering alike.
    Integrity(integrity::IntegrityArgs),
    /// Serve a live dashboard of a subnet: plots over epochs, the emission curve, findings.
    Dashboard(dashboard::DashboardArgs),
}

/// The `subforge` tool with the subnets a binary runs.
#[derive(Debug, Clone, Default)]
pub struct App {
    registry: Registry,
}

impl App {
    /// The tool with no subnet yet (chain, wallet and scorer commands work without one).
    pub fn new() -> Self {
        Self::default()
    }

    /// The tool with every subnet registered through `inventory` in the linked crates.
    pub fn linked() -> Self {
        Self {
            registry: Registry::linked(),
        }
    }

    /// Adds a subnet (one of the same name is replaced).
    #[must_use]
    pub fn subnet(mut self, subnet: &'static dyn SubnetKind) -> Self {
        self.registry = self.registry.with(subnet);
        self
    }

    /// The subnets.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Runs the tool with the process's arguments.
    pub fn run(self) -> ExitCode {
        self.run_from(std::env::args_os())
    }

    /// Runs the tool with `args` (the first being the program's name).
    pub fn run_from<I, A>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = A>,
        A: Into<std::ffi::OsString> + Clone,
    {
        let registry = self.registry;
        let help = neuron::miner_help(&registry);
        let command = Cli::command().mut_subcommand("miner", |c| c.after_help(help));
        let cli = match command
            .try_get_matches_from(args)
            .and_then(|m| Cli::from_arg_matches(&m))
        {
            Ok(cli) => cli,
            Err(e) => e.exit(),
        };
        init_logging(
            cli.global.log_format,
            matches!(cli.command, Command::Localnet(_)),
        );
        let global = &cli.global;
        let result = match cli.command {
            Command::Localnet(args) => localnet::run(args, global, &registry),
            Command::Miner(args) => neuron::run_miner(args, global, &registry),
            Command::Validator(args) => neuron::run_validator(args, global, &registry),
            #[cfg(feature = "gateway")]
            Command::Gateway(args) => gateway::run(args, global, &registry),
            Command::Schema(args) => schema::run(args, global, &registry),
            Command::Wallet(args) => wallet::run(args, global),
            Command::Node(args) => node::run(args, global),
            Command::Subnet(args) => subnet::run(args, global, &registry),
            Command::Register(args) => register::run(args, global),
            Command::Stake(args) => stake::run(args, global),
            Command::Transfer(args) => transfer::run(args, global),
            Command::Metagraph(args) => metagraph::run(args, global),
            Command::Epoch(args) => epoch::run(args, global),
            #[cfg(feature = "wasm")]
            Command::Scorer(args) => scorer::run(args, global),
            #[cfg(feature = "wasm")]
            Command::Audit(args) => audit::run(args, global, &registry),
            Command::Integrity(args) => integrity::run(args, global),
            Command::Dashboard(args) => dashboard::run(args, global),
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    }
}

/// Runs the `subforge` tool with the process's arguments and the subnets linked in through
/// `inventory` (see [`App`] to name them instead).
pub fn main() -> ExitCode {
    App::linked().run()
}

/// A multi-threaded tokio runtime for commands that need async.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))
}
