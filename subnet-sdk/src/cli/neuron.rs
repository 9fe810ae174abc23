//! `subforge miner` and `subforge validator`: the neuron runtimes as processes, configured from
//! flags, environment variables and an optional TOML file (flags win, then the environment,
//! then the file, then the defaults).

use std::collections::BTreeMap;
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
    options: Option<BTreeMap<String, String>>,
    // Validator.
    base_path: Option<PathBuf>,
    scorer: Option<String>,
    wasm_scorer: Option<OneOrMore<PathBuf>>,
    sample_size: Option<usize>,
    timeout_ms: Option<u64>,
    moving_average_alpha: Option<f64>,
    weights_interval: Option<u64>,
    version_key: Option<u64>,
    wire: Option<String>,
    seed: Option<u64>,
    transcripts: Option<PathBuf>,
    transcripts_keep: Option<usize>,
    transcripts_http: Option<SocketAddr>,
}

/// A setting that takes one value or a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMore<V> {
    One(V),
    More(Vec<V>),
}

impl<V> OneOrMore<V> {
    fn into_vec(self) -> Vec<V> {
        match self {
            Self::One(v) => vec![v],
            Self::More(v) => v,
        }
    }
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
    /// The subnet's built-in model to run (listed below and by `subforge subnet kinds`).
    #[arg(long)]
    model: Option<String>,
    /// A setting of the subnet's miners, `NAME=VALUE` (repeatable; listed below).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    settings: Vec<String>,
}

/// A `--set NAME=VALUE`.
fn parse_setting(text: &str) -> anyhow::Result<(String, String)> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => bail!("--set `{text}`: expected NAME=VALUE"),
    }
}

/// What `subforge miner --help` says after the flags: each subnet's models and settings.
pub(crate) fn miner_help(registry: &Registry) -> String {
    let mut out = String::new();
    for kind in registry.kinds() {
        out.push_str(&format!("Subnet `{}`:\n", kind.name()));
        for (model, about) in kind.miner_models() {
            out.push_str(&format!("  --model {model}: {about}\n"));
        }
        for option in kind.miner_options() {
            out.push_str(&format!(
                "  --set {}={}: {}\n",
                option.name, option.value, option.about
            ));
        }
    }
    out
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
    /// Score the task this WASM module declares with it instead of the subnet's own module
    /// (implies `--scorer wasm`; repeat for several tasks).
    #[arg(long, value_name = "FILE")]
    wasm_scorer: Vec<PathBuf>,
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
    /// Write a signed transcript of every step to this folder (`subforge audit` checks them).
    #[arg(long, value_name = "DIR")]
    transcripts: Option<PathBuf>,
    /// Keep at most this many transcripts, dropping the oldest [default: 1000].
    #[arg(long, value_name = "N")]
    transcripts_keep: Option<usize>,
    /// Serve the transcripts over HTTP on this address (needs --transcripts).
    #[arg(long, value_name = "ADDR")]
    transcripts_http: Option<SocketAddr>,
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

pub(crate) fn run_miner(
    args: MinerArgs,
    global: &GlobalOpts,
    registry: &Registry,
) -> anyhow::Result<()> {
    let file = read_config(args.neuron.config.as_deref())?;
    let (subnet, netuid) = args.neuron.subnet_and_netuid(&file)?;
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
        options: file.options.unwrap_or_default(),
    };
    for setting in &args.settings {
        let (name, value) = parse_setting(setting)?;
        spec.options.insert(name, value);
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
        // The miner is built (models trained, settings checked) before the chain is touched.
        let routes = kind.build_miner(&spec)?;
        let chain = args.neuron.chain.connect().await?;
        let mut miner = Miner::new(chain, hotkey, config);
        if let Some(c) = coldkey {
            miner = miner.with_coldkey(c);
        }
        let running = miner.start(move |axon| routes.apply(axon)).await?;
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

pub(crate) fn run_validator(
    args: ValidatorArgs,
    global: &GlobalOpts,
    registry: &Registry,
) -> anyhow::Result<()> {
    let file = read_config(args.neuron.config.as_deref())?;
    let (subnet, netuid) = args.neuron.subnet_and_netuid(&file)?;
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
    if let Some(dir) = args.transcripts.or(file.transcripts) {
        let mut t = crate::audit::TranscriptConfig::new(dir);
        if let Some(keep) = args.transcripts_keep.or(file.transcripts_keep) {
            if keep == 0 {
                bail!("--transcripts-keep 0 would keep nothing");
            }
            t.keep = keep;
        }
        config.transcripts = Some(t);
    }
    let transcripts_http = args.transcripts_http.or(file.transcripts_http);
    if transcripts_http.is_some() && config.transcripts.is_none() {
        bail!("--transcripts-http needs --transcripts DIR");
    }
    let transcripts = config.transcripts.clone();
    let wasm_files = if args.wasm_scorer.is_empty() {
        file.wasm_scorer
            .map(OneOrMore::into_vec)
            .unwrap_or_default()
    } else {
        args.wasm_scorer
    };
    let scoring = match (
        args.scorer.or(file.scorer).as_deref(),
        wasm_files.is_empty(),
    ) {
        (None | Some("wasm"), false) | (Some("wasm"), true) => ScorerChoice::Wasm(wasm_files),
        (None | Some("native"), true) => ScorerChoice::Native,
        (Some("native"), false) => bail!("--wasm-scorer needs --scorer wasm"),
        (Some(other), _) => bail!("--scorer `{other}`: use native or wasm"),
    };

    super::runtime()?.block_on(async move {
        let chain = args.neuron.chain.connect().await?;
        let runner = kind.validator(chain, hotkey, config, &scoring)?;
        println!(
            "validator on netuid {netuid} ({subnet}), scoring {}, state in {}; Ctrl-C stops it",
            match &scoring {
                ScorerChoice::Native => "natively".to_owned(),
                ScorerChoice::Wasm(files) if files.is_empty() =>
                    "with the subnet's WASM modules".to_owned(),
                ScorerChoice::Wasm(files) => format!(
                    "with {} (and the subnet's modules for other tasks)",
                    files
                        .iter()
                        .map(|f| f.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
            base.display()
        );
        let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
        if let (Some(addr), Some(t)) = (transcripts_http, transcripts) {
            let log = crate::audit::TranscriptLog::open(t)?;
            let (bound, _) = crate::audit::serve(log, addr, async move {
                let _ = http_stopped.await;
            })
            .await
            .with_context(|| format!("cannot serve transcripts on {addr}"))?;
            println!("transcripts served at http://{bound}/transcripts");
        }
        runner.run(Box::pin(shutdown_signal())).await?;
        let _ = stop_http.send(());
        println!("validator stopped; state saved");
        Ok(())
    })
}
