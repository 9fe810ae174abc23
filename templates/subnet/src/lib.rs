//! # {{project-name}}
//!
//! A Subforge subnet: validators send lists of numbers, miners sort them, validators score
//! each answer by the share of numbers in the right place.
//!
//! - [`task`]: `SortNumbers { numbers }` → `Sorted { numbers }`; the validator keeps the
//!   sorted list as its reference.
//! - [`miner`]: an honest miner, a sloppy one and a lazy one.
//! - [`scoring`]: [`PositionMatch`], pure and deterministic (also built as a WASM module,
//!   `scorer/`).
//! - [`generate`]: challenges from the validator's seed.
//! - `subnet` (feature `runtime`, on by default): [`SortSubnet`], registered with the Subforge
//!   runtime so `cargo run -- localnet --subnet {{project-name}}` runs it.

pub mod generate;
pub mod miner;
pub mod scoring;
#[cfg(feature = "runtime")]
pub mod subnet;
pub mod task;

pub use generate::NumberGenerator;
pub use miner::{BubbleMiner, LazyMiner, SortingMiner};
pub use scoring::PositionMatch;
#[cfg(feature = "runtime")]
pub use subnet::SortSubnet;
pub use task::{SortNumbers, Sorted};
