//! A whole subnet on one machine: the embedded chain with fast blocks, a subnet, miners of
//! different quality and several validators, all in one process, for development and
//! demonstration. `subforge localnet` is a thin layer over this module.
//!
//! Keys are development keys derived from fixed secret URIs (`//localnet//miner0`, …), so a
//! run is easy to inspect; with a base path they are also written as plaintext wallets under
//! `<base>/wallets`, so other processes (`subforge miner`, `subforge validator`) can join.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use subforge_core::identity::Keypair;
use subforge_core::{Balance, Block, Hotkey, Metagraph, NetUid, Uid};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::chain::local::{Call, Extrinsic};
use crate::chain::{Chain, ChainError, H256, Hyperparameter, LocalChain, LocalChainApi};
use crate::neuron::{Miner, MinerConfig, NeuronError, RunningMiner, ValidatorConfig};
use crate::registry::{MinerSpec, Registry, ScorerChoice, SubnetError, SubnetKind};
use crate::wallet::{Wallet, WalletError};

/// The key that owns the subnet (a funded dev account, and the dev chain's sudo).
const OWNER_URI: &str = "//Alice";

/// How a localnet is laid out.
#[derive(Debug, Clone)]
pub struct LocalnetConfig {
    /// The subnet kind to run (a registry name).
    pub subnet: String,
    /// One entry per miner: what it runs.
    pub miners: Vec<MinerSpec>,
    /// One entry per validator: how it scores.
    pub validators: Vec<ScorerChoice>,
    /// Blocks per tempo. Default 10.
    pub tempo: u16,
    /// Time between blocks. Default 100 ms.
    pub block_time: Duration,
    /// Weights through commit-reveal (the chain's default). Default on.
    pub commit_reveal: bool,
    /// Stake of the first validator; the others get a half, a third, … of it. Default 1000 TAO.
    pub validator_stake: Balance,
    /// Where the chain, the wallets and the validators' state live; in memory when `None`.
    pub base_path: Option<PathBuf>,
    /// Validators' challenge seeds: fixed (reproducible runs) or random when `None`.
    pub seed: Option<u64>,
    /// Miners queried by each validator per step. Default: all of them.
    pub sample_size: Option<usize>,
    /// Validators' moving-average weight of a new score. Default 0.3 (short runs).
    pub moving_average_alpha: f64,
    /// Whether validators write signed transcripts of their steps, to
    /// `validators/validatorN/transcripts` under the base path (`subforge audit` checks
    /// them). Default off.
    pub transcripts: bool,
}

impl LocalnetConfig {
    /// The line-up `kind` chooses for `miners` miners (for the text subnet, falling quality
    /// down to a junk answerer) and `validators` validators alternating native and WASM
    /// scoring.
    pub fn new(kind: &dyn SubnetKind, miners: usize, validators: usize) -> Self {
        Self {
            subnet: kind.name().to_owned(),
            miners: kind.localnet_miners(miners),
            validators: (0..validators)
                .map(|i| {
                    if i % 2 == 0 {
                        ScorerChoice::Native
                    } else {
                        ScorerChoice::Wasm(Vec::new())
                    }
                })
                .collect(),
            tempo: 10,
            block_time: Duration::from_millis(100),
            commit_reveal: true,
            validator_stake: Balance::from_tao(1000),
            base_path: None,
            seed: None,
            sample_size: None,
            moving_average_alpha: 0.3,
            transcripts: false,
        }
    }
}

/// What a neuron of the localnet is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// The subnet owner's hotkey.
    Owner,
    /// A miner and its model.
    Miner(String),
    /// A validator and how it scores.
    Validator(String),
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Owner => f.write_str("owner"),
            Self::Miner(m) => write!(f, "miner ({m})"),
            Self::Validator(v) => write!(f, "validator ({v})"),
        }
    }
}

/// Why a localnet could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum LocalnetError {
    /// The chain refused something during setup or could not be opened.
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    /// A neuron failed.
    #[error(transparent)]
    Neuron(#[from] NeuronError),
    /// The subnet kind is unknown or refused a setting.
    #[error(transparent)]
    Subnet(#[from] SubnetError),
    /// Writing the development wallets failed.
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// The layout makes no sense.
    #[error("{0}")]
    Config(String),
}

/// One neuron's keys.
#[derive(Debug)]
struct Member {
    role: Role,
    coldkey: Keypair,
    hotkey: Keypair,
}

/// A running localnet.
pub struct Localnet {
    chain: LocalChain,
    netuid: NetUid,
    roles: HashMap<Hotkey, Role>,
    start_stake: HashMap<Hotkey, Balance>,
    start_issuance: Balance,
    start_pending: Balance,
    start_block: Block,
    start_epoch: u64,
    miners: Vec<RunningMiner>,
    validators: Vec<JoinHandle<Result<(), NeuronError>>>,
    validator_hotkeys: Vec<Keypair>,
    stop: watch::Sender<bool>,
    /// The validators' state folder when there is no base path; removed on drop.
    _scratch: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Localnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Localnet")
            .field("netuid", &self.netuid)
            .field("miners", &self.miners.len())
            .field("validators", &self.validators.len())
            .finish_non_exhaustive()
    }
}

/// Progress of a run, reported once per block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The current block.
    pub block: Block,
    /// Epochs completed since the run started.
    pub epochs: u64,
    /// Epochs asked for.
    pub target: u64,
}

/// One row of the final table.
#[derive(Debug, Clone, Serialize)]
pub struct ReportRow {
    /// Its uid.
    pub uid: Uid,
    /// What it is.
    pub role: Role,
    /// Its hotkey.
    pub hotkey: Hotkey,
    /// Stake now.
    pub stake: Balance,
    /// Stake gained since the localnet started.
    pub earned: Balance,
    /// Incentive at the last epoch, in `[0, 1]`.
    pub incentive: f64,
    /// Dividends at the last epoch, in `[0, 1]`.
    pub dividends: f64,
    /// Emission at the last epoch.
    pub emission: Balance,
    /// Validator trust at the last epoch, in `[0, 1]`.
    pub validator_trust: f64,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The subnet.
    pub netuid: NetUid,
    /// The block the report was read at.
    pub block: Block,
    /// Epochs run since the start.
    pub epochs: u64,
    /// One row per uid.
    pub rows: Vec<ReportRow>,
    /// TAO minted into the chain since the start (what the schedule gave this subnet).
    pub minted: Balance,
    /// Stake gained by every neuron since the start, plus the change in emission still
    /// pending: equal to `minted` but for fixed-point dust the epoch recycles.
    pub distributed: Balance,
    /// One sentence comparing the best miner with the worst.
    pub verdict: String,
}

fn dev_key(uri: &str) -> Keypair {
    Keypair::from_uri(uri).unwrap_or_else(|e| unreachable!("fixed dev URI {uri}: {e}"))
}

/// Submits `xts` in one block and waits for every receipt; any refusal or failed call fails.
async fn in_one_block(chain: &LocalChain, xts: Vec<Extrinsic>) -> Result<(), ChainError> {
    let mut headers = chain.block_headers().await?;
    let mut waiting: Vec<H256> = Vec::new();
    for result in chain.submit_batch(xts) {
        waiting.push(result?);
    }
    while !waiting.is_empty() {
        if headers.next().await.is_none() {
            return Err(ChainError::Closed);
        }
        let mut still = Vec::new();
        for hash in waiting {
            match chain.receipt(hash).await? {
                Some(r) => {
                    r.into_result()?;
                }
                None => still.push(hash),
            }
        }
        waiting = still;
    }
    Ok(())
}

async fn sign_all(
    chain: &LocalChain,
    calls: Vec<(&Keypair, Call)>,
) -> Result<Vec<Extrinsic>, ChainError> {
    let genesis = chain.genesis_hash();
    let mut nonces: HashMap<subforge_core::AccountId, u64> = HashMap::new();
    let mut out = Vec::with_capacity(calls.len());
    for (key, call) in calls {
        let account = key.public();
        let nonce = match nonces.get(&account) {
            Some(n) => *n,
            None => chain.next_nonce(&account).await?,
        };
        nonces.insert(account, nonce + 1);
        out.push(Extrinsic::sign(key, nonce, call, &genesis));
    }
    Ok(out)
}

impl Localnet {
    /// Opens the chain, creates and configures the subnet, registers and stakes the neurons,
    /// and starts them. `log` hears one line per setup stage.
    pub async fn start(
        registry: &Registry,
        config: &LocalnetConfig,
        mut log: impl FnMut(&str),
    ) -> Result<Self, LocalnetError> {
        let kind = registry.get(&config.subnet)?;
        if config.miners.is_empty() {
            return Err(LocalnetError::Config(
                "a localnet needs at least one miner".into(),
            ));
        }
        if config.validators.is_empty() {
            return Err(LocalnetError::Config(
                "a localnet needs at least one validator".into(),
            ));
        }
        if config.tempo == 0 {
            return Err(LocalnetError::Config(
                "the tempo must be at least 1 block".into(),
            ));
        }
        let mut builder = LocalChain::builder().dev().block_time(config.block_time);
        builder = match &config.base_path {
            Some(base) => builder.path(base.join("chain")),
            None => builder.in_memory(),
        };
        let chain = builder.open()?;
        let owner = dev_key(OWNER_URI);
        let owner_hot = dev_key("//Alice//subnet-owner");
        let members: Vec<Member> = config
            .miners
            .iter()
            .enumerate()
            .map(|(i, spec)| Member {
                role: Role::Miner(spec.model.clone().unwrap_or_else(|| "default".into())),
                coldkey: dev_key(&format!("//localnet//miner{i}")),
                hotkey: dev_key(&format!("//localnet//miner{i}//hot")),
            })
            .chain(config.validators.iter().enumerate().map(|(i, s)| Member {
                role: Role::Validator(match s {
                    ScorerChoice::Native => "native".into(),
                    ScorerChoice::Wasm(_) => "wasm".into(),
                }),
                coldkey: dev_key(&format!("//localnet//validator{i}")),
                hotkey: dev_key(&format!("//localnet//validator{i}//hot")),
            }))
            .collect();

        // The subnet: reuse the one a previous run on this base path made.
        let existing = chain
            .subnets()
            .await?
            .into_iter()
            .find(|s| s.owner_hotkey == Hotkey(owner_hot.public()));
        let netuid = match existing {
            Some(s) => {
                log(&format!(
                    "resuming subnet {} at block {}",
                    s.netuid,
                    chain.head().number
                ));
                s.netuid
            }
            None => {
                let netuid = chain
                    .create_subnet(&owner, &Hotkey(owner_hot.public()))
                    .await?;
                log(&format!("created subnet {netuid} ({})", kind.name()));
                Self::configure(&chain, netuid, config, &owner, &members).await?;
                log(&format!(
                    "registered {} miners and {} validators",
                    config.miners.len(),
                    config.validators.len()
                ));
                netuid
            }
        };
        if let Some(base) = &config.base_path {
            write_wallets(&base.join("wallets"), &members)?;
        }

        let chain_dyn: Arc<dyn Chain> = Arc::new(chain.clone());
        let mut roles: HashMap<Hotkey, Role> = members
            .iter()
            .map(|m| (Hotkey(m.hotkey.public()), m.role.clone()))
            .collect();
        roles.insert(Hotkey(owner_hot.public()), Role::Owner);
        let mut miners = Vec::new();
        for (m, spec) in members.iter().zip(&config.miners) {
            let mut miner_config = MinerConfig::new(netuid);
            miner_config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
            let miner = Miner::new(chain_dyn.clone(), m.hotkey.clone(), miner_config);
            miners.push(kind.start_miner(miner, spec).await?);
        }
        log(&format!("{} miners serving on 127.0.0.1", miners.len()));

        // Without a base path, validators keep their state in a folder removed at the end.
        let (state_root, scratch) = match &config.base_path {
            Some(base) => (base.clone(), None),
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("subforge-localnet-")
                    .tempdir()
                    .map_err(|e| {
                        LocalnetError::Config(format!("cannot make a scratch folder: {e}"))
                    })?;
                (dir.path().to_owned(), Some(dir))
            }
        };
        let (stop, stopped) = watch::channel(false);
        // Every validator is built (WASM scorers compiled, which takes a moment) before any
        // starts, so they all take their first step together; building runs off the async
        // threads.
        let mut runners = Vec::new();
        for (i, (m, scoring)) in members[config.miners.len()..]
            .iter()
            .zip(&config.validators)
            .enumerate()
        {
            let base = state_root.join("validators").join(format!("validator{i}"));
            let mut vc = ValidatorConfig::new(netuid, base);
            vc.seed = config.seed;
            vc.sample_size = config.sample_size.unwrap_or(config.miners.len());
            vc.moving_average_alpha = config.moving_average_alpha;
            vc.timeout = Some(Duration::from_secs(5));
            if config.transcripts {
                vc.transcripts = Some(crate::audit::TranscriptConfig::new(
                    vc.base_path.join("transcripts"),
                ));
            }
            let runner = kind.validator(chain_dyn.clone(), m.hotkey.clone(), vc, scoring)?;
            runners.push(runner);
        }
        let validators: Vec<_> = runners
            .into_iter()
            .map(|runner| {
                let mut stopped = stopped.clone();
                let shutdown: BoxFuture<'static, ()> = Box::pin(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                });
                tokio::spawn(runner.run(shutdown))
            })
            .collect();
        log(&format!("{} validators running", validators.len()));

        // The books and the epoch count start now, with every neuron running.
        let (metagraph, subnet, info) = snapshot(&chain, netuid).await?;
        let start_stake = metagraph
            .hotkeys
            .iter()
            .copied()
            .zip(metagraph.stake.iter().copied())
            .collect();

        Ok(Self {
            chain,
            netuid,
            roles,
            start_stake,
            start_issuance: info.total_issuance,
            start_pending: subnet.pending_emission,
            start_block: info.best_block,
            start_epoch: subnet.epoch_index,
            miners,
            validators,
            validator_hotkeys: members[config.miners.len()..]
                .iter()
                .map(|m| m.hotkey.clone())
                .collect(),
            stop,
            _scratch: scratch,
        })
    }

    /// Sets the subnet up for a fast run, funds, registers and stakes every neuron.
    async fn configure(
        chain: &LocalChain,
        netuid: NetUid,
        config: &LocalnetConfig,
        owner: &Keypair,
        members: &[Member],
    ) -> Result<(), LocalnetError> {
        let n = members.len() as i64;
        let mut calls: Vec<(&Keypair, Call)> = [
            (Hyperparameter::Tempo, i64::from(config.tempo)),
            (
                Hyperparameter::WeightsSetRateLimit,
                i64::from(config.tempo / 2).max(1),
            ),
            (Hyperparameter::MaxRegsPerBlock, n + 1),
            (
                Hyperparameter::CommitRevealWeightsEnabled,
                i64::from(config.commit_reveal),
            ),
            (Hyperparameter::MaxAllowedUids, (n + 1).max(256)),
        ]
        .into_iter()
        .map(|(name, value)| {
            (
                owner,
                Call::SetHyperparameter {
                    netuid,
                    name,
                    value,
                },
            )
        })
        .collect();
        let validators = members
            .iter()
            .filter(|m| matches!(m.role, Role::Validator(_)));
        for m in members {
            calls.push((
                owner,
                Call::Transfer {
                    dest: m.coldkey.public(),
                    amount: Balance::from_tao(200),
                },
            ));
        }
        for (i, m) in validators.clone().enumerate() {
            let stake = Balance::from_rao(config.validator_stake.rao() / (i as u64 + 1));
            calls.push((
                owner,
                Call::Transfer {
                    dest: m.coldkey.public(),
                    amount: stake,
                },
            ));
        }
        in_one_block(chain, sign_all(chain, calls).await?).await?;

        let registrations = members
            .iter()
            .map(|m| {
                let call = Call::BurnedRegister {
                    netuid,
                    hotkey: Hotkey(m.hotkey.public()),
                };
                (&m.coldkey, call)
            })
            .collect();
        in_one_block(chain, sign_all(chain, registrations).await?).await?;

        let stakes = validators
            .enumerate()
            .map(|(i, m)| {
                let call = Call::AddStake {
                    hotkey: Hotkey(m.hotkey.public()),
                    netuid,
                    amount: Balance::from_rao(config.validator_stake.rao() / (i as u64 + 1)),
                };
                (&m.coldkey, call)
            })
            .collect();
        in_one_block(chain, sign_all(chain, stakes).await?).await?;
        Ok(())
    }

    /// The subnet.
    pub fn netuid(&self) -> NetUid {
        self.netuid
    }

    /// The chain, for serving it to other processes or reading it.
    pub fn chain(&self) -> &LocalChain {
        &self.chain
    }

    /// The running miners.
    pub fn miners(&self) -> &[RunningMiner] {
        &self.miners
    }

    /// Stops the miner serving as `uid`, as a miner that goes down would: its axon closes and
    /// it stays registered, its axon still on chain. Returns whether there was one.
    pub async fn stop_miner(&mut self, uid: Uid) -> bool {
        let Some(i) = self.miners.iter().position(|m| m.uid() == uid) else {
            return false;
        };
        self.miners.remove(i).shutdown().await;
        true
    }

    /// The hotkey of validator `i` (registered and staked on the subnet): what a gateway
    /// beside the localnet signs its requests with.
    pub fn validator_hotkey(&self, i: usize) -> Option<&Keypair> {
        self.validator_hotkeys.get(i)
    }

    /// Waits until `epochs` epochs have run since the localnet started, reporting progress
    /// every block. Fails if a validator stopped with an error.
    pub async fn run_epochs(
        &mut self,
        epochs: u64,
        mut progress: impl FnMut(Progress),
    ) -> Result<(), LocalnetError> {
        let target = self.start_epoch + epochs;
        let mut headers = self.chain.block_headers().await?;
        loop {
            let epoch = self.chain.subnet(self.netuid).await?.epoch_index;
            let done = epoch.saturating_sub(self.start_epoch);
            progress(Progress {
                block: self.chain.head().number,
                epochs: done,
                target: epochs,
            });
            if epoch >= target {
                return Ok(());
            }
            self.check_validators().await?;
            if headers.next().await.is_none() {
                return Err(ChainError::Closed.into());
            }
        }
    }

    /// Turns a validator that stopped early into the error it stopped with.
    async fn check_validators(&mut self) -> Result<(), LocalnetError> {
        for handle in &mut self.validators {
            if handle.is_finished() {
                let outcome = handle
                    .await
                    .map_err(|e| LocalnetError::Config(format!("a validator task failed: {e}")))?;
                outcome?;
                return Err(LocalnetError::Config("a validator stopped early".into()));
            }
        }
        Ok(())
    }

    /// The metagraph with each neuron's role, stake gained, and the verdict.
    pub async fn report(&self) -> Result<Report, LocalnetError> {
        let (m, subnet, info) = snapshot(&self.chain, self.netuid).await?;
        let mut rows = Vec::new();
        let mut gained = Balance::ZERO;
        for n in m.neurons() {
            let before = self
                .start_stake
                .get(&n.hotkey)
                .copied()
                .unwrap_or(Balance::ZERO);
            let earned = n.stake.saturating_sub(before);
            gained = gained.saturating_add(n.stake).saturating_sub(before);
            rows.push(ReportRow {
                uid: n.uid,
                role: self
                    .roles
                    .get(&n.hotkey)
                    .cloned()
                    .unwrap_or(Role::Miner("other".into())),
                hotkey: n.hotkey,
                stake: n.stake,
                earned,
                incentive: n.incentive.as_f64(),
                dividends: n.dividends.as_f64(),
                emission: n.emission,
                validator_trust: n.validator_trust.as_f64(),
            });
        }
        // Emission pending at the start was minted before it and is paid out during the run.
        let distributed = gained
            .saturating_add(subnet.pending_emission)
            .saturating_sub(self.start_pending);
        let minted = info.total_issuance.saturating_sub(self.start_issuance);
        Ok(Report {
            netuid: self.netuid,
            block: m.block,
            epochs: subnet.epoch_index.saturating_sub(self.start_epoch),
            verdict: verdict(&rows),
            rows,
            minted,
            distributed,
        })
    }

    /// Blocks produced since the localnet started.
    pub fn blocks_run(&self) -> u64 {
        self.chain.head().number.since(self.start_block)
    }

    /// Stops validators (saving their state), miners and block production.
    pub async fn shutdown(self) -> Result<(), LocalnetError> {
        let _ = self.stop.send(true);
        let mut first_error = None;
        for handle in self.validators {
            match handle.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(LocalnetError::Neuron(e));
                }
                Err(e) => {
                    first_error.get_or_insert(LocalnetError::Config(format!(
                        "a validator task failed: {e}"
                    )));
                }
            }
        }
        for miner in self.miners {
            miner.shutdown().await;
        }
        drop(self.chain);
        first_error.map_or(Ok(()), Err)
    }
}

/// The metagraph, the subnet and the chain's totals, all read at the same block.
async fn snapshot(
    chain: &LocalChain,
    netuid: NetUid,
) -> Result<(Metagraph, crate::chain::SubnetInfo, crate::chain::ChainInfo), ChainError> {
    loop {
        let m = chain.metagraph(netuid).await?;
        let subnet = chain.subnet(netuid).await?;
        let info = chain.info().await?;
        if info.best_block == m.block {
            return Ok((m, subnet, info));
        }
    }
}

fn verdict(rows: &[ReportRow]) -> String {
    let miners: Vec<&ReportRow> = rows
        .iter()
        .filter(|r| matches!(r.role, Role::Miner(_)))
        .collect();
    let (Some(best), Some(worst)) = (
        miners.iter().max_by_key(|r| r.earned),
        miners.iter().min_by_key(|r| r.earned),
    ) else {
        return "no miners".into();
    };
    let name = |r: &ReportRow| match &r.role {
        Role::Miner(m) => format!("uid {}, {m}", r.uid),
        other => format!("uid {}, {other}", r.uid),
    };
    if best.earned.is_zero() {
        return "no miner has earned anything yet: run more tempos".into();
    }
    if worst.earned.is_zero() {
        format!(
            "the best miner ({}) earned {}; the worst ({}) earned nothing",
            name(best),
            best.earned,
            name(worst)
        )
    } else {
        let ratio = best.earned.rao() as f64 / worst.earned.rao() as f64;
        format!(
            "the best miner ({}) earned {}, {ratio:.1}× the worst ({}: {})",
            name(best),
            best.earned,
            name(worst),
            worst.earned
        )
    }
}

/// Writes each neuron's dev keys as a plaintext wallet (`localnet-miner0`, …).
fn write_wallets(dir: &Path, members: &[Member]) -> Result<(), WalletError> {
    let mut counts: HashMap<&'static str, usize> = HashMap::new();
    for m in members {
        let kind = match m.role {
            Role::Miner(_) => "miner",
            Role::Validator(_) => "validator",
            Role::Owner => "owner",
        };
        let i = counts.entry(kind).or_default();
        let w = Wallet::new(dir, &format!("localnet-{kind}{i}"), "default")?;
        *i += 1;
        if !w.exists() {
            w.set_coldkey(&m.coldkey, None, false)?;
        }
        if !w.hotkey_path().exists() {
            w.set_hotkey(&m.hotkey, None, false)?;
        }
    }
    Ok(())
}
