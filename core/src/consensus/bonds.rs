//! Bonds: how validators' stakes in miners grow and decay from epoch to epoch, classic Yuma
//! (stake-scaled, column-normalised) and Yuma3 (each bond its own `[0, 1]` quantity, with an
//! optional liquid alpha that moves faster away from consensus).
//!
//! Values are raw `I32F32` bits. Each function makes one pass over the rows where the chain
//! makes several: column sums are gathered while a matrix is built, the stored bonds are read in
//! place, and the storage form is written while the dividends are summed.

use super::exp::{Batch, logistic_many};
use super::fixed::{
    Divider, I32F32, I64F64, all_unit, div, div64, from_u16, mul_bits, mul_unit, mul_unit_positive,
    proportion_bits_to_u16,
};
use super::sparse::{Clipping, ColumnStats, Matrix, ONE, RowAccumulator, Spares, dividers};

/// One half, in raw bits.
const HALF: i64 = 1 << 31;

/// Bonds in storage form, one row per uid.
type StoredRows = Vec<Vec<(u16, u16)>>;

/// The constant EMA rate `1 − bonds_moving_average / 10⁶`; the quotient is taken in
/// [`I64F64`] and floored to [`I32F32`] before the subtraction.
pub(crate) fn moving_average_alpha(bonds_moving_average: u64) -> i64 {
    let bma = div64(
        I64F64::saturating_from_num(bonds_moving_average),
        I64F64::saturating_from_num(1_000_000u64),
    );
    ONE.saturating_sub(I32F32::saturating_from_num(bma).to_bits())
}

/// The bonds stored at the previous epoch, read in place: entries on miners registered since
/// the last epoch are left out (`last_tempo <= block_at_registration`). Yuma3 reads them as
/// proportions (`u16 / 65535`, truncated), classic as the stored integers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredBonds<'a> {
    pub(crate) rows: &'a [Vec<(u16, u16)>],
    pub(crate) registered: &'a [u64],
    pub(crate) last_tempo: u64,
    pub(crate) proportions: bool,
}

impl StoredBonds<'_> {
    /// Calls `f(column, value)` for each kept entry of row `i`, in stored order.
    #[inline]
    pub(crate) fn for_row(&self, i: usize, mut f: impl FnMut(u16, i64)) {
        for &(j, b) in &self.rows[i] {
            if let Some(v) = self.kept(j, b) {
                f(j, v);
            }
        }
    }

    /// The value of a stored entry, or `None` when the mask drops it.
    #[inline]
    fn kept(&self, j: u16, b: u16) -> Option<i64> {
        (self.last_tempo > self.registered[usize::from(j)]).then(|| {
            if self.proportions {
                u16_proportion_bits(b)
            } else {
                i64::from(b) << 32
            }
        })
    }

    /// The column sums (saturating) of the kept entries.
    fn col_sums(&self, n: usize) -> Vec<i64> {
        let mut sums = vec![0i64; n];
        for i in 0..self.rows.len() {
            self.for_row(i, |j, v| {
                let s = &mut sums[usize::from(j)];
                *s = s.saturating_add(v);
            });
        }
        sums
    }

    /// Whether row `i` is stored with strictly ascending columns (then so are its kept
    /// entries).
    #[inline]
    fn ascending(&self, i: usize) -> bool {
        self.rows[i].windows(2).all(|p| p[0].0 < p[1].0)
    }
}

/// `b / 65535` truncated, in raw bits: `2^32 = 65535 · 65537 + 1`, so
/// `b · 2^32 / 65535 = b · 65537 + b / 65535`, whose fraction is below one except at 65535.
#[inline]
fn u16_proportion_bits(b: u16) -> i64 {
    let b = i64::from(b);
    b * 65537 + i64::from(b == 65535)
}

/// `α · new + (1 − α) · old` entry by entry (`mat_ema_sparse`), each entry of `new` and `old`
/// first divided by its column's divider where given and non-zero (classic bonds normalise
/// both): each row densified, positive results kept in column order. Returns the result and its
/// column statistics.
fn ema(
    new: &Matrix,
    new_cols: Option<&[Divider]>,
    old: &StoredBonds<'_>,
    old_cols: Option<&[Divider]>,
    alpha: i64,
    mut out: Matrix,
) -> (Matrix, ColumnStats) {
    let n = old.registered.len();
    let one_minus_alpha = ONE.saturating_sub(alpha);
    let scale_new = |j: u16, v: i64| {
        let v = new_cols.map_or(v, |d| d[usize::from(j)].div_or_keep_bits(v));
        mul_bits(alpha, v)
    };
    let scale_old = |j: u16, v: i64| {
        let v = old_cols.map_or(v, |d| d[usize::from(j)].div_or_keep_bits(v));
        mul_bits(one_minus_alpha, v)
    };
    let mut acc = RowAccumulator::new(n);
    let mut stats = ColumnStats::new(n);
    let mut emit = |out: &mut Matrix, j: u16, v: i64| {
        if v > 0 {
            out.push(j, v);
            stats.add(j, v);
        }
    };
    for i in 0..new.rows() {
        let (nc, nv) = new.row(i);
        if new.ascending(i) && old.ascending(i) {
            // Both rows sorted: merge them; a column in both adds the two parts, as the
            // densified row does.
            let mut p = 0usize;
            old.for_row(i, |j, v| {
                while p < nc.len() && nc[p] < j {
                    emit(&mut out, nc[p], scale_new(nc[p], nv[p]));
                    p += 1;
                }
                let o = scale_old(j, v);
                if p < nc.len() && nc[p] == j {
                    emit(&mut out, j, scale_new(j, nv[p]).saturating_add(o));
                    p += 1;
                } else {
                    emit(&mut out, j, o);
                }
            });
            for q in p..nc.len() {
                emit(&mut out, nc[q], scale_new(nc[q], nv[q]));
            }
        } else {
            for (&j, &v) in nc.iter().zip(nv) {
                acc.add(j, scale_new(j, v));
            }
            old.for_row(i, |j, v| acc.add(j, scale_old(j, v)));
            acc.drain_positive(|j, v| emit(&mut out, j, v));
        }
        out.end_row();
    }
    (out, stats)
}

/// Liquid alpha's settings, as raw fixed-point bits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LiquidAlpha {
    low: i64,
    high: i64,
    /// `steepness / −100`, truncated, as the chain divides it.
    scale: i64,
    /// The exponent for `x = 0` and its rate, shared by every entry at or below consensus.
    at_zero: i64,
    alpha_at_zero: i64,
}

impl LiquidAlpha {
    pub(crate) fn new(low: u16, high: u16, steepness: i16) -> Self {
        let max = from_u16(u16::MAX);
        let scale = I32F32::from_bits(i64::from(steepness) << 32)
            .saturating_div(I32F32::from_bits(-100i64 << 32))
            .to_bits();
        let at_zero = mul_bits(-HALF, scale);
        let mut params = Self {
            low: div(from_u16(low), max).to_bits(),
            high: div(from_u16(high), max).to_bits(),
            scale,
            at_zero,
            alpha_at_zero: 0,
        };
        let mut sigmoid = [at_zero];
        logistic_many(&mut sigmoid);
        params.alpha_at_zero = params.rate(sigmoid[0]);
        params
    }

    /// The EMA rate for one (validator, miner) bond (`alpha_sigmoid`): fast when the weight
    /// moves away from consensus (buying) or below the bond (selling).
    #[cfg(test)]
    fn alpha(&self, consensus: i64, weight: i64, bond: i64) -> i64 {
        let mut e = [self.exponent(consensus, weight, bond)];
        logistic_many(&mut e);
        self.rate(e[0])
    }

    /// The sigmoid's exponent, `(steepness / −100) · (x − 0.5)`, where `x` is how far the
    /// weight is above consensus (when it is at least the bond) or below the bond.
    ///
    /// Weights and consensus are within `[0, 65535]` (normalised rows are within `[0, 1]`), bonds
    /// within `[0, 1]`: no difference here can overflow, so the chain's saturating
    /// subtractions are plain ones.
    #[inline]
    fn exponent(&self, consensus: i64, weight: i64, bond: i64) -> i64 {
        let diff_buy = clamp(weight - consensus, 0, ONE);
        let diff_sell = clamp(bond - weight, 0, ONE);
        let x = if weight >= bond { diff_buy } else { diff_sell };
        // x − 0.5 is within [−0.5, 0.5].
        mul_unit(x - HALF, self.scale)
    }

    /// The rate from the sigmoid `1 / (1 + exp(exponent))`: `low + (high − low) · sigmoid`,
    /// clamped. The sigmoid is within `[0, 1]` and the bounds within `[0, 1]`, so nothing
    /// saturates.
    #[inline]
    fn rate(&self, sigmoid: i64) -> i64 {
        let alpha = self.low + mul_unit(sigmoid, self.high - self.low);
        clamp(alpha, self.low, self.high)
    }
}

/// The chain's `clamp_value`: `min(high)` then `max(low)`.
#[inline]
fn clamp(v: i64, low: i64, high: i64) -> i64 {
    v.min(high).max(low)
}

/// Per-row buffers for [`liquid_ema`].
#[derive(Debug)]
struct LiquidScratch {
    /// The stored bond of each column in this row, or −1 (bonds are never negative).
    old: Vec<i64>,
    /// The bond the chain's lookup finds for each column (zero where it finds none).
    old_found: Vec<i64>,
    /// The columns of this row's stored bonds, to clear the two above.
    touched: Vec<u16>,
    /// Each entry's exponent.
    exponents: Vec<i64>,
    /// Each entry's stored bond, or −1.
    olds: Vec<i64>,
    /// The exponents that need the series, then their sigmoids.
    sigmoids: Batch,
    /// The row's new bonds.
    vals: Vec<i64>,
}

/// Yuma3's EMA with a liquid alpha per entry (`mat_ema_alpha_sparse`).
///
/// Only entries present in the new row survive: an old bond without a new entry is dropped,
/// not decayed. Each kept value is `min((1 − α)·old + max(α·new, 0), 1)` if positive, in the new
/// row's order.
///
/// The rate of entry `(i, j)` uses the weight and bond the chain's lookup
/// (`compute_liquid_alpha_values_sparse`) finds for column `j`. That lookup walks each row once,
/// forward, as if it were sorted: for column `j` it stops at the first entry whose column is at
/// least `j`, so it finds an entry exactly when every entry before it in the row has a smaller
/// column. On a sorted row it finds every entry; on an unsorted row it misses some, as on chain.
///
/// Returns the new bonds with their column statistics, and the storage form of the rows with a
/// new permit.
fn liquid_ema(
    new: &Matrix,
    mut clipping: Option<Clipping<'_>>,
    old: &StoredBonds<'_>,
    consensus: &[i64],
    params: &LiquidAlpha,
    new_permit: &[bool],
    mut out: Matrix,
) -> (Matrix, Vec<i64>, StoredRows) {
    let n = consensus.len();
    let mut s = LiquidScratch {
        old: vec![-1; n],
        old_found: vec![0; n],
        touched: Vec::new(),
        exponents: Vec::new(),
        olds: Vec::new(),
        sigmoids: Batch::default(),
        vals: Vec::new(),
    };
    let (mut clipped_cols, mut clipped_vals) = (Vec::new(), Vec::new());
    let mut col_sum = vec![0i64; n];
    let mut stored = Vec::with_capacity(new.rows());
    for (i, &permit) in new_permit.iter().enumerate() {
        let (mut nc, mut nv) = new.row(i);
        if let Some(clipping) = clipping.as_mut() {
            clipping.row(i, nc, nv, (&mut clipped_cols, &mut clipped_vals));
            if clipping.buy_clipped {
                (nc, nv) = (&clipped_cols, &clipped_vals);
            }
        }
        let len = nc.len();
        if len == 0 {
            out.end_row();
            stored.push(Vec::new());
            continue;
        }
        // The exponent of each entry, with the weight and bond the chain's lookup finds; the
        // stored bond (or −1) kept per entry for the update. Sorted rows (the usual case) are
        // merged: the lookup finds every entry. Otherwise the stored row is spread over the
        // columns first. Every entry at or below consensus (x = 0) shares one exponent and
        // rate, computed once; the others go through the series together.
        if s.exponents.len() < len {
            s.exponents.resize(len, 0);
            s.olds.resize(len, 0);
            s.vals.resize(len, 0);
        }
        let exponents = &mut s.exponents[..len];
        let olds = &mut s.olds[..len];
        let ascending = new.ascending(i);
        s.sigmoids.clear(len);
        if ascending && old.ascending(i) {
            exponents_merged(
                (nc, nv),
                old,
                &old.rows[i],
                consensus,
                params,
                (exponents, olds),
                &mut s.sigmoids,
            );
        } else {
            let mut last: i32 = -1;
            old.for_row(i, |j, v| {
                let ju = usize::from(j);
                s.old[ju] = v;
                if i32::from(j) > last {
                    s.old_found[ju] = v;
                    last = i32::from(j);
                }
                s.touched.push(j);
            });
            let mut last: i32 = -1;
            for (((&j, &w), e), o) in nc
                .iter()
                .zip(nv)
                .zip(exponents.iter_mut())
                .zip(olds.iter_mut())
            {
                let ju = usize::from(j);
                let found = ascending || i32::from(j) > last;
                last = last.max(i32::from(j));
                *o = s.old[ju];
                *e = params.exponent(consensus[ju], if found { w } else { 0 }, s.old_found[ju]);
                s.sigmoids.push_if(*e, *e != params.at_zero);
            }
            for &j in &s.touched {
                s.old[usize::from(j)] = -1;
                s.old_found[usize::from(j)] = 0;
            }
            s.touched.clear();
        }
        s.sigmoids.evaluate::<true>();
        // The new bonds, in the new row's order; positive ones are kept (usually all).
        let vals = &mut s.vals[..len];
        let mut row = Vec::with_capacity(if permit { len } else { 0 });
        let all_positive = new_bonds(
            (nc, nv),
            (exponents, olds),
            &s.sigmoids,
            params,
            vals,
            &mut col_sum,
            permit.then_some(&mut row),
        );
        if all_positive {
            out.extend_row(nc, vals, ascending);
        } else {
            for (&j, &v) in nc.iter().zip(vals.iter()) {
                if v > 0 {
                    out.push(j, v);
                }
            }
            out.end_row();
        }
        stored.push(row);
    }
    (out, col_sum, stored)
}

/// [`liquid_ema`]'s first loop for a sorted new row and a sorted stored row (the usual case),
/// merged: the chain's lookup finds every entry. Writes each entry's exponent and stored bond
/// (or −1), and adds the exponents that need the series to `batch`.
///
/// Separate (not inlined) so the loop keeps its few pointers in registers.
#[inline(never)]
fn exponents_merged(
    (cols, vals): (&[u16], &[i64]),
    old: &StoredBonds<'_>,
    stored_row: &[(u16, u16)],
    consensus: &[i64],
    params: &LiquidAlpha,
    (exponents, olds): (&mut [i64], &mut [i64]),
    batch: &mut Batch,
) {
    let mut p = 0usize;
    for (((&j, &w), e), o) in cols
        .iter()
        .zip(vals)
        .zip(exponents.iter_mut())
        .zip(olds.iter_mut())
    {
        while p < stored_row.len() && stored_row[p].0 < j {
            p += 1;
        }
        *o = match stored_row.get(p) {
            Some(&(c, b)) if c == j => old.kept(c, b).unwrap_or(-1),
            _ => -1,
        };
        *e = params.exponent(consensus[usize::from(j)], w, (*o).max(0));
        batch.push_if(*e, *e != params.at_zero);
    }
}

/// [`liquid_ema`]'s second loop: each entry's new bond `min((1 − α)·old + α·new, 1)` into
/// `out`, its positive values added to the column sums and, for a row with a new permit, to
/// `stored` in storage form. Returns whether every value is positive.
///
/// Separate (not inlined) so the loop keeps its few pointers in registers.
#[inline(never)]
fn new_bonds(
    (cols, weights): (&[u16], &[i64]),
    (exponents, olds): (&[i64], &[i64]),
    sigmoids: &Batch,
    params: &LiquidAlpha,
    out: &mut [i64],
    col_sum: &mut [i64],
    mut stored: Option<&mut Vec<(u16, u16)>>,
) -> bool {
    let mut next = 0usize;
    let mut all_positive = true;
    for ((((&j, &w), &e), &o), val) in cols
        .iter()
        .zip(weights)
        .zip(exponents)
        .zip(olds)
        .zip(out.iter_mut())
    {
        // The next sigmoid's rate is computed whether or not this entry took the series, and
        // chosen without a branch: which entries did is a coin toss for a predictor.
        let series = e != params.at_zero;
        let from_series = params.rate(sigmoids.result_or_zero(next));
        next += usize::from(series);
        let a = if series {
            from_series
        } else {
            params.alpha_at_zero
        };
        // The rate is clamped to [low, high] (or is low), both in [0, 1]; old bonds are in
        // [0, 1] and weights in [0, 65535] (never negative): the sum cannot saturate, nor can a
        // column's sum of at most 65535 values in [0, 1]. No stored bond (−1) decays to zero.
        let decayed = mul_unit_positive(ONE - a, o.max(0));
        let inc = mul_unit_positive(a, w);
        let v = (decayed + inc).min(ONE);
        *val = v;
        let positive = v > 0;
        all_positive &= positive;
        col_sum[usize::from(j)] += if positive { v } else { 0 };
        if let Some(stored) = stored.as_mut()
            && positive
        {
            stored.push((j, proportion_bits_to_u16(v)));
        }
    }
    all_positive
}

/// Yuma3's new bonds: the EMA with a liquid alpha per entry when enabled and some consensus is
/// non-zero, else with the constant rate.
///
/// `weights` buy the bonds; with `clipping` they are clipped first (and clipping's sums
/// gathered) in the same pass, which only the liquid EMA does (the caller clips otherwise).
/// Returns the new bonds (absolute, in `[0, 1]`), their column sums, and their storage form
/// (`u16`), empty for rows without a new permit.
#[allow(clippy::too_many_arguments)]
pub(crate) fn yuma3_ema(
    weights: &Matrix,
    clipping: Option<Clipping<'_>>,
    bonds: &StoredBonds<'_>,
    consensus: &[i64],
    ema_alpha: i64,
    liquid: Option<&LiquidAlpha>,
    new_permit: &[bool],
    spares: &mut Spares,
) -> (Matrix, Vec<i64>, StoredRows) {
    let out = spares.matrix(weights.rows(), weights.entries());
    match liquid {
        Some(params) if liquid_applies(consensus) => {
            liquid_ema(weights, clipping, bonds, consensus, params, new_permit, out)
        }
        _ => {
            debug_assert!(
                clipping.is_none(),
                "the constant-rate EMA takes clipped weights"
            );
            let (ema, stats) = ema(weights, None, bonds, None, ema_alpha, out);
            let stored = new_permit
                .iter()
                .enumerate()
                .map(|(i, &permit)| {
                    if !permit {
                        return Vec::new();
                    }
                    let (cols, vals) = ema.row(i);
                    cols.iter()
                        .zip(vals)
                        .map(|(&j, &v)| (j, proportion_bits_to_u16(v)))
                        .collect()
                })
                .collect();
            (ema, stats.sum, stored)
        }
    }
}

/// Whether Yuma3 uses liquid alpha (when enabled): only with some non-zero consensus.
pub(crate) fn liquid_applies(consensus: &[i64]) -> bool {
    consensus.iter().any(|&c| c != 0)
}

/// Yuma3 dividends: each validator's share of the incentive through its column-normalised
/// bonds, `Σ_j (b_ij / Σ_k b_kj) · I_j`, without building the normalised matrix; then times its
/// active stake (`vec_mul`: zero on overflow); normalised.
pub(crate) fn yuma3_dividends(
    ema: &Matrix,
    col_sum: &[i64],
    incentive: &[i64],
    active_stake: &[i64],
) -> Vec<I32F32> {
    let columns = dividers(col_sum);
    // Incentive is normalised, so within [0, 1] unless its sum wrapped.
    let unit = all_unit(incentive);
    let mut dividends: Vec<I32F32> = (0..ema.rows())
        .map(|i| {
            let (cols, vals) = ema.row(i);
            let mut t = 0i64;
            for (&j, &v) in cols.iter().zip(vals) {
                let j = usize::from(j);
                let b = columns[j].div_or_keep_bits(v);
                t = t.wrapping_add(if unit {
                    mul_unit(incentive[j], b)
                } else {
                    mul_bits(incentive[j], b)
                });
            }
            I32F32::from_bits(t)
                .checked_mul(I32F32::from_bits(active_stake[i]))
                .unwrap_or(I32F32::from_bits(0))
        })
        .collect();
    super::fixed::normalize(&mut dividends);
    dividends
}

/// Classic Yuma bonds and dividends.
///
/// `delta` is `ΔB = W ∘ S` with its column sums; `bonds` are the stored integers (column
/// max-upscaled `u16`s). Returns the normalised dividends and the bonds to store (each column
/// max-upscaled to one, as `u16`), empty for rows without a new permit.
pub(crate) fn classic(
    delta: &Matrix,
    delta_sums: &[i64],
    bonds: &StoredBonds<'_>,
    incentive: &[i64],
    ema_alpha: i64,
    new_permit: &[bool],
    spares: &mut Spares,
) -> (Vec<I32F32>, StoredRows) {
    let n = incentive.len();
    let delta_cols = dividers(delta_sums);
    let bond_cols = dividers(&bonds.col_sums(n));
    // Both inputs column-normalised on the fly.
    let out = spares.matrix(delta.rows(), delta.entries());
    let (ema, stats) = ema(
        delta,
        Some(&delta_cols),
        bonds,
        Some(&bond_cols),
        ema_alpha,
        out,
    );
    // Column-normalise the EMA while summing the dividends Σ_j I_j · b_ij, and write the storage
    // form: each column divided by its maximum. Division by a column's (positive) sum is
    // monotone, so the maximum of the normalised column is the normalised maximum.
    let ema_cols = stats.sum_dividers();
    let max_cols: Vec<Divider> = ema_cols
        .iter()
        .zip(&stats.max)
        .map(|(d, &m)| Divider::new(I32F32::from_bits(d.div_or_keep_bits(m))))
        .collect();
    let mut stored = Vec::with_capacity(ema.rows());
    // Incentive is normalised, so within [0, 1] unless its sum wrapped.
    let unit = all_unit(incentive);
    let mut dividends: Vec<I32F32> = new_permit
        .iter()
        .enumerate()
        .map(|(i, &permit)| {
            let (cols, vals) = ema.row(i);
            let mut acc = 0i64;
            let mut row = Vec::with_capacity(if permit { cols.len() } else { 0 });
            for (&j, &v) in cols.iter().zip(vals) {
                let ju = usize::from(j);
                let v = ema_cols[ju].div_or_keep_bits(v);
                acc = acc.saturating_add(if unit {
                    mul_unit(incentive[ju], v)
                } else {
                    mul_bits(incentive[ju], v)
                });
                if permit {
                    let upscaled = max_cols[ju].div_or_keep_bits(v);
                    row.push((j, proportion_bits_to_u16(upscaled)));
                }
            }
            stored.push(row);
            I32F32::from_bits(acc)
        })
        .collect();
    super::fixed::normalize(&mut dividends);
    spares.keep(ema);
    (dividends, stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> i64 {
        I32F32::from_num(x).to_bits()
    }

    #[test]
    fn ema_rate_for_the_default_moving_average() {
        // 900_000 gives 0.1000000000931: the quotient is floored before 1 − x.
        assert_eq!(moving_average_alpha(900_000), (1i64 << 32) - 3_865_470_566);
        assert_eq!(moving_average_alpha(0), ONE);
        assert_eq!(moving_average_alpha(1_000_000), 0);
    }

    #[test]
    fn stored_proportions_are_the_chains_division() {
        let by_max = Divider::new(from_u16(u16::MAX));
        for b in 0..=u16::MAX {
            assert_eq!(
                u16_proportion_bits(b),
                by_max.div(from_u16(b)).to_bits(),
                "{b}"
            );
        }
    }

    #[test]
    fn bonds_on_new_registrations_are_masked() {
        let rows = vec![vec![(1, 100), (0, 65535), (2, 7)]];
        let bonds = StoredBonds {
            rows: &rows,
            registered: &[5, 9, 10],
            last_tempo: 10,
            proportions: false,
        };
        let mut seen = Vec::new();
        bonds.for_row(0, |j, v| seen.push((j, v)));
        // Uid 2 registered at the anchor block: dropped. Stored order kept.
        assert_eq!(seen, [(1, 100 << 32), (0, 65535 << 32)]);
        assert_eq!(bonds.col_sums(3), [65535 << 32, 100 << 32, 0]);
    }

    #[test]
    fn ema_sorts_and_drops_zeros() {
        let new = Matrix::from_rows(&[vec![(1, ONE)], vec![]]);
        let rows = vec![vec![(0, 1)], vec![(3, 0)]];
        let old = StoredBonds {
            rows: &rows,
            registered: &[0; 4],
            last_tempo: 1,
            proportions: false,
        };
        let (out, stats) = ema(&new, None, &old, None, f(0.5), Matrix::with_capacity(2, 2));
        assert_eq!(out.to_rows(), vec![vec![(0, f(0.5)), (1, f(0.5))], vec![]]);
        assert_eq!(stats.sum, vec![f(0.5), f(0.5), 0, 0]);
    }

    #[test]
    fn merging_sorted_rows_is_the_densified_sum() {
        // Row 0 sorted on both sides (merged), row 1 not (accumulated): same sums either way.
        let new = Matrix::from_rows(&[
            vec![(0, f(0.5)), (2, f(0.25)), (5, ONE)],
            vec![(5, ONE), (0, f(0.5)), (2, f(0.25))],
        ]);
        let rows = vec![
            vec![(1, 7), (2, 3), (5, 0), (6, 9)],
            vec![(1, 7), (2, 3), (5, 0), (6, 9)],
        ];
        let old = StoredBonds {
            rows: &rows,
            registered: &[0; 7],
            last_tempo: 1,
            proportions: false,
        };
        let (out, _) = ema(&new, None, &old, None, f(0.25), Matrix::with_capacity(2, 8));
        let rows = out.to_rows();
        assert_eq!(rows[0], rows[1]);
        let x = |a: i64, b: i64| mul_bits(f(0.25), a).saturating_add(mul_bits(f(0.75), b));
        assert_eq!(
            rows[0],
            vec![
                (0, x(f(0.5), 0)),
                (1, x(0, 7 << 32)),
                (2, x(f(0.25), 3 << 32)),
                (5, x(ONE, 0)),
                (6, x(0, 9 << 32)),
            ]
        );
    }

    #[test]
    fn liquid_ema_drops_bonds_without_a_new_entry() {
        // test_math_sparse_mat_ema_alpha: old (0,0) = 1, new only (1,1) = 2 gives (0,0) → 0.
        let params = LiquidAlpha::new(6553, 19660, 1000);
        let new = Matrix::from_rows(&[vec![], vec![(1, f(2.0))]]);
        let rows = vec![vec![(0, u16::MAX)], vec![]];
        let old = StoredBonds {
            rows: &rows,
            registered: &[0; 2],
            last_tempo: 1,
            proportions: true,
        };
        let (out, _, stored) = liquid_ema(
            &new,
            None,
            &old,
            &[f(0.5), f(0.5)],
            &params,
            &[true, true],
            Matrix::with_capacity(2, 1),
        );
        let out = out.to_rows();
        assert!(out[0].is_empty());
        assert_eq!(out[1].len(), 1);
        assert_eq!(stored[1].len(), 1);
    }

    #[test]
    fn liquid_alpha_stays_within_its_bounds() {
        let p = LiquidAlpha::new(6553, 19660, 1000);
        for (c, w, b) in [
            (0.0, 1.0, 0.0),
            (1.0, 0.0, 0.0),
            (0.5, 0.5, 0.9),
            (0.2, 0.9, 0.1),
        ] {
            let a = p.alpha(f(c), f(w), f(b));
            assert!(a >= p.low && a <= p.high, "{a}");
        }
        // Far above consensus buys at nearly the high rate.
        assert!(p.alpha(f(0.0), f(1.0), f(0.0)) > f(0.29));
        // At consensus the sigmoid is low.
        assert!(p.alpha(f(0.5), f(0.5), f(0.0)) < f(0.11));
    }

    #[test]
    fn the_lookup_misses_entries_of_unsorted_rows() {
        // Row [(2, 0.2), (0, 0.5)] with no bonds: the walk passes column 0 while waiting at
        // column 2, so entry (0, 0.5) is rated as if its weight were zero.
        let params = LiquidAlpha::new(6553, 19660, 1000);
        let consensus = [f(0.1), 0, f(0.1)];
        let new = Matrix::from_rows(&[vec![(2, f(0.2)), (0, f(0.5))]]);
        let none: Vec<Vec<(u16, u16)>> = vec![vec![]];
        let old = StoredBonds {
            rows: &none,
            registered: &[0; 3],
            last_tempo: 1,
            proportions: true,
        };
        let (out, _, _) = liquid_ema(
            &new,
            None,
            &old,
            &consensus,
            &params,
            &[false],
            Matrix::with_capacity(1, 2),
        );
        let a_missed = params.alpha(f(0.1), 0, 0);
        let a_found = params.alpha(f(0.1), f(0.2), 0);
        assert_eq!(
            out.to_rows(),
            vec![vec![
                (2, mul_bits(a_found, f(0.2))),
                (0, mul_bits(a_missed, f(0.5)))
            ]]
        );
        assert_ne!(a_missed, params.alpha(f(0.1), f(0.5), 0));
    }
}
