//! Bonds: how validators' stakes in miners grow and decay from epoch to epoch, classic Yuma
//! (stake-scaled, column-normalised) and Yuma3 (each bond its own `[0, 1]` quantity, with an
//! optional liquid alpha that moves faster away from consensus).

use super::fixed::{I32F32, I64F64, ONE, ZERO, div, div64, from_u16, mul};
use super::sparse::{self, Row};

/// The constant EMA rate `1 − bonds_moving_average / 10⁶`; the quotient is taken in
/// [`I64F64`] and floored to [`I32F32`] before the subtraction.
pub(crate) fn moving_average_alpha(bonds_moving_average: u64) -> I32F32 {
    let bma = div64(
        I64F64::saturating_from_num(bonds_moving_average),
        I64F64::saturating_from_num(1_000_000u64),
    );
    ONE.saturating_sub(I32F32::saturating_from_num(bma))
}

/// Liquid alpha's settings, as fixed-point values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LiquidAlpha {
    pub(crate) low: I32F32,
    pub(crate) high: I32F32,
    /// `steepness / −100`, truncated, as the chain divides it.
    scale: I32F32,
    /// The exponent for `x = 0` and its rate, shared by every entry at or below consensus.
    at_zero: I32F32,
    alpha_at_zero: I32F32,
}

impl LiquidAlpha {
    pub(crate) fn new(low: u16, high: u16, steepness: i16) -> Self {
        let max = from_u16(u16::MAX);
        let scale = I32F32::from_bits(i64::from(steepness) << 32)
            .saturating_div(I32F32::from_bits(-100i64 << 32));
        let at_zero = mul(scale, -I32F32::from_bits(1 << 31));
        let mut params = Self {
            low: div(from_u16(low), max),
            high: div(from_u16(high), max),
            scale,
            at_zero,
            alpha_at_zero: ZERO,
        };
        params.alpha_at_zero = params.finish(super::fixed::exp_safe(at_zero));
        params
    }

    /// The EMA rate for one (validator, miner) bond (`alpha_sigmoid`): fast when the weight
    /// moves away from consensus (buying) or below the bond (selling).
    #[cfg(test)]
    pub(crate) fn alpha(&self, consensus: I32F32, weight: I32F32, bond: I32F32) -> I32F32 {
        let mut e = [self.exponent(consensus, weight, bond)];
        super::fixed::exp_safe_many(&mut e);
        self.finish(e[0])
    }

    /// The sigmoid's exponent, `(steepness / −100) · (x − 0.5)`, where `x` is how far the
    /// weight is above consensus (when it is at least the bond) or below the bond.
    fn exponent(&self, consensus: I32F32, weight: I32F32, bond: I32F32) -> I32F32 {
        let diff_buy = clamp(weight.saturating_sub(consensus), ZERO, ONE);
        let diff_sell = clamp(bond.saturating_sub(weight), ZERO, ONE);
        let x = if weight >= bond { diff_buy } else { diff_sell };
        mul(self.scale, x.saturating_sub(I32F32::from_bits(1 << 31)))
    }

    /// The rate from `exp(exponent)`: `low + (high − low) · 1 / (1 + exp)`, clamped.
    fn finish(&self, exp: I32F32) -> I32F32 {
        // The divisor is at least one, so `div` cannot overflow here: it equals the chain's
        // `saturating_div`.
        let sigmoid = div(ONE, ONE.saturating_add(exp));
        let alpha = self
            .low
            .saturating_add(mul(sigmoid, self.high.saturating_sub(self.low)));
        clamp(alpha, self.low, self.high)
    }
}

fn clamp(v: I32F32, low: I32F32, high: I32F32) -> I32F32 {
    v.min(high).max(low)
}

/// The value the chain's liquid-alpha lookup finds for every column of a row
/// (`compute_liquid_alpha_values_sparse`): a single forward walk that assumes the row is sorted
/// by column. On an unsorted row some entries are missed, exactly as on chain.
fn merge_walk_lookup(row: &Row, out: &mut [I32F32]) {
    let mut p = 0usize;
    for (j, slot) in out.iter_mut().enumerate() {
        while p < row.len() && usize::from(row[p].0) < j {
            p += 1;
        }
        *slot = match row.get(p) {
            Some(&(c, v)) if usize::from(c) == j => v,
            _ => ZERO,
        };
    }
}

/// Yuma3's EMA with a liquid alpha per entry (`mat_ema_alpha_sparse`), written over `old`.
///
/// Only entries present in the new row survive: an old bond without a new entry is dropped,
/// not decayed. Each kept value is `min((1 − α)·old + max(α·new, 0), 1)` if positive, in the new
/// row's order.
pub(crate) fn liquid_ema(new: &[Row], old: &mut [Row], consensus: &[I32F32], params: &LiquidAlpha) {
    let n = consensus.len();
    let mut w_look = vec![ZERO; n];
    let mut b_look = vec![ZERO; n];
    let mut old_dense: Vec<Option<I32F32>> = vec![None; n];
    let mut rates: Vec<I32F32> = Vec::new();
    let mut pending: Vec<I32F32> = Vec::new();
    for (rn, ro) in new.iter().zip(old.iter_mut()) {
        if rn.is_empty() {
            ro.clear();
            continue;
        }
        merge_walk_lookup(rn, &mut w_look);
        merge_walk_lookup(ro, &mut b_look);
        for &(j, v) in ro.iter() {
            old_dense[usize::from(j)] = Some(v);
        }
        // Every column is within range (checked on input). Entries at or below consensus
        // (x = 0) share one exponent, computed once; the rest go through the series.
        rates.clear();
        rates.extend(rn.iter().map(|&(j, _)| {
            let j = usize::from(j);
            params.exponent(consensus[j], w_look[j], b_look[j])
        }));
        pending.clear();
        pending.extend(rates.iter().copied().filter(|&e| e != params.at_zero));
        super::fixed::exp_safe_many(&mut pending);
        // From here on `rates` holds each entry's α.
        let mut computed = pending.iter();
        for e in rates.iter_mut() {
            *e = if *e == params.at_zero {
                params.alpha_at_zero
            } else {
                params.finish(computed.next().copied().unwrap_or(ZERO))
            };
        }
        let old_cols: Vec<u16> = ro.iter().map(|&(j, _)| j).collect();
        ro.clear();
        for (&(j, new_val), &a) in rn.iter().zip(&rates) {
            let j = usize::from(j);
            let decayed = match old_dense[j] {
                Some(o) => mul(ONE.saturating_sub(a), o),
                None => ZERO,
            };
            let inc = mul(a, new_val).max(ZERO);
            let val = decayed.saturating_add(inc).min(ONE);
            if val > ZERO {
                ro.push((j as u16, val));
            }
        }
        for j in old_cols {
            old_dense[usize::from(j)] = None;
        }
    }
}

/// Yuma3 bonds and dividends.
///
/// `bonds` are the stored bonds as proportions, masked. Returns the new bonds (absolute, in
/// `[0, 1]`) and the normalised dividends.
pub(crate) fn yuma3(
    weights_for_bonds: &[Row],
    mut bonds: Vec<Row>,
    consensus: &[I32F32],
    incentive: &[I32F32],
    active_stake: &[I32F32],
    ema_alpha: I32F32,
    liquid: Option<&LiquidAlpha>,
) -> (Vec<Row>, Vec<I32F32>) {
    let n = consensus.len();
    match liquid {
        Some(params) if consensus.iter().any(|&c| c != ZERO) => {
            liquid_ema(weights_for_bonds, &mut bonds, consensus, params);
        }
        _ => sparse::ema_into(weights_for_bonds, &mut bonds, ema_alpha, n),
    }
    // Each validator's share of the incentive through its column-normalised bonds,
    // Σ_j (b_ij / Σ_k b_kj) · I_j, without building the normalised matrix.
    let columns = sparse::col_dividers(&bonds, n);
    let per_validator: Vec<I32F32> = bonds
        .iter()
        .map(|row| {
            super::fixed::sum(row.iter().map(|&(j, v)| {
                let j = usize::from(j);
                mul(columns[j].div_or_keep(v), incentive[j])
            }))
        })
        .collect();
    let mut dividends: Vec<I32F32> = per_validator
        .iter()
        .zip(active_stake)
        .map(|(t, s)| t.checked_mul(*s).unwrap_or(ZERO))
        .collect();
    super::fixed::normalize(&mut dividends);
    (bonds, dividends)
}

/// Classic Yuma bonds and dividends.
///
/// `bonds` are the stored integers (column max-upscaled `u16`s), masked. Returns the new bonds
/// in storage form (column max-upscaled to 1) and the normalised dividends.
pub(crate) fn classic(
    mut weights_for_bonds: Vec<Row>,
    mut bonds: Vec<Row>,
    incentive: &[I32F32],
    active_stake: &[I32F32],
    ema_alpha: I32F32,
) -> (Vec<Row>, Vec<I32F32>) {
    let n = incentive.len();
    sparse::col_normalize(&mut bonds, n);
    // ΔB = W ∘ S, column-normalised, built over the weights (no longer needed); the column
    // sums (saturating) are taken in the same pass.
    let mut col_sum = vec![ZERO; n];
    for (row, &s) in weights_for_bonds.iter_mut().zip(active_stake) {
        for (j, v) in row.iter_mut() {
            *v = mul(*v, s);
            let c = &mut col_sum[usize::from(*j)];
            *c = c.saturating_add(*v);
        }
    }
    let mut delta = weights_for_bonds;
    let dividers: Vec<super::fixed::Divider> = col_sum
        .into_iter()
        .map(super::fixed::Divider::new)
        .collect();
    sparse::divide_cols(&mut delta, &dividers);
    sparse::ema_into(&delta, &mut bonds, ema_alpha, n);
    let (mut dividends, col_max) = sparse::col_normalize_weighted_sums(&mut bonds, n, incentive);
    super::fixed::normalize(&mut dividends);
    sparse::col_max_upscale(&mut bonds, col_max);
    (bonds, dividends)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> I32F32 {
        I32F32::from_num(x)
    }

    #[test]
    fn ema_rate_for_the_default_moving_average() {
        // 900_000 gives 0.1000000000931: the quotient is floored before 1 − x.
        assert_eq!(
            moving_average_alpha(900_000).to_bits(),
            (1i64 << 32) - 3_865_470_566
        );
        assert_eq!(moving_average_alpha(0), ONE);
        assert_eq!(moving_average_alpha(1_000_000), ZERO);
    }

    #[test]
    fn liquid_ema_drops_bonds_without_a_new_entry() {
        // test_math_sparse_mat_ema_alpha: old (0,0) = 1, new only (1,1) = 2 gives (0,0) → 0.
        let params = LiquidAlpha::new(6553, 19660, 1000);
        let new = vec![vec![], vec![(1, f(2.0))]];
        let mut old = vec![vec![(0, ONE)], vec![]];
        liquid_ema(&new, &mut old, &[f(0.5), f(0.5)], &params);
        assert!(old[0].is_empty());
        assert_eq!(old[1].len(), 1);
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
    fn merge_walk_misses_entries_of_unsorted_rows() {
        let mut out = vec![ZERO; 3];
        merge_walk_lookup(&vec![(2, f(0.2)), (0, f(0.5))], &mut out);
        // The walk passes column 0 while waiting at column 2, so (0, 0.5) is never seen.
        assert_eq!(out, vec![ZERO, ZERO, f(0.2)]);
    }
}
