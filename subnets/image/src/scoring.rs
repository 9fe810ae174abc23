//! Scoring the image subnet's answers: the fraction of digits named right, and how close a
//! restored image is to the clean one (PSNR mapped to 0..=1).
//!
//! Only integer arithmetic, IEEE `+ - * /` and `libm` (a pure-Rust math library), so a scorer
//! gives the same bits natively and as a WASM module.

use subforge_core::{MinerResponse, ScoreError, Scorer};

use crate::task::{CleanImage, DigitDenoising, DigitRecognition, TrueLabels};

/// The largest pixel value, the "peak" of the peak signal-to-noise ratio.
pub const PEAK: u8 = 255;

/// PSNR at or below this scores 0: a root-mean-square pixel error of 64 or more, about what
/// handing the noisy image back unchanged gets (11.8 dB on average over the built-in
/// generator's challenges).
pub const PSNR_FLOOR_DB: f64 = 12.0;

/// PSNR at or above this scores 1: a root-mean-square pixel error of 16 or less, one level of
/// the data set's 0 to 16 scale (an identical image, with infinite PSNR, scores 1 too).
pub const PSNR_FULL_DB: f64 = 24.0;

/// The accuracy one gets by guessing: one digit in ten.
pub const CHANCE: f64 = 0.1;

/// The least skill ([`skill`]) a recognition answer must show to score: a quarter of the way
/// from guessing to perfect. With the 16 images of a built-in challenge that is 6 right, which
/// random guessing reaches in about one challenge in 300.
pub const MIN_SKILL: f64 = 0.25;

/// How far `labels` is from guessing towards perfect, Cohen's kappa against a uniform guess:
/// `(accuracy - 1/10) / (1 - 1/10)`, in `[0, 1]` (worse than guessing is 0), and 0 below
/// [`MIN_SKILL`]: an answer no better than a guess earns nothing. [`accuracy`]'s rules decide
/// what counts as right. Computed from the count of right labels with one division, so the
/// same counts give the same bits everywhere.
pub fn skill(labels: &[u8], truth: &[u8]) -> f64 {
    let n = truth.len() as u64;
    let right = right_labels(labels, truth);
    // kappa = (right/n - 1/10) / (9/10) = (10·right - n) / (9·n).
    let above = (10 * right).saturating_sub(n);
    // kappa >= 1/4  <=>  4 · (10·right - n) >= 9·n
    if n == 0 || 4 * above < 9 * n {
        return 0.0;
    }
    above as f64 / (9 * n) as f64
}

/// The fraction of `truth` that `labels` gets right, position by position, in `[0, 1]`.
///
/// A label past the end of `labels` (a missing one) or outside 0 to 9 counts as wrong; more
/// labels than `truth` has scores 0, since the answer does not match the task. An empty
/// `truth` scores 0: there is nothing to get right.
pub fn accuracy(labels: &[u8], truth: &[u8]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    right_labels(labels, truth) as f64 / truth.len() as f64
}

/// How many of `labels` are right by [`accuracy`]'s rules (0 when there are too many).
fn right_labels(labels: &[u8], truth: &[u8]) -> u64 {
    if labels.len() > truth.len() {
        return 0;
    }
    labels
        .iter()
        .zip(truth)
        .filter(|(label, true_label)| label == true_label && **label <= 9)
        .count() as u64
}

/// The peak signal-to-noise ratio of `answer` against `clean`, in decibels:
/// `10 · log10(255² / MSE)` with MSE the mean squared pixel difference.
///
/// `None` if the two differ in length or are empty; `Some(f64::INFINITY)` if they are equal.
pub fn psnr(answer: &[u8], clean: &[u8]) -> Option<f64> {
    if answer.len() != clean.len() || clean.is_empty() {
        return None;
    }
    let squared_error: u64 = answer
        .iter()
        .zip(clean)
        .map(|(&a, &c)| {
            let d = u64::from(a.abs_diff(c));
            d * d
        })
        .sum();
    if squared_error == 0 {
        return Some(f64::INFINITY);
    }
    // 255² / (sse / n) = 255² · n / sse: one rounding in each conversion and one in the division.
    let peak = u64::from(PEAK) * u64::from(PEAK);
    let ratio = (peak * clean.len() as u64) as f64 / squared_error as f64;
    Some(10.0 * libm::log10(ratio))
}

/// A PSNR mapped to `[0, 1]`: `clamp((psnr - PSNR_FLOOR_DB) / (PSNR_FULL_DB - PSNR_FLOOR_DB), 0, 1)`.
pub fn psnr_score(psnr_db: f64) -> f64 {
    let score = (psnr_db - PSNR_FLOOR_DB) / (PSNR_FULL_DB - PSNR_FLOOR_DB);
    if score.is_nan() {
        return 0.0;
    }
    score.clamp(0.0, 1.0)
}

/// Scores a [`DigitRecognition`] answer by its [`skill`]: its accuracy corrected for chance,
/// nothing for an answer no better than a guess; a failed query scores 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct Accuracy;

impl Scorer<DigitRecognition> for Accuracy {
    fn score(
        &self,
        task: &DigitRecognition,
        reference: &TrueLabels,
        responses: &[MinerResponse<DigitRecognition>],
    ) -> Result<Vec<f64>, ScoreError> {
        if reference.labels.len() != task.images.len() {
            return Err(ScoreError::Failed(format!(
                "the reference has {} labels for {} images",
                reference.labels.len(),
                task.images.len()
            )));
        }
        if reference.labels.is_empty() {
            return Err(ScoreError::Failed("the task has no images".into()));
        }
        if let Some(bad) = reference.labels.iter().find(|&&l| l > 9) {
            return Err(ScoreError::Failed(format!(
                "the reference holds label {bad}, not a digit"
            )));
        }
        Ok(responses
            .iter()
            .map(|r| r.ok().map_or(0.0, |a| skill(&a.labels, &reference.labels)))
            .collect())
    }
}

/// Scores a [`DigitDenoising`] answer by the [`psnr_score`] of its [`psnr`] against the clean
/// image; an answer of the wrong size, or a failed query, scores 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct Psnr;

impl Scorer<DigitDenoising> for Psnr {
    fn score(
        &self,
        task: &DigitDenoising,
        reference: &CleanImage,
        responses: &[MinerResponse<DigitDenoising>],
    ) -> Result<Vec<f64>, ScoreError> {
        let pixels = task.pixels();
        if pixels == 0 || reference.image.len() != pixels || task.image.len() != pixels {
            return Err(ScoreError::Failed(format!(
                "a {}×{} task needs {pixels} bytes; the image has {} and the reference {}",
                task.width,
                task.height,
                task.image.len(),
                reference.image.len()
            )));
        }
        Ok(responses
            .iter()
            .map(|r| {
                r.ok()
                    .and_then(|a| psnr(&a.image, &reference.image))
                    .map_or(0.0, psnr_score)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;
    use subforge_core::{AccountId, Blob, Hotkey, StatusCode, Task, Uid};

    use crate::task::{DenoisedImage, DigitLabels};

    fn response<T: Task>(payload: Option<T::Response>) -> MinerResponse<T> {
        let status = if payload.is_some() {
            StatusCode::SUCCESS
        } else {
            StatusCode::TIMEOUT
        };
        MinerResponse {
            uid: Uid(1),
            hotkey: Hotkey(AccountId([1; 32])),
            status,
            message: String::new(),
            latency: Duration::from_millis(5),
            payload,
            signature_verified: true,
        }
    }

    #[test]
    fn accuracy_values() {
        let truth = [3, 1, 4, 1];
        assert_eq!(accuracy(&[3, 1, 4, 1], &truth), 1.0);
        assert_eq!(accuracy(&[3, 1, 0, 0], &truth), 0.5);
        assert_eq!(accuracy(&[0, 0, 0, 0], &truth), 0.0);
        // Missing labels are wrong; the rest count by position.
        assert_eq!(accuracy(&[3], &truth), 0.25);
        assert_eq!(accuracy(&[], &truth), 0.0);
        // One label too many: the answer does not match the task.
        assert_eq!(accuracy(&[3, 1, 4, 1, 5], &truth), 0.0);
        // Out-of-range labels are wrong.
        assert_eq!(accuracy(&[3, 11, 4, 255], &truth), 0.5);
        assert_eq!(accuracy(&[], &[]), 0.0);
    }

    fn recognition(images: usize) -> DigitRecognition {
        DigitRecognition {
            width: 1,
            height: 1,
            images: vec![Blob(vec![0]); images],
        }
    }

    #[test]
    fn accuracy_scorer() {
        let task = recognition(4);
        let truth = TrueLabels {
            labels: vec![0, 9, 2, 2],
        };
        let labels = |l: &[u8]| Some(DigitLabels { labels: l.to_vec() });
        let responses = [
            response::<DigitRecognition>(labels(&[0, 9, 2, 2])),
            response(labels(&[0, 9, 7, 7])),
            response(labels(&[0, 9, 2])),
            response(labels(&[0, 9, 2, 2, 2])),
            response(labels(&[10, 9, 2, 2])),
            response(None),
        ];
        let scores = Accuracy.score(&task, &truth, &responses).unwrap();
        // Skill (10·right - n) / 9n: 36/36, 16/36, 26/36.
        assert_eq!(
            scores,
            [1.0, 16.0 / 36.0, 26.0 / 36.0, 0.0, 26.0 / 36.0, 0.0]
        );
        // A payload with a failed status does not count either.
        let mut failed = response::<DigitRecognition>(labels(&[0, 9, 2, 2]));
        failed.status = StatusCode::INTERNAL_ERROR;
        assert_eq!(Accuracy.score(&task, &truth, &[failed]).unwrap(), [0.0]);
        assert_eq!(
            Accuracy.score(&task, &truth, &[]).unwrap(),
            Vec::<f64>::new()
        );
    }

    #[test]
    fn guessing_earns_nothing() {
        let truth = [3u8; 16];
        let right = |k: usize| {
            let mut labels = [4u8; 16];
            labels[..k].fill(3);
            skill(&labels, &truth)
        };
        // 5 of 16 is kappa 34/144 < 1/4; 6 of 16 is 44/144.
        assert_eq!(right(0), 0.0);
        assert_eq!(right(2), 0.0);
        assert_eq!(right(5), 0.0);
        assert_eq!(right(6), 44.0 / 144.0);
        assert_eq!(right(16), 1.0);
        assert_eq!(skill(&[], &[]), 0.0);
        // One image: all or nothing.
        assert_eq!(skill(&[7], &[7]), 1.0);
        assert_eq!(skill(&[1], &[7]), 0.0);
    }

    #[test]
    fn accuracy_scorer_refuses_a_reference_that_does_not_fit() {
        let short = TrueLabels { labels: vec![1] };
        assert!(Accuracy.score(&recognition(2), &short, &[]).is_err());
        let empty = TrueLabels { labels: vec![] };
        assert!(Accuracy.score(&recognition(0), &empty, &[]).is_err());
        let bad = TrueLabels { labels: vec![10] };
        assert!(Accuracy.score(&recognition(1), &bad, &[]).is_err());
    }

    #[test]
    fn psnr_values() {
        assert_eq!(psnr(&[1, 2, 3], &[1, 2, 3]), Some(f64::INFINITY));
        assert_eq!(psnr(&[1, 2], &[1, 2, 3]), None);
        assert_eq!(psnr(&[], &[]), None);
        // One pixel in ten off by the full 255: MSE = 255²/10, PSNR = 10·log10(10) = 10 dB.
        let mut answer = [0u8; 10];
        answer[3] = 255;
        assert_eq!(psnr(&answer, &[0; 10]), Some(10.0));
        // One pixel in a hundred off by 255: 20 dB.
        let mut answer = [7u8; 100];
        answer[50] = 0;
        let mut clean = [7u8; 100];
        clean[50] = 255;
        assert_eq!(psnr(&answer, &clean), Some(20.0));
        // Every pixel off by 1 in 4 pixels: MSE = 1, PSNR = 10·log10(65025) = 48.1308… dB.
        let db = psnr(&[1, 1, 1, 1], &[0, 2, 0, 2]).unwrap();
        assert_eq!(db, 10.0 * libm::log10(65025.0));
        assert!((db - 48.130_803_608).abs() < 1e-9, "{db}");
    }

    #[test]
    fn psnr_score_values() {
        assert_eq!(psnr_score(f64::INFINITY), 1.0);
        assert_eq!(psnr_score(PSNR_FULL_DB), 1.0);
        assert_eq!(psnr_score(60.0), 1.0);
        assert_eq!(psnr_score(PSNR_FLOOR_DB), 0.0);
        assert_eq!(psnr_score(3.0), 0.0);
        assert_eq!(psnr_score((PSNR_FLOOR_DB + PSNR_FULL_DB) / 2.0), 0.5);
        assert_eq!(psnr_score(f64::NAN), 0.0);
    }

    #[test]
    fn psnr_scorer() {
        let clean: Vec<u8> = (0..100u8).collect();
        let task = DigitDenoising {
            width: 10,
            height: 10,
            image: Blob(vec![0; 100]),
        };
        let reference = CleanImage {
            image: Blob(clean.clone()),
        };
        let answer = |bytes: Vec<u8>| Some(DenoisedImage { image: Blob(bytes) });
        let mut off = clean.clone();
        off[0] = 255; // one pixel in a hundred off by 255: 20 dB
        let responses = [
            response::<DigitDenoising>(answer(clean.clone())),
            response(answer(off)),
            response(answer(clean[..99].to_vec())),
            response(answer(vec![])),
            response(None),
        ];
        let scores = Psnr.score(&task, &reference, &responses).unwrap();
        assert_eq!(scores, [1.0, psnr_score(20.0), 0.0, 0.0, 0.0]);
        assert!(scores[1] > 0.0 && scores[1] < 1.0);

        let short = CleanImage {
            image: Blob(clean[..50].to_vec()),
        };
        assert!(Psnr.score(&task, &short, &responses).is_err());
        let empty = DigitDenoising {
            width: 0,
            height: 0,
            image: Blob(vec![]),
        };
        let nothing = CleanImage {
            image: Blob(vec![]),
        };
        assert!(Psnr.score(&empty, &nothing, &[]).is_err());
    }
}
