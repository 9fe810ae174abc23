//! `WasmScorer<T>`: a scoring module bound to a Rust task type, so a validator treats native and
//! WASM scorers alike.

use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

use subforge_core::{MinerResponse, ScoreError, Scorer, Task};
use subforge_guest::abi;

use super::WasmError;
use super::engine::ScoringEngine;
use super::hash::SchemaHash;
use super::module::{ScoreReceipt, ScorerModule};

/// A WASM scoring module for task `T`; implements [`Scorer<T>`].
///
/// ```no_run
/// # use subforge_sdk::wasm::{EngineConfig, ScoringEngine, WasmScorer, WasmError};
/// # fn demo<T: subforge_core::Task>() -> Result<(), WasmError> {
/// let engine = ScoringEngine::new(EngineConfig::default().cache_dir("/var/cache/subforge"))?;
/// let scorer = WasmScorer::<T>::load(&engine, "scorer.wasm")?; // reads scorer.toml if present
/// # Ok(()) }
/// ```
pub struct WasmScorer<T: Task> {
    module: Arc<ScorerModule>,
    task: PhantomData<fn() -> T>,
}

impl<T: Task> Clone for WasmScorer<T> {
    fn clone(&self) -> Self {
        Self {
            module: Arc::clone(&self.module),
            task: PhantomData,
        }
    }
}

impl<T: Task> std::fmt::Debug for WasmScorer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmScorer")
            .field("module", &self.module)
            .finish()
    }
}

impl<T: Task> WasmScorer<T> {
    /// Binds a loaded module to `T`: its task name and schema hash must be `T`'s.
    pub fn new(module: impl Into<Arc<ScorerModule>>) -> Result<Self, WasmError> {
        let module = module.into();
        let expected = T::schema();
        let found = module.schema();
        if found.name != expected.name {
            return Err(WasmError::TaskMismatch {
                expected: expected.name,
                found: found.name.clone(),
            });
        }
        let expected_hash = SchemaHash(expected.hash());
        if module.schema_hash() != expected_hash {
            return Err(WasmError::SchemaMismatch {
                task: expected.name,
                expected: expected_hash.to_string(),
                found: module.schema_hash().to_string(),
            });
        }
        Ok(Self {
            module,
            task: PhantomData,
        })
    }

    /// Loads the module at `path` (with its manifest) and binds it to `T`.
    pub fn load(engine: &ScoringEngine, path: impl AsRef<Path>) -> Result<Self, WasmError> {
        Self::new(engine.load_file(path)?)
    }

    /// The module.
    pub fn module(&self) -> &ScorerModule {
        &self.module
    }

    /// Scores, returning the full [`ScoreReceipt`] (fuel used, module and engine hashes).
    pub fn score_with_receipt(
        &self,
        task: &T,
        reference: &T::Reference,
        responses: &[MinerResponse<T>],
    ) -> Result<ScoreReceipt, WasmError> {
        let input = abi::encode_input(task, reference, responses)
            .map_err(|e| WasmError::Encode(e.to_string()))?;
        self.module.score_encoded(&input, responses.len())
    }
}

impl<T: Task> Scorer<T> for WasmScorer<T> {
    fn score(
        &self,
        task: &T,
        reference: &T::Reference,
        responses: &[MinerResponse<T>],
    ) -> Result<Vec<f64>, ScoreError> {
        Ok(self.score_with_receipt(task, reference, responses)?.scores)
    }
}
