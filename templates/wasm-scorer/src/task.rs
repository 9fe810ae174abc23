//! The task this module scores. To score an existing subnet's task, delete this file and
//! depend on the subnet's crate instead (with `default-features = false`, so that only its task
//! and scoring code are compiled to WASM): a module is only accepted for a task whose JSON
//! Schema matches exactly.

use serde::{Deserialize, Serialize};
use subforge_guest::core::Task;

/// Add up `terms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AddNumbers {
    /// The numbers to add.
    pub terms: Vec<i64>,
}

impl Task for AddNumbers {
    const NAME: &'static str = "AddNumbers";
    /// The sum a miner claims.
    type Response = i64;
    /// The true sum, kept by the validator.
    type Reference = i64;
}
