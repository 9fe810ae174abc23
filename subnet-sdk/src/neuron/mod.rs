//! Neurons: the miner and validator runtimes, and what a validator remembers.

pub mod scores;
pub mod state;

pub use scores::Scores;
pub use state::{PendingReveal, StateError, ValidatorState, WeightsRecord};
