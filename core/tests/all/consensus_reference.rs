//! The epoch against a plain reading of the chain's sparse `epoch_mechanism` (`spec/yuma.md` §3).
//!
//! `reference` below walks the same steps the chain does, one function per chain function, with
//! `substrate-fixed`'s own operations (`saturating_mul`, `checked_div`, `transcendental::exp`)
//! and `Vec` rows, written to be read rather than to be fast. The library's epoch, which fuses
//! passes and uses native integer and floating-point shortcuts, must agree with it to the bit on
//! random subnets: unsorted rows, explicit zero weights, zero stake, short permit vectors,
//! outdated weights after re-registrations, commit-reveal masks, both bond models, liquid alpha
//! on and off, and any steepness.

use proptest::prelude::*;
use subforge_core::consensus::{EpochInput, EpochOutput, EpochParams, epoch};
use subforge_core::{Balance, Block, Uid};
use substrate_fixed::types::{I32F32, I64F64, I96F32};

type Fx = I32F32;
type Rows = Vec<Vec<(u16, Fx)>>;

fn zero() -> Fx {
    Fx::from_num(0)
}

fn one() -> Fx {
    Fx::from_num(1)
}

/// The chain's `safe_div`: truncating, zero for a zero divisor or an overflow.
fn safe_div(a: Fx, b: Fx) -> Fx {
    a.checked_div(b).unwrap_or(zero())
}

/// `Iterator::sum` as the chain's release build computes it (wrapping).
fn total(values: impl IntoIterator<Item = Fx>) -> Fx {
    values.into_iter().fold(zero(), |a, b| a.wrapping_add(b))
}

/// `inplace_normalize`: divide by the sum unless it is zero.
fn normalize(values: &mut [Fx]) {
    let s = total(values.iter().copied());
    if s == zero() {
        return;
    }
    for v in values.iter_mut() {
        *v = safe_div(*v, s);
    }
}

fn fixed_proportion_to_u16(x: Fx) -> u16 {
    x.saturating_mul(Fx::from_num(u16::MAX))
        .saturating_to_num::<u16>()
}

fn u16_fx(v: u16) -> Fx {
    Fx::from_num(v)
}

/// `exp_safe`: the input clamped to [−20, 20], then the crate's series.
fn exp_safe(x: Fx) -> Fx {
    let x = x.clamp(Fx::from_num(-20), Fx::from_num(20));
    match substrate_fixed::transcendental::exp::<Fx, Fx>(x) {
        Ok(v) => v,
        Err(()) if x <= zero() => zero(),
        Err(()) => Fx::max_value(),
    }
}

/// `is_topk_nonzero`: non-zero entries, the `n − k` smallest (stable ascending sort) dropped.
fn is_topk_nonzero(v: &[Fx], k: usize) -> Vec<bool> {
    let n = v.len();
    let mut result: Vec<bool> = v.iter().map(|&x| x != zero()).collect();
    if n < k {
        return result;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by_key(|&i| v[i]);
    for &i in idx.iter().take(n - k) {
        result[i] = false;
    }
    result
}

/// `inplace_mask_vector`: an empty mask masks nothing; a missing entry masks.
fn mask_vector(mask: &[bool], v: &mut [Fx]) {
    if mask.is_empty() {
        return;
    }
    for (i, x) in v.iter_mut().enumerate() {
        if mask.get(i).copied().unwrap_or(true) {
            *x = zero();
        }
    }
}

/// `weighted_median`: the mid-pivot search, indices kept in their original order.
fn weighted_median(
    stake: &[Fx],
    score: &[Fx],
    partition: &[usize],
    minority: Fx,
    mut lo: Fx,
    mut hi: Fx,
) -> Fx {
    let mut current: Vec<usize> = partition.to_vec();
    let limit = partition.len();
    let mut iterations = 0usize;
    loop {
        let n = current.len();
        if n == 0 {
            return zero();
        }
        if n == 1 {
            return score[current[0]];
        }
        let pivot = score[current[n / 2]];
        let (mut lo_stake, mut hi_stake) = (zero(), zero());
        let (mut lower, mut upper) = (Vec::new(), Vec::new());
        for &i in &current {
            if score[i] == pivot {
                continue;
            }
            if score[i] < pivot {
                lo_stake = lo_stake.saturating_add(stake[i]);
                lower.push(i);
            } else {
                hi_stake = hi_stake.saturating_add(stake[i]);
                upper.push(i);
            }
        }
        if minority < lo.saturating_add(lo_stake) && !lower.is_empty() {
            current = lower;
            hi = lo.saturating_add(lo_stake);
        } else if hi.saturating_sub(hi_stake) <= minority && !upper.is_empty() {
            current = upper;
            lo = hi.saturating_sub(hi_stake);
        } else {
            return pivot;
        }
        iterations += 1;
        if iterations > limit {
            return zero();
        }
    }
}

/// `weighted_median_col_sparse`.
fn weighted_median_col_sparse(stake: &[Fx], w: &Rows, n: usize, majority: Fx) -> Vec<Fx> {
    let mut use_stake: Vec<Fx> = stake.iter().copied().filter(|&s| s > zero()).collect();
    normalize(&mut use_stake);
    let stake_sum = total(use_stake.iter().copied());
    let minority = stake_sum.saturating_sub(majority);
    let m = use_stake.len();
    let mut use_score = vec![vec![zero(); m]; n];
    let mut k = 0;
    for (s, row) in stake.iter().zip(w) {
        if *s > zero() {
            for &(c, v) in row {
                use_score[usize::from(c)][k] = v;
            }
            k += 1;
        }
    }
    let idx: Vec<usize> = (0..m).collect();
    use_score
        .iter()
        .map(|col| weighted_median(&use_stake, col, &idx, minority, zero(), stake_sum))
        .collect()
}

/// `col_clip_sparse`: above a positive threshold becomes the threshold, above a zero one is
/// dropped.
fn col_clip_sparse(w: &Rows, th: &[Fx]) -> Rows {
    w.iter()
        .map(|row| {
            let mut out = Vec::new();
            for &(j, v) in row {
                let t = th[usize::from(j)];
                if t < v {
                    if t > zero() {
                        out.push((j, t));
                    }
                } else {
                    out.push((j, v));
                }
            }
            out
        })
        .collect()
}

/// `matmul_sparse`: `r_j = Σ_i v_i · m_ij`.
fn matmul_sparse(m: &Rows, v: &[Fx], n: usize) -> Vec<Fx> {
    let mut out = vec![zero(); n];
    for (row, &vi) in m.iter().zip(v) {
        for &(j, x) in row {
            let o = &mut out[usize::from(j)];
            *o = o.saturating_add(vi.saturating_mul(x));
        }
    }
    out
}

/// `matmul_transpose_sparse`: `d_i = Σ_j v_j · m_ij`.
fn matmul_transpose_sparse(m: &Rows, v: &[Fx]) -> Vec<Fx> {
    m.iter()
        .map(|row| {
            row.iter().fold(zero(), |acc, &(j, x)| {
                acc.saturating_add(v[usize::from(j)].saturating_mul(x))
            })
        })
        .collect()
}

/// `interpolate_sparse`.
fn interpolate_sparse(a: &Rows, b: &Rows, n: usize, ratio: Fx) -> Rows {
    if ratio == zero() {
        return a.clone();
    }
    if ratio == one() {
        return b.clone();
    }
    a.iter()
        .zip(b)
        .map(|(ra, rb)| {
            let mut da = vec![zero(); n];
            let mut db = vec![zero(); n];
            for &(j, v) in ra {
                da[usize::from(j)] = v;
            }
            for &(j, v) in rb {
                db[usize::from(j)] = v;
            }
            (0..n)
                .filter_map(|j| {
                    let x = da[j].saturating_add(ratio.saturating_mul(db[j].saturating_sub(da[j])));
                    (zero() < x).then_some((j as u16, x))
                })
                .collect()
        })
        .collect()
}

/// `inplace_col_normalize_sparse`.
fn col_normalize(m: &mut Rows, n: usize) {
    let mut sums = vec![zero(); n];
    for row in m.iter() {
        for &(j, v) in row {
            let s = &mut sums[usize::from(j)];
            *s = s.saturating_add(v);
        }
    }
    for row in m.iter_mut() {
        for (j, v) in row.iter_mut() {
            let s = sums[usize::from(*j)];
            if s != zero() {
                *v = safe_div(*v, s);
            }
        }
    }
}

/// `inplace_col_max_upscale_sparse`.
fn col_max_upscale(m: &mut Rows, n: usize) {
    let mut maxes = vec![zero(); n];
    for row in m.iter() {
        for &(j, v) in row {
            let x = &mut maxes[usize::from(j)];
            if *x < v {
                *x = v;
            }
        }
    }
    for row in m.iter_mut() {
        for (j, v) in row.iter_mut() {
            let x = maxes[usize::from(*j)];
            if x != zero() {
                *v = safe_div(*v, x);
            }
        }
    }
}

/// `mat_ema_sparse`: each row densified, positive results in column order.
fn mat_ema_sparse(new: &Rows, old: &Rows, alpha: Fx, n: usize) -> Rows {
    let one_minus_alpha = one().saturating_sub(alpha);
    new.iter()
        .zip(old)
        .map(|(rn, ro)| {
            let mut acc = vec![zero(); n];
            for &(j, v) in rn {
                let c = &mut acc[usize::from(j)];
                *c = c.saturating_add(alpha.saturating_mul(v));
            }
            for &(j, v) in ro {
                let c = &mut acc[usize::from(j)];
                *c = c.saturating_add(one_minus_alpha.saturating_mul(v));
            }
            acc.iter()
                .enumerate()
                .filter(|(_, c)| **c > zero())
                .map(|(j, c)| (j as u16, *c))
                .collect()
        })
        .collect()
}

/// `alpha_sigmoid`.
fn alpha_sigmoid(consensus: Fx, weight: Fx, bond: Fx, low: Fx, high: Fx, steepness: Fx) -> Fx {
    let clamp = |v: Fx, lo: Fx, hi: Fx| v.min(hi).max(lo);
    let diff_buy = clamp(weight.saturating_sub(consensus), zero(), one());
    let diff_sell = clamp(bond.saturating_sub(weight), zero(), one());
    let x = if weight >= bond { diff_buy } else { diff_sell };
    let exponent = steepness
        .saturating_div(Fx::from_num(-100))
        .saturating_mul(x.saturating_sub(Fx::from_num(0.5)));
    let sigmoid = one().saturating_div(one().saturating_add(exp_safe(exponent)));
    clamp(
        low.saturating_add(sigmoid.saturating_mul(high.saturating_sub(low))),
        low,
        high,
    )
}

/// `compute_liquid_alpha_values_sparse`: an n × n matrix of rates, with each row's weight and
/// bond found by one forward walk per row that assumes ascending columns.
fn liquid_alpha_values(
    w: &Rows,
    b: &Rows,
    consensus: &[Fx],
    low: Fx,
    high: Fx,
    steepness: Fx,
) -> Vec<Vec<Fx>> {
    let walk = |row: &[(u16, Fx)], pos: &mut usize, j: u16| -> Fx {
        while *pos < row.len() && row[*pos].0 < j {
            *pos += 1;
        }
        match row.get(*pos) {
            Some(&(c, v)) if c == j => v,
            _ => zero(),
        }
    };
    w.iter()
        .zip(b)
        .map(|(wr, br)| {
            let (mut pw, mut pb) = (0, 0);
            consensus
                .iter()
                .enumerate()
                .map(|(j, &c)| {
                    let weight = walk(wr, &mut pw, j as u16);
                    let bond = walk(br, &mut pb, j as u16);
                    alpha_sigmoid(c, weight, bond, low, high, steepness)
                })
                .collect()
        })
        .collect()
}

/// `mat_ema_alpha_sparse`: old bonds decayed at their own rate, but only entries of the new row
/// are written.
fn mat_ema_alpha_sparse(new: &Rows, old: &Rows, alpha: &[Vec<Fx>]) -> Rows {
    new.iter()
        .zip(old)
        .zip(alpha)
        .map(|((rn, ro), ra)| {
            let mut decayed = vec![zero(); ra.len()];
            for &(j, v) in ro {
                let j = usize::from(j);
                decayed[j] = one().saturating_sub(ra[j]).saturating_mul(v);
            }
            let mut out = Vec::new();
            for &(j, v) in rn {
                let a = ra[usize::from(j)];
                let inc = a.saturating_mul(v).max(zero());
                let val = decayed[usize::from(j)].saturating_add(inc).min(one());
                if val > zero() {
                    out.push((j, val));
                }
            }
            out
        })
        .collect()
}

/// The chain's sparse epoch, step by step.
fn reference(input: &EpochInput) -> EpochOutput {
    let p = &input.params;
    let n = input.stake.len();
    let block = input.block.get();
    let owner = input.owner.map(Uid::index);

    // Activity.
    let inactive: Vec<bool> = input
        .last_update
        .iter()
        .map(|u| u.get().saturating_add(p.activity_cutoff) < block)
        .collect();
    let active: Vec<bool> = inactive.iter().map(|x| !x).collect();

    // Stake, filtered by the threshold (not the owner's), normalised in I64F64.
    let mut stake64: Vec<I64F64> = input
        .stake
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if owner != Some(i) && s.rao() < p.stake_threshold {
                I64F64::from_num(0)
            } else {
                I64F64::from_num(s.rao())
            }
        })
        .collect();
    let sum64 = stake64
        .iter()
        .fold(I64F64::from_num(0), |a, &b| a.wrapping_add(b));
    if sum64 != I64F64::from_num(0) {
        for s in stake64.iter_mut() {
            *s = s.checked_div(sum64).unwrap_or(I64F64::from_num(0));
        }
    }
    let stake: Vec<Fx> = stake64
        .iter()
        .map(|&s| Fx::saturating_from_num(s))
        .collect();

    // Permits.
    let mut permits = input.validator_permit.clone();
    if let Some(o) = owner
        && let Some(x) = permits.get_mut(o)
    {
        *x = true;
    }
    let forbids: Vec<bool> = permits.iter().map(|&x| !x).collect();
    let mut new_permits = is_topk_nonzero(&stake, usize::from(p.max_allowed_validators));
    if let Some(o) = owner
        && let Some(x) = new_permits.get_mut(o)
    {
        *x = true;
    }

    // Active stake.
    let mut active_stake = stake.clone();
    mask_vector(&inactive, &mut active_stake);
    mask_vector(&forbids, &mut active_stake);
    normalize(&mut active_stake);

    // Weights.
    let last_update: Vec<u64> = input.last_update.iter().map(|b| b.get()).collect();
    let registered: Vec<u64> = input
        .block_at_registration
        .iter()
        .map(|b| b.get())
        .collect();
    let mut weights: Rows = input
        .weights
        .iter()
        .map(|r| r.iter().map(|&(j, v)| (j, u16_fx(v))).collect())
        .collect();
    // mask_rows_sparse
    for (i, row) in weights.iter_mut().enumerate() {
        if forbids.get(i).copied().unwrap_or(true) {
            row.clear();
        }
    }
    // mask_diag_sparse(_except_index)
    for (i, row) in weights.iter_mut().enumerate() {
        row.retain(|&(j, _)| usize::from(j) != i || owner == Some(i));
    }
    // vec_mask_sparse_matrix: outdated
    for (i, row) in weights.iter_mut().enumerate() {
        row.retain(|&(j, _)| last_update[i] > registered[usize::from(j)]);
    }
    // commit-reveal column mask
    if let Some(cr) = &input.commit_reveal {
        for (i, row) in weights.iter_mut().enumerate() {
            let cb = cr[i].map_or(u64::MAX, |b| b.get());
            row.retain(|&(j, _)| cb >= registered[usize::from(j)]);
        }
    }
    // inplace_row_normalize_sparse
    for row in weights.iter_mut() {
        let s = total(row.iter().map(|&(_, v)| v));
        if s > zero() {
            for (_, v) in row.iter_mut() {
                *v = safe_div(*v, s);
            }
        }
    }

    // Consensus, clipping, validator trust, incentive.
    let kappa = safe_div(u16_fx(p.kappa), u16_fx(u16::MAX));
    let consensus = weighted_median_col_sparse(&active_stake, &weights, n, kappa);
    let clipped = col_clip_sparse(&weights, &consensus);
    let validator_trust: Vec<Fx> = clipped
        .iter()
        .map(|r| total(r.iter().map(|&(_, v)| v)))
        .collect();
    let mut incentive = matmul_sparse(&clipped, &active_stake, n);
    normalize(&mut incentive);

    // Bonds.
    let penalty = safe_div(u16_fx(p.bonds_penalty), u16_fx(u16::MAX));
    let weights_for_bonds = interpolate_sparse(&weights, &clipped, n, penalty);
    let last_tempo = if input.last_epoch_block.get() == 0 {
        block.saturating_sub(u64::from(p.tempo))
    } else {
        input.last_epoch_block.get().saturating_add(1)
    };
    let bma = I64F64::from_num(p.bonds_moving_average)
        .checked_div(I64F64::from_num(1_000_000))
        .unwrap_or(I64F64::from_num(0));
    let ema_alpha = one().saturating_sub(Fx::saturating_from_num(bma));
    let mut bonds: Rows = input
        .bonds
        .iter()
        .map(|r| {
            r.iter()
                .map(|&(j, v)| {
                    let x = u16_fx(v);
                    (
                        j,
                        if p.yuma3 {
                            safe_div(x, u16_fx(u16::MAX))
                        } else {
                            x
                        },
                    )
                })
                .filter(|&(j, _)| last_tempo > registered[usize::from(j)])
                .collect()
        })
        .collect();
    let (ema_bonds, dividends) = if p.yuma3 {
        let ema = if p.liquid_alpha && consensus.iter().any(|&c| c != zero()) {
            let low = safe_div(u16_fx(p.alpha_low), u16_fx(u16::MAX));
            let high = safe_div(u16_fx(p.alpha_high), u16_fx(u16::MAX));
            let steepness = Fx::from_num(p.alpha_sigmoid_steepness);
            let alphas =
                liquid_alpha_values(&weights_for_bonds, &bonds, &consensus, low, high, steepness);
            mat_ema_alpha_sparse(&weights_for_bonds, &bonds, &alphas)
        } else {
            mat_ema_sparse(&weights_for_bonds, &bonds, ema_alpha, n)
        };
        let mut ema_norm = ema.clone();
        col_normalize(&mut ema_norm, n);
        // mat_vec_mul_sparse (zero products left out), then row sums.
        let per_validator: Vec<Fx> = ema_norm
            .iter()
            .map(|row| {
                total(
                    row.iter()
                        .map(|&(j, v)| v.saturating_mul(incentive[usize::from(j)]))
                        .filter(|&x| x != zero()),
                )
            })
            .collect();
        let mut d: Vec<Fx> = per_validator
            .iter()
            .zip(&active_stake)
            .map(|(t, s)| t.checked_mul(*s).unwrap_or(zero()))
            .collect();
        normalize(&mut d);
        (ema, d)
    } else {
        col_normalize(&mut bonds, n);
        let mut delta: Rows = weights_for_bonds
            .iter()
            .zip(&active_stake)
            .map(|(row, &s)| row.iter().map(|&(j, v)| (j, v.saturating_mul(s))).collect())
            .collect();
        col_normalize(&mut delta, n);
        let mut ema = mat_ema_sparse(&delta, &bonds, ema_alpha, n);
        col_normalize(&mut ema, n);
        let mut d = matmul_transpose_sparse(&ema, &incentive);
        normalize(&mut d);
        col_max_upscale(&mut ema, n);
        (ema, d)
    };

    // Emission.
    let combined: Vec<Fx> = incentive
        .iter()
        .zip(&dividends)
        .map(|(i, d)| i.saturating_add(*d))
        .collect();
    let emission_sum = total(combined.iter().copied());
    let normalize_using = |v: &[Fx]| -> Vec<Fx> {
        if emission_sum == zero() {
            v.to_vec()
        } else {
            v.iter().map(|&x| safe_div(x, emission_sum)).collect()
        }
    };
    let server = normalize_using(&incentive);
    let mut validator = normalize_using(&dividends);
    let mut combined_share = combined;
    normalize(&mut combined_share);
    if emission_sum == zero() {
        let fallback = if total(active_stake.iter().copied()) == zero() {
            &stake
        } else {
            &active_stake
        };
        validator.clone_from(fallback);
        combined_share.clone_from(fallback);
    }
    let rao = I96F32::saturating_from_num(input.emission.rao());
    let amounts = |v: &[Fx]| -> Vec<Balance> {
        v.iter()
            .map(|&s| {
                Balance::from_rao(
                    I96F32::saturating_from_num(s)
                        .saturating_mul(rao)
                        .saturating_to_num::<u64>(),
                )
            })
            .collect()
    };
    let to_u16 = |v: &[Fx]| -> Vec<u16> { v.iter().map(|&x| fixed_proportion_to_u16(x)).collect() };
    EpochOutput {
        incentive: to_u16(&incentive),
        dividends: to_u16(&dividends),
        consensus: to_u16(&consensus),
        validator_trust: to_u16(&validator_trust),
        stake_weight: to_u16(&stake),
        active,
        validator_permit: new_permits.clone(),
        server_emission: amounts(&server),
        validator_emission: amounts(&validator),
        emission: amounts(&combined_share),
        bonds: ema_bonds
            .iter()
            .zip(&new_permits)
            .map(|(row, &permit)| {
                if permit {
                    row.iter()
                        .map(|&(j, v)| (j, fixed_proportion_to_u16(v)))
                        .collect()
                } else {
                    Vec::new()
                }
            })
            .collect(),
    }
}

/// A small deterministic generator, so one `u64` seed describes a whole subnet.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, options: &[T]) -> T {
        options[self.below(options.len() as u64) as usize]
    }
    fn u16(&mut self) -> u16 {
        self.next() as u16
    }
}

/// A random subnet of `n` uids. Blocks run up to 100; the epoch is at block 100.
fn random_subnet(n: usize, seed: u64) -> EpochInput {
    let mut g = Gen(seed);
    let block = 100u64;
    let yuma3 = g.chance(60);
    let (any_penalty, any_bma, any_steepness) = (g.u16(), g.below(1_000_001), g.u16() as i16);
    let params = EpochParams {
        tempo: g.pick(&[1, 10, 360]),
        activity_cutoff: g.pick(&[0, 20, 50, 5000]),
        kappa: if g.chance(70) { 32_767 } else { g.u16() },
        max_allowed_validators: g.below(n as u64 + 3) as u16,
        bonds_penalty: g.pick(&[0, u16::MAX, u16::MAX, any_penalty]),
        bonds_moving_average: g.pick(&[900_000, 975_000, 0, 1_000_000, any_bma]),
        yuma3,
        liquid_alpha: g.chance(70),
        alpha_low: if g.chance(50) { 45_875 } else { g.u16() },
        alpha_high: if g.chance(50) { 58_982 } else { g.u16() },
        alpha_sigmoid_steepness: g.pick(&[
            1_000,
            1_000,
            10,
            -1_000,
            3_000,
            i16::MAX,
            i16::MIN,
            any_steepness,
        ]),
        stake_threshold: if g.chance(80) { 0 } else { g.below(1_000_000) },
    };
    // Stake: zeros, ties, small and large amounts.
    let stake: Vec<Balance> = (0..n)
        .map(|_| {
            Balance::from_rao(match g.below(6) {
                0 => 0,
                1 => 1_000_000,
                2 => g.below(100),
                3 => g.below(1_000_000_000_000_000),
                _ => g.below(5_000_000),
            })
        })
        .collect();
    // Registration blocks: most at the start, some re-registered lately (their incoming
    // weights become outdated, their bonds are masked).
    let registered: Vec<u64> = (0..n)
        .map(|_| {
            if g.chance(75) {
                g.below(10)
            } else {
                g.below(block + 1)
            }
        })
        .collect();
    let last_update: Vec<u64> = (0..n)
        .map(|i| {
            if g.chance(80) {
                block - g.below(30)
            } else {
                registered[i] + g.below(block + 1 - registered[i])
            }
        })
        .collect();
    let permit_len = if g.chance(80) {
        n
    } else {
        g.below(n as u64 + 1) as usize
    };
    let validator_permit: Vec<bool> = (0..permit_len).map(|_| g.chance(75)).collect();
    let density = g.pick(&[10, 50, 90, 100]);
    let row = |g: &mut Gen, zeros: u64| -> Vec<(u16, u16)> {
        let mut cols: Vec<u16> = (0..n as u16).filter(|_| g.chance(density)).collect();
        // Mostly ascending, as the SDK submits; sometimes shuffled.
        if g.chance(25) {
            for k in (1..cols.len()).rev() {
                cols.swap(k, g.below(k as u64 + 1) as usize);
            }
        }
        cols.into_iter()
            .map(|j| (j, if g.chance(zeros) { 0 } else { g.u16() }))
            .collect()
    };
    let weights: Vec<Vec<(u16, u16)>> = (0..n).map(|_| row(&mut g, 10)).collect();
    let bonds: Vec<Vec<(u16, u16)>> = (0..n)
        .map(|_| {
            if g.chance(30) {
                Vec::new()
            } else {
                row(&mut g, 3)
            }
        })
        .collect();
    let commit_reveal = g.chance(30).then(|| {
        (0..n)
            .map(|_| g.chance(50).then(|| Block(g.below(block + 1))))
            .collect()
    });
    EpochInput {
        block: Block(block),
        params,
        stake,
        last_update: last_update.into_iter().map(Block).collect(),
        block_at_registration: registered.into_iter().map(Block).collect(),
        owner: g.chance(40).then(|| Uid(g.below(n as u64) as u16)),
        validator_permit,
        weights,
        bonds,
        commit_reveal,
        last_epoch_block: if g.chance(60) {
            Block(0)
        } else {
            Block(g.below(block))
        },
        emission: Balance::from_rao(g.below(10_000_000_000_000)),
    }
}

/// Runs both and names the first field that differs.
fn agree(input: &EpochInput) -> Result<(), TestCaseError> {
    let got = epoch(input).map_err(|e| TestCaseError::fail(format!("refused: {e}")))?;
    let want = reference(input);
    macro_rules! field {
        ($f:ident) => {
            prop_assert_eq!(&got.$f, &want.$f, "field `{}` differs", stringify!($f));
        };
    }
    field!(consensus);
    field!(incentive);
    field!(validator_trust);
    field!(dividends);
    field!(bonds);
    field!(stake_weight);
    field!(active);
    field!(validator_permit);
    field!(server_emission);
    field!(validator_emission);
    field!(emission);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_epoch_is_the_chain_epoch_on_small_subnets(n in 1usize..24, seed in any::<u64>()) {
        agree(&random_subnet(n, seed))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn the_epoch_is_the_chain_epoch_on_larger_subnets(n in 24usize..160, seed in any::<u64>()) {
        agree(&random_subnet(n, seed))?;
    }
}

/// Validators that weight almost every miner, with bonds on them, every bond model: the shape
/// the benchmarks measure, where every fast path (batched `exp`, reused row buffers, the
/// column medians) is exercised at once.
#[test]
fn the_epoch_is_the_chain_epoch_on_dense_subnets() {
    for (k, (yuma3, liquid, penalty)) in [
        (false, false, u16::MAX),
        (false, false, 0),
        (true, true, 0),
        (true, true, u16::MAX),
        (true, false, 0),
        (true, true, 30_000),
    ]
    .into_iter()
    .enumerate()
    {
        let mut g = Gen(k as u64 + 7);
        let (n, v) = (200usize, 24usize);
        let weights: Vec<Vec<(u16, u16)>> = (0..n)
            .map(|i| {
                if i >= v {
                    return Vec::new();
                }
                let mut row: Vec<(u16, u16)> = Vec::new();
                for j in v as u16..n as u16 {
                    if g.chance(95) {
                        row.push((j, g.u16()));
                    }
                }
                if i % 5 == 0 {
                    row.reverse();
                }
                row
            })
            .collect();
        let bonds = weights
            .iter()
            .map(|r| r.iter().map(|&(j, _)| (j, g.u16())).collect())
            .collect();
        let input = EpochInput {
            block: Block(1_000),
            params: EpochParams {
                yuma3,
                liquid_alpha: liquid,
                bonds_penalty: penalty,
                max_allowed_validators: v as u16,
                activity_cutoff: 500,
                ..EpochParams::default()
            },
            stake: (0..n)
                .map(|i| {
                    Balance::from_rao(if i < v {
                        1_000_000 + g.below(1 << 40)
                    } else {
                        0
                    })
                })
                .collect(),
            last_update: vec![Block(990); n],
            block_at_registration: (0..n)
                .map(|i| Block(if i % 17 == 3 { 995 } else { 5 }))
                .collect(),
            owner: Some(Uid(0)),
            validator_permit: (0..n).map(|i| i < v).collect(),
            weights,
            bonds,
            commit_reveal: None,
            last_epoch_block: Block(0),
            emission: Balance::from_rao(360_000_000_000),
        };
        agree(&input).unwrap();
    }
}
