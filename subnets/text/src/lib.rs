//! # The text subnet
//!
//! Miners continue passages; validators score the continuations against the true text.
//!
//! - [`task`]: `TextGeneration { prompt, max_words }` → `Completion { text }`; the validator
//!   keeps the true `Continuation`.
//! - [`corpus`]: the text itself, an encyclopedia of an invented world generated from a seed,
//!   so every node has the same unlimited corpus without a download.
//! - [`generate`]: challenges cut from editions of the corpus that no miner trained on.
//! - [`miner`]: built-in miners: n-gram models whose order sets their quality, and a junk miner.
//! - `llm` (feature `llm`, on by default): a miner backed by any OpenAI-compatible endpoint.
//! - [`scoring`]: ROUGE-L F1, pure and deterministic (also built as a WASM module).
//! - `subnet` (feature `runtime`, on by default): [`TextSubnet`], registered with the Subforge
//!   runtime so `subforge miner --subnet text` and `subforge localnet` run it.

pub mod corpus;
pub mod generate;
#[cfg(feature = "llm")]
pub mod llm;
pub mod miner;
pub mod ngram;
pub mod scoring;
#[cfg(feature = "runtime")]
pub mod subnet;
pub mod task;

pub use corpus::{WORLD_SEED, World};
pub use generate::PassageGenerator;
pub use miner::{JunkMiner, NgramMiner};
pub use scoring::{RougeL, consensus};
#[cfg(feature = "runtime")]
pub use subnet::TextSubnet;
pub use task::{Completion, Continuation, TextGeneration, TextStream};
