//! # subforge-guest
//!
//! The crate a WASM scoring module links. One line turns a type that implements
//! [`subforge_core::Scorer`] into a module that the Subforge host runs in its sandbox:
//!
//! ```
//! use std::time::Duration;
//! use serde::{Deserialize, Serialize};
//! use subforge_guest::core::{MinerResponse, ScoreError, Scorer, Task};
//!
//! #[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
//! pub struct Double { pub value: i64 }
//!
//! impl Task for Double {
//!     const NAME: &'static str = "Double";
//!     type Response = i64;
//!     type Reference = i64;
//! }
//!
//! pub struct Exact;
//!
//! impl Scorer<Double> for Exact {
//!     fn score(&self, _: &Double, reference: &i64, responses: &[MinerResponse<Double>])
//!         -> Result<Vec<f64>, ScoreError> {
//!         Ok(responses.iter().map(|r| f64::from(u8::from(r.ok() == Some(reference)))).collect())
//!     }
//! }
//!
//! subforge_guest::export_scorer!(Double, Exact);
//! ```
//!
//! Build the crate (with `crate-type = ["cdylib", "rlib"]`) with
//! `cargo build --release --target wasm32-unknown-unknown`. The exports exist only in the wasm32
//! build, so the same crate links natively too and gives bit-identical scores there.
//!
//! Bit-identical means the scorer may use `+ - * /`, `sqrt`, `abs`, `floor`, `ceil`, `min`,
//! `max` and integer arithmetic freely; `exp`, `ln`, `powf`, `sin` and friends call the
//! platform's math library natively and may differ in the last bit, so take them from the
//! `libm` crate when native and WASM scores must agree. Latency reaches a module in whole
//! microseconds, as it travels on the wire.
//!
//! Allocations inside a module come first from a bump arena in the module's initial memory
//! (the default cargo feature `arena`; see [`arena`]), which is what an instance that lives for
//! one call wants; a module with its own `#[global_allocator]` turns the feature off.
//!
//! The contract with the host is ABI v1 (`docs/abi.md`); [`abi`] holds its codec, shared with the
//! host. It re-exports [`subforge_core`] built without the `signing` feature (no OS random
//! source exists inside a module).

pub mod abi;
pub mod arena;

#[doc(hidden)]
pub mod export;

pub use subforge_core as core;

/// Inside a module, allocations come from the arena first (see [`arena`]).
#[cfg(all(
    feature = "arena",
    target_arch = "wasm32",
    not(target_feature = "atomics")
))]
#[global_allocator]
static ALLOCATOR: arena::Arena = arena::Arena::new();
