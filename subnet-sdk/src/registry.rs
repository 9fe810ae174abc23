//! Which subnets a program knows: each subnet is a value implementing [`Subnet`], registered
//! by hand with [`Registry::with`] (or [`crate::cli::App::subnet`] for a binary) or, for
//! subnets linked into a binary, with [`inventory::submit!`] and [`Registry::linked`]:
//!
//! ```ignore
//! inventory::submit! { subforge_sdk::registry::SubnetRegistration(&MySubnet) }
//! ```
//!
//! A subnet says which tasks its validators ask ([`TaskSpec`]: a generator and a scorer,
//! native and WASM, for each), how to build a miner from a [`MinerSpec`] (its model and the
//! settings it declares as [`MinerOption`]s), and what the gateway serves; the registry turns
//! that into running neurons without the caller naming a task type, so `subforge miner
//! --subnet text` works for any registered subnet.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use subforge_core::identity::Keypair;
use subforge_core::{MinerHandler, Scorer, Task, TaskGenerator, TaskSchema};

use crate::chain::Chain;
use crate::net::{AxonBuilder, Endpoint, TaskEndpoint};
use crate::neuron::{
    Miner, NeuronError, RunningMiner, StepReport, Validator, ValidatorConfig, ValidatorState,
    ValidatorTask,
};

/// What kind of miner to build: a model of the subnet's and the settings the subnet declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MinerSpec {
    /// The subnet's built-in model to run (see [`Subnet::miner_models`]), as `NAME` or
    /// `NAME:PARAM`; `None` for the subnet's default.
    pub model: Option<String>,
    /// Settings by name, each one the subnet declares in [`Subnet::miner_options`].
    pub options: BTreeMap<String, String>,
}

impl MinerSpec {
    /// A miner of `model` with no settings.
    pub fn model(model: impl Into<String>) -> Self {
        Self {
            model: Some(model.into()),
            options: BTreeMap::new(),
        }
    }

    /// Adds the setting `name = value`.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.insert(name.into(), value.into());
        self
    }

    /// The model split into name and parameter, or `default` when none was asked for.
    pub fn model_or<'a>(&'a self, default: &'a str) -> ModelArg<'a> {
        ModelArg::parse(self.model.as_deref().unwrap_or(default))
    }

    /// The setting `name` as given.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }

    /// The setting `name` parsed as a `V`; `None` when it was not given.
    pub fn parse<V>(&self, name: &str) -> Result<Option<V>, SubnetError>
    where
        V: FromStr,
        V::Err: Display,
    {
        self.option(name)
            .map(|value| {
                value.parse().map_err(|e: V::Err| SubnetError::BadOption {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// Refuses settings the subnet does not declare, naming those it does.
    pub fn check_options(&self, declared: &[MinerOption]) -> Result<(), SubnetError> {
        match self
            .options
            .keys()
            .find(|k| !declared.iter().any(|o| o.name == k.as_str()))
        {
            None => Ok(()),
            Some(unknown) => Err(SubnetError::UnknownOption {
                name: unknown.clone(),
                known: if declared.is_empty() {
                    "none".to_owned()
                } else {
                    declared
                        .iter()
                        .map(|o| o.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            }),
        }
    }
}

/// A localnet line-up of `count` miners from three models, best first: one `best`, `middle`
/// ones between, and one `junk` last when there are two or more, so a run shows rewards
/// following quality (what [`Subnet::localnet_miners`] usually returns).
pub fn graded_lineup(count: usize, best: &str, middle: &str, junk: &str) -> Vec<MinerSpec> {
    (0..count)
        .map(|i| match i {
            0 => MinerSpec::model(best),
            i if i + 1 == count => MinerSpec::model(junk),
            _ => MinerSpec::model(middle),
        })
        .collect()
}

/// A `--model` value: `NAME`, or `NAME:PARAM` for a model with a parameter (`ngram:4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelArg<'a> {
    /// The whole value, as given.
    pub text: &'a str,
    /// The model's name (before the first `:`).
    pub name: &'a str,
    /// The parameter (after the first `:`), if any.
    pub param: Option<&'a str>,
}

impl<'a> ModelArg<'a> {
    /// Splits `text` at its first `:`.
    pub fn parse(text: &'a str) -> Self {
        let (name, param) = match text.split_once(':') {
            Some((name, param)) => (name, Some(param)),
            None => (text, None),
        };
        Self { text, name, param }
    }

    /// The parameter as a number in `range`, or `default` when none was given.
    pub fn param_in<V>(&self, range: RangeInclusive<V>, default: V) -> Result<V, SubnetError>
    where
        V: FromStr + PartialOrd + Display + Copy,
    {
        let Some(param) = self.param else {
            return Ok(default);
        };
        match param.parse::<V>() {
            Ok(v) if range.contains(&v) => Ok(v),
            _ => Err(SubnetError::BadModelParameter {
                model: self.text.to_owned(),
                expected: format!(
                    "{}:N with N from {} to {}",
                    self.name,
                    range.start(),
                    range.end()
                ),
            }),
        }
    }

    /// Refuses a parameter on a model that takes none.
    pub fn no_param(&self) -> Result<(), SubnetError> {
        match self.param {
            None => Ok(()),
            Some(_) => Err(SubnetError::BadModelParameter {
                model: self.text.to_owned(),
                expected: format!("{} takes no parameter", self.name),
            }),
        }
    }
}

/// A built miner: the routes its handlers serve, added to the axon when it starts.
pub struct MinerRoutes(Box<dyn FnOnce(AxonBuilder) -> AxonBuilder + Send>);

impl std::fmt::Debug for MinerRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MinerRoutes(..)")
    }
}

impl MinerRoutes {
    /// Routes added by `routes` (`|axon| axon.serve::<A, _>(a).stream::<B, _>(b)`).
    pub fn new(routes: impl FnOnce(AxonBuilder) -> AxonBuilder + Send + 'static) -> Self {
        Self(Box::new(routes))
    }

    /// One task answered by `handler`.
    pub fn serve<T: Task>(handler: Arc<dyn MinerHandler<T>>) -> Self {
        Self::new(move |axon| axon.serve::<T, _>(handler))
    }

    /// These routes and task `T` answered by `handler`.
    #[must_use]
    pub fn and_serve<T: Task>(self, handler: Arc<dyn MinerHandler<T>>) -> Self {
        Self::new(move |axon| (self.0)(axon).serve::<T, _>(handler))
    }

    /// Adds the routes to `axon`.
    pub fn apply(self, axon: AxonBuilder) -> AxonBuilder {
        (self.0)(axon)
    }
}

/// A setting a subnet's miners take, shown in `subforge subnet kinds` and `subforge miner
/// --help`, and given as `--set NAME=VALUE` or under `[options]` in the miner's config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinerOption {
    /// Its name (`llm-endpoint`).
    pub name: &'static str,
    /// What its value is, for help texts (`URL`).
    pub value: &'static str,
    /// One line saying what it does.
    pub about: &'static str,
}

/// How a validator scores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScorerChoice {
    /// The subnet's scorers compiled into this program.
    Native,
    /// WASM modules: each given file scores the task it declares, and every other task is
    /// scored by the module the subnet ships for it.
    Wasm(Vec<PathBuf>),
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
    /// The subnet has no miner model of that name.
    #[error("unknown miner model `{model}`; models: {known}")]
    UnknownModel {
        /// The model asked for.
        model: String,
        /// The subnet's models.
        known: String,
    },
    /// The model's parameter is malformed or out of range.
    #[error("miner model `{model}`: expected {expected}")]
    BadModelParameter {
        /// The model asked for.
        model: String,
        /// What would have been accepted.
        expected: String,
    },
    /// A miner setting the subnet does not declare.
    #[error("unknown miner setting `{name}`; this subnet's settings: {known}")]
    UnknownOption {
        /// The setting given.
        name: String,
        /// The settings the subnet declares.
        known: String,
    },
    /// A miner setting's value does not parse.
    #[error("miner setting `{name}={value}`: {reason}")]
    BadOption {
        /// The setting.
        name: String,
        /// Its value.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// The miner settings make no sense for this subnet.
    #[error("{0}")]
    BadMinerSpec(String),
    /// The subnet cannot score that way (for example, it ships no WASM module).
    #[error("{0}")]
    Scorer(String),
}

impl SubnetError {
    /// An [`SubnetError::UnknownModel`] listing the subnet's models.
    pub fn unknown_model(model: &str, models: &[(&'static str, &'static str)]) -> Self {
        Self::UnknownModel {
            model: model.to_owned(),
            known: models
                .iter()
                .map(|(m, _)| *m)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

impl From<SubnetError> for NeuronError {
    fn from(e: SubnetError) -> Self {
        NeuronError::Subnet(e.to_string())
    }
}

/// Builds a task's challenge generator, when a validator starts (it may train or load data).
pub type MakeGenerator<T> =
    Arc<dyn Fn() -> Result<Arc<dyn TaskGenerator<T>>, SubnetError> + Send + Sync>;

/// A task a subnet's validators ask: how challenges are made, how answers are scored natively
/// and in the sandbox, how often it is asked, and how the gateway serves it.
pub struct TaskSpec<T: Task> {
    generator: MakeGenerator<T>,
    scorer: Arc<dyn Scorer<T>>,
    wasm: Option<&'static [u8]>,
    share: u32,
    endpoint: Arc<dyn TaskEndpoint>,
}

impl<T: Task> Clone for TaskSpec<T> {
    fn clone(&self) -> Self {
        Self {
            generator: self.generator.clone(),
            scorer: self.scorer.clone(),
            wasm: self.wasm,
            share: self.share,
            endpoint: self.endpoint.clone(),
        }
    }
}

impl<T: Task> std::fmt::Debug for TaskSpec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskSpec")
            .field("task", &T::NAME)
            .field("wasm_bytes", &self.wasm.map(<[u8]>::len))
            .field("share", &self.share)
            .finish_non_exhaustive()
    }
}

impl<T: Task> TaskSpec<T> {
    /// Task `T`, challenged by what `generator` builds and scored natively by `scorer`; asked
    /// in a share of 1, served by the gateway as [`Endpoint::answered`].
    pub fn new(
        generator: impl Fn() -> Result<Arc<dyn TaskGenerator<T>>, SubnetError> + Send + Sync + 'static,
        scorer: impl Scorer<T> + 'static,
    ) -> Self {
        Self {
            generator: Arc::new(generator),
            scorer: Arc::new(scorer),
            wasm: None,
            share: 1,
            endpoint: Endpoint::<T>::answered(),
        }
    }

    /// The scorer's WASM module, shipped in the program (see the `subforge-build` crate and
    /// [`crate::embedded_scorer`]): what `--scorer wasm` runs.
    #[must_use]
    pub fn wasm(mut self, module: &'static [u8]) -> Self {
        self.wasm = Some(module);
        self
    }

    /// Asks this task in `share` steps out of every sum of the subnet's shares.
    #[must_use]
    pub fn share(mut self, share: u32) -> Self {
        self.share = share.max(1);
        self
    }

    /// How the gateway serves the task (for example [`Endpoint::answered_best_by`]).
    #[must_use]
    pub fn gateway(mut self, endpoint: Arc<dyn TaskEndpoint>) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// A new challenge generator.
    pub fn generator(&self) -> Result<Arc<dyn TaskGenerator<T>>, SubnetError> {
        (self.generator)()
    }

    /// The native scorer.
    pub fn scorer(&self) -> Arc<dyn Scorer<T>> {
        self.scorer.clone()
    }

    /// The shipped WASM module, if any.
    pub fn wasm_module(&self) -> Option<&'static [u8]> {
        self.wasm
    }

    /// The shipped WASM module as a scorer, loaded in the process's shared engine.
    #[cfg(feature = "wasm")]
    pub fn wasm_scorer(&self) -> Result<Arc<dyn Scorer<T>>, SubnetError> {
        let module = self.wasm.ok_or_else(|| {
            SubnetError::Scorer(format!(
                "task `{}` ships no WASM scorer; pass --wasm-scorer FILE",
                T::NAME
            ))
        })?;
        let engine = crate::wasm::ScoringEngine::shared().map_err(wasm_error)?;
        let module = engine
            .load(module, crate::wasm::Limits::default())
            .map_err(wasm_error)?;
        Ok(Arc::new(
            crate::wasm::WasmScorer::<T>::new(module).map_err(wasm_error)?,
        ))
    }
}

#[cfg(feature = "wasm")]
fn wasm_error(e: crate::wasm::WasmError) -> SubnetError {
    SubnetError::Scorer(e.to_string())
}

/// A [`TaskSpec`] with its task type erased, as [`Subnet::tasks`] lists them.
pub trait SubnetTask: Send + Sync {
    /// The task's name.
    fn name(&self) -> &'static str;
    /// The task's schemas.
    fn schema(&self) -> TaskSchema;
    /// Its share of a validator's steps.
    fn share(&self) -> u32;
    /// Whether the subnet ships a WASM scorer for it.
    fn ships_wasm(&self) -> bool;
    /// The WASM module the subnet ships for it, if any.
    fn wasm_module(&self) -> Option<&'static [u8]>;
    /// How the gateway serves it.
    fn endpoint(&self) -> Arc<dyn TaskEndpoint>;
    /// What a validator needs to ask it: a generator and the chosen scorer. `wasm` picks the
    /// sandbox; `module`, a module loaded from a file, replaces the shipped one.
    fn validator_task(
        &self,
        wasm: bool,
        #[cfg(feature = "wasm")] module: Option<Arc<crate::wasm::ScorerModule>>,
    ) -> Result<ValidatorTask, SubnetError>;
}

impl<T: Task> SubnetTask for TaskSpec<T> {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn schema(&self) -> TaskSchema {
        T::schema()
    }

    fn share(&self) -> u32 {
        self.share
    }

    fn ships_wasm(&self) -> bool {
        self.wasm.is_some()
    }

    fn wasm_module(&self) -> Option<&'static [u8]> {
        self.wasm
    }

    fn endpoint(&self) -> Arc<dyn TaskEndpoint> {
        self.endpoint.clone()
    }

    fn validator_task(
        &self,
        wasm: bool,
        #[cfg(feature = "wasm")] module: Option<Arc<crate::wasm::ScorerModule>>,
    ) -> Result<ValidatorTask, SubnetError> {
        // The module whose bits the scorer gives: what a transcript names.
        let shipped = self
            .wasm
            .map(|bytes| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)));
        #[cfg(feature = "wasm")]
        let (scorer, module_sha256) = match (wasm, module) {
            (_, Some(module)) => {
                let sha = module.sha256().to_string();
                let scorer = crate::wasm::WasmScorer::<T>::new(module).map_err(wasm_error)?;
                (Arc::new(scorer) as Arc<dyn Scorer<T>>, Some(sha))
            }
            (true, None) => (self.wasm_scorer()?, shipped),
            (false, None) => (self.scorer(), shipped),
        };
        #[cfg(not(feature = "wasm"))]
        let (scorer, module_sha256) = if wasm {
            return Err(SubnetError::Scorer(
                "this program was built without the WASM scoring host (feature `wasm`)".into(),
            ));
        } else {
            (self.scorer(), shipped)
        };
        let task = ValidatorTask::new(self.generator()?, scorer).share(self.share);
        Ok(match module_sha256 {
            Some(sha) => task.scored_by(sha, if wasm { "wasm" } else { "native" }),
            None => task,
        })
    }
}

impl<T: Task> From<TaskSpec<T>> for Arc<dyn SubnetTask> {
    fn from(spec: TaskSpec<T>) -> Self {
        Arc::new(spec)
    }
}

/// A subnet: the tasks its validators ask, the miners that answer them, and what the gateway
/// serves.
pub trait Subnet: Send + Sync + 'static {
    /// The name used on the command line (`--subnet NAME`).
    fn name(&self) -> &'static str;

    /// One line saying what the subnet does.
    fn about(&self) -> &'static str;

    /// The built-in miner models as `(name, description)`, the first being the default.
    fn miner_models(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }

    /// The settings miners take besides the model (checked before [`Subnet::miner`] runs:
    /// an undeclared setting is refused).
    fn miner_options(&self) -> Vec<MinerOption> {
        Vec::new()
    }

    /// The miners `subforge localnet` starts when asked for `count`: a subnet that can make
    /// miners of different quality lists them best first, so a run shows rewards following
    /// quality. By default, `count` miners of the default model.
    fn localnet_miners(&self, count: usize) -> Vec<MinerSpec> {
        vec![MinerSpec::default(); count]
    }

    /// Builds the miner `spec` describes: its handlers, and the routes of every task it
    /// answers ([`MinerRoutes::serve`], or [`MinerRoutes::new`] for streams and more).
    fn miner(&self, spec: &MinerSpec) -> Result<MinerRoutes, SubnetError>;

    /// The tasks validators ask ([`TaskSpec`]s), at least one.
    fn tasks(&self) -> Vec<Arc<dyn SubnetTask>>;

    /// The tasks miners answer, callable with JSON (what the gateway serves at
    /// `/v1/tasks/{name}`). Default: every task of [`Subnet::tasks`]; a subnet whose miners
    /// answer more (a streamed variant) lists those too. Keep in step with [`Subnet::miner`].
    fn endpoints(&self) -> Vec<Arc<dyn TaskEndpoint>> {
        self.tasks().iter().map(|t| t.endpoint()).collect()
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

/// A running validator, as the registry builds it.
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
impl ValidatorRunner for Validator {
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

/// A [`Subnet`] as the registry holds it: what the runtime does with one.
#[async_trait]
pub trait SubnetKind: Send + Sync {
    /// [`Subnet::name`].
    fn name(&self) -> &'static str;
    /// [`Subnet::about`].
    fn about(&self) -> &'static str;
    /// The JSON Schemas of every task miners answer.
    fn tasks(&self) -> Vec<TaskSchema>;
    /// The tasks validators ask.
    fn validated_tasks(&self) -> Vec<Arc<dyn SubnetTask>>;
    /// [`Subnet::miner_models`].
    fn miner_models(&self) -> Vec<(&'static str, &'static str)>;
    /// [`Subnet::miner_options`].
    fn miner_options(&self) -> Vec<MinerOption>;
    /// [`Subnet::localnet_miners`].
    fn localnet_miners(&self, count: usize) -> Vec<MinerSpec>;
    /// Builds the miner `spec` describes, its settings checked first.
    fn build_miner(&self, spec: &MinerSpec) -> Result<MinerRoutes, SubnetError>;
    /// Starts `miner` serving the miner built from `spec` (see [`SubnetKind::build_miner`]).
    async fn start_miner(
        &self,
        miner: Miner,
        spec: &MinerSpec,
    ) -> Result<RunningMiner, NeuronError>;
    /// Builds a validator of every task, scoring as `scoring` says.
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

    fn validated_tasks(&self) -> Vec<Arc<dyn SubnetTask>> {
        Subnet::tasks(self)
    }

    fn miner_models(&self) -> Vec<(&'static str, &'static str)> {
        Subnet::miner_models(self)
    }

    fn miner_options(&self) -> Vec<MinerOption> {
        Subnet::miner_options(self)
    }

    fn localnet_miners(&self, count: usize) -> Vec<MinerSpec> {
        Subnet::localnet_miners(self, count)
    }

    async fn start_miner(
        &self,
        miner: Miner,
        spec: &MinerSpec,
    ) -> Result<RunningMiner, NeuronError> {
        // Built before anything binds or registers, so a bad spec costs nothing.
        let routes = self.build_miner(spec)?;
        miner.start(move |axon| routes.apply(axon)).await
    }

    fn build_miner(&self, spec: &MinerSpec) -> Result<MinerRoutes, SubnetError> {
        spec.check_options(&Subnet::miner_options(self))?;
        self.miner(spec)
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
        let tasks = Subnet::tasks(self);
        let (wasm, files): (bool, &[PathBuf]) = match scoring {
            ScorerChoice::Native => (false, &[]),
            ScorerChoice::Wasm(files) => (true, files),
        };
        #[cfg(feature = "wasm")]
        let mut modules = {
            // Compiled modules are kept beside the validator's state, so a restart loads
            // the scorer instead of compiling it again (the first validator of a process
            // names the cache; see `ScoringEngine::shared_with`).
            let mut modules: BTreeMap<String, Arc<crate::wasm::ScorerModule>> = BTreeMap::new();
            if wasm {
                let engine = crate::wasm::ScoringEngine::shared_with(
                    crate::wasm::EngineConfig::default()
                        .cache_dir(config.base_path.join(WASM_CACHE_DIR)),
                )
                .map_err(wasm_error)?;
                for file in files {
                    let module = engine.load_file(file).map_err(wasm_error)?;
                    let task = module.schema().name.clone();
                    if !tasks.iter().any(|t| t.name() == task) {
                        return Err(SubnetError::Scorer(format!(
                            "{} scores task `{task}`, which subnet `{}` does not ask (its tasks: {})",
                            file.display(),
                            Subnet::name(self),
                            tasks.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
                        ))
                        .into());
                    }
                    if modules.insert(task.clone(), Arc::new(module)).is_some() {
                        return Err(SubnetError::Scorer(format!(
                            "two WASM modules score task `{task}`; give one"
                        ))
                        .into());
                    }
                }
            }
            modules
        };
        #[cfg(not(feature = "wasm"))]
        let _ = files;
        let mut validator_tasks = Vec::with_capacity(tasks.len());
        for task in &tasks {
            validator_tasks.push(task.validator_task(
                wasm,
                #[cfg(feature = "wasm")]
                modules.remove(task.name()),
            )?);
        }
        Ok(Box::new(Validator::with_tasks(
            chain,
            hotkey,
            validator_tasks,
            config,
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
