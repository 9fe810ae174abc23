//! The stake-weighted median that sets consensus, as the chain computes it: a quickselect with
//! the middle element as pivot, so the result is the same on every machine.

use super::fixed::{I32F32, ZERO, div, normalize, sum};
use super::sparse::Row;

/// Stake-weighted median of `score` over the indices in `partition` (`weighted_median`).
///
/// Returns the largest score `v` such that the stake scoring at least `v` exceeds the
/// `minority` edge, searched inside the stake interval `[lo, hi]`. Scores equal to the pivot
/// are left out of both halves, as the chain does.
pub fn weighted_median(
    stake: &[I32F32],
    score: &[I32F32],
    partition: &[usize],
    minority: I32F32,
    lo: I32F32,
    hi: I32F32,
) -> I32F32 {
    if stake.len() != score.len() {
        return ZERO;
    }
    let at = |v: &[I32F32], i: usize| v.get(i).copied().unwrap_or(ZERO);
    let mut scratch = Scratch::default();
    scratch
        .current
        .extend(partition.iter().map(|&i| (at(score, i), at(stake, i))));
    median_in(&mut scratch, minority, lo, hi)
}

/// Buffers reused from column to column: `(score, stake)` pairs in partition order.
#[derive(Debug, Default)]
struct Scratch {
    current: Vec<(I32F32, I32F32)>,
    lower: Vec<(I32F32, I32F32)>,
    upper: Vec<(I32F32, I32F32)>,
}

/// The chain's quickselect on the partition held in `scratch.current`: the middle element is
/// the pivot, elements equal to it are set aside, the halves keep their order.
fn median_in(scratch: &mut Scratch, minority: I32F32, mut lo: I32F32, mut hi: I32F32) -> I32F32 {
    let Scratch {
        current,
        lower,
        upper,
    } = scratch;
    let limit = current.len();
    let mut iterations = 0usize;
    loop {
        let n = current.len();
        if n == 0 {
            return ZERO;
        }
        if n == 1 {
            return current[0].0;
        }
        let pivot = current[n / 2].0;
        let mut lo_stake = ZERO;
        let mut hi_stake = ZERO;
        lower.clear();
        upper.clear();
        for &(s, st) in current.iter() {
            if s < pivot {
                lo_stake = lo_stake.saturating_add(st);
                lower.push((s, st));
            } else if s > pivot {
                hi_stake = hi_stake.saturating_add(st);
                upper.push((s, st));
            }
        }
        if minority < lo.saturating_add(lo_stake) && !lower.is_empty() {
            std::mem::swap(current, lower);
            hi = lo.saturating_add(lo_stake);
        } else if hi.saturating_sub(hi_stake) <= minority && !upper.is_empty() {
            std::mem::swap(current, upper);
            lo = hi.saturating_sub(hi_stake);
        } else {
            return pivot;
        }
        iterations += 1;
        if iterations > limit {
            return ZERO;
        }
    }
}

/// Column-wise stake-weighted median over the rows with positive stake
/// (`weighted_median_col_sparse`): those stakes are re-normalised and the minority edge is
/// their sum minus `majority`.
pub(crate) fn weighted_median_cols(
    stake: &[I32F32],
    rows: &[Row],
    n: usize,
    majority: I32F32,
) -> Vec<I32F32> {
    let mut use_stake: Vec<I32F32> = stake.iter().copied().filter(|&s| s > ZERO).collect();
    normalize(&mut use_stake);
    let stake_sum = sum(use_stake.iter().copied());
    let minority = stake_sum.saturating_sub(majority);
    let m = use_stake.len();

    // Column-major scores: column j occupies use_score[j*m .. (j+1)*m].
    let mut use_score = vec![ZERO; n * m];
    let mut entries = vec![0u32; n];
    let mut k = 0usize;
    for (&s, row) in stake.iter().zip(rows) {
        if s > ZERO {
            for &(c, v) in row {
                if let Some(cell) = use_score.get_mut(usize::from(c) * m + k) {
                    *cell = v;
                    entries[usize::from(c)] += 1;
                }
            }
            k += 1;
        }
    }
    let mut scratch = Scratch::default();
    (0..n)
        .map(|j| {
            // A column nobody weighted is all zeros, whose median is zero.
            if entries[j] == 0 {
                return ZERO;
            }
            scratch.current.clear();
            let col = &use_score[j * m..(j + 1) * m];
            scratch
                .current
                .extend(col.iter().copied().zip(use_stake.iter().copied()));
            median_in(&mut scratch, minority, ZERO, stake_sum)
        })
        .collect()
}

/// `kappa` as the chain reads it: `kappa / 65535`, truncated.
pub(crate) fn kappa_proportion(kappa: u16) -> I32F32 {
    div(
        super::fixed::from_u16(kappa),
        super::fixed::from_u16(u16::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> I32F32 {
        I32F32::from_num(x)
    }

    fn median(stake: &[f64], score: &[f64], minority: f64) -> I32F32 {
        let stake: Vec<I32F32> = stake.iter().map(|&x| f(x)).collect();
        let score: Vec<I32F32> = score.iter().map(|&x| f(x)).collect();
        let idx: Vec<usize> = (0..stake.len()).collect();
        weighted_median(
            &stake,
            &score,
            &idx,
            f(minority),
            ZERO,
            sum(stake.iter().copied()),
        )
    }

    #[test]
    fn weighted_median_vectors_from_the_chain() {
        assert_eq!(median(&[0.49, 0.51], &[0.5, 1.0], 0.49), f(1.0));
        assert_eq!(median(&[0.51, 0.49], &[0.5, 1.0], 0.49), f(0.5));
        assert_eq!(median(&[0.49, 0.01, 0.5], &[0.5, 0.7, 1.0], 0.49), f(0.7));
    }

    #[test]
    fn column_median_vectors_from_the_chain() {
        let stake: Vec<I32F32> = [0.0, 0.75, 0.25, 0.0].map(f).to_vec();
        let dense = [
            [0.0, 0.1, 0.0],
            [0.0, 0.2, 0.4],
            [0.0, 0.3, 0.1],
            [0.0, 0.4, 0.5],
        ];
        let rows: Vec<Row> = dense
            .iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .filter(|(_, v)| **v != 0.0)
                    .map(|(j, v)| (j as u16, f(*v)))
                    .collect()
            })
            .collect();
        let cases = [
            (0.24, [0.0, 0.3, 0.4]),
            (0.26, [0.0, 0.2, 0.4]),
            (0.76, [0.0, 0.2, 0.1]),
        ];
        for (majority, want) in cases {
            let got = weighted_median_cols(&stake, &rows, 3, f(majority));
            assert_eq!(got, want.map(f).to_vec(), "majority {majority}");
        }
    }

    #[test]
    fn empty_and_single_partitions() {
        assert_eq!(median(&[], &[], 0.5), ZERO);
        assert_eq!(median(&[1.0], &[0.3], 0.5), f(0.3));
        assert_eq!(weighted_median(&[ONE_F], &[], &[0], ZERO, ZERO, ZERO), ZERO);
    }

    const ONE_F: I32F32 = super::super::fixed::ONE;
}
