//! The validator runtime: each step syncs the metagraph, picks serving miners, makes a
//! challenge of one of the subnet's tasks (each task has its share of the steps), queries the
//! miners, scores the answers and folds the scores into a moving average; once per tempo it turns the averages into weights and puts them on chain (the
//! chain decides whether they are set or committed, and says when a commit it leaves to the
//! validator may be revealed). Its state survives restarts.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
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
use crate::audit::{
    AveragesRecord, Pending, ProofRecord, ReferenceRecord, ResponseRecord, ScorerRecord,
    TRANSCRIPT_VERSION, TaskRecord, Transcript, TranscriptConfig, TranscriptLog,
    WeightsRecord as TranscriptWeights,
};
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
    /// Where to write a signed transcript of every step (`subforge audit` checks them).
    /// Default: none.
    pub transcripts: Option<TranscriptConfig>,
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
            transcripts: None,
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
    /// The task asked in this step ([`Task::NAME`]).
    pub task: &'static str,
    /// Each queried miner with its status and score.
    pub queried: Vec<(Uid, StatusCode, f64)>,
    /// Weights work done in this step.
    pub weights: Option<WeightsAction>,
}

/// One task a validator asks: how its challenges are made and its answers scored, and its
/// share of the steps. A subnet with several tasks gives its validator one of these each.
#[derive(Clone)]
pub struct ValidatorTask {
    name: &'static str,
    share: u32,
    round: Arc<dyn Round>,
    scorer: Option<ScorerRecord>,
}

impl std::fmt::Debug for ValidatorTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatorTask")
            .field("name", &self.name)
            .field("share", &self.share)
            .finish_non_exhaustive()
    }
}

impl ValidatorTask {
    /// Task `T`, challenged by `generator` and scored by `scorer`, with a share of 1.
    pub fn new<T: Task>(generator: Arc<dyn TaskGenerator<T>>, scorer: Arc<dyn Scorer<T>>) -> Self {
        Self {
            name: T::NAME,
            share: 1,
            round: Arc::new(TypedRound { generator, scorer }),
            scorer: None,
        }
    }

    /// Names the WASM module whose bits the scorer gives (its SHA-256, hex) and whether the
    /// scorer runs `native` or `wasm`: what a transcript records. Without it the validator
    /// writes no transcript of this task.
    #[must_use]
    pub fn scored_by(mut self, module_sha256: impl Into<String>, ran: &str) -> Self {
        self.scorer = Some(ScorerRecord {
            module_sha256: module_sha256.into(),
            ran: ran.to_owned(),
        });
        self
    }

    /// Asks this task in `share` steps out of every sum of the tasks' shares (at least 1).
    #[must_use]
    pub fn share(mut self, share: u32) -> Self {
        self.share = share.max(1);
        self
    }

    /// The task's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its share of the steps.
    pub fn steps_share(&self) -> u32 {
        self.share
    }
}

/// What one step does with a task, its type erased: challenge, query, score.
#[async_trait]
trait Round: Send + Sync {
    /// Each queried miner with its status and score; empty when no challenge could be made or
    /// the scorer failed (the step then changes no average). With `log`, the round publishes
    /// its commitment before querying and returns what a transcript records.
    async fn run(
        &self,
        dendrite: &Dendrite,
        targets: &[Target],
        seed: Seed,
        timeout: Option<Duration>,
        step: u64,
        log: Option<&TranscriptLog>,
    ) -> (Vec<(Uid, StatusCode, f64)>, Option<RoundRecord>);
}

/// A round as a transcript records it.
struct RoundRecord {
    task: TaskRecord,
    reference: ReferenceRecord,
    responses: Vec<ResponseRecord>,
}

struct TypedRound<T: Task> {
    generator: Arc<dyn TaskGenerator<T>>,
    scorer: Arc<dyn Scorer<T>>,
}

#[async_trait]
impl<T: Task> Round for TypedRound<T> {
    async fn run(
        &self,
        dendrite: &Dendrite,
        targets: &[Target],
        seed: Seed,
        timeout: Option<Duration>,
        step: u64,
        log: Option<&TranscriptLog>,
    ) -> (Vec<(Uid, StatusCode, f64)>, Option<RoundRecord>) {
        let challenge = match self.generator.generate(seed).await {
            Ok(challenge) => challenge,
            Err(e) => {
                tracing::error!(step, task = T::NAME, error = %e, "no challenge this step");
                return (Vec::new(), None);
            }
        };
        let timeout = timeout.unwrap_or(T::TIMEOUT);
        let Some(log) = log else {
            let responses = dendrite.query(targets, &challenge.task, timeout).await;
            let queried = score_round(
                self.scorer.as_ref(),
                &challenge.task,
                &challenge.reference,
                &responses,
            );
            return (queried, None);
        };
        let reference = ReferenceRecord::commit(
            serde_json::to_value(&challenge.reference).unwrap_or(serde_json::Value::Null),
        );
        log.begin(&Pending {
            step,
            task: T::NAME.to_owned(),
            commitment: reference.commitment.clone(),
        });
        let answered = dendrite
            .query_signed(targets, &challenge.task, timeout)
            .await;
        let mut responses = Vec::with_capacity(answered.len());
        let mut records = Vec::with_capacity(answered.len());
        for (response, proof) in answered {
            records.push(ResponseRecord {
                response: serde_json::to_value(&response).unwrap_or(serde_json::Value::Null),
                proof: proof.as_ref().map(ProofRecord::from),
            });
            responses.push(response);
        }
        let queried = score_round(
            self.scorer.as_ref(),
            &challenge.task,
            &challenge.reference,
            &responses,
        );
        let record = RoundRecord {
            task: TaskRecord {
                name: T::NAME.to_owned(),
                value: serde_json::to_value(&challenge.task).unwrap_or(serde_json::Value::Null),
            },
            reference,
            responses: records,
        };
        (queried, Some(record))
    }
}

/// Scores one step's answers; a failed query scores zero whatever the scorer says, and a
/// scorer that fails or returns unusable numbers leaves the averages untouched.
fn score_round<T: Task>(
    scorer: &dyn Scorer<T>,
    task: &T,
    reference: &T::Reference,
    responses: &[MinerResponse<T>],
) -> Vec<(Uid, StatusCode, f64)> {
    let scores = scorer
        .score(task, reference, responses)
        .and_then(|s| check_scores(&s, responses.len()).map(|()| s));
    match scores {
        Ok(scores) => responses
            .iter()
            .zip(scores)
            .map(|(r, s)| (r.uid, r.status, if r.status.is_success() { s } else { 0.0 }))
            .collect(),
        Err(e) => {
            tracing::error!(task = T::NAME, error = %e, "scoring failed; this step's answers are not counted");
            Vec::new()
        }
    }
}

/// A validator of one or more tasks. Build it with [`Validator::new`] (one task) or
/// [`Validator::with_tasks`], then [`Validator::run`] it (or call [`Validator::step`]
/// yourself).
pub struct Validator {
    chain: Arc<dyn Chain>,
    hotkey: Keypair,
    me: Hotkey,
    tasks: Vec<ValidatorTask>,
    dendrite: Dendrite,
    config: ValidatorConfig,
    state: ValidatorState,
    seed_base: u64,
    /// Don't retry weights before this block after a refusal.
    weights_backoff_until: Block,
    transcripts: Option<TranscriptLog>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("hotkey", &self.me)
            .field("tasks", &self.tasks)
            .field("config", &self.config)
            .field("step", &self.state.step)
            .finish_non_exhaustive()
    }
}

/// Which of the tasks with these shares step `step` asks: they take turns in order, each for
/// its share of every `sum(shares)` steps (shares of 0 count as 1).
fn turn(shares: &[u32], step: u64) -> usize {
    let total: u64 = shares.iter().map(|&s| u64::from(s.max(1))).sum();
    let mut slot = step % total.max(1);
    for (i, &share) in shares.iter().enumerate() {
        let share = u64::from(share.max(1));
        if slot < share {
            return i;
        }
        slot -= share;
    }
    0
}

/// SplitMix64: a seed for every step from one base.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Validator {
    /// A validator of one task signing with `hotkey`, restoring its state from the base path
    /// if present.
    pub fn new<T: Task>(
        chain: Arc<dyn Chain>,
        hotkey: Keypair,
        generator: Arc<dyn TaskGenerator<T>>,
        scorer: Arc<dyn Scorer<T>>,
        config: ValidatorConfig,
    ) -> Result<Self, NeuronError> {
        Self::with_tasks(
            chain,
            hotkey,
            vec![ValidatorTask::new(generator, scorer)],
            config,
        )
    }

    /// A validator of several tasks, each asked in its share of the steps (in turn, in the
    /// order given), restoring its state from the base path if present.
    pub fn with_tasks(
        chain: Arc<dyn Chain>,
        hotkey: Keypair,
        tasks: Vec<ValidatorTask>,
        config: ValidatorConfig,
    ) -> Result<Self, NeuronError> {
        if tasks.is_empty() {
            return Err(NeuronError::Subnet(
                "a validator needs at least one task to ask".into(),
            ));
        }
        let me = Hotkey(hotkey.public());
        let path = ValidatorState::path(&config.base_path);
        let state = ValidatorState::load_or_new(&path, config.netuid, me)?;
        if state.step > 0 {
            tracing::info!(step = state.step, path = %path.display(), "validator state restored");
        }
        let transcripts = config
            .transcripts
            .clone()
            .map(TranscriptLog::open)
            .transpose()
            .map_err(|e| NeuronError::Subnet(format!("cannot keep transcripts: {e}")))?;
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
            tasks,
            config,
            state,
            seed_base,
            weights_backoff_until: Block(0),
            transcripts,
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

    /// The tasks it asks.
    pub fn tasks(&self) -> &[ValidatorTask] {
        &self.tasks
    }

    /// The task of step `step` (see [`turn`]).
    fn task_of(&self, step: u64) -> &ValidatorTask {
        let shares: Vec<u32> = self.tasks.iter().map(|t| t.share).collect();
        &self.tasks[turn(&shares, step)]
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

        let task = self.task_of(step).clone();
        let task_name = task.name;
        let log = self.transcripts.clone().filter(|_| task.scorer.is_some());
        // Kept only for a transcript.
        let averages_before = log.as_ref().map(|_| self.state.scores.values().to_vec());
        let mut queried = Vec::new();
        let mut round = None;
        if !targets.is_empty() {
            (queried, round) = task
                .round
                .run(
                    &self.dendrite,
                    &targets,
                    seed,
                    self.config.timeout,
                    step,
                    log.as_ref(),
                )
                .await;
            let scored: Vec<(Uid, f64)> = queried.iter().map(|&(u, _, s)| (u, s)).collect();
            self.state
                .scores
                .record(&scored, self.config.moving_average_alpha);
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
        if let (Some(log), Some(round), Some(scorer), Some(averages_before)) =
            (&log, round, &task.scorer, averages_before)
        {
            self.write_transcript(
                log,
                &metagraph,
                step,
                round,
                scorer.clone(),
                &queried,
                averages_before,
                weights.as_ref(),
            );
        }
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
            task = task_name,
            block = %metagraph.block,
            queried = queried.len(),
            answered,
            mean_score = format_args!("{mean:.3}"),
            "validator step"
        );
        Ok(StepReport {
            step,
            block: metagraph.block,
            task: task_name,
            queried,
            weights,
        })
    }

    /// Writes the transcript of a step; a failure is logged, never fatal.
    #[allow(clippy::too_many_arguments)]
    fn write_transcript(
        &self,
        log: &TranscriptLog,
        metagraph: &Metagraph,
        step: u64,
        round: RoundRecord,
        scorer: ScorerRecord,
        queried: &[(Uid, StatusCode, f64)],
        averages_before: Vec<f64>,
        weights: Option<&WeightsAction>,
    ) {
        let weights = match weights {
            Some(WeightsAction::Set(r)) => Some((false, r)),
            Some(WeightsAction::Committed { record, .. }) => Some((true, record)),
            _ => None,
        }
        .map(|(committed, r)| TranscriptWeights {
            committed,
            uids: r.uids.clone(),
            values: r.values.clone(),
            serving: self.serving(metagraph),
            min_allowed_weights: metagraph.hyperparameters.min_allowed_weights,
            max_weight_limit: metagraph.hyperparameters.max_weight_limit,
        });
        // A scorer that failed leaves no scores: the responses stand, scored nothing.
        let scores = if queried.len() == round.responses.len() {
            queried.iter().map(|q| q.2).collect()
        } else {
            Vec::new()
        };
        let mut transcript = Transcript {
            version: TRANSCRIPT_VERSION,
            netuid: self.config.netuid,
            validator: self.me,
            step,
            block: metagraph.block,
            task: round.task,
            reference: round.reference,
            scorer,
            responses: round.responses,
            scores,
            averages: AveragesRecord {
                alpha: self.config.moving_average_alpha,
                before: averages_before,
                after: self.state.scores.values().to_vec(),
            },
            weights,
            signature: None,
        };
        transcript.sign(&self.hotkey);
        if let Err(e) = log.write(&transcript) {
            tracing::warn!(step, error = %e, "transcript not written");
        }
    }

    /// Which uids serve an axon and are not this validator, by uid.
    fn serving(&self, metagraph: &Metagraph) -> Vec<bool> {
        metagraph
            .axons
            .iter()
            .zip(&metagraph.hotkeys)
            .map(|(a, h)| a.is_serving() && *h != self.me)
            .collect()
    }

    /// The weights to submit now: the averages through the chain's limits, quantised.
    fn weight_vector(&self, metagraph: &Metagraph) -> Result<(Vec<u16>, Vec<u16>), NeuronError> {
        let serving = self.serving(metagraph);
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

#[cfg(test)]
mod tests {
    use super::turn;

    #[test]
    fn tasks_take_turns_by_share() {
        let steps = |shares: &[u32]| (0..8).map(|s| turn(shares, s)).collect::<Vec<_>>();
        assert_eq!(steps(&[1]), [0; 8]);
        assert_eq!(steps(&[1, 1]), [0, 1, 0, 1, 0, 1, 0, 1]);
        assert_eq!(steps(&[3, 1]), [0, 0, 0, 1, 0, 0, 0, 1]);
        assert_eq!(steps(&[1, 2, 1]), [0, 1, 1, 2, 0, 1, 1, 2]);
        assert_eq!(steps(&[0, 1]), [0, 1, 0, 1, 0, 1, 0, 1]);
        assert_eq!(turn(&[u32::MAX, u32::MAX], u64::MAX), 1);
    }
}
