//! # {{project-name}}
//!
//! A scoring module: [`Closeness`] scores answers to [`AddNumbers`], written once against
//! `subforge_core::Scorer`, compiled natively and to `wasm32-unknown-unknown` with the same
//! scores bit for bit. The last line of the crate's code makes it a module.
//!
//! ```sh
//! cargo build --release --target wasm32-unknown-unknown
//! subforge scorer inspect target/wasm32-unknown-unknown/release/{{crate_name}}.wasm
//! subforge scorer run target/wasm32-unknown-unknown/release/{{crate_name}}.wasm --input sample-input.json
//! ```

mod task;

use subforge_guest::core::{MinerResponse, ScoreError, Scorer};

pub use task::AddNumbers;

/// 1 for the right sum, `1 / (1 + distance)` for a wrong one, 0 for a failed query.
///
/// Only `+ - * /` on floats and integer arithmetic: those round alike on every platform, so
/// validators agree to the bit (take `exp`, `ln`, `powf` and friends from the `libm` crate).
#[derive(Debug, Clone, Copy, Default)]
pub struct Closeness;

/// The score of answering `answer` when the sum is `truth`.
pub fn closeness(answer: i64, truth: i64) -> f64 {
    1.0 / (1.0 + answer.abs_diff(truth) as f64)
}

impl Scorer<AddNumbers> for Closeness {
    fn score(
        &self,
        _task: &AddNumbers,
        reference: &i64,
        responses: &[MinerResponse<AddNumbers>],
    ) -> Result<Vec<f64>, ScoreError> {
        Ok(responses
            .iter()
            .map(|r| r.ok().map_or(0.0, |&answer| closeness(answer, *reference)))
            .collect())
    }
}

// Exports the ABI v1 entry points in the wasm32 build (nothing natively).
subforge_guest::export_scorer!(AddNumbers, Closeness);

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use subforge_guest::core::{AccountId, Hotkey, StatusCode, Uid};

    use super::*;

    fn response(status: StatusCode, answer: i64) -> MinerResponse<AddNumbers> {
        MinerResponse {
            uid: Uid(0),
            hotkey: Hotkey(AccountId([1; 32])),
            status,
            message: String::new(),
            latency: Duration::from_millis(10),
            payload: Some(answer),
            signature_verified: true,
        }
    }

    #[test]
    fn closeness_values() {
        assert_eq!(closeness(10, 10), 1.0);
        assert_eq!(closeness(11, 10), 0.5);
        assert_eq!(closeness(6, 10), 0.2);
        assert_eq!(
            closeness(i64::MIN, i64::MAX),
            1.0 / 18_446_744_073_709_551_616.0
        );
    }

    #[test]
    fn one_score_per_response_and_failures_score_zero() {
        let task = AddNumbers {
            terms: vec![2, 3, 5],
        };
        let responses = [
            response(StatusCode::SUCCESS, 10),
            response(StatusCode::SUCCESS, 13),
            response(StatusCode::TIMEOUT, 10),
        ];
        assert_eq!(
            Closeness.score(&task, &10, &responses).unwrap(),
            [1.0, 0.25, 0.0]
        );
    }
}
