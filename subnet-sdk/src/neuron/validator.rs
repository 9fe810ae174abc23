//! The validator runtime: each step syncs the metagraph, picks serving miners, makes a
//! challenge, queries the miners, scores the answers and folds the scores into a moving
//! average; once per tempo it turns the averages into weights and puts them on chain (the
//! chain decides whether they are set or committed, and says when a commit it leaves to the
//! validator may be revealed). Its state survives restarts.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use subforge_core::identity::Keypair;
use subforge_core::rand_core::RngCore;
use subforge_core::weights::{self, WeightLimits};
use subforge_core::{
    Block, Hotkey, Metagraph, MinerResponse, NetUid, Scorer, Seed, StatusCode, Task, TaskGenerator,
    Uid, check_scores,
};

use super::error::NeuronError;
use super::state::{ValidatorState, WeightsRecord};
use crate::chain::{
    Chain, ChainError, PendingReveal, Reveal, RevealStatus, Weights, WeightsOutcome,
};
use crate::net::{Dendrite, Target, Wire};

/// How a validator runs.
#[derive(Debug, Clone)]
pub struct ValidatorConfig {
    /// The subnet to validate.
    pub netuid: NetUid,
    /// Where the validator keeps its state.
    pub base_path: PathBuf,
    /// Miners queried per step. Default 16.
    pub sample_size: usize,
    /// How long to wait for answers. Default: the task's own timeout.
    pub timeout: Option<Duration>,
    /// Weight of a new score in the moving average. Default 0.1.
    pub moving_average_alpha: f64,
    /// Blocks between weight settings. Default: the subnet's tempo (never below its
    /// `weights_set_rate_limit`).
    pub weights_interval: Option<u64>,
    /// Version key sent with weights. Default 0.
    pub version_key: u64,
    /// The convention requests are signed in. Default: the Synapse protocol.
    pub wire: Wire,
    /// Seed of the challenge sequence; random by default. Fixing it makes a run reproducible.
    pub seed: Option<u64>,
    /// Blocks to wait between steps. Default 1.
    pub step_blocks: u64,
}

impl ValidatorConfig {
    /// The defaults for `netuid`, keeping state under `base_path`.
    pub fn new(netuid: NetUid, base_path: impl Into<PathBuf>) -> Self {
        Self {
            netuid,
            base_path: base_path.into(),
            sample_size: 16,
            timeout: None,
            moving_average_alpha: 0.1,
            weights_interval: None,
            version_key: 0,
            wire: Wire::Synapse,
            seed: None,
            step_blocks: 1,
        }
    }
}

/// What happened to weights during a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsAction {
    /// Weights were set directly.
    Set(WeightsRecord),
    /// A commit of these weights was included.
    Committed {
        /// The weights and the commit's block.
        record: WeightsRecord,
        /// Who reveals them, and when.
        reveal: Reveal,
    },
    /// Committed weights were revealed.
    Revealed(WeightsRecord),
}

/// The outcome of one validator step.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The step number.
    pub step: u64,
    /// The block the step read.
    pub block: Block,
    /// Each queried miner with its status and score.
    pub queried: Vec<(Uid, StatusCode, f64)>,
    /// Weights work done in this step.
    pub weights: Option<WeightsAction>,
}

/// A validator for one task type. Build it with [`Validator::new`], then [`Validator::run`] it
/// (or call [`Validator::step`] yourself).
pub struct Validator<T: Task> {
    chain: Arc<dyn Chain>,
    hotkey: Keypair,
    me: Hotkey,
    generator: Arc<dyn TaskGenerator<T>>,
    scorer: Arc<dyn Scorer<T>>,
    dendrite: Dendrite,
    config: ValidatorConfig,
    state: ValidatorState,
    seed_base: u64,
    /// Don't retry weights before this block after a refusal.
    weights_backoff_until: Block,
}

impl<T: Task> std::fmt::Debug for Validator<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("hotkey", &self.me)
            .field("task", &T::NAME)
            .field("config", &self.config)
            .field("step", &self.state.step)
            .finish_non_exhaustive()
    }
}

/// SplitMix64: a seed for every step from one base.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl<T: Task> Validator<T> {
    /// A validator signing with `hotkey`, restoring its state from the base path if present.
    pub fn new(
        chain: Arc<dyn Chain>,
        hotkey: Keypair,
        generator: Arc<dyn TaskGenerator<T>>,
        scorer: Arc<dyn Scorer<T>>,
        config: ValidatorConfig,
    ) -> Result<Self, NeuronError> {
        let me = Hotkey(hotkey.public());
        let path = ValidatorState::path(&config.base_path);
        let state = ValidatorState::load_or_new(&path, config.netuid, me)?;
        if state.step > 0 {
            tracing::info!(step = state.step, path = %path.display(), "validator state restored");
        }
        let seed_base = config.seed.unwrap_or_else(|| {
            let mut b = [0u8; 8];
            let _ = getrandom::getrandom(&mut b);
            u64::from_le_bytes(b)
        });
        Ok(Self {
            dendrite: Dendrite::new(hotkey.clone()),
            chain,
            hotkey,
            me,
            generator,
            scorer,
            config,
            state,
            seed_base,
            weights_backoff_until: Block(0),
        })
    }

    /// The state as of the last step.
    pub fn state(&self) -> &ValidatorState {
        &self.state
    }

    /// The validator's hotkey.
    pub fn hotkey(&self) -> Hotkey {
        self.me
    }

    fn save(&self) -> Result<(), NeuronError> {
        Ok(self
            .state
            .save(&ValidatorState::path(&self.config.base_path))?)
    }

    /// Picks up to `sample_size` serving miners (never itself), reproducibly from `seed`.
    fn sample(&self, metagraph: &Metagraph, seed: Seed) -> Vec<Target> {
        let mut targets: Vec<Target> = Target::serving(metagraph)
            .into_iter()
            .filter(|t| t.hotkey != self.me)
            .map(|t| t.with_wire(self.config.wire))
            .collect();
        let k = self.config.sample_size.min(targets.len());
        let mut rng = Seed(mix(seed.0 ^ 0x5a5a_5a5a)).rng();
        for i in 0..k {
            let j = i + (rng.next_u64() % (targets.len() - i) as u64) as usize;
            targets.swap(i, j);
        }
        targets.truncate(k);
        targets.sort_by_key(|t| t.uid);
        targets
    }

    /// One step: query, score, average, and set weights when due. Saves the state.
    pub async fn step(&mut self) -> Result<StepReport, NeuronError> {
        let netuid = self.config.netuid;
        let metagraph = self.chain.metagraph(netuid).await?;
        if metagraph.uid_of(&self.me).is_none() {
            return Err(NeuronError::NotRegistered {
                hotkey: self.me,
                netuid,
            });
        }
        self.state.scores.resync(&metagraph.hotkeys);
        let step = self.state.step;
        let seed = Seed(mix(self.seed_base ^ step));
        let targets = self.sample(&metagraph, seed);

        let mut queried = Vec::new();
        if !targets.is_empty() {
            match self.generator.generate(seed).await {
                Ok(challenge) => {
                    let timeout = self.config.timeout.unwrap_or(T::TIMEOUT);
                    let responses = self
                        .dendrite
                        .query(&targets, &challenge.task, timeout)
                        .await;
                    queried = self.score(&challenge.task, &challenge.reference, &responses);
                    let scored: Vec<(Uid, f64)> = queried.iter().map(|&(u, _, s)| (u, s)).collect();
                    self.state
                        .scores
                        .record(&scored, self.config.moving_average_alpha);
                }
                Err(e) => tracing::error!(step, error = %e, "no challenge this step"),
            }
        }

        // A chain error while setting weights must not throw away the answers just scored:
        // the step counts, and weights are tried again a little later.
        let weights = match self.weights(&metagraph).await {
            Ok(w) => w,
            Err(NeuronError::Chain(e)) => {
                let wait = (u64::from(metagraph.hyperparameters.tempo) / 4).max(1);
                self.weights_backoff_until = metagraph.block.saturating_add(wait);
                tracing::warn!(step, error = %e, retry_in_blocks = wait, "weights not set");
                None
            }
            Err(e) => return Err(e),
        };
        self.state.step += 1;
        self.save()?;
        let answered = queried.iter().filter(|q| q.1.is_success()).count();
        let mean = if queried.is_empty() {
            0.0
        } else {
            queried.iter().map(|q| q.2).sum::<f64>() / queried.len() as f64
        };
        tracing::debug!(
            step,
            block = %metagraph.block,
            queried = queried.len(),
            answered,
            mean_score = format_args!("{mean:.3}"),
            "validator step"
        );
        Ok(StepReport {
            step,
            block: metagraph.block,
            queried,
            weights,
        })
    }

    /// Scores one step's answers; a failed query scores zero whatever the scorer says, and a
    /// scorer that fails or returns unusable numbers leaves the averages untouched.
    fn score(
        &self,
        task: &T,
        reference: &T::Reference,
        responses: &[MinerResponse<T>],
    ) -> Vec<(Uid, StatusCode, f64)> {
        let scores = self
            .scorer
            .score(task, reference, responses)
            .and_then(|s| check_scores(&s, responses.len()).map(|()| s));
        match scores {
            Ok(scores) => responses
                .iter()
                .zip(scores)
                .map(|(r, s)| (r.uid, r.status, if r.status.is_success() { s } else { 0.0 }))
                .collect(),
            Err(e) => {
                tracing::error!(error = %e, "scoring failed; this step's answers are not counted");
                Vec::new()
            }
        }
    }

    /// The weights to submit now: the averages through the chain's limits, quantised.
    fn weight_vector(&self, metagraph: &Metagraph) -> Result<(Vec<u16>, Vec<u16>), NeuronError> {
        let serving: Vec<bool> = metagraph
            .axons
            .iter()
            .zip(&metagraph.hotkeys)
            .map(|(a, h)| a.is_serving() && *h != self.me)
            .collect();
        let limits = WeightLimits::from(&metagraph.hyperparameters);
        let w = weights::process_weights(self.state.scores.values(), &serving, limits)
            .map_err(|e| NeuronError::Subnet(format!("cannot turn scores into weights: {e}")))?;
        Ok(weights::quantize(&w))
    }

    /// Sets or commits weights when due, or reveals a commit the chain left to the validator.
    /// Whether weights are set at once or committed is the chain's decision.
    async fn weights(
        &mut self,
        metagraph: &Metagraph,
    ) -> Result<Option<WeightsAction>, NeuronError> {
        let hp = &metagraph.hyperparameters;
        let block = metagraph.block;
        if block < self.weights_backoff_until {
            return Ok(None);
        }
        if let Some(pending) = self.state.pending_reveal.clone() {
            return self.reveal(pending).await;
        }
        let interval = self
            .config
            .weights_interval
            .unwrap_or(u64::from(hp.tempo))
            .max(hp.weights_set_rate_limit)
            .max(1);
        let due = self
            .state
            .last_weights
            .as_ref()
            .is_none_or(|w| block.since(w.block) >= interval);
        if !due || self.state.step == 0 {
            return Ok(None);
        }
        let (uids, values) = self.weight_vector(metagraph)?;
        if uids.is_empty() {
            return Ok(None);
        }
        let weights = Weights::new(uids, values, self.config.version_key);
        let outcome = match self
            .chain
            .set_weights(&self.hotkey, self.config.netuid, &weights)
            .await
        {
            Ok(outcome) => outcome,
            Err(e) => return self.refused(e, block, interval),
        };
        let record = WeightsRecord {
            block: outcome.inclusion().block,
            uids: weights.uids,
            values: weights.values,
        };
        self.state.last_weights = Some(record.clone());
        Ok(Some(match outcome {
            WeightsOutcome::Set(_) => {
                tracing::info!(block = %record.block, weights = record.uids.len(), "weights set");
                WeightsAction::Set(record)
            }
            WeightsOutcome::Committed { reveal, .. } => {
                match &reveal {
                    Reveal::Manual(pending) => {
                        self.state.pending_reveal = Some(pending.clone());
                        tracing::info!(block = %record.block, "weights committed; the reveal is ours");
                    }
                    Reveal::Automatic {
                        round,
                        expected_block,
                    } => {
                        tracing::info!(
                            block = %record.block,
                            drand_round = round,
                            reveal_at = %expected_block,
                            "weights committed; the chain reveals them"
                        );
                    }
                }
                WeightsAction::Committed { record, reveal }
            }
        }))
    }

    /// Reveals the pending commit once the chain accepts it.
    async fn reveal(
        &mut self,
        pending: PendingReveal,
    ) -> Result<Option<WeightsAction>, NeuronError> {
        match self
            .chain
            .reveal_weights(&self.hotkey, self.config.netuid, &pending)
            .await
        {
            Ok(RevealStatus::NotYet { retry_at }) => {
                self.weights_backoff_until = retry_at;
                Ok(None)
            }
            Ok(RevealStatus::Revealed(inclusion)) => {
                self.state.pending_reveal = None;
                let record = WeightsRecord {
                    block: inclusion.block,
                    uids: pending.uids,
                    values: pending.values,
                };
                tracing::info!(block = %record.block, weights = record.uids.len(), "weights revealed");
                Ok(Some(WeightsAction::Revealed(record)))
            }
            Err(e) if e.is_refusal() || e.is_transport() => Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %e, "the pending commit cannot be revealed; dropping it");
                self.state.pending_reveal = None;
                Ok(None)
            }
        }
    }

    /// Handles a refused weights extrinsic: rules the validator may satisfy later (no permit
    /// yet, too soon) back off; anything else stops the step with the error.
    fn refused(
        &mut self,
        e: ChainError,
        block: Block,
        interval: u64,
    ) -> Result<Option<WeightsAction>, NeuronError> {
        match e {
            ChainError::NoValidatorPermit { .. }
            | ChainError::SettingWeightsTooFast { .. }
            | ChainError::CommittingWeightsTooFast { .. }
            | ChainError::TooManyUnrevealedCommits { .. }
            | ChainError::WeightVecLengthIsLow { .. } => {
                let wait = (interval / 4).max(1);
                self.weights_backoff_until = block.saturating_add(wait);
                tracing::info!(reason = %e, retry_in_blocks = wait, "weights not accepted yet");
                Ok(None)
            }
            other => Err(other.into()),
        }
    }

    /// Steps until `shutdown` completes, one step per `step_blocks` new blocks. Transient
    /// chain failures are retried with backoff; losing registration stops the run.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), NeuronError> {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut headers = self.chain.block_headers().await?;
        let mut backoff = Duration::from_millis(250);
        loop {
            let step = tokio::select! {
                () = &mut shutdown => break,
                step = self.step() => step,
            };
            let last_block = match step {
                Ok(report) => {
                    backoff = Duration::from_millis(250);
                    report.block
                }
                // Waiting cannot mend these.
                Err(
                    e @ (NeuronError::NotRegistered { .. }
                    | NeuronError::State(_)
                    | NeuronError::Chain(ChainError::SubnetNotExists { .. })),
                ) => {
                    return Err(e);
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "validator step failed");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    continue;
                }
            };
            // Wait for enough new blocks.
            let target = last_block.saturating_add(self.config.step_blocks.max(1));
            loop {
                tokio::select! {
                    () = &mut shutdown => return self.stopped(),
                    header = headers.next() => match header {
                        Some(h) if h.number >= target => break,
                        Some(_) => {}
                        // The block stream ended (the node went away): follow it again.
                        None => match self.chain.block_headers().await {
                            Ok(h) => headers = h,
                            Err(e) => {
                                tracing::warn!(error = %e, retry_in = ?backoff, "cannot follow blocks");
                                tokio::select! {
                                    () = &mut shutdown => return self.stopped(),
                                    () = tokio::time::sleep(backoff) => {}
                                }
                                backoff = (backoff * 2).min(Duration::from_secs(30));
                            }
                        }
                    }
                }
            }
        }
        self.stopped()
    }

    /// Saves the state on the way out of [`Validator::run`].
    fn stopped(&self) -> Result<(), NeuronError> {
        self.save()?;
        tracing::info!(step = self.state.step, "validator stopped");
        Ok(())
    }
}
