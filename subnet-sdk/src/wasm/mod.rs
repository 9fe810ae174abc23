//! Sandboxed WASM scoring on wasmtime: the host side of ABI v1 (`docs/abi.md`).
//!
//! A validator loads a module once and scores with it like any native scorer:
//!
//! ```no_run
//! # use subforge_sdk::wasm::{EngineConfig, ScoringEngine, WasmScorer, WasmError};
//! # use subforge_core::Scorer;
//! # fn demo<T: subforge_core::Task>(task: T, reference: T::Reference,
//! #     responses: Vec<subforge_core::MinerResponse<T>>) -> Result<(), WasmError> {
//! let engine = ScoringEngine::new(EngineConfig::default().cache_dir("/var/cache/subforge"))?;
//! let scorer = WasmScorer::<T>::load(&engine, "scorer.wasm")?;
//! let receipt = scorer.score_with_receipt(&task, &reference, &responses)?;
//! println!("{:?} with {} fuel on engine {}", receipt.scores, receipt.fuel_used, receipt.engine_hash);
//! # Ok(()) }
//! ```
//!
//! - [`ScoringEngine`] ([`EngineConfig`]): one wasmtime engine with deterministic settings, named
//!   by an [`EngineHash`], a wall-clock ticker and an optional on-disk cache of compiled modules.
//! - [`ScorerModule`]: a module validated before instantiation, compiled, linked once, its task
//!   description read; each call runs in a fresh store under [`Limits`] (fuel decides; memory,
//!   stack, input and output are capped; the wall clock is a backstop), set per module by a
//!   [`Manifest`] beside it.
//! - [`WasmScorer<T>`]: a module bound to task type `T`, implementing `subforge_core::Scorer`.
//! - [`WasmError`]: every way loading or a call can fail; the host always survives.

mod cache;
mod call;
mod engine;
mod error;
mod hash;
mod input;
mod limits;
mod manifest;
mod module;
mod scorer;
mod validate;

pub use cache::CacheOutcome;
pub use engine::{EngineConfig, ScoringEngine, WASMTIME_VERSION};
pub use error::WasmError;
pub use hash::{EngineHash, ModuleHash, SchemaHash};
pub use input::{ScoringInput, ScoringResponse};
pub use limits::{Ceilings, Limits, TABLE_ELEMENTS_MAX};
pub use manifest::{Manifest, ManifestLimits};
pub use module::{ModuleInfo, ScoreReceipt, ScorerModule};
pub use scorer::WasmScorer;
