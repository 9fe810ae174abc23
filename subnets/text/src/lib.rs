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
//! - [`scoring`]: ROUGE-L F1, pure and deterministic (also built as a WASM module).

pub mod corpus;
pub mod generate;
pub mod miner;
pub mod ngram;
pub mod scoring;
pub mod task;

pub use corpus::{WORLD_SEED, World};
pub use generate::PassageGenerator;
pub use miner::{JunkMiner, NgramMiner};
pub use scoring::RougeL;
pub use task::{Completion, Continuation, TextGeneration};
