//! The task type, shared by the scorer and the empty benchmark module.

use serde::{Deserialize, Serialize};
use subforge_guest::core::Task;

/// Reproduce a text described by a prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TextMatch {
    /// What the miner is asked.
    pub prompt: String,
}

impl Task for TextMatch {
    const NAME: &'static str = "TextMatch";
    type Response = String;
    type Reference = String;
}
