//! Bonds: how validators' stakes in miners grow and decay from epoch to epoch, classic Yuma
//! (stake-scaled, column-normalised) and Yuma3 (each bond its own `[0, 1]` quantity, with an
//! optional liquid alpha that moves faster away from consensus).

use super::fixed::{I32F32, I64F64, ONE, ZERO, div, div64, exp_safe, from_u16};
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
    pub(crate) steepness: I32F32,
}

impl LiquidAlpha {
    pub(crate) fn new(low: u16, high: u16, steepness: i16) -> Self {
        let max = from_u16(u16::MAX);
        Self {
            low: div(from_u16(low), max),
            high: div(from_u16(high), max),
            steepness: I32F32::from_bits(i64::from(steepness) << 32),
        }
    }

    /// The EMA rate for one (validator, miner) bond (`alpha_sigmoid`): fast when the weight
    /// moves away from consensus (buying) or below the bond (selling).
    pub(crate) fn alpha(&self, consensus: I32F32, weight: I32F32, bond: I32F32) -> I32F32 {
        let half = I32F32::from_bits(1 << 31);
        let minus_hundred = I32F32::from_bits(-100i64 << 32);
        let diff_buy = clamp(weight.saturating_sub(consensus), ZERO, ONE);
        let diff_sell = clamp(bond.saturating_sub(weight), ZERO, ONE);
        let x = if weight >= bond { diff_buy } else { diff_sell };
        let exponent = self
            .steepness
            .saturating_div(minus_hundred)
            .saturating_mul(x.saturating_sub(half));
        let sigmoid = ONE.saturating_div(ONE.saturating_add(exp_safe(exponent)));
        let alpha = self
            .low
            .saturating_add(sigmoid.saturating_mul(self.high.saturating_sub(self.low)));
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

/// Yuma3's EMA with a liquid alpha per entry (`mat_ema_alpha_sparse`).
///
/// Only entries present in the new row survive: an old bond without a new entry is dropped,
/// not decayed. Each kept value is `min((1 − α)·old + max(α·new, 0), 1)` if positive, in the new
/// row's order.
pub(crate) fn liquid_ema(
    new: &[Row],
    old: &[Row],
    consensus: &[I32F32],
    params: &LiquidAlpha,
) -> Vec<Row> {
    let n = consensus.len();
    let mut w_look = vec![ZERO; n];
    let mut b_look = vec![ZERO; n];
    let mut old_dense: Vec<Option<I32F32>> = vec![None; n];
    new.iter()
        .zip(old)
        .map(|(rn, ro)| {
            if rn.is_empty() {
                return Vec::new();
            }
            merge_walk_lookup(rn, &mut w_look);
            merge_walk_lookup(ro, &mut b_look);
            for &(j, v) in ro {
                if let Some(slot) = old_dense.get_mut(usize::from(j)) {
                    *slot = Some(v);
                }
            }
            let mut out = Vec::with_capacity(rn.len());
            for &(j, new_val) in rn {
                let j = usize::from(j);
                let (Some(&c), Some(&w), Some(&b)) = (consensus.get(j), w_look.get(j), b_look.get(j))
                else {
                    continue;
                };
                let a = params.alpha(c, w, b);
                let decayed = match old_dense[j] {
                    Some(o) => ONE.saturating_sub(a).saturating_mul(o),
                    None => ZERO,
                };
                let inc = a.saturating_mul(new_val).max(ZERO);
                let val = decayed.saturating_add(inc).min(ONE);
                if val > ZERO {
                    out.push((j as u16, val));
                }
            }
            for &(j, _) in ro {
                if let Some(slot) = old_dense.get_mut(usize::from(j)) {
                    *slot = None;
                }
            }
            out
        })
        .collect()
}

/// Yuma3 bonds and dividends.
///
/// Returns the new bonds (absolute, in `[0, 1]`) and the normalised dividends.
pub(crate) fn yuma3(
    weights_for_bonds: &[Row],
    bonds: &[Row],
    consensus: &[I32F32],
    incentive: &[I32F32],
    active_stake: &[I32F32],
    ema_alpha: I32F32,
    liquid: Option<&LiquidAlpha>,
) -> (Vec<Row>, Vec<I32F32>) {
    let n = consensus.len();
    let ema = match liquid {
        Some(params) if consensus.iter().any(|&c| c != ZERO) => {
            liquid_ema(weights_for_bonds, bonds, consensus, params)
        }
        _ => sparse::ema(weights_for_bonds, bonds, ema_alpha, n),
    };
    let mut ema_norm = ema.clone();
    sparse::col_normalize(&mut ema_norm, n);
    // Σ_j EMAn_ij · I_j, zero products left out (they add nothing).
    let per_validator: Vec<I32F32> = ema_norm
        .iter()
        .map(|row| {
            super::fixed::sum(row.iter().filter_map(|&(j, v)| {
                let p = v.saturating_mul(incentive.get(usize::from(j)).copied()?);
                (p != ZERO).then_some(p)
            }))
        })
        .collect();
    let mut dividends: Vec<I32F32> = per_validator
        .iter()
        .zip(active_stake)
        .map(|(t, s)| t.checked_mul(*s).unwrap_or(ZERO))
        .collect();
    super::fixed::normalize(&mut dividends);
    (ema, dividends)
}

/// Classic Yuma bonds and dividends.
///
/// `bonds` are the stored integers (column max-upscaled `u16`s). Returns the new bonds in
/// storage form (column max-upscaled to 1) and the normalised dividends.
pub(crate) fn classic(
    weights_for_bonds: &[Row],
    mut bonds: Vec<Row>,
    incentive: &[I32F32],
    active_stake: &[I32F32],
    ema_alpha: I32F32,
) -> (Vec<Row>, Vec<I32F32>) {
    let n = incentive.len();
    sparse::col_normalize(&mut bonds, n);
    let mut delta: Vec<Row> = weights_for_bonds
        .iter()
        .zip(active_stake)
        .map(|(row, &s)| row.iter().map(|&(j, v)| (j, v.saturating_mul(s))).collect())
        .collect();
    sparse::col_normalize(&mut delta, n);
    let mut ema = sparse::ema(&delta, &bonds, ema_alpha, n);
    sparse::col_normalize(&mut ema, n);
    let mut dividends = sparse::row_weighted_sums(&ema, incentive);
    super::fixed::normalize(&mut dividends);
    sparse::col_max_upscale(&mut ema, n);
    (ema, dividends)
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
        let old = vec![vec![(0, ONE)], vec![]];
        let out = liquid_ema(&new, &old, &[f(0.5), f(0.5)], &params);
        assert!(out[0].is_empty());
        assert_eq!(out[1].len(), 1);
    }

    #[test]
    fn liquid_alpha_stays_within_its_bounds() {
        let p = LiquidAlpha::new(6553, 19660, 1000);
        for (c, w, b) in [(0.0, 1.0, 0.0), (1.0, 0.0, 0.0), (0.5, 0.5, 0.9), (0.2, 0.9, 0.1)] {
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
