//! A validator's side of weights: scores in, the `(uids, values)` the chain accepts out, and
//! the commit-reveal hash the chain checks a reveal against.
//!
//! The pipeline, as the Python SDK's `process_weights` and `convert_weights_and_uids_for_emit`
//! run it:
//!
//! 1. [`process_weights`]: drop non-serving uids and non-positive scores, fall back to a
//!    uniform spread when too few remain for `min_allowed_weights`, then normalise with
//!    [`normalize_max_weight`] so no weight exceeds `max_weight_limit`.
//! 2. [`quantize`]: max-upscale to `u16` (the largest becomes 65535), round, drop zeros.
//! 3. [`stored_weights`]: what the chain stores from a `set_weights` call (its own max-upscale).
//! 4. [`commit_hash`]: blake2-256 of the SCALE encoding of
//!    `(hotkey, netuid, uids, values, salt, version_key)`, the chain's `get_commit_hash`.

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};

use crate::chain::{Hyperparameters, NetUid, Uid};
use crate::consensus::fixed::u16_max_upscale;
use crate::identity::AccountId;

/// The subnet limits a weight vector must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeightLimits {
    /// Least number of non-zero weights (a validator with fewer spreads a floor over all uids).
    pub min_allowed_weights: u16,
    /// Largest share a single weight may take, out of 65535.
    pub max_weight_limit: u16,
}

impl From<&Hyperparameters> for WeightLimits {
    fn from(h: &Hyperparameters) -> Self {
        Self {
            min_allowed_weights: h.min_allowed_weights,
            max_weight_limit: h.max_weight_limit,
        }
    }
}

/// Why scores cannot become weights.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
    /// A score is NaN or infinite.
    #[error("score for uid {uid} is {score}, not a finite number")]
    NotFinite {
        /// The uid.
        uid: Uid,
        /// The score.
        score: f64,
    },
    /// The serving mask does not have one entry per score.
    #[error("{serving} serving flags for {scores} scores")]
    LengthMismatch {
        /// Scores given.
        scores: usize,
        /// Serving flags given.
        serving: usize,
    },
    /// More scores than uids can number.
    #[error("{n} scores; at most 65535 uids exist")]
    TooManyUids {
        /// The number of scores.
        n: usize,
    },
    /// Uids and values of different lengths.
    #[error("{uids} uids but {values} values")]
    UnpairedValues {
        /// `uids.len()`.
        uids: usize,
        /// `values.len()`.
        values: usize,
    },
}

/// Normalises `x` to sum to one with no element above `limit`, redistributing the excess, as
/// the Python SDK's `normalize_max_weight` does.
///
/// An all-zero input, or one too short for the limit (`len · limit <= 1`), gives the uniform
/// vector. Otherwise the largest values are cut at a common cutoff found from the sorted
/// cumulative sums, then the whole is renormalised.
pub fn normalize_max_weight(x: &[f64], limit: f64) -> Vec<f64> {
    const EPSILON: f64 = 1e-7;
    let len = x.len();
    if len == 0 {
        return Vec::new();
    }
    let total: f64 = x.iter().sum();
    if total == 0.0 || len as f64 * limit <= 1.0 {
        return vec![1.0 / len as f64; len];
    }
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let estimation: Vec<f64> = sorted.iter().map(|v| v / total).collect();
    if estimation.last().is_some_and(|&m| m <= limit) {
        return x.iter().map(|v| v / total).collect();
    }
    let mut cumsum = Vec::with_capacity(len);
    let mut acc = 0.0;
    for e in &estimation {
        acc += e;
        cumsum.push(acc);
    }
    // How many of the smallest values stay under the limit once the rest are cut.
    let n_values = estimation
        .iter()
        .enumerate()
        .filter(|&(i, &e)| {
            let rest = (len - i - 1) as f64 * e;
            e / (rest + cumsum[i] + EPSILON) < limit
        })
        .count();
    let below = cumsum[n_values.saturating_sub(1)];
    let cutoff_scale = (limit * below - EPSILON) / (1.0 - limit * (len - n_values) as f64);
    let cutoff = cutoff_scale * total;
    let clipped: Vec<f64> = x
        .iter()
        .map(|&v| if v > cutoff { cutoff } else { v })
        .collect();
    let clipped_total: f64 = clipped.iter().sum();
    clipped.iter().map(|v| v / clipped_total).collect()
}

/// Turns per-uid scores into normalised weights the chain accepts (the SDK's
/// `process_weights`, plus exclusion of uids that do not serve).
///
/// `scores[uid]` is the validator's score for each uid; `serving[uid]` false drops that uid
/// (give an empty slice to keep all). Returns `(uid, weight)` pairs summing to one.
pub fn process_weights(
    scores: &[f64],
    serving: &[bool],
    limits: WeightLimits,
) -> Result<Vec<(Uid, f64)>, WeightsError> {
    let n = scores.len();
    if n > usize::from(u16::MAX) {
        return Err(WeightsError::TooManyUids { n });
    }
    if !serving.is_empty() && serving.len() != n {
        return Err(WeightsError::LengthMismatch {
            scores: n,
            serving: serving.len(),
        });
    }
    if let Some((uid, &score)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
        return Err(WeightsError::NotFinite {
            uid: Uid(uid as u16),
            score,
        });
    }
    let limit = f64::from(limits.max_weight_limit) / f64::from(u16::MAX);
    let min_weights = usize::from(limits.min_allowed_weights);
    let eligible = |i: usize| serving.get(i).copied().unwrap_or(true);
    let candidates: Vec<usize> = (0..n).filter(|&i| eligible(i)).collect();
    let nonzero: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| scores[i] > 0.0)
        .collect();
    let uid = |i: usize| Uid(i as u16);

    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    if nonzero.is_empty() || candidates.len() < min_weights {
        let w = 1.0 / candidates.len() as f64;
        return Ok(candidates.into_iter().map(|i| (uid(i), w)).collect());
    }
    if nonzero.len() < min_weights {
        // A small floor on every candidate so at least `min_allowed_weights` are non-zero.
        let floored: Vec<f64> = candidates
            .iter()
            .map(|&i| 1e-5 + scores[i].max(0.0))
            .collect();
        let w = normalize_max_weight(&floored, limit);
        return Ok(candidates.into_iter().map(uid).zip(w).collect());
    }
    let values: Vec<f64> = nonzero.iter().map(|&i| scores[i]).collect();
    let w = normalize_max_weight(&values, limit);
    Ok(nonzero.into_iter().map(uid).zip(w).collect())
}

/// Quantises weights to what a validator submits: divided by the largest, times 65535,
/// rounded; zeros dropped (the SDK's `convert_weights_and_uids_for_emit`).
///
/// Returns `(uids, values)`; both empty when every weight is zero.
pub fn quantize(weights: &[(Uid, f64)]) -> (Vec<u16>, Vec<u16>) {
    let max = weights.iter().map(|&(_, w)| w).fold(0.0f64, f64::max);
    if max <= 0.0 || !max.is_finite() {
        return (Vec::new(), Vec::new());
    }
    let mut uids = Vec::with_capacity(weights.len());
    let mut values = Vec::with_capacity(weights.len());
    for &(uid, w) in weights {
        let v = (w.max(0.0) / max * f64::from(u16::MAX)).round_ties_even();
        if v >= 1.0 {
            uids.push(uid.get());
            values.push(v.min(f64::from(u16::MAX)) as u16);
        }
    }
    (uids, values)
}

/// What the chain stores for a `set_weights(uids, values)`: the values max-upscaled so the
/// largest is 65535 (`vec_u16_max_upscale_to_u16`), paired with the uids in the given order.
pub fn stored_weights(uids: &[u16], values: &[u16]) -> Result<Vec<(u16, u16)>, WeightsError> {
    if uids.len() != values.len() {
        return Err(WeightsError::UnpairedValues {
            uids: uids.len(),
            values: values.len(),
        });
    }
    Ok(uids.iter().copied().zip(u16_max_upscale(values)).collect())
}

/// The commit-reveal hash of a weight vector, as the chain's `get_commit_hash` and the SDK's
/// `generate_weight_hash` compute it: blake2-256 over the SCALE encoding of
/// `(hotkey, netuid, uids, values, salt, version_key)`.
pub fn commit_hash(
    hotkey: &AccountId,
    netuid: NetUid,
    uids: &[u16],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
) -> [u8; 32] {
    let mut h = Blake2b::<U32>::new();
    h.update(hotkey.0);
    h.update(netuid.get().to_le_bytes());
    for v in [uids, values, salt] {
        h.update(scale_compact_len(v.len()));
        for x in v {
            h.update(x.to_le_bytes());
        }
    }
    h.update(version_key.to_le_bytes());
    h.finalize().into()
}

/// A SCALE compact-encoded length (the prefix of every encoded `Vec`).
fn scale_compact_len(len: usize) -> Vec<u8> {
    let n = len as u64;
    if n < 1 << 6 {
        vec![(n as u8) << 2]
    } else if n < 1 << 14 {
        ((n as u16) << 2 | 0b01).to_le_bytes().to_vec()
    } else if n < 1 << 30 {
        ((n as u32) << 2 | 0b10).to_le_bytes().to_vec()
    } else {
        let bytes = n.to_le_bytes();
        let used = 8 - (n.leading_zeros() / 8) as usize;
        let mut out = vec![(((used - 4) as u8) << 2) | 0b11];
        out.extend_from_slice(&bytes[..used]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(min: u16, max: u16) -> WeightLimits {
        WeightLimits {
            min_allowed_weights: min,
            max_weight_limit: max,
        }
    }

    #[test]
    fn max_weight_is_capped_and_the_excess_spread() {
        let w = normalize_max_weight(&[1.0, 1.0, 1.0, 10.0], 0.5);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(w[3] <= 0.5 + 1e-6, "{w:?}");
        assert!((w[0] - w[1]).abs() < 1e-12);
        // Under the limit: plain normalisation.
        assert_eq!(normalize_max_weight(&[1.0, 3.0], 0.9), vec![0.25, 0.75]);
        // Too short for the limit or all zero: uniform.
        assert_eq!(normalize_max_weight(&[1.0, 3.0], 0.5), vec![0.5, 0.5]);
        assert_eq!(
            normalize_max_weight(&[0.0, 0.0, 0.0], 0.5),
            vec![1.0 / 3.0; 3]
        );
    }

    #[test]
    fn non_serving_and_zero_scores_are_dropped() {
        let w = process_weights(
            &[0.5, 0.0, 0.25, 0.25],
            &[true, true, false, true],
            limits(1, 65535),
        )
        .unwrap();
        assert_eq!(w, vec![(Uid(0), 2.0 / 3.0), (Uid(3), 1.0 / 3.0)]);
    }

    #[test]
    fn too_few_weights_spread_a_floor() {
        let w = process_weights(&[1.0, 0.0, 0.0], &[], limits(3, 65535)).unwrap();
        assert_eq!(w.len(), 3);
        assert!(w.iter().all(|&(_, x)| x > 0.0));
        let w = process_weights(&[0.0, 0.0], &[], limits(1, 65535)).unwrap();
        assert_eq!(w, vec![(Uid(0), 0.5), (Uid(1), 0.5)]);
        assert!(matches!(
            process_weights(&[f64::NAN], &[], limits(1, 65535)),
            Err(WeightsError::NotFinite { .. })
        ));
    }

    #[test]
    fn quantize_max_upscales_and_drops_zeros() {
        let (uids, values) = quantize(&[(Uid(3), 0.2), (Uid(5), 0.4), (Uid(7), 0.0000001)]);
        assert_eq!(uids, vec![3, 5]);
        assert_eq!(values, vec![32768, 65535]);
        assert_eq!(quantize(&[(Uid(1), 0.0)]), (vec![], vec![]));
    }

    #[test]
    fn the_chain_stores_max_upscaled_values() {
        assert_eq!(
            stored_weights(&[4, 5], &[1, 2]).unwrap(),
            vec![(4, 32768), (5, 65535)]
        );
        assert!(stored_weights(&[1], &[]).is_err());
    }

    #[test]
    fn compact_lengths() {
        assert_eq!(scale_compact_len(0), [0]);
        assert_eq!(scale_compact_len(1), [4]);
        assert_eq!(scale_compact_len(63), [252]);
        assert_eq!(scale_compact_len(64), [1, 1]);
        assert_eq!(scale_compact_len(16383), [0xfd, 0xff]);
        assert_eq!(scale_compact_len(16384), [2, 0, 1, 0]);
        assert_eq!(scale_compact_len(1 << 30), [3, 0, 0, 0, 64]);
    }
}
