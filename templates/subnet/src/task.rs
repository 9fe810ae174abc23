//! The task: sort a list of numbers. Change this first: it is the interface between
//! validators and miners, and its JSON Schema is what a WASM scorer is checked against.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use subforge_core::Task;

/// Sort `numbers` in ascending order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SortNumbers {
    /// The numbers, in no particular order.
    pub numbers: Vec<i64>,
}

/// A miner's answer, and the validator's reference: the numbers in ascending order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sorted {
    /// The numbers, smallest first.
    pub numbers: Vec<i64>,
}

impl Task for SortNumbers {
    /// The axon route (`POST /SortNumbers`) and the Synapse class name Python peers use.
    const NAME: &'static str = "SortNumbers";
    /// How long a validator waits for an answer.
    const TIMEOUT: Duration = Duration::from_secs(5);
    /// What a miner returns.
    type Response = Sorted;
    /// What the validator keeps to score answers: never sent to miners.
    type Reference = Sorted;
}
