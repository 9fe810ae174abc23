//! Neurons: the miner and validator runtimes.
//!
//! A [`Miner`] registers (if asked), serves the subnet's tasks on an axon, publishes the axon
//! on chain and follows the metagraph. A [`Validator`] steps: query a sample of miners with a
//! generated challenge, score the answers, keep a moving average, and set weights once per
//! tempo. Both stop cleanly when their shutdown future completes ([`shutdown_signal`]).

mod error;
mod miner;
pub mod scores;
mod signal;
pub mod state;
mod validator;

pub use error::NeuronError;
pub use miner::{Miner, MinerConfig, RunningMiner, version_as_int};
pub use scores::Scores;
pub use signal::shutdown_signal;
pub use state::{StateError, ValidatorState, WeightsRecord};
pub use validator::{StepReport, Validator, ValidatorConfig, ValidatorTask, WeightsAction};
