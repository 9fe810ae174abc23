//! Sparse matrices as the chain keeps them: one row per uid, `(column, value)` entries in the
//! order they were stored (not necessarily sorted), and the row and column operations of the
//! epoch with the chain's exact rounding and filtering.

use super::fixed::{Divider, I32F32, ONE, ZERO, mul, sum};

/// A sparse row: `(column, value)` in stored order.
pub(crate) type Row = Vec<(u16, I32F32)>;

/// Divides each row by its sum where the sum is positive.
pub(crate) fn row_normalize(rows: &mut [Row]) {
    for row in rows.iter_mut() {
        let total = sum(row.iter().map(|&(_, v)| v));
        if total > ZERO {
            let d = Divider::new(total);
            for (_, v) in row.iter_mut() {
                *v = d.div(*v);
            }
        }
    }
}

/// Per-column dividers by the column sums (sums saturate), for column normalisation.
pub(crate) fn col_dividers(rows: &[Row], n: usize) -> Vec<Divider> {
    let mut col_sum = vec![ZERO; n];
    for row in rows.iter() {
        for &(j, v) in row {
            if let Some(s) = col_sum.get_mut(usize::from(j)) {
                *s = s.saturating_add(v);
            }
        }
    }
    col_sum.into_iter().map(Divider::new).collect()
}

/// Divides each entry by its column sum where that sum is non-zero (sums saturate).
pub(crate) fn col_normalize(rows: &mut [Row], n: usize) {
    let dividers = col_dividers(rows, n);
    divide_cols(rows, &dividers);
}

/// Divides each entry by its column's divider where that divisor is non-zero.
pub(crate) fn divide_cols(rows: &mut [Row], dividers: &[Divider]) {
    for row in rows.iter_mut() {
        for (j, v) in row.iter_mut() {
            *v = dividers[usize::from(*j)].div_or_keep(*v);
        }
    }
}

/// Column-normalises (as [`col_normalize`]) and, in the same pass, returns each row's
/// `Σ_j x_j · b_ij` (products floored, sums saturating) and each column's maximum.
pub(crate) fn col_normalize_weighted_sums(
    rows: &mut [Row],
    n: usize,
    x: &[I32F32],
) -> (Vec<I32F32>, Vec<I32F32>) {
    let dividers = col_dividers(rows, n);
    let mut col_max = vec![ZERO; n];
    let sums = rows
        .iter_mut()
        .map(|row| {
            let mut acc = ZERO;
            for (j, v) in row.iter_mut() {
                let j = usize::from(*j);
                *v = dividers[j].div_or_keep(*v);
                acc = acc.saturating_add(mul(x[j], *v));
                if col_max[j] < *v {
                    col_max[j] = *v;
                }
            }
            acc
        })
        .collect();
    (sums, col_max)
}

/// Divides each entry by its column maximum (`col_max`) where that maximum is non-zero.
pub(crate) fn col_max_upscale(rows: &mut [Row], col_max: Vec<I32F32>) {
    let dividers: Vec<Divider> = col_max.into_iter().map(Divider::new).collect();
    divide_cols(rows, &dividers);
}

/// Clips each entry to its column's threshold (`col_clip_sparse`): above the threshold it
/// becomes the threshold, or is dropped (not set to zero) when the threshold is zero.
#[inline]
fn clip(v: I32F32, th: I32F32) -> Option<I32F32> {
    if th < v {
        (th > ZERO).then_some(th)
    } else {
        Some(v)
    }
}

/// The clipped weights (`col_clip_sparse`), as new rows.
pub(crate) fn col_clip(rows: &[Row], threshold: &[I32F32]) -> Vec<Row> {
    rows.iter()
        .map(|row| {
            row.iter()
                .filter_map(|&(j, v)| Some((j, clip(v, threshold[usize::from(j)])?)))
                .collect()
        })
        .collect()
}

/// [`col_clip`] in place.
pub(crate) fn col_clip_in_place(rows: &mut [Row], threshold: &[I32F32]) {
    for row in rows.iter_mut() {
        row.retain_mut(|(j, v)| match clip(*v, threshold[usize::from(*j)]) {
            Some(c) => {
                *v = c;
                true
            }
            None => false,
        });
    }
}

/// Validator trust (each row's sum of clipped weights) and ranks (`r_j = Σ_i s_i · wc_ij`,
/// products floored, sums saturating) of the clipped weights, without building them.
pub(crate) fn clip_sums(
    rows: &[Row],
    threshold: &[I32F32],
    stake: &[I32F32],
) -> (Vec<I32F32>, Vec<I32F32>) {
    let mut ranks = vec![ZERO; threshold.len()];
    let trust = rows
        .iter()
        .zip(stake)
        .map(|(row, &s)| {
            sum(row.iter().filter_map(|&(j, v)| {
                let c = clip(v, threshold[usize::from(j)])?;
                let r = &mut ranks[usize::from(j)];
                *r = r.saturating_add(mul(s, c));
                Some(c)
            }))
        })
        .collect();
    (trust, ranks)
}

/// `a + ratio · (b − a)` entry by entry (`interpolate_sparse`).
///
/// A ratio of exactly 0 or 1 returns `a` or `b` unchanged (explicit zero entries kept);
/// otherwise each row is densified and only positive results are kept, in column order.
pub(crate) fn interpolate(a: &[Row], b: &[Row], n: usize, ratio: I32F32) -> Vec<Row> {
    if ratio == ZERO {
        return a.to_vec();
    }
    if ratio == ONE {
        return b.to_vec();
    }
    let mut dense_a = vec![ZERO; n];
    let mut dense_b = vec![ZERO; n];
    a.iter()
        .zip(b)
        .map(|(ra, rb)| {
            if ra.is_empty() && rb.is_empty() {
                return Vec::new();
            }
            for &(j, v) in ra {
                dense_a[usize::from(j)] = v;
            }
            for &(j, v) in rb {
                dense_b[usize::from(j)] = v;
            }
            let mut out = Vec::new();
            for (j, (va, vb)) in dense_a.iter_mut().zip(dense_b.iter_mut()).enumerate() {
                let x = va.saturating_add(mul(ratio, vb.saturating_sub(*va)));
                if ZERO < x {
                    out.push((j as u16, x));
                }
                *va = ZERO;
                *vb = ZERO;
            }
            out
        })
        .collect()
}

/// `α · new + (1 − α) · old` entry by entry (`mat_ema_sparse`), written over `old`: each row
/// densified, positive results kept in column order.
pub(crate) fn ema_into(new: &[Row], old: &mut [Row], alpha: I32F32, n: usize) {
    let one_minus_alpha = ONE.saturating_sub(alpha);
    let mut acc = vec![ZERO; n];
    for (rn, ro) in new.iter().zip(old.iter_mut()) {
        if rn.is_empty() && ro.is_empty() {
            continue;
        }
        for &(j, v) in rn {
            let c = &mut acc[usize::from(j)];
            *c = c.saturating_add(mul(alpha, v));
        }
        for &(j, v) in ro.iter() {
            let c = &mut acc[usize::from(j)];
            *c = c.saturating_add(mul(one_minus_alpha, v));
        }
        ro.clear();
        for (j, c) in acc.iter_mut().enumerate() {
            if *c > ZERO {
                ro.push((j as u16, *c));
            }
            *c = ZERO;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> I32F32 {
        I32F32::from_num(x)
    }

    #[test]
    fn clip_drops_entries_above_a_zero_threshold() {
        let mut rows = vec![vec![(0, f(0.5)), (1, f(0.5)), (2, ZERO)]];
        let th = [ZERO, f(0.25), ZERO];
        let clipped = col_clip(&rows, &th);
        assert_eq!(clipped, vec![vec![(1, f(0.25)), (2, ZERO)]]);
        let (trust, ranks) = clip_sums(&rows, &th, &[f(0.5)]);
        assert_eq!(trust, vec![f(0.25)]);
        assert_eq!(ranks, vec![ZERO, f(0.125), ZERO]);
        col_clip_in_place(&mut rows, &th);
        assert_eq!(rows, clipped);
    }

    #[test]
    fn interpolate_keeps_zeros_only_at_the_ends() {
        let a = vec![vec![(2, f(0.5)), (0, ZERO)]];
        let b = vec![vec![(2, f(0.25))]];
        assert_eq!(interpolate(&a, &b, 3, ZERO), a);
        assert_eq!(interpolate(&a, &b, 3, ONE), b);
        assert_eq!(interpolate(&a, &b, 3, f(0.5)), vec![vec![(2, f(0.375))]]);
    }

    #[test]
    fn ema_sorts_and_drops_zeros() {
        let new = vec![vec![(1, ONE)]];
        let mut old = vec![vec![(0, ONE)]];
        ema_into(&new, &mut old, f(0.5), 2);
        assert_eq!(old, vec![vec![(0, f(0.5)), (1, f(0.5))]]);
    }
}
