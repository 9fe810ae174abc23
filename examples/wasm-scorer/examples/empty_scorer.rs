//! A scoring module that decodes its input and scores every response 0: what the sandbox
//! costs per call, without any scoring work.

// Natively the exports are compiled out, so nothing here is used.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

// The task's source, not the library: linking the library would bring its exports along.
#[path = "../src/task.rs"]
#[allow(unreachable_pub)]
mod task;

use subforge_guest::core::{MinerResponse, ScoreError, Scorer};
use task::TextMatch;

struct Empty;

impl Scorer<TextMatch> for Empty {
    fn score(
        &self,
        _: &TextMatch,
        _: &String,
        responses: &[MinerResponse<TextMatch>],
    ) -> Result<Vec<f64>, ScoreError> {
        Ok(vec![0.0; responses.len()])
    }
}

subforge_guest::export_scorer!(TextMatch, Empty);
