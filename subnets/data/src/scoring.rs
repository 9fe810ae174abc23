//! Scoring predictions against the true targets: the coefficient of determination R², clipped
//! at 0.
//!
//! `score = max(0, 1 - SSE / SST)`, where `SSE = Σ (predictionᵢ - targetᵢ)²` and
//! `SST = Σ (targetᵢ - mean)²` over the task's rows, with `mean` the mean target of those rows.
//! `SST` is the error of the best constant answer (the batch mean), so a miner scores above 0
//! exactly when it beats that baseline, and 1 exactly when every prediction is right. When all
//! targets of a batch are equal (`SST = 0`, e.g. a one-row task), exact predictions score 1
//! and anything else 0.
//!
//! A failed query, an undecodable payload, the wrong number of predictions or any NaN or
//! infinite prediction scores 0. Only `+ - * /` on `f64` in a fixed order: the same bits
//! natively and in WASM.

use subforge_core::{MinerResponse, ScoreError, Scorer};

use crate::task::{Predictions, Regression, Targets};

/// R² clipped at 0, per response. See the [module documentation](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct RSquared;

/// The coefficient of determination `1 - SSE / SST` of `predictions` against `targets`,
/// unclipped (below 0 for predictions worse than the targets' mean). `None` if the lengths
/// differ, there are no targets, or `SST` is 0.
pub fn r_squared(predictions: &[f64], targets: &[f64]) -> Option<f64> {
    if predictions.len() != targets.len() || targets.is_empty() {
        return None;
    }
    let mean = targets.iter().sum::<f64>() / targets.len() as f64;
    let (mut sse, mut sst) = (0.0, 0.0);
    for (p, t) in predictions.iter().zip(targets) {
        sse += (p - t) * (p - t);
        sst += (t - mean) * (t - mean);
    }
    if sst > 0.0 {
        Some(1.0 - sse / sst)
    } else {
        None
    }
}

/// The score of `predictions` for `targets`, in `[0, 1]`: R² clipped at 0, with the rules of
/// the [module documentation](self) for wrong lengths, non-finite values and constant targets.
pub fn regression_score(predictions: &[f32], targets: &[f32]) -> f64 {
    if predictions.len() != targets.len()
        || targets.is_empty()
        || predictions.iter().any(|p| !p.is_finite())
    {
        return 0.0;
    }
    let predictions: Vec<f64> = predictions.iter().map(|&p| f64::from(p)).collect();
    let targets: Vec<f64> = targets.iter().map(|&t| f64::from(t)).collect();
    match r_squared(&predictions, &targets) {
        // NaN (not reachable with finite inputs) also lands on 0.
        Some(r2) if r2 > 0.0 => r2,
        Some(_) => 0.0,
        None if predictions == targets => 1.0,
        None => 0.0,
    }
}

/// The score of one decoded answer.
fn score_answer(answer: Option<&Predictions>, targets: &[f32]) -> f64 {
    answer
        .and_then(Predictions::decode)
        .map_or(0.0, |p| regression_score(&p, targets))
}

impl Scorer<Regression> for RSquared {
    fn score(
        &self,
        task: &Regression,
        reference: &Targets,
        responses: &[MinerResponse<Regression>],
    ) -> Result<Vec<f64>, ScoreError> {
        let targets = reference
            .decode()
            .ok_or_else(|| ScoreError::Failed("the reference is not whole f32s".into()))?;
        if targets.len() != task.rows as usize {
            return Err(ScoreError::Failed(format!(
                "the reference holds {} targets for {} rows",
                targets.len(),
                task.rows
            )));
        }
        if targets.iter().any(|t| !t.is_finite()) {
            return Err(ScoreError::Failed(
                "a reference target is not finite".into(),
            ));
        }
        Ok(responses
            .iter()
            .map(|r| score_answer(r.ok(), &targets))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use subforge_core::{AccountId, Blob, Hotkey, StatusCode, Uid};

    use super::*;

    fn response(status: StatusCode, payload: Option<Predictions>) -> MinerResponse<Regression> {
        MinerResponse {
            uid: Uid(0),
            hotkey: Hotkey(AccountId([0; 32])),
            status,
            message: String::new(),
            latency: Duration::from_millis(3),
            payload,
            signature_verified: true,
        }
    }

    fn ok(values: &[f32]) -> MinerResponse<Regression> {
        response(StatusCode::SUCCESS, Some(Predictions::new(values)))
    }

    #[test]
    fn hand_computed_values() {
        let t = [1.0, 2.0, 3.0, 4.0];
        // Mean 2.5, SST = 2.25 + 0.25 + 0.25 + 2.25 = 5.
        assert_eq!(regression_score(&t, &t), 1.0);
        assert_eq!(regression_score(&[2.5; 4], &t), 0.0);
        // Errors ±0.5: SSE = 1, R² = 1 - 1/5.
        assert_eq!(regression_score(&[1.5, 1.5, 3.5, 3.5], &t), 1.0 - 1.0 / 5.0);
        // Errors 1, 0, 0, -1: SSE = 2, R² = 1 - 2/5.
        assert_eq!(regression_score(&[2.0, 2.0, 3.0, 3.0], &t), 1.0 - 2.0 / 5.0);
        // Errors 1, 0, 0, -2: SSE = 5, exactly as good as the mean.
        assert_eq!(regression_score(&[2.0, 2.0, 3.0, 2.0], &t), 0.0);
        // Worse than the mean: errors ±3, ±1 give SSE = 20, R² = 1 - 20/5 = -3, clipped.
        assert_eq!(
            r_squared(&[4.0, 3.0, 2.0, 1.0], &[1.0, 2.0, 3.0, 4.0]),
            Some(-3.0)
        );
        assert_eq!(regression_score(&[4.0, 3.0, 2.0, 1.0], &t), 0.0);
        assert_eq!(regression_score(&[1e30; 4], &t), 0.0);
    }

    #[test]
    fn constant_targets() {
        assert_eq!(r_squared(&[7.0], &[7.0]), None);
        assert_eq!(regression_score(&[7.0], &[7.0]), 1.0);
        assert_eq!(regression_score(&[7.5], &[7.0]), 0.0);
        assert_eq!(regression_score(&[3.0, 3.0], &[3.0, 3.0]), 1.0);
    }

    #[test]
    fn malformed_answers_score_zero() {
        let t = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(regression_score(&t[..3], &t), 0.0);
        assert_eq!(regression_score(&[1.0, 2.0, 3.0, 4.0, 5.0], &t), 0.0);
        assert_eq!(regression_score(&[1.0, 2.0, f32::NAN, 4.0], &t), 0.0);
        assert_eq!(regression_score(&[1.0, 2.0, 3.0, f32::INFINITY], &t), 0.0);
        assert_eq!(regression_score(&[], &[]), 0.0);
        assert_eq!(r_squared(&[1.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn scorer_scores_each_response() {
        let task = Regression::new(vec!["x".into()], &[0.0, 1.0, 2.0, 3.0]);
        let reference = Targets::new(&[1.0, 2.0, 3.0, 4.0]);
        let responses = [
            ok(&[1.0, 2.0, 3.0, 4.0]),
            ok(&[1.5, 1.5, 3.5, 3.5]),
            ok(&[2.5; 4]),
            ok(&[1.0, 2.0, 3.0]),
            ok(&[1.0, 2.0, 3.0, f32::NAN]),
            response(
                StatusCode::SUCCESS,
                Some(Predictions {
                    values: Blob(vec![0; 15]),
                }),
            ),
            response(StatusCode::SUCCESS, None),
            // A failed query's payload is never looked at.
            response(
                StatusCode::TIMEOUT,
                Some(Predictions::new(&[1.0, 2.0, 3.0, 4.0])),
            ),
        ];
        let scores = RSquared.score(&task, &reference, &responses).unwrap();
        assert_eq!(
            scores,
            vec![1.0, 1.0 - 1.0 / 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        );
        subforge_core::check_scores(&scores, responses.len()).unwrap();
    }

    #[test]
    fn a_bad_reference_is_an_error() {
        let task = Regression::new(vec!["x".into()], &[0.0, 1.0]);
        for reference in [
            Targets::new(&[1.0]),
            Targets::new(&[1.0, f32::NAN]),
            Targets {
                values: Blob(vec![0; 7]),
            },
        ] {
            assert!(matches!(
                RSquared.score(&task, &reference, &[ok(&[1.0, 2.0])]),
                Err(ScoreError::Failed(_))
            ));
        }
    }
}
