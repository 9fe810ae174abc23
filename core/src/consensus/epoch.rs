//! The sparse Yuma epoch (`epoch_mechanism` on the chain): a pure function from the subnet's
//! state to incentive, dividends, consensus, emission and new bonds.

use serde::{Deserialize, Serialize};

use super::bonds::{self, LiquidAlpha, StoredBonds};
use super::fixed::{self, I32F32, I64F64, I96F32, ZERO, div, div64, fixed_proportion_to_u16};
use super::median::{kappa_proportion, weighted_median_cols};
use super::sparse::{self, Spares};
use crate::chain::{Balance, Block, Hyperparameters, Uid};

/// The subnet settings the epoch reads.
///
/// [`Default`] gives a new subnet's values on the Bittensor chain (tempo 360, kappa 32767,
/// Yuma3 on, liquid alpha off, ...); `From<&Hyperparameters>` takes them from a subnet's
/// [`Hyperparameters`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochParams {
    /// Blocks between epochs; anchors the bond mask when no previous epoch block is known.
    pub tempo: u16,
    /// Blocks without new weights after which a neuron is inactive (the chain's
    /// `get_activity_cutoff_blocks`).
    pub activity_cutoff: u64,
    /// Share of active stake that must support a weight, out of 65535.
    pub kappa: u16,
    /// Validator permits handed out (top stake).
    pub max_allowed_validators: u16,
    /// How much clipped weight still buys bonds, out of 65535 (65535: none).
    pub bonds_penalty: u16,
    /// Bond EMA memory in millionths (α = 1 − value/10⁶).
    pub bonds_moving_average: u64,
    /// Yuma3 bonds instead of classic ones.
    pub yuma3: bool,
    /// Consensus-driven bond EMA rates (Yuma3 only).
    pub liquid_alpha: bool,
    /// Liquid alpha's lower bound, out of 65535.
    pub alpha_low: u16,
    /// Liquid alpha's upper bound, out of 65535.
    pub alpha_high: u16,
    /// Liquid alpha's sigmoid steepness (divided by −100 on use).
    pub alpha_sigmoid_steepness: i16,
    /// Stake in rao below which a uid (other than the owner's) counts as unstaked.
    pub stake_threshold: u64,
}

impl Default for EpochParams {
    fn default() -> Self {
        Self::from(&Hyperparameters::default())
    }
}

impl From<&Hyperparameters> for EpochParams {
    fn from(h: &Hyperparameters) -> Self {
        Self {
            tempo: h.tempo,
            activity_cutoff: h.activity_cutoff_blocks(),
            kappa: h.kappa,
            max_allowed_validators: h.max_allowed_validators,
            bonds_penalty: h.bonds_penalty,
            bonds_moving_average: h.bonds_moving_average,
            yuma3: h.yuma3_enabled,
            liquid_alpha: h.liquid_alpha_enabled,
            alpha_low: h.alpha_low,
            alpha_high: h.alpha_high,
            alpha_sigmoid_steepness: h.alpha_sigmoid_steepness,
            stake_threshold: 0,
        }
    }
}

/// Everything one epoch of one subnet (one mechanism) reads, indexed by uid `0..n`.
///
/// `n` is `stake.len()`; the other per-uid vectors must have that length, except
/// `validator_permit`, which may be shorter (missing uids have no permit, as on chain).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EpochInput {
    /// The block the epoch runs at.
    pub block: Block,
    /// The subnet's settings.
    pub params: EpochParams,
    /// Raw stake weight of each uid in rao (alpha plus TAO-weighted root stake).
    pub stake: Vec<Balance>,
    /// The block of each uid's last weights (or registration).
    pub last_update: Vec<Block>,
    /// The block each uid was last (re)registered at.
    pub block_at_registration: Vec<Block>,
    /// The subnet owner's uid, if the owner's hotkey is registered: it keeps its self-weight,
    /// always has a permit and ignores the stake threshold.
    pub owner: Option<Uid>,
    /// The permits the previous epoch handed out (they gate this epoch's weights).
    pub validator_permit: Vec<bool>,
    /// Each uid's weights as stored: `(uid, weight)` in submission order, max-upscaled `u16`s.
    pub weights: Vec<Vec<(u16, u16)>>,
    /// Each uid's bonds as stored by the previous epoch: `(uid, bond)`.
    pub bonds: Vec<Vec<(u16, u16)>>,
    /// Commit-reveal: `None` when the subnet has it off; otherwise, per uid, the block of its
    /// earliest non-expired weight commit, if any.
    pub commit_reveal: Option<Vec<Option<Block>>>,
    /// The block of the subnet's previous epoch (`LastMechansimStepBlock`), or 0 if unknown; it
    /// anchors the bond mask. With 0 the anchor is `block − tempo`.
    pub last_epoch_block: Block,
    /// The emission to distribute, in rao.
    pub emission: Balance,
}

/// What one epoch produces, indexed by uid `0..n`. Proportions are `u16` out of 65535, amounts
/// are in rao.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EpochOutput {
    /// Each uid's share of the miners' emission.
    pub incentive: Vec<u16>,
    /// Each uid's share of the validators' emission.
    pub dividends: Vec<u16>,
    /// The stake-weighted median of the weights each uid received.
    pub consensus: Vec<u16>,
    /// How much of each validator's weight survived clipping to consensus.
    pub validator_trust: Vec<u16>,
    /// Each uid's normalised stake.
    pub stake_weight: Vec<u16>,
    /// Whether each uid set weights within the activity cutoff.
    pub active: Vec<bool>,
    /// The permits for the next epoch.
    pub validator_permit: Vec<bool>,
    /// Emission earned as a miner.
    pub server_emission: Vec<Balance>,
    /// Emission earned as a validator.
    pub validator_emission: Vec<Balance>,
    /// Combined emission as the chain records it (`Emission`).
    pub emission: Vec<Balance>,
    /// The bonds to store: `(uid, bond)` rows, empty for uids without a new permit.
    pub bonds: Vec<Vec<(u16, u16)>>,
}

/// Why an [`EpochInput`] cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EpochError {
    /// A per-uid vector does not have one entry per uid.
    #[error("epoch input `{field}` has {len} entries for {n} uids")]
    LengthMismatch {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The number of uids (`stake.len()`).
        n: usize,
    },
    /// More uids than a `u16` can number.
    #[error("epoch input has {n} uids; at most 65535 are possible")]
    TooManyUids {
        /// The number of uids.
        n: usize,
    },
    /// A weight or bond row points past the last uid.
    #[error("epoch input `{field}` row {row} points at uid {uid}, but n is {n}")]
    UidOutOfRange {
        /// `weights` or `bonds`.
        field: &'static str,
        /// The row.
        row: usize,
        /// The target uid.
        uid: u16,
        /// The number of uids.
        n: usize,
    },
    /// A weight or bond row names the same uid twice (the chain never stores that).
    #[error("epoch input `{field}` row {row} names uid {uid} twice")]
    DuplicateUid {
        /// `weights` or `bonds`.
        field: &'static str,
        /// The row.
        row: usize,
        /// The repeated uid.
        uid: u16,
    },
    /// The owner's uid is not registered.
    #[error("epoch input owner uid {owner} is out of range (n is {n})")]
    OwnerOutOfRange {
        /// The owner's uid.
        owner: Uid,
        /// The number of uids.
        n: usize,
    },
    /// The total stake does not fit the chain's 64-bit integer part.
    #[error("epoch input total stake {total} rao exceeds {max} rao")]
    StakeOverflow {
        /// The total stake.
        total: u128,
        /// The largest total the chain's fixed-point stake can hold.
        max: u128,
    },
}

impl EpochInput {
    /// Checks lengths and uid ranges, as [`epoch`] does before it computes anything.
    pub fn validate(&self) -> Result<(), EpochError> {
        self.validate_shape()?;
        let n = self.stake.len();
        // A row with strictly ascending uids, the last below n, is fine; any other row is
        // searched for its first bad entry.
        let mut seen: Vec<u32> = Vec::new();
        for (field, rows) in [("weights", &self.weights), ("bonds", &self.bonds)] {
            for (row, entries) in rows.iter().enumerate() {
                if sorted_in_range(entries, n) {
                    continue;
                }
                if seen.is_empty() {
                    seen = vec![u32::MAX; n];
                }
                for &(uid, _) in entries {
                    let Some(mark) = seen.get_mut(usize::from(uid)) else {
                        return Err(EpochError::UidOutOfRange { field, row, uid, n });
                    };
                    let stamp = (row as u32) << 1 | u32::from(field == "bonds");
                    if *mark == stamp {
                        return Err(EpochError::DuplicateUid { field, row, uid });
                    }
                    *mark = stamp;
                }
            }
        }
        self.validate_stake()
    }

    /// The checks before the rows: the number of uids, the per-uid vectors' lengths, the owner.
    fn validate_shape(&self) -> Result<(), EpochError> {
        let n = self.stake.len();
        if n > usize::from(u16::MAX) {
            return Err(EpochError::TooManyUids { n });
        }
        let mut lens: Vec<(&'static str, usize)> = vec![
            ("last_update", self.last_update.len()),
            ("block_at_registration", self.block_at_registration.len()),
            ("weights", self.weights.len()),
            ("bonds", self.bonds.len()),
        ];
        if let Some(cr) = &self.commit_reveal {
            lens.push(("commit_reveal", cr.len()));
        }
        for (field, len) in lens {
            if len != n {
                return Err(EpochError::LengthMismatch { field, len, n });
            }
        }
        if self.validator_permit.len() > n {
            return Err(EpochError::LengthMismatch {
                field: "validator_permit",
                len: self.validator_permit.len(),
                n,
            });
        }
        if let Some(owner) = self.owner
            && owner.index() >= n
        {
            return Err(EpochError::OwnerOutOfRange { owner, n });
        }
        Ok(())
    }

    /// The check after the rows: the total stake fits the chain's 64-bit integer part.
    fn validate_stake(&self) -> Result<(), EpochError> {
        let total: u128 = self.stake.iter().map(|s| u128::from(s.rao())).sum();
        let max = i64::MAX as u128;
        if total > max {
            return Err(EpochError::StakeOverflow { total, max });
        }
        Ok(())
    }
}

/// Whether a row's uids are strictly ascending and below `n`: then it has no uid out of range
/// and none twice.
#[inline]
fn sorted_in_range(entries: &[(u16, u16)], n: usize) -> bool {
    let mut last: i32 = -1;
    let mut ascending = true;
    for &(uid, _) in entries {
        ascending &= i32::from(uid) > last;
        last = i32::from(uid);
    }
    ascending && i64::from(last) < n as i64
}

/// Runs one epoch exactly as the Bittensor chain's sparse `epoch_mechanism` does.
///
/// Pure: the same input always gives the same output, bit for bit, on every machine.
pub fn epoch(input: &EpochInput) -> Result<EpochOutput, EpochError> {
    // The checks of [`EpochInput::validate`], folded into the first pass over the rows: a row
    // that is not sorted and in range sends the whole input through `validate`, which finds
    // the first error in the order it reports errors (or none).
    input.validate_shape()?;
    if input.validate_stake().is_err() {
        input.validate()?;
    }
    run(input)
}

fn run(input: &EpochInput) -> Result<EpochOutput, EpochError> {
    let p = &input.params;
    let n = input.stake.len();
    let block = input.block.get();
    let owner = input.owner.map(Uid::index);

    // Activity: strictly older than the cutoff is inactive.
    let active: Vec<bool> = input
        .last_update
        .iter()
        .map(|u| u.get().saturating_add(p.activity_cutoff) >= block)
        .collect();
    let last_update: Vec<u64> = input.last_update.iter().map(|b| b.get()).collect();
    let registered: Vec<u64> = input
        .block_at_registration
        .iter()
        .map(|b| b.get())
        .collect();

    // Stake: threshold filter, I64F64 normalisation, floored to I32F32.
    let mut stake64: Vec<I64F64> = input
        .stake
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if owner != Some(i) && s.rao() < p.stake_threshold {
                I64F64::from_bits(0)
            } else {
                I64F64::from_bits(i128::from(s.rao()) << 64)
            }
        })
        .collect();
    let total = I64F64::from_bits(stake64.iter().map(|s| s.to_bits()).sum());
    if total != I64F64::from_bits(0) {
        for s in stake64.iter_mut() {
            *s = div64(*s, total);
        }
    }
    let stake: Vec<I32F32> = stake64
        .iter()
        .map(|s| I32F32::saturating_from_num(*s))
        .collect();

    // Permits: last epoch's (the owner's forced on if present), and the next ones.
    let mut old_permit = input.validator_permit.clone();
    if let Some(o) = owner
        && let Some(slot) = old_permit.get_mut(o)
    {
        *slot = true;
    }
    let forbidden = |i: usize| !old_permit.get(i).copied().unwrap_or(false);
    let mut new_permit = top_k_nonzero(&stake, usize::from(p.max_allowed_validators));
    if let Some(o) = owner
        && let Some(slot) = new_permit.get_mut(o)
    {
        *slot = true;
    }

    // Active stake: inactive and unpermitted stake removed. An empty permit vector masks
    // nothing here (the chain's vector mask skips an empty mask) yet masks every weight row.
    let mut active_stake: Vec<I32F32> = stake
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            if !active[i] || (!old_permit.is_empty() && forbidden(i)) {
                ZERO
            } else {
                s
            }
        })
        .collect();
    fixed::normalize(&mut active_stake);

    // Weights: permit rows, diagonal (owner kept), outdated, commit-reveal, row-normalised.
    let commit_block: Option<Vec<u64>> = input
        .commit_reveal
        .as_ref()
        .map(|cr| cr.iter().map(|c| c.map_or(u64::MAX, Block::get)).collect());
    let mut spares = Spares::take();
    let mut weights = spares.matrix(n, input.weights.iter().map(Vec::len).sum());
    let mut validated = false;
    for (i, row) in input.weights.iter().enumerate() {
        if !(validated || sorted_in_range(row, n) && sorted_in_range(&input.bonds[i], n)) {
            // The first row that is not plainly valid: check everything, in `validate`'s order.
            input.validate()?;
            validated = true;
        }
        if !forbidden(i) {
            // A weight counts when it was set after its target's registration and, under
            // commit-reveal, committed no earlier than it: `registered[j] < bound`.
            let bound = match &commit_block {
                Some(cb) => last_update[i].min(cb[i].saturating_add(1)),
                None => last_update[i],
            };
            let keep_self = owner == Some(i);
            let counts = |&(j, _): &(u16, u16)| {
                let ju = usize::from(j);
                registered[ju] < bound && (ju != i || keep_self)
            };
            if row.iter().all(counts) {
                weights.extend_open_row(row);
            } else {
                for &(j, w) in row.iter().filter(|e| counts(e)) {
                    weights.push(j, i64::from(w) << 32);
                }
            }
            sparse::normalize_row(weights.open_row_mut().1);
        }
        weights.end_row();
    }

    // Consensus.
    let consensus: Vec<i64> =
        weighted_median_cols(&active_stake, &weights, n, kappa_proportion(p.kappa))
            .iter()
            .map(|c| c.to_bits())
            .collect();

    // Clipping, validator trust and ranks, and the weights that buy bonds: the weights
    // themselves (penalty 0), the clipped weights (penalty 1), or an interpolation. Classic Yuma
    // buys with `ΔB = W ∘ S`, formed here too (with its column sums) when no interpolation
    // follows. Yuma3 with liquid alpha clips inside its own pass over the weights.
    let stake_bits: Vec<i64> = active_stake.iter().map(|s| s.to_bits()).collect();
    let penalty = fixed::u16_proportion_to_fixed(p.bonds_penalty).to_bits();
    let interpolated = penalty != 0 && penalty != sparse::ONE;
    let delta_now = !p.yuma3 && !interpolated;
    let liquid = (p.yuma3 && p.liquid_alpha && bonds::liquid_applies(&consensus))
        .then(|| LiquidAlpha::new(p.alpha_low, p.alpha_high, p.alpha_sigmoid_steepness));
    let clip_later = liquid.is_some() && !interpolated;
    let mut ranks = vec![0i64; n];
    let mut trust = vec![0i64; n];
    let mut delta_sums = vec![0i64; if p.yuma3 { 0 } else { n }];
    if !clip_later {
        let (w, c, s) = (&mut weights, &consensus, &stake_bits);
        let (r, t, d) = (&mut ranks, &mut trust, &mut delta_sums);
        match (penalty == sparse::ONE, delta_now) {
            (true, true) => sparse::clip_pass::<true, true>(w, c, s, r, t, d),
            (true, false) => sparse::clip_pass::<true, false>(w, c, s, r, t, d),
            (false, true) => sparse::clip_pass::<false, true>(w, c, s, r, t, d),
            (false, false) => sparse::clip_pass::<false, false>(w, c, s, r, t, d),
        }
    }
    let mut weights_for_bonds = if interpolated {
        let out = spares.matrix(weights.rows(), weights.entries());
        let interpolated = sparse::interpolate_clipped(&weights, &consensus, penalty, out);
        spares.keep(weights);
        interpolated
    } else {
        weights
    };
    if !p.yuma3 && interpolated {
        weights_for_bonds.rewrite_rows(|i, cols, vals| {
            for (&j, v) in cols.iter().zip(vals.iter_mut()) {
                *v = fixed::mul_unit(stake_bits[i], *v);
                let ju = usize::from(j);
                delta_sums[ju] = delta_sums[ju].saturating_add(*v);
            }
            cols.len()
        });
    }

    // Bonds and dividends. Stored bonds on miners registered since the last epoch are dropped.
    let last_tempo = if input.last_epoch_block.get() == 0 {
        block.saturating_sub(u64::from(p.tempo))
    } else {
        input.last_epoch_block.get().saturating_add(1)
    };
    let stored_bonds = StoredBonds {
        rows: &input.bonds,
        registered: &registered,
        last_tempo,
        proportions: p.yuma3,
    };
    let ema_alpha = bonds::moving_average_alpha(p.bonds_moving_average);
    let yuma3_bonds = p.yuma3.then(|| {
        let clipping = clip_later.then(|| sparse::Clipping {
            threshold: &consensus,
            stake: &stake_bits,
            ranks: &mut ranks,
            trust: &mut trust,
            buy_clipped: penalty == sparse::ONE,
        });
        bonds::yuma3_ema(
            &weights_for_bonds,
            clipping,
            &stored_bonds,
            &consensus,
            ema_alpha,
            liquid.as_ref(),
            &new_permit,
            &mut spares,
        )
    });
    let validator_trust: Vec<I32F32> = trust.into_iter().map(I32F32::from_bits).collect();
    let mut incentive: Vec<I32F32> = ranks.into_iter().map(I32F32::from_bits).collect();
    fixed::normalize(&mut incentive);
    let incentive_bits: Vec<i64> = incentive.iter().map(|x| x.to_bits()).collect();
    let (dividends, bonds_out) = match yuma3_bonds {
        Some((ema, col_sum, stored)) => {
            let dividends = bonds::yuma3_dividends(&ema, &col_sum, &incentive_bits, &stake_bits);
            spares.keep(ema);
            (dividends, stored)
        }
        None => bonds::classic(
            &weights_for_bonds,
            &delta_sums,
            &stored_bonds,
            &incentive_bits,
            ema_alpha,
            &new_permit,
            &mut spares,
        ),
    };
    spares.keep(weights_for_bonds);
    spares.give_back();
    let consensus: Vec<I32F32> = consensus.into_iter().map(I32F32::from_bits).collect();

    // Emission shares, with the stake fallback when nothing was earned.
    let combined: Vec<I32F32> = incentive
        .iter()
        .zip(&dividends)
        .map(|(i, d)| i.saturating_add(*d))
        .collect();
    let emission_sum = fixed::sum(combined.iter().copied());
    let mut server_share = incentive.clone();
    let mut validator_share = dividends.clone();
    let mut combined_share = combined;
    if emission_sum != ZERO {
        for v in server_share.iter_mut().chain(validator_share.iter_mut()) {
            *v = div(*v, emission_sum);
        }
    }
    fixed::normalize(&mut combined_share);
    if emission_sum == ZERO {
        let fallback = if fixed::sum(active_stake.iter().copied()) == ZERO {
            &stake
        } else {
            &active_stake
        };
        validator_share.clone_from(fallback);
        combined_share.clone_from(fallback);
    }
    let rao = I96F32::saturating_from_num(input.emission.rao());
    let amounts = |shares: &[I32F32]| -> Vec<Balance> {
        shares
            .iter()
            .map(|s| {
                Balance::from_rao(
                    I96F32::saturating_from_num(*s)
                        .saturating_mul(rao)
                        .saturating_to_num::<u64>(),
                )
            })
            .collect()
    };
    let to_u16 =
        |v: &[I32F32]| -> Vec<u16> { v.iter().map(|&x| fixed_proportion_to_u16(x)).collect() };

    Ok(EpochOutput {
        incentive: to_u16(&incentive),
        dividends: to_u16(&dividends),
        consensus: to_u16(&consensus),
        validator_trust: to_u16(&validator_trust),
        stake_weight: to_u16(&stake),
        active,
        validator_permit: new_permit,
        server_emission: amounts(&server_share),
        validator_emission: amounts(&validator_share),
        emission: amounts(&combined_share),
        bonds: bonds_out,
    })
}

/// Permits for the `k` largest non-zero stakes (`is_topk_nonzero`): a stable ascending sort,
/// so among equal stakes the lower uid loses.
fn top_k_nonzero(stake: &[I32F32], k: usize) -> Vec<bool> {
    let n = stake.len();
    let mut result: Vec<bool> = stake.iter().map(|&s| s != ZERO).collect();
    if n < k {
        return result;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by_key(|&i| stake[i]);
    for &i in idx.iter().take(n - k) {
        result[i] = false;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_breaks_ties_toward_the_higher_uid() {
        let s = [I32F32::from_num(0.25); 4];
        assert_eq!(top_k_nonzero(&s, 2), [false, false, true, true]);
        let s = [ZERO, I32F32::from_num(0.5), I32F32::from_num(0.5)];
        assert_eq!(top_k_nonzero(&s, 5), [false, true, true]);
        assert_eq!(top_k_nonzero(&s, 3), [false, true, true]);
    }

    #[test]
    fn empty_and_single_subnets_run() {
        let out = epoch(&EpochInput::default()).unwrap();
        assert!(out.emission.is_empty());
        for yuma3 in [false, true] {
            let input = EpochInput {
                params: EpochParams {
                    yuma3,
                    liquid_alpha: yuma3,
                    ..EpochParams::default()
                },
                block: Block(2),
                stake: vec![Balance::from_rao(5)],
                last_update: vec![Block(1)],
                block_at_registration: vec![Block(0)],
                owner: Some(Uid(0)),
                validator_permit: vec![true],
                weights: vec![vec![(0, 65535)]],
                bonds: vec![vec![(0, 65535)]],
                emission: Balance::from_rao(1000),
                ..EpochInput::default()
            };
            let out = epoch(&input).unwrap();
            // The owner keeps its self-weight: it is its own miner and validator.
            assert_eq!(out.incentive, [65535]);
            assert!((999..=1000).contains(&out.emission[0].rao()));
        }
    }

    /// `epoch` checks rows as it reads them, yet reports the error `validate` reports first:
    /// weights rows before bonds rows, the stake total last.
    #[test]
    fn errors_come_in_validate_order() {
        let mut input = EpochInput {
            stake: vec![Balance::from_rao(1); 3],
            last_update: vec![Block(0); 3],
            block_at_registration: vec![Block(0); 3],
            weights: vec![vec![], vec![], vec![(1, 1), (0, 2), (1, 3)]],
            bonds: vec![vec![(7, 1)], vec![], vec![]],
            ..EpochInput::default()
        };
        let weights_error = EpochError::DuplicateUid {
            field: "weights",
            row: 2,
            uid: 1,
        };
        assert_eq!(input.validate(), Err(weights_error.clone()));
        assert_eq!(epoch(&input), Err(weights_error.clone()));
        input.stake[0] = Balance::from_rao(u64::MAX);
        assert_eq!(epoch(&input), Err(weights_error));
        input.weights[2] = vec![(2, 1), (0, 2)];
        let bonds_error = EpochError::UidOutOfRange {
            field: "bonds",
            row: 0,
            uid: 7,
            n: 3,
        };
        assert_eq!(epoch(&input), Err(bonds_error));
        input.bonds[0].clear();
        assert!(matches!(
            epoch(&input),
            Err(EpochError::StakeOverflow { .. })
        ));
        input.stake[0] = Balance::from_rao(1);
        // Unsorted but valid rows are fine.
        assert!(epoch(&input).is_ok());
    }

    #[test]
    fn lengths_and_ranges_are_checked() {
        let mut input = EpochInput {
            stake: vec![Balance::from_rao(1); 2],
            last_update: vec![Block(0); 2],
            block_at_registration: vec![Block(0); 2],
            weights: vec![vec![], vec![(2, 1)]],
            bonds: vec![vec![]; 2],
            ..EpochInput::default()
        };
        assert_eq!(
            epoch(&input),
            Err(EpochError::UidOutOfRange {
                field: "weights",
                row: 1,
                uid: 2,
                n: 2
            })
        );
        input.weights = vec![vec![(1, 1), (1, 2)], vec![]];
        assert_eq!(
            epoch(&input),
            Err(EpochError::DuplicateUid {
                field: "weights",
                row: 0,
                uid: 1
            })
        );
        input.weights = vec![vec![(1, 1)], vec![(1, 2)]];
        assert!(epoch(&input).is_ok());
        input.last_update.pop();
        assert_eq!(
            epoch(&input),
            Err(EpochError::LengthMismatch {
                field: "last_update",
                len: 1,
                n: 2
            })
        );
    }
}
