//! Which subnets a program knows: each subnet is a value implementing [`Subnet`], registered
//! by hand with [`Registry::with`] or, for subnets linked into a binary, with
//! [`inventory::submit!`] and [`Registry::linked`]:
//!
//! ```ignore
//! inventory::submit! { subforge_sdk::registry::SubnetRegistration(&MySubnet) }
//! ```
//!
//! A subnet says what its task is, how to build a miner (from a [`MinerSpec`]), a task
//! generator and a scorer; the registry turns that into running neurons without the caller
//! naming the task type, so `subforge miner --subnet text` works for any linked subnet.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use subforge_core::identity::Keypair;
use subforge_core::{MinerHandler, Scorer, Task, TaskGenerator, TaskSchema};

use crate::chain::Chain;
use crate::net::{AxonBuilder, Endpoint, TaskEndpoint};
use crate::neuron::{
    Miner, NeuronError, RunningMiner, StepReport, Validator, ValidatorConfig, ValidatorState,
};

/// What kind of miner to build, in terms every subnet understands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MinerSpec {
    /// The subnet's built-in model to run (see [`Subnet::miner_models`]); `None` for the
    /// subnet's default.
    pub model: Option<String>,
    /// An OpenAI-compatible endpoint to forward to, for subnets that can.
    pub llm_endpoint: Option<String>,
    /// The model name to ask the endpoint for.
    pub llm_model: Option<String>,
    /// The endpoint's API key.
    pub llm_api_key: Option<String>,
    /// Any further `key=value` settings the subnet documents.
    pub options: BTreeMap<String, String>,
}

/// How a validator scores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScorerChoice {
    /// The subnet's scorer compiled into this program.
    Native,
    /// A WASM module: the given file, or the module the subnet ships when `None`.
    Wasm(Option<PathBuf>),
}

/// Why a subnet could not build a part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubnetError {
    /// No subnet of that name is registered.
    #[error("no subnet `{name}`; known subnets: {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The registered names.
        known: String,
    },
    /// The miner settings make no sense for this subnet.
    #[error("{0}")]
    BadMinerSpec(String),
    /// The subnet cannot score that way (for example, it ships no WASM module).
    #[error("{0}")]
    Scorer(String),
}

impl From<SubnetError> for NeuronError {
    fn from(e: SubnetError) -> Self {
        NeuronError::Subnet(e.to_string())
    }
}

/// A subnet: one task type and the parts that serve, challenge and score it.
pub trait Subnet: Send + Sync + 'static {
    /// The task miners answer.
    type Task: Task;

    /// The name used on the command line (`--subnet NAME`).
    fn name(&self) -> &'static str;

    /// One line saying what the subnet does.
    fn about(&self) -> &'static str;

    /// The built-in miner models as `(name, description)`, the first being the default.
    fn miner_models(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }

    /// The miners `subforge localnet` starts when asked for `count`: a subnet that can make
    /// miners of different quality lists them best first, so a run shows rewards following
    /// quality. By default, `count` miners of the default model.
    fn localnet_miners(&self, count: usize) -> Vec<MinerSpec> {
        vec![MinerSpec::default(); count]
    }

    /// Builds a miner handler.
    fn miner(&self, spec: &MinerSpec) -> Result<Arc<dyn MinerHandler<Self::Task>>, SubnetError>;

    /// Builds the validator's challenge generator.
    fn generator(&self) -> Result<Arc<dyn TaskGenerator<Self::Task>>, SubnetError>;

    /// Builds the native scorer.
    fn scorer(&self) -> Arc<dyn Scorer<Self::Task>>;

    /// Builds a scorer from a WASM module (`None`: the one the subnet ships).
    fn wasm_scorer(
        &self,
        module: Option<&std::path::Path>,
    ) -> Result<Arc<dyn Scorer<Self::Task>>, SubnetError> {
        let _ = module;
        Err(SubnetError::Scorer(format!(
            "subnet `{}` has no WASM scorer",
            self.name()
        )))
    }

    /// Adds the miner's routes to its axon: by default the subnet's task answered by
    /// `handler`. Subnets that also stream, or answer more tasks, add them here.
    fn routes(&self, axon: AxonBuilder, handler: Arc<dyn MinerHandler<Self::Task>>) -> AxonBuilder {
        axon.serve::<Self::Task, _>(handler)
    }

    /// The tasks this subnet's miners answer, callable with JSON (what the gateway serves at
    /// `/v1/tasks/{name}`). Default: the subnet's task. Keep in step with [`Subnet::routes`].
    fn endpoints(&self) -> Vec<Arc<dyn TaskEndpoint>> {
        vec![Endpoint::<Self::Task>::answered()]
    }

    /// How OpenAI-style text requests (chat and completions) become this subnet's tasks, for
    /// subnets that produce text. Default: none.
    fn completions(&self) -> Option<CompletionSpec> {
        None
    }
}

/// How an OpenAI-style text request becomes a subnet's task, and its answer text again: what
/// lets the gateway serve `/v1/chat/completions` and `/v1/completions` for a subnet.
#[derive(Debug, Clone, Copy)]
pub struct CompletionSpec {
    /// The model name clients ask for (listed at `/v1/models`).
    pub model: &'static str,
    /// The task answered with the whole text.
    pub task: &'static str,
    /// The task miners stream the text of, if any (for `stream: true`).
    pub stream_task: Option<&'static str>,
    /// The task's JSON for a prompt and a length limit (`max_tokens`, if the caller gave one).
    pub request: fn(prompt: &str, max_tokens: Option<u32>) -> serde_json::Value,
    /// The text of a task's answer.
    pub text: fn(answer: &serde_json::Value) -> Option<String>,
}

/// A validator of any task type.
#[async_trait]
pub trait ValidatorRunner: Send {
    /// One step (see [`Validator::step`]).
    async fn step(&mut self) -> Result<StepReport, NeuronError>;

    /// Steps until `shutdown` completes (see [`Validator::run`]).
    async fn run(self: Box<Self>, shutdown: BoxFuture<'static, ()>) -> Result<(), NeuronError>;

    /// The state as of the last step.
    fn state(&self) -> &ValidatorState;
}

#[async_trait]
impl<T: Task> ValidatorRunner for Validator<T> {
    async fn step(&mut self) -> Result<StepReport, NeuronError> {
        Validator::step(self).await
    }

    async fn run(self: Box<Self>, shutdown: BoxFuture<'static, ()>) -> Result<(), NeuronError> {
        Validator::run(*self, shutdown).await
    }

    fn state(&self) -> &ValidatorState {
        Validator::state(self)
    }
}

/// A [`Subnet`] with its task type erased, as the registry holds it.
#[async_trait]
pub trait SubnetKind: Send + Sync {
    /// [`Subnet::name`].
    fn name(&self) -> &'static str;
    /// [`Subnet::about`].
    fn about(&self) -> &'static str;
    /// The JSON Schemas of the subnet's task.
    fn tasks(&self) -> Vec<TaskSchema>;
    /// [`Subnet::miner_models`].
    fn miner_models(&self) -> Vec<(&'static str, &'static str)>;
    /// [`Subnet::localnet_miners`].
    fn localnet_miners(&self, count: usize) -> Vec<MinerSpec>;
    /// Starts `miner` serving a handler built from `spec`.
    async fn start_miner(
        &self,
        miner: Miner,
        spec: &MinerSpec,
    ) -> Result<RunningMiner, NeuronError>;
    /// Builds a validator.
    fn validator(
        &self,
        chain: Arc<dyn Chain>,
        hotkey: Keypair,
        config: ValidatorConfig,
        scoring: &ScorerChoice,
    ) -> Result<Box<dyn ValidatorRunner>, NeuronError>;

    /// The tasks miners answer, callable with JSON.
    fn endpoints(&self) -> Vec<Arc<dyn TaskEndpoint>>;

    /// How OpenAI-style text requests become the subnet's tasks, if they can.
    fn completions(&self) -> Option<CompletionSpec>;
}

#[async_trait]
impl<S: Subnet> SubnetKind for S {
    fn name(&self) -> &'static str {
        Subnet::name(self)
    }

    fn about(&self) -> &'static str {
        Subnet::about(self)
    }

    fn tasks(&self) -> Vec<TaskSchema> {
        Subnet::endpoints(self).iter().map(|e| e.schema()).collect()
    }

    fn miner_models(&self) -> Vec<(&'static str, &'static str)> {
        Subnet::miner_models(self)
    }

    fn localnet_miners(&self, count: usize) -> Vec<MinerSpec> {
        Subnet::localnet_miners(self, count)
    }

    async fn start_miner(
        &self,
        miner: Miner,
        spec: &MinerSpec,
    ) -> Result<RunningMiner, NeuronError> {
        let handler = self.miner(spec)?;
        miner.start(move |axon| self.routes(axon, handler)).await
    }

    fn endpoints(&self) -> Vec<Arc<dyn TaskEndpoint>> {
        Subnet::endpoints(self)
    }

    fn completions(&self) -> Option<CompletionSpec> {
        Subnet::completions(self)
    }

    fn validator(
        &self,
        chain: Arc<dyn Chain>,
        hotkey: Keypair,
        config: ValidatorConfig,
        scoring: &ScorerChoice,
    ) -> Result<Box<dyn ValidatorRunner>, NeuronError> {
        let scorer = match scoring {
            ScorerChoice::Native => self.scorer(),
            ScorerChoice::Wasm(path) => {
                // Compiled modules are kept beside the validator's state, so a restart loads
                // the scorer instead of compiling it again (the first validator of a process
                // names the cache; see `ScoringEngine::shared_with`).
                #[cfg(feature = "wasm")]
                let _ = crate::wasm::ScoringEngine::shared_with(
                    crate::wasm::EngineConfig::default()
                        .cache_dir(config.base_path.join(WASM_CACHE_DIR)),
                );
                self.wasm_scorer(path.as_deref())?
            }
        };
        let generator = self.generator()?;
        Ok(Box::new(Validator::new(
            chain, hotkey, generator, scorer, config,
        )?))
    }
}

/// The folder, under a validator's base path, where its compiled WASM scorer is cached.
pub const WASM_CACHE_DIR: &str = "wasm-cache";

/// A subnet linked into the program, for [`Registry::linked`].
#[derive(Clone, Copy)]
pub struct SubnetRegistration(pub &'static dyn SubnetKind);

inventory::collect!(SubnetRegistration);

impl std::fmt::Debug for SubnetRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SubnetRegistration({})", self.0.name())
    }
}

/// The subnets a program can run, by name.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: Vec<&'static dyn SubnetKind>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.kinds.iter().map(|k| k.name()))
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every subnet registered with `inventory::submit!` in the linked crates.
    pub fn linked() -> Self {
        inventory::iter::<SubnetRegistration>
            .into_iter()
            .fold(Self::new(), |r, reg| r.with(reg.0))
    }

    /// Adds a subnet (a later one of the same name replaces the earlier).
    pub fn with(mut self, kind: &'static dyn SubnetKind) -> Self {
        self.kinds.retain(|k| k.name() != kind.name());
        self.kinds.push(kind);
        self.kinds.sort_by_key(|k| k.name());
        self
    }

    /// The subnets, by name.
    pub fn kinds(&self) -> &[&'static dyn SubnetKind] {
        &self.kinds
    }

    /// The subnet called `name`.
    pub fn get(&self, name: &str) -> Result<&'static dyn SubnetKind, SubnetError> {
        self.kinds
            .iter()
            .copied()
            .find(|k| k.name() == name)
            .ok_or_else(|| SubnetError::Unknown {
                name: name.to_owned(),
                known: self.names().join(", "),
            })
    }

    /// The registered names.
    pub fn names(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|k| k.name()).collect()
    }

    /// The schema of the task called `name`, in any subnet.
    pub fn task(&self, name: &str) -> Option<TaskSchema> {
        self.kinds
            .iter()
            .flat_map(|k| k.tasks())
            .find(|t| t.name == name)
    }
}
