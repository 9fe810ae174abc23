//! Scoring: the share of positions where a miner's list agrees with the sorted list.
//!
//! Pure and deterministic (integer counting and one division), so it gives the same bits
//! natively and as the WASM module in `scorer/` that anyone can re-run.

use subforge_core::{MinerResponse, ScoreError, Scorer};

use crate::task::{SortNumbers, Sorted};

/// Scores an answer by the share of positions holding the right number: 1 for the sorted
/// list, 0 for a failed query or a list of the wrong length.
#[derive(Debug, Clone, Copy, Default)]
pub struct PositionMatch;

/// The share of positions where `answer` equals `reference`, in `[0, 1]`.
pub fn position_match(answer: &[i64], reference: &[i64]) -> f64 {
    if answer.len() != reference.len() {
        return 0.0;
    }
    if reference.is_empty() {
        return 1.0;
    }
    let right = answer.iter().zip(reference).filter(|(a, r)| a == r).count();
    right as f64 / reference.len() as f64
}

impl Scorer<SortNumbers> for PositionMatch {
    fn score(
        &self,
        _task: &SortNumbers,
        reference: &Sorted,
        responses: &[MinerResponse<SortNumbers>],
    ) -> Result<Vec<f64>, ScoreError> {
        Ok(responses
            .iter()
            .map(|r| {
                r.ok()
                    .map_or(0.0, |a| position_match(&a.numbers, &reference.numbers))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use subforge_core::{AccountId, Hotkey, StatusCode, Uid};

    use super::*;

    fn response(status: StatusCode, numbers: &[i64]) -> MinerResponse<SortNumbers> {
        MinerResponse {
            uid: Uid(0),
            hotkey: Hotkey(AccountId([7; 32])),
            status,
            message: String::new(),
            latency: Duration::from_millis(3),
            payload: Some(Sorted {
                numbers: numbers.to_vec(),
            }),
            signature_verified: true,
        }
    }

    #[test]
    fn position_match_values() {
        assert_eq!(position_match(&[1, 2, 3, 4], &[1, 2, 3, 4]), 1.0);
        assert_eq!(position_match(&[2, 1, 3, 4], &[1, 2, 3, 4]), 0.5);
        assert_eq!(position_match(&[4, 3, 2, 1], &[1, 2, 3, 4]), 0.0);
        assert_eq!(position_match(&[1, 2, 3], &[1, 2, 3, 4]), 0.0);
        assert_eq!(position_match(&[], &[]), 1.0);
    }

    #[test]
    fn one_score_per_response_and_failures_score_zero() {
        let task = SortNumbers {
            numbers: vec![3, 1, 2],
        };
        let reference = Sorted {
            numbers: vec![1, 2, 3],
        };
        let responses = [
            response(StatusCode::SUCCESS, &[1, 2, 3]),
            response(StatusCode::SUCCESS, &[3, 1, 2]),
            response(StatusCode::SUCCESS, &[1, 3, 2]),
            response(StatusCode::TIMEOUT, &[1, 2, 3]),
        ];
        let scores = PositionMatch.score(&task, &reference, &responses).unwrap();
        assert_eq!(scores, [1.0, 0.0, 1.0 / 3.0, 0.0]);
    }
}
