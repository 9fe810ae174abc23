//! `subforge miner` and `subforge validator`: the neuron runtimes as processes, configured from
//! flags, environment variables and an optional TOML file (flags win, then the environment,
//! then the file, then the defaults).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use serde::Deserialize;
use subforge_core::NetUid;

use super::GlobalOpts;
use super::chain_opts::{ChainOpts, WalletOpts};
use crate::net::Wire;
use crate::neuron::{Miner, MinerConfig, ValidatorConfig, shutdown_signal};
use crate::registry::{MinerSpec, Registry, ScorerChoice};

/// Options both neurons take.
#[derive(Debug, Args)]
pub(crate) struct NeuronOpts {
    /// The subnet kind to run (see `subforge subnet kinds`).
    #[arg(long, env = "SUBFORGE_SUBNET")]
    subnet: Option<String>,
    /// The subnet's netuid on the chain.
    #[arg(long, env = "SUBFORGE_NETUID")]
    netuid: Option<u16>,
    /// A TOML file with any of these settings (flags and environment take precedence).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    chain: ChainOpts,
    #[command(flatten)]
    wallet: WalletOpts,
}

/// Settings a TOML file may hold, for both neurons. Unknown keys are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    subnet: Option<String>,
    netuid: Option<u16>,
    // Miner.
    bind: Option<SocketAddr>,
    external_ip: Option<IpAddr>,
    external_port: Option<u16>,
    register: Option<bool>,
    model: Option<String>,
    llm_endpoint: Option<String>,
    llm_model: Option<String>,
    llm_api: Option<String>,
    llm_api_key_env: Option<String>,
    // Validator.
    base_path: Option<PathBuf>,
    scorer: Option<String>,
    wasm_scorer: Option<PathBuf>,
    sample_size: Option<usize>,
    timeout_ms: Option<u64>,
    moving_average_alpha: Option<f64>,
    weights_interval: Option<u64>,
    version_key: Option<u64>,
    wire: Option<String>,
    seed: Option<u64>,
}

fn read_config(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    let Some(path) = path else {
        return Ok(FileConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    // One line, as every error of the tool: the file, the line and what is wrong there.
    toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|span| {
            text.as_bytes()[..span.start.min(text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1
        });
        match line {
            Some(line) => anyhow!(
                "config file {} line {line}: {}",
                path.display(),
                e.message()
            ),
            None => anyhow!("config file {}: {}", path.display(), e.message()),
        }
    })
}

impl NeuronOpts {
    fn subnet_and_netuid(&self, file: &FileConfig) -> anyhow::Result<(String, NetUid)> {
        let subnet = self
            .subnet
            .clone()
            .or_else(|| file.subnet.clone())
            .context("which subnet? pass --subnet NAME (see `subforge subnet kinds`)")?;
        let netuid = self
            .netuid
            .or(file.netuid)
            .context("which netuid? pass --netuid N (see `subforge subnet list`)")?;
        Ok((subnet, NetUid(netuid)))
    }
}

/// `subforge miner`.
#[derive(Debug, Args)]
pub(crate) struct MinerArgs {
    #[command(flatten)]
    neuron: NeuronOpts,
    /// Where the axon listens [default: 0.0.0.0:8091].
    #[arg(long, env = "BT_AXON_BIND", value_name = "ADDR")]
    bind: Option<SocketAddr>,
    /// The IP to publish on chain [default: the bind IP if it is specific]. Never looked up.
    #[arg(long, env = "BT_AXON_EXTERNAL_IP", value_name = "IP")]
    external_ip: Option<IpAddr>,
    /// The port to publish on chain [default: the bound port].
    #[arg(long, env = "BT_AXON_EXTERNAL_PORT", value_name = "PORT")]
    external_port: Option<u16>,
    /// Register the hotkey (burning from the coldkey) if it holds no uid.
    #[arg(long)]
    register: bool,
    /// The subnet's built-in model to run (see `subforge subnet kinds`).
    #[arg(long)]
    model: Option<String>,
    /// An OpenAI-compatible endpoint to forward tasks to, e.g. http://127.0.0.1:8000/v1.
    #[arg(long, value_name = "URL")]
    llm_endpoint: Option<String>,
    /// The model name to ask the endpoint for.
    #[arg(long, value_name = "NAME")]
    llm_model: Option<String>,
    /// The endpoint's API: `completions` or `chat`.
    #[arg(long, value_name = "API")]
    llm_api: Option<String>,
    /// Read the endpoint's API key from this environment variable.
    #[arg(long, value_name = "VAR")]
    llm_api_key_env: Option<String>,
}

/// `subforge validator`.
#[derive(Debug, Args)]
pub(crate) struct ValidatorArgs {
    #[command(flatten)]
    neuron: NeuronOpts,
    /// Where the validator keeps its state [default: ~/.subforge/validators/<netuid>/<hotkey>].
    #[arg(long, value_name = "DIR")]
    base_path: Option<PathBuf>,
    /// `native`, or `wasm` for the subnet's sandboxed scoring module.
    #[arg(long, value_name = "HOW")]
    scorer: Option<String>,
    /// Score with this WASM module instead of the subnet's own (implies `--scorer wasm`).
    #[arg(long, value_name = "FILE")]
    wasm_scorer: Option<PathBuf>,
    /// Miners queried per step [default: 16].
    #[arg(long)]
    sample_size: Option<usize>,
    /// How long to wait for answers, in milliseconds [default: the task's timeout].
    #[arg(long, value_name = "MS")]
    timeout_ms: Option<u64>,
    /// Weight of a new score in the moving average [default: 0.1].
    #[arg(long, value_name = "ALPHA")]
    moving_average_alpha: Option<f64>,
    /// Blocks between weight settings [default: the subnet's tempo].
    #[arg(long, value_name = "BLOCKS")]
    weights_interval: Option<u64>,
    /// Version key sent with weights [default: 0].
    #[arg(long)]
    version_key: Option<u64>,
    /// Wire convention to query in: `synapse`, `btauth` or `epistula` [default: synapse].
    #[arg(long)]
    wire: Option<String>,
    /// Fix the challenge seed, for reproducible runs.
    #[arg(long)]
    seed: Option<u64>,
}

/// A `--wire` value.
pub(crate) fn parse_wire(w: &str) -> anyhow::Result<Wire> {
    Ok(match w {
        "synapse" => Wire::Synapse,
        "btauth" => Wire::BtAuth,
        "epistula" => Wire::Epistula,
        other => bail!("--wire `{other}`: use synapse, btauth or epistula"),
    })
}

pub(crate) fn run_miner(args: MinerArgs, global: &GlobalOpts) -> anyhow::Result<()> {
    let file = read_config(args.neuron.config.as_deref())?;
    let (subnet, netuid) = args.neuron.subnet_and_netuid(&file)?;
    let registry = Registry::linked();
    let kind = registry.get(&subnet)?;
    let mut config = MinerConfig::new(netuid);
    if let Some(bind) = args.bind.or(file.bind) {
        config.bind = bind;
    }
    config.external_ip = args.external_ip.or(file.external_ip);
    config.external_port = args.external_port.or(file.external_port);
    config.register = args.register || file.register.unwrap_or(false);
    let mut spec = MinerSpec {
        model: args.model.or(file.model),
        llm_endpoint: args.llm_endpoint.or(file.llm_endpoint),
        llm_model: args.llm_model.or(file.llm_model),
        ..MinerSpec::default()
    };
    if let Some(api) = args.llm_api.or(file.llm_api) {
        spec.options.insert("llm-api".into(), api);
    }
    if let Some(var) = args.llm_api_key_env.or(file.llm_api_key_env) {
        let key = std::env::var(&var)
            .with_context(|| format!("environment variable {var} (the LLM API key) is not set"))?;
        spec.llm_api_key = Some(key);
    }
    let wallet = args.neuron.wallet.wallet(global)?;
    let hotkey = wallet.hotkey_unlocked().with_context(|| {
        format!(
            "hotkey `{}` of wallet `{}`",
            wallet.hotkey_name(),
            wallet.name()
        )
    })?;
    let coldkey = if config.register {
        Some(args.neuron.wallet.coldkey(global)?)
    } else {
        None
    };

    super::runtime()?.block_on(async move {
        let chain = args.neuron.chain.connect().await?;
        let mut miner = Miner::new(chain, hotkey, config);
        if let Some(c) = coldkey {
            miner = miner.with_coldkey(c);
        }
        let running = kind.start_miner(miner, &spec).await?;
        println!(
            "miner uid {} on netuid {netuid} ({subnet}) serving at {} (published {}:{}); Ctrl-C stops it",
            running.uid(),
            running.local_addr(),
            running.published().ip,
            running.published().port
        );
        running.run_until(shutdown_signal()).await?;
        println!("miner stopped");
        Ok(())
    })
}

pub(crate) fn run_validator(args: ValidatorArgs, global: &GlobalOpts) -> anyhow::Result<()> {
    let file = read_config(args.neuron.config.as_deref())?;
    let (subnet, netuid) = args.neuron.subnet_and_netuid(&file)?;
    let registry = Registry::linked();
    let kind = registry.get(&subnet)?;
    let wallet = args.neuron.wallet.wallet(global)?;
    let hotkey = wallet.hotkey_unlocked().with_context(|| {
        format!(
            "hotkey `{}` of wallet `{}`",
            wallet.hotkey_name(),
            wallet.name()
        )
    })?;
    let base = match args.base_path.or(file.base_path) {
        Some(b) => b,
        None => crate::wallet::expand_home(Path::new("~/.subforge/validators"))
            .join(netuid.to_string())
            .join(hotkey.public().to_ss58()),
    };
    let mut config = ValidatorConfig::new(netuid, base.clone());
    if let Some(k) = args.sample_size.or(file.sample_size) {
        config.sample_size = k;
    }
    config.timeout = args
        .timeout_ms
        .or(file.timeout_ms)
        .map(Duration::from_millis);
    if let Some(a) = args.moving_average_alpha.or(file.moving_average_alpha) {
        if !(a > 0.0 && a <= 1.0) {
            bail!("--moving-average-alpha {a}: it must be in (0, 1]");
        }
        config.moving_average_alpha = a;
    }
    config.weights_interval = args.weights_interval.or(file.weights_interval);
    if let Some(v) = args.version_key.or(file.version_key) {
        config.version_key = v;
    }
    if let Some(w) = args.wire.or(file.wire) {
        config.wire = parse_wire(&w)?;
    }
    config.seed = args.seed.or(file.seed);
    let wasm_file = args.wasm_scorer.or(file.wasm_scorer);
    let scoring = match (args.scorer.or(file.scorer).as_deref(), wasm_file) {
        (None | Some("wasm"), Some(path)) => ScorerChoice::Wasm(Some(path)),
        (Some("wasm"), None) => ScorerChoice::Wasm(None),
        (None | Some("native"), None) => ScorerChoice::Native,
        (Some("native"), Some(_)) => bail!("--wasm-scorer needs --scorer wasm"),
        (Some(other), _) => bail!("--scorer `{other}`: use native or wasm"),
    };

    super::runtime()?.block_on(async move {
        let chain = args.neuron.chain.connect().await?;
        let runner = kind.validator(chain, hotkey, config, &scoring)?;
        println!(
            "validator on netuid {netuid} ({subnet}), scoring {}, state in {}; Ctrl-C stops it",
            match &scoring {
                ScorerChoice::Native => "natively".to_owned(),
                ScorerChoice::Wasm(None) => "with the subnet's WASM module".to_owned(),
                ScorerChoice::Wasm(Some(p)) => format!("with {}", p.display()),
            },
            base.display()
        );
        runner.run(Box::pin(shutdown_signal())).await?;
        println!("validator stopped; state saved");
        Ok(())
    })
}
