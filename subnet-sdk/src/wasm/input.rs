//! A scoring input as JSON, for tools that have no Rust task type at hand (the
//! `subforge scorer run` command): the challenge and the responses exactly as the validator
//! saw them, with the task, reference and payloads passed to the module byte for byte.

use serde::Deserialize;
use serde_json::value::RawValue;
use subforge_core::chain::Uid;
use subforge_core::{Hotkey, StatusCode};

/// `{"task": .., "reference": .., "responses": [..]}`; each response has the JSON shape of
/// `subforge_core::MinerResponse` (hotkey as SS58, latency in microseconds).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringInput {
    /// The task value miners were sent.
    pub task: Box<RawValue>,
    /// The validator's reference.
    pub reference: Box<RawValue>,
    /// The miners' answers.
    pub responses: Vec<ScoringResponse>,
}

/// One miner's answer in a [`ScoringInput`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringResponse {
    /// The miner's uid.
    pub uid: Uid,
    /// The miner's hotkey (SS58).
    pub hotkey: Hotkey,
    /// The query's status code.
    pub status: StatusCode,
    /// The status message.
    #[serde(default)]
    pub message: String,
    /// Latency in microseconds.
    pub latency: u64,
    /// The answer, or `null`.
    #[serde(default)]
    pub payload: Option<Box<RawValue>>,
    /// Whether the answer's signature was verified.
    #[serde(default)]
    pub signature_verified: bool,
}
