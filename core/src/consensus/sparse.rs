//! Sparse matrices as the chain keeps them: one row per uid, `(column, value)` entries in the
//! order they were stored (not necessarily sorted), and the row and column operations of the
//! epoch with the chain's exact rounding and filtering.

use super::fixed::{I32F32, ONE, ZERO, div, sum};

/// A sparse row: `(column, value)` in stored order.
pub(crate) type Row = Vec<(u16, I32F32)>;

/// Sum of each row.
pub(crate) fn row_sums(rows: &[Row]) -> Vec<I32F32> {
    rows.iter()
        .map(|r| sum(r.iter().map(|&(_, v)| v)))
        .collect()
}

/// Divides each row by its sum where the sum is positive.
pub(crate) fn row_normalize(rows: &mut [Row]) {
    for row in rows.iter_mut() {
        let total = sum(row.iter().map(|&(_, v)| v));
        if total > ZERO {
            for (_, v) in row.iter_mut() {
                *v = div(*v, total);
            }
        }
    }
}

/// Divides each entry by its column sum where that sum is non-zero (sums saturate).
pub(crate) fn col_normalize(rows: &mut [Row], n: usize) {
    let mut col_sum = vec![ZERO; n];
    for row in rows.iter() {
        for &(j, v) in row {
            if let Some(s) = col_sum.get_mut(usize::from(j)) {
                *s = s.saturating_add(v);
            }
        }
    }
    for row in rows.iter_mut() {
        for (j, v) in row.iter_mut() {
            let s = col_sum.get(usize::from(*j)).copied().unwrap_or(ZERO);
            if s != ZERO {
                *v = div(*v, s);
            }
        }
    }
}

/// Divides each entry by its column maximum where that maximum is non-zero.
pub(crate) fn col_max_upscale(rows: &mut [Row], n: usize) {
    let mut col_max = vec![ZERO; n];
    for row in rows.iter() {
        for &(j, v) in row {
            if let Some(m) = col_max.get_mut(usize::from(j))
                && *m < v
            {
                *m = v;
            }
        }
    }
    for row in rows.iter_mut() {
        for (j, v) in row.iter_mut() {
            let m = col_max.get(usize::from(*j)).copied().unwrap_or(ZERO);
            if m != ZERO {
                *v = div(*v, m);
            }
        }
    }
}

/// `r_j = Σ_i s_i · w_ij`, each product floored, sums saturating.
pub(crate) fn col_weighted_sums(rows: &[Row], s: &[I32F32], n: usize) -> Vec<I32F32> {
    let mut out = vec![ZERO; n];
    for (row, &si) in rows.iter().zip(s) {
        for &(j, v) in row {
            if let Some(o) = out.get_mut(usize::from(j)) {
                *o = o.saturating_add(si.saturating_mul(v));
            }
        }
    }
    out
}

/// `d_i = Σ_j x_j · b_ij`, each product floored, sums saturating.
pub(crate) fn row_weighted_sums(rows: &[Row], x: &[I32F32]) -> Vec<I32F32> {
    rows.iter()
        .map(|row| {
            row.iter().fold(ZERO, |acc, &(j, v)| {
                let xj = x.get(usize::from(j)).copied().unwrap_or(ZERO);
                acc.saturating_add(xj.saturating_mul(v))
            })
        })
        .collect()
}

/// Clips each entry to its column's threshold; an entry above a threshold of zero is dropped,
/// not set to zero (`col_clip_sparse`).
pub(crate) fn col_clip(rows: &[Row], threshold: &[I32F32]) -> Vec<Row> {
    rows.iter()
        .map(|row| {
            let mut out = Vec::with_capacity(row.len());
            for &(j, v) in row {
                let th = threshold.get(usize::from(j)).copied().unwrap_or(ZERO);
                if th < v {
                    if th > ZERO {
                        out.push((j, th));
                    }
                } else {
                    out.push((j, v));
                }
            }
            out
        })
        .collect()
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
                let x = va.saturating_add(ratio.saturating_mul(vb.saturating_sub(*va)));
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

/// `α · new + (1 − α) · old` entry by entry (`mat_ema_sparse`): each row densified, positive
/// results kept in column order.
pub(crate) fn ema(new: &[Row], old: &[Row], alpha: I32F32, n: usize) -> Vec<Row> {
    let one_minus_alpha = ONE.saturating_sub(alpha);
    let mut acc = vec![ZERO; n];
    new.iter()
        .zip(old)
        .map(|(rn, ro)| {
            if rn.is_empty() && ro.is_empty() {
                return Vec::new();
            }
            for &(j, v) in rn {
                let c = &mut acc[usize::from(j)];
                *c = c.saturating_add(alpha.saturating_mul(v));
            }
            for &(j, v) in ro {
                let c = &mut acc[usize::from(j)];
                *c = c.saturating_add(one_minus_alpha.saturating_mul(v));
            }
            let mut out = Vec::new();
            for (j, c) in acc.iter_mut().enumerate() {
                if *c > ZERO {
                    out.push((j as u16, *c));
                }
                *c = ZERO;
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> I32F32 {
        I32F32::from_num(x)
    }

    #[test]
    fn clip_drops_entries_above_a_zero_threshold() {
        let rows = vec![vec![(0, f(0.5)), (1, f(0.5)), (2, ZERO)]];
        let clipped = col_clip(&rows, &[ZERO, f(0.25), ZERO]);
        assert_eq!(clipped, vec![vec![(1, f(0.25)), (2, ZERO)]]);
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
        let old = vec![vec![(0, ONE)]];
        let out = ema(&new, &old, f(0.5), 2);
        assert_eq!(out, vec![vec![(0, f(0.5)), (1, f(0.5))]]);
    }
}
