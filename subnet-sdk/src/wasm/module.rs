//! A loaded scoring module: validated, compiled (or read from the cache), linked once into an
//! `InstancePre`, its task description read, and ready to score with a fresh store per call.

use std::io::Read;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};
use subforge_core::{TaskSchema, check_scores, validate_task_name};
use subforge_guest::abi::{self, InputWriter, Reply, ResponseHead};
use wasmtime::InstancePre;

use super::WasmError;
use super::cache::{CacheOutcome, Lookup};
use super::call::{self, Call, CallState};
use super::engine::ScoringEngine;
use super::hash::{EngineHash, ModuleHash, SchemaHash};
use super::input::ScoringInput;
use super::limits::Limits;
use super::manifest::Manifest;
use super::validate;

/// A validated, compiled scoring module for one task, not yet tied to a Rust task type (see
/// [`WasmScorer`](super::WasmScorer) for that). Cheap to share behind an `Arc`; calls may run
/// from many threads at once.
pub struct ScorerModule {
    engine: ScoringEngine,
    pre: InstancePre<CallState>,
    limits: Limits,
    sha256: ModuleHash,
    schema: TaskSchema,
    schema_hash: SchemaHash,
    exports: Vec<(String, String)>,
    imports: Vec<(String, String)>,
    cache: CacheOutcome,
}

impl std::fmt::Debug for ScorerModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScorerModule")
            .field("task", &self.schema.name)
            .field("sha256", &self.sha256)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// What a module is: for `subforge scorer inspect` and logs.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleInfo {
    /// The task it scores.
    pub task: String,
    /// The task's schema hash.
    pub schema_hash: SchemaHash,
    /// SHA-256 of the module's bytes.
    pub module_sha256: ModuleHash,
    /// The engine it was loaded into.
    pub engine_hash: EngineHash,
    /// The ABI version.
    pub abi: u32,
    /// The limits its calls run under.
    pub limits: Limits,
    /// Its exports, `(name, kind)`.
    pub exports: Vec<(String, String)>,
    /// Its imports, `(module.name, kind)`.
    pub imports: Vec<(String, String)>,
    /// What the cache did when it was loaded.
    pub cache: CacheOutcome,
}

/// The record of one scoring run: what ran, under which limits, what it cost and what it said.
/// Anyone with the same module and input can re-run it and must get the same bits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreReceipt {
    /// One score per response, in order.
    pub scores: Vec<f64>,
    /// Fuel the call consumed (deterministic).
    pub fuel_used: u64,
    /// The task scored.
    pub task: String,
    /// SHA-256 of the module.
    pub module_sha256: ModuleHash,
    /// The engine's determinism hash.
    pub engine_hash: EngineHash,
    /// The limits of the call.
    pub limits: Limits,
}

impl ScorerModule {
    pub(crate) fn load_file(engine: &ScoringEngine, path: &Path) -> Result<Self, WasmError> {
        let max = engine.config().max_module_bytes;
        let file = std::fs::File::open(path).map_err(WasmError::io(path))?;
        let size = file.metadata().map_err(WasmError::io(path))?.len();
        if size > max {
            return Err(WasmError::ModuleTooLarge { size, limit: max });
        }
        let mut bytes = Vec::new();
        file.take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(WasmError::io(path))?;
        let config = engine.config();
        let limits = match Manifest::read_beside(path)? {
            Some(m) => m.limits(config.defaults, &config.ceilings)?,
            None => config.defaults,
        };
        Self::load(engine, &bytes, limits)
    }

    pub(crate) fn load(
        engine: &ScoringEngine,
        bytes: &[u8],
        limits: Limits,
    ) -> Result<Self, WasmError> {
        validate::prevalidate(bytes, engine.config().max_module_bytes, &limits)?;
        let sha256 = ModuleHash(Sha256::digest(bytes).into());
        let (module, cache) = compile(engine, bytes, &sha256)?;
        validate::check_module(&module)?;
        let pre = call::linker(engine.wasmtime())?
            .instantiate_pre(&module)
            .map_err(|e| WasmError::InvalidModule(format!("{e:#}")))?;
        let schema = describe(engine, &pre, &limits)?;
        Ok(Self {
            engine: engine.clone(),
            pre,
            limits,
            sha256,
            schema_hash: SchemaHash(schema.hash()),
            schema,
            exports: validate::describe_exports(&module),
            imports: validate::describe_imports(&module),
            cache,
        })
    }

    /// The task this module scores, as it describes itself.
    pub fn schema(&self) -> &TaskSchema {
        &self.schema
    }

    /// The task's schema hash.
    pub fn schema_hash(&self) -> SchemaHash {
        self.schema_hash
    }

    /// SHA-256 of the module's bytes.
    pub fn sha256(&self) -> ModuleHash {
        self.sha256
    }

    /// The limits its calls run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// What the cache did when it was loaded.
    pub fn cache_outcome(&self) -> CacheOutcome {
        self.cache
    }

    /// Everything `subforge scorer inspect` shows.
    pub fn info(&self) -> ModuleInfo {
        ModuleInfo {
            task: self.schema.name.clone(),
            schema_hash: self.schema_hash,
            module_sha256: self.sha256,
            engine_hash: self.engine.hash(),
            abi: abi::VERSION,
            limits: self.limits,
            exports: self.exports.clone(),
            imports: self.imports.clone(),
            cache: self.cache,
        }
    }

    /// Scores an input given as JSON values (what `subforge scorer run` reads).
    pub fn score_json(&self, input: &ScoringInput) -> Result<ScoreReceipt, WasmError> {
        let encode = |e: abi::EncodeError| WasmError::Encode(e.to_string());
        let mut w = InputWriter::new(&*input.task, &*input.reference).map_err(encode)?;
        for r in &input.responses {
            let head = ResponseHead {
                uid: r.uid.0,
                hotkey: r.hotkey.0.0,
                status: r.status.0,
                latency_micros: r.latency,
                signature_verified: r.signature_verified,
                message: &r.message,
            };
            w.push(&head, r.payload.as_deref()).map_err(encode)?;
        }
        self.score_encoded(&w.finish(), input.responses.len())
    }

    /// Scores an ABI v1 input of `responses` responses.
    pub fn score_encoded(&self, input: &[u8], responses: usize) -> Result<ScoreReceipt, WasmError> {
        let limits = &self.limits;
        if input.len() as u64 > limits.max_input_bytes {
            return Err(WasmError::InputTooLarge {
                size: input.len() as u64,
                limit: limits.max_input_bytes,
            });
        }
        let mut call = Call::start(&self.engine, &self.pre, limits)?;
        let (ptr, len) = call.write_input(input)?;
        let score = call
            .instance
            .get_typed_func::<(u32, u32), u64>(&mut call.store, abi::SCORE_EXPORT)
            .map_err(|e| WasmError::InvalidModule(e.to_string()))?;
        let reply = score
            .call(&mut call.store, (ptr, len))
            .map_err(|e| call.fail(&e))?;
        let reply = call.read_reply(reply)?;
        let fuel_used = call.fuel_used();
        drop(call);
        let malformed = |e: abi::ReplyError| WasmError::MalformedOutput(e.to_string());
        let scores = match abi::decode_reply(&reply).map_err(malformed)? {
            Reply::Ok(body) => abi::decode_scores(body).map_err(malformed)?,
            Reply::InputRejected(m) => return Err(WasmError::InputRejected(m)),
            Reply::ScoreFailed(m) => return Err(WasmError::ScoreFailed(m)),
        };
        check_scores(&scores, responses).map_err(WasmError::InvalidScores)?;
        Ok(ScoreReceipt {
            scores,
            fuel_used,
            task: self.schema.name.clone(),
            module_sha256: self.sha256,
            engine_hash: self.engine.hash(),
            limits: *limits,
        })
    }
}

/// Compiles, or reads the compiled module from the cache.
fn compile(
    engine: &ScoringEngine,
    bytes: &[u8],
    sha256: &ModuleHash,
) -> Result<(wasmtime::Module, CacheOutcome), WasmError> {
    let build = || {
        wasmtime::Module::from_binary(engine.wasmtime(), bytes)
            .map_err(|e| WasmError::InvalidModule(format!("{e:#}")))
    };
    let Some(cache) = engine.cache() else {
        return Ok((build()?, CacheOutcome::Disabled));
    };
    let outcome = match cache.get(engine.wasmtime(), &sha256.0) {
        Lookup::Hit(module) => return Ok((module, CacheOutcome::Hit)),
        Lookup::Miss => CacheOutcome::Miss,
        Lookup::Corrupt => CacheOutcome::Rebuilt,
    };
    let module = build()?;
    // A cache that cannot be written costs a compile next time, not this load.
    let _ = cache.put(&sha256.0, &module);
    Ok((module, outcome))
}

/// Reads the module's task description, in a call of its own under the module's limits.
fn describe(
    engine: &ScoringEngine,
    pre: &InstancePre<CallState>,
    limits: &Limits,
) -> Result<TaskSchema, WasmError> {
    let mut call = Call::start(engine, pre, limits)?;
    let describe = call
        .instance
        .get_typed_func::<(), u64>(&mut call.store, abi::DESCRIBE_EXPORT)
        .map_err(|e| WasmError::InvalidModule(e.to_string()))?;
    let reply = describe
        .call(&mut call.store, ())
        .map_err(|e| call.fail(&e))?;
    let reply = call.read_reply(reply)?;
    let body = match abi::decode_reply(&reply) {
        Ok(Reply::Ok(body)) => body,
        Ok(other) => {
            return Err(WasmError::MalformedOutput(format!(
                "subforge_describe did not succeed: {other:?}"
            )));
        }
        Err(e) => return Err(WasmError::MalformedOutput(e.to_string())),
    };
    let schema: TaskSchema = serde_json::from_slice(body).map_err(|e| {
        WasmError::MalformedOutput(format!("the task description is not a task schema: {e}"))
    })?;
    validate_task_name(&schema.name)
        .map_err(|e| WasmError::MalformedOutput(format!("the task description: {e}")))?;
    Ok(schema)
}
