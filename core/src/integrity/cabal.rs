//! A cabal below kappa: what colluding validators can do for their miners under the exact
//! Yuma epoch.
//!
//! Yuma's consensus for a miner is the largest weight that validators holding at least
//! `kappa` of the voting stake give it (a stake-weighted median), and every validator's weight
//! is clipped to that consensus before incentive is computed. A cabal holding less than kappa
//! of the voting stake therefore cannot, on its own, give a miner any consensus: weight that
//! honest validators do not back is clipped to zero.
//!
//! [`cabal_effect`] measures this on a real epoch input with [`consensus::epoch`] itself, in
//! two what-ifs that differ only in the cabal's rows:
//!
//! - **pushed**: every cabal validator puts all its weight, evenly, on the favoured miners;
//! - **honest**: every cabal validator sets the stake-weighted mean of the other voting
//!   validators' rows, as if it scored the miners as everyone else does.
//!
//! In both, the cabal sets its weights at the input's block (its `last_update` becomes
//! `input.block`), so an inactive cabal is made active; everything else is the input's.
//!
//! The voting stake is the stake consensus counts: validators active within the activity
//! cutoff, holding a permit from the previous epoch (the owner always does), at or above the
//! stake threshold (the owner always is). The share is computed in `f64` from rao; the epoch's
//! fixed-point share can differ from it in the ninth decimal.
//!
//! [`consensus::epoch`]: crate::consensus::epoch

use std::fmt;

use serde::{Deserialize, Serialize};

use super::list;
use crate::chain::{Balance, Block, Metagraph, U16Proportion, Uid};
use crate::consensus::{EpochError, EpochInput, epoch};

/// Why [`cabal_effect`] cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CabalError {
    /// The epoch input is malformed.
    #[error(transparent)]
    Epoch(#[from] EpochError),
    /// A cabal or favoured uid is not registered.
    #[error("{role} uid {uid} is out of range (n is {n})")]
    UidOutOfRange {
        /// `cabal` or `favoured`.
        role: &'static str,
        /// The uid.
        uid: Uid,
        /// The number of uids.
        n: usize,
    },
    /// No cabal validators or no favoured miners were given.
    #[error("no {role} uids given")]
    Empty {
        /// `cabal` or `favoured`.
        role: &'static str,
    },
}

/// What the exact epoch gives one favoured miner, with and without the cabal's push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FavouredMiner {
    /// The miner.
    pub uid: Uid,
    /// Share of the voting stake held by validators outside the cabal that give this miner
    /// non-zero weight (0 means only the cabal backs it).
    pub honest_support: f64,
    /// Incentive when the cabal behaves like everyone else.
    pub incentive_honest: U16Proportion,
    /// Incentive when the cabal pushes the favoured miners.
    pub incentive_pushed: U16Proportion,
    /// Consensus weight when the cabal behaves like everyone else.
    pub consensus_honest: U16Proportion,
    /// Consensus weight when the cabal pushes: what the miner ends with after clipping.
    pub consensus_pushed: U16Proportion,
}

/// A cabal's stake share against kappa and what its push does, from the exact epoch. See the
/// [module documentation](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CabalReport {
    /// The block of the epoch input.
    pub block: Block,
    /// The colluding validators, ascending.
    pub cabal: Vec<Uid>,
    /// The miners they push, ascending.
    pub favoured: Vec<Uid>,
    /// The cabal's share of the voting stake.
    pub stake_share: f64,
    /// The subnet's kappa: the share of voting stake a weight needs behind it.
    pub kappa: U16Proportion,
    /// Whether `stake_share` is below kappa (then unbacked miners get nothing).
    pub below_kappa: bool,
    /// Total incentive of the favoured miners when the cabal behaves like everyone else.
    pub incentive_honest: f64,
    /// Total incentive of the favoured miners when the cabal pushes them.
    pub incentive_pushed: f64,
    /// The cabal's total dividends when it behaves like everyone else.
    pub dividends_honest: f64,
    /// The cabal's total dividends when it pushes (clipped weight earns no bonds).
    pub dividends_pushed: f64,
    /// Each favoured miner, ascending by uid.
    pub miners: Vec<FavouredMiner>,
}

impl fmt::Display for CabalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let consensus: Vec<U16Proportion> =
            self.miners.iter().map(|m| m.consensus_pushed).collect();
        write!(
            f,
            "cabal: uids [{}] hold {:.2}% of voting stake ({} kappa {:.4}%); pushing miners \
             [{}] gives them {:.2}% incentive vs {:.2}% honestly, consensus [{}]; cabal \
             dividends {:.2}% vs {:.2}% (at block {})",
            list(&self.cabal, 8),
            self.stake_share * 100.0,
            if self.below_kappa {
                "below"
            } else {
                "at or above"
            },
            self.kappa.as_f64() * 100.0,
            list(&self.favoured, 8),
            self.incentive_pushed * 100.0,
            self.incentive_honest * 100.0,
            list(&consensus, 8),
            self.dividends_pushed * 100.0,
            self.dividends_honest * 100.0,
            self.block,
        )
    }
}

/// Runs the exact epoch twice, once with the `cabal` pushing the `favoured` miners and once
/// with it voting like the other validators, and reports the cabal's stake share and what
/// the favoured miners get. See the [module documentation](self).
///
/// Uids may be given in any order and repeated. A cabal validator never weights itself (the
/// chain masks self-weight), so a uid in both lists is pushed by the rest of the cabal.
pub fn cabal_effect(
    input: &EpochInput,
    cabal: &[Uid],
    favoured: &[Uid],
) -> Result<CabalReport, CabalError> {
    input.validate()?;
    let n = input.stake.len();
    let cabal = uid_set(cabal, "cabal", n)?;
    let favoured = uid_set(favoured, "favoured", n)?;

    let mut base = input.clone();
    for c in &cabal {
        base.last_update[c.index()] = input.block;
    }
    let voting = voting(&base);
    let in_cabal = |i: usize| cabal.binary_search(&Uid(i as u16)).is_ok();
    let stake_of = |i: usize| {
        if voting[i] {
            input.stake[i].rao() as f64
        } else {
            0.0
        }
    };
    let total: f64 = (0..n).map(stake_of).sum();
    let share_of = |pred: &dyn Fn(usize) -> bool| -> f64 {
        if total > 0.0 {
            (0..n).filter(|&i| pred(i)).map(stake_of).sum::<f64>() / total
        } else {
            0.0
        }
    };
    let stake_share = share_of(&in_cabal);

    let mean = honest_mean(&base, &voting, &in_cabal);
    let mut honest = base.clone();
    let mut pushed = base;
    for c in &cabal {
        honest.weights[c.index()] = max_upscale(mean.iter().filter(|&&(j, _)| j != c.get()));
        pushed.weights[c.index()] = favoured
            .iter()
            .filter(|&j| j != c)
            .map(|j| (j.get(), u16::MAX))
            .collect();
    }
    let out_honest = epoch(&honest)?;
    let out_pushed = epoch(&pushed)?;

    let owner = input.owner.map(Uid::index);
    let miners: Vec<FavouredMiner> = favoured
        .iter()
        .map(|&j| {
            let backs = |i: usize| {
                !in_cabal(i)
                    && (i != j.index() || owner == Some(i))
                    && input.weights[i].iter().any(|&(k, w)| k == j.get() && w > 0)
            };
            let at = |v: &[u16]| U16Proportion(v[j.index()]);
            FavouredMiner {
                uid: j,
                honest_support: share_of(&backs),
                incentive_honest: at(&out_honest.incentive),
                incentive_pushed: at(&out_pushed.incentive),
                consensus_honest: at(&out_honest.consensus),
                consensus_pushed: at(&out_pushed.consensus),
            }
        })
        .collect();
    let kappa = U16Proportion(input.params.kappa);
    Ok(CabalReport {
        block: input.block,
        stake_share,
        kappa,
        below_kappa: stake_share < kappa.as_f64(),
        incentive_honest: total_share(&out_honest.incentive, &favoured),
        incentive_pushed: total_share(&out_pushed.incentive, &favoured),
        dividends_honest: total_share(&out_honest.dividends, &cabal),
        dividends_pushed: total_share(&out_pushed.dividends, &cabal),
        cabal,
        favoured,
        miners,
    })
}

/// The epoch input a metagraph snapshot implies, for [`cabal_effect`] on a live subnet.
///
/// Close to, not exactly, what the chain's next epoch reads:
///
/// - `stake` is the metagraph's stake per hotkey; the chain weighs alpha stake plus
///   `tao_weight` times root stake, so read the stake weight if the caller has it;
/// - `validator_permit` is the metagraph's: the permits the last epoch handed out, which gate
///   the next epoch's weights, as the epoch expects;
/// - commit-reveal's commit blocks are not in a metagraph (`commit_reveal` is `None`): its
///   mask, which only drops weights on uids re-registered after the commit, is skipped;
/// - `emission` is the total of the last epoch's emission; it scales amounts only, never
///   incentive or consensus.
///
/// A metagraph whose arrays disagree in length gives an input [`cabal_effect`] rejects.
pub fn epoch_input(metagraph: &Metagraph) -> EpochInput {
    let rows = |rows: &[Vec<(Uid, u16)>]| -> Vec<Vec<(u16, u16)>> {
        rows.iter()
            .map(|row| row.iter().map(|&(j, w)| (j.get(), w)).collect())
            .collect()
    };
    EpochInput {
        block: metagraph.block,
        params: (&metagraph.hyperparameters).into(),
        stake: metagraph.stake.clone(),
        last_update: metagraph.last_update.clone(),
        block_at_registration: metagraph.block_at_registration.clone(),
        owner: metagraph
            .owner_hotkey
            .as_ref()
            .and_then(|h| metagraph.uid_of(h)),
        validator_permit: metagraph.validator_permit.clone(),
        weights: rows(&metagraph.weights),
        bonds: rows(&metagraph.bonds),
        commit_reveal: None,
        last_epoch_block: metagraph.last_step,
        emission: metagraph
            .emission
            .iter()
            .fold(Balance::ZERO, |a, &e| a.saturating_add(e)),
    }
}

/// The uids sorted and deduplicated, each checked against `n`.
fn uid_set(uids: &[Uid], role: &'static str, n: usize) -> Result<Vec<Uid>, CabalError> {
    if uids.is_empty() {
        return Err(CabalError::Empty { role });
    }
    if let Some(&uid) = uids.iter().find(|u| u.index() >= n) {
        return Err(CabalError::UidOutOfRange { role, uid, n });
    }
    let mut set = uids.to_vec();
    set.sort_unstable();
    set.dedup();
    Ok(set)
}

/// Which uids' stake consensus counts, as the epoch decides it: active, permitted by the
/// previous epoch (an empty permit vector masks no stake), at or above the stake threshold,
/// with stake. The owner is always permitted and never below the threshold.
fn voting(input: &EpochInput) -> Vec<bool> {
    let p = &input.params;
    let owner = input.owner.map(Uid::index);
    (0..input.stake.len())
        .map(|i| {
            let is_owner = owner == Some(i);
            let active = input.last_update[i].saturating_add(p.activity_cutoff) >= input.block;
            let permitted = input.validator_permit.is_empty()
                || is_owner
                || input.validator_permit.get(i).copied().unwrap_or(false);
            let stake = input.stake[i].rao();
            let counted = is_owner || stake >= p.stake_threshold;
            active && permitted && counted && stake > 0
        })
        .collect()
}

/// The stake-weighted mean of the normalised rows of voting validators outside the cabal
/// (self-weight left out, except the owner's): `(miner, share)` ascending, shares summing
/// to 1, or empty when no such validator set weights.
fn honest_mean(
    input: &EpochInput,
    voting: &[bool],
    in_cabal: &dyn Fn(usize) -> bool,
) -> Vec<(u16, f64)> {
    let n = input.stake.len();
    let owner = input.owner.map(Uid::index);
    let mut mean = vec![0.0; n];
    let mut weight = 0.0;
    for i in (0..n).filter(|&i| voting[i] && !in_cabal(i)) {
        let counts = |&&(j, _): &&(u16, u16)| usize::from(j) != i || owner == Some(i);
        let sum: f64 = input.weights[i]
            .iter()
            .filter(counts)
            .map(|&(_, w)| f64::from(w))
            .sum();
        if sum <= 0.0 {
            continue;
        }
        let stake = input.stake[i].rao() as f64;
        for &(j, w) in input.weights[i].iter().filter(counts) {
            mean[usize::from(j)] += stake * f64::from(w) / sum;
        }
        weight += stake;
    }
    if weight <= 0.0 {
        return Vec::new();
    }
    mean.iter()
        .enumerate()
        .filter(|&(_, &m)| m > 0.0)
        .map(|(j, &m)| (j as u16, m / weight))
        .collect()
}

/// A row as `set_weights` stores it: the largest weight 65535, the rest in proportion,
/// rounded, zeros dropped.
fn max_upscale<'a>(row: impl Iterator<Item = &'a (u16, f64)> + Clone) -> Vec<(u16, u16)> {
    let max = row.clone().map(|&(_, w)| w).fold(0.0, f64::max);
    if max <= 0.0 {
        return Vec::new();
    }
    row.map(|&(j, w)| (j, (w / max * f64::from(u16::MAX)).round() as u16))
        .filter(|&(_, w)| w > 0)
        .collect()
}

/// The summed `u16` proportions of `uids` in an epoch output vector, as a fraction of 1.
fn total_share(values: &[u16], uids: &[Uid]) -> f64 {
    let sum: u64 = uids.iter().map(|u| u64::from(values[u.index()])).sum();
    sum as f64 / f64::from(u16::MAX)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::consensus::EpochParams;

    /// A subnet of `stakes.len()` validators (uids first) and `miners` miners, everyone active
    /// and permitted, with the validators' rows as given.
    fn subnet(stakes: &[u64], miners: usize, rows: Vec<Vec<(u16, u16)>>) -> EpochInput {
        let v = stakes.len();
        let n = v + miners;
        let mut weights = rows;
        weights.resize(n, Vec::new());
        EpochInput {
            block: Block(1_000),
            params: EpochParams {
                max_allowed_validators: v as u16,
                ..EpochParams::default()
            },
            stake: stakes
                .iter()
                .copied()
                .chain(std::iter::repeat_n(0, miners))
                .map(Balance::from_rao)
                .collect(),
            last_update: vec![Block(990); n],
            block_at_registration: vec![Block(1); n],
            owner: None,
            validator_permit: (0..n).map(|i| i < v).collect(),
            weights,
            bonds: vec![Vec::new(); n],
            commit_reveal: None,
            last_epoch_block: Block(0),
            emission: Balance::from_rao(1_000_000_000),
        }
    }

    /// Three honest validators (60 %) weight miners 5 and 6; a cabal of two (40 %) pushes
    /// miner 7, which no honest validator weights: it gets nothing, and the cabal's dividends
    /// fall against voting honestly.
    #[test]
    fn a_cabal_below_kappa_gets_its_miner_nothing() {
        let honest = vec![(5, 65535), (6, 30000)];
        let input = subnet(
            &[200, 200, 200, 250, 150],
            3,
            vec![honest.clone(), honest.clone(), honest, vec![], vec![]],
        );
        let r = cabal_effect(&input, &[Uid(4), Uid(3), Uid(4)], &[Uid(7)]).unwrap();
        assert_eq!(r.cabal, [Uid(3), Uid(4)]);
        assert!((r.stake_share - 0.4).abs() < 1e-12);
        assert!(r.below_kappa);
        assert_eq!(r.kappa, U16Proportion(32767));
        let m = &r.miners[0];
        assert_eq!(m.honest_support, 0.0);
        assert_eq!(m.incentive_pushed, U16Proportion::ZERO);
        assert_eq!(m.consensus_pushed, U16Proportion::ZERO);
        assert_eq!(r.incentive_pushed, 0.0);
        assert!(r.dividends_pushed < r.dividends_honest);
        let line = r.to_string();
        assert!(
            line.contains("40.00% of voting stake (below kappa"),
            "{line}"
        );
    }

    /// The same cabal with 60 % of the stake lifts its miner.
    #[test]
    fn a_cabal_above_kappa_lifts_its_miner() {
        let honest = vec![(5, 65535), (6, 30000)];
        let input = subnet(&[100, 100, 300, 300], 3, vec![honest.clone(), honest]);
        let r = cabal_effect(&input, &[Uid(2), Uid(3)], &[Uid(6)]).unwrap();
        assert!((r.stake_share - 0.75).abs() < 1e-12);
        assert!(!r.below_kappa);
        assert!(r.miners[0].consensus_pushed > r.miners[0].consensus_honest);
        assert!(r.incentive_pushed > r.incentive_honest);
    }

    /// An inactive cabal is made active: it sets its weights at the input's block.
    #[test]
    fn the_cabal_votes_at_the_input_block() {
        let honest = vec![(3, 65535)];
        let mut input = subnet(&[100, 100, 100], 2, vec![honest.clone(), honest]);
        input.last_update[2] = Block(0);
        input.params.activity_cutoff = 100;
        let r = cabal_effect(&input, &[Uid(2)], &[Uid(4)]).unwrap();
        // Inactive, it would hold no voting stake at all.
        assert!((r.stake_share - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.miners[0].incentive_honest, U16Proportion::ZERO);
    }

    /// A metagraph's snapshot gives the input its next epoch reads.
    #[test]
    fn epoch_input_from_a_metagraph() {
        let honest = vec![(Uid(2), 65535), (Uid(3), 100)];
        let mut m = Metagraph::empty(
            crate::chain::NetUid(3),
            Block(5_000),
            crate::chain::Hyperparameters::default(),
        );
        m.stake = vec![
            Balance::from_rao(300),
            Balance::from_rao(100),
            Balance::ZERO,
            Balance::ZERO,
        ];
        m.last_update = vec![Block(4_990); 4];
        m.block_at_registration = vec![Block(1); 4];
        m.validator_permit = vec![true, true, false, false];
        m.weights = vec![honest.clone(), honest, vec![], vec![]];
        m.bonds = vec![Vec::new(); 4];
        m.emission = vec![Balance::from_rao(7); 4];
        let input = epoch_input(&m);
        assert_eq!(input.weights[0], [(2, 65535), (3, 100)]);
        assert_eq!(input.emission, Balance::from_rao(28));
        assert_eq!(input.params.kappa, 32767);
        let r = cabal_effect(&input, &[Uid(1)], &[Uid(3)]).unwrap();
        assert!((r.stake_share - 0.25).abs() < 1e-12);
        assert!(r.miners[0].honest_support > 0.0);
    }

    #[test]
    fn bad_uids_are_errors() {
        let input = subnet(&[100, 100], 2, vec![]);
        assert_eq!(
            cabal_effect(&input, &[Uid(1)], &[Uid(4)]),
            Err(CabalError::UidOutOfRange {
                role: "favoured",
                uid: Uid(4),
                n: 4
            })
        );
        assert_eq!(
            cabal_effect(&input, &[], &[Uid(3)]),
            Err(CabalError::Empty { role: "cabal" })
        );
        let mut bad = input;
        bad.last_update.pop();
        assert!(matches!(
            cabal_effect(&bad, &[Uid(0)], &[Uid(3)]),
            Err(CabalError::Epoch(EpochError::LengthMismatch { .. }))
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// For random honest subnets and a cabal holding strictly less than kappa of the voting
        /// stake, the favoured miners no honest validator weights get zero consensus and zero
        /// incentive from the exact epoch, however the cabal pushes.
        #[test]
        fn unbacked_miners_of_a_cabal_below_kappa_get_nothing(
            honest in prop::collection::vec(1_000u64..1_000_000_000_000, 2..=8),
            // The cabal's share of the voting stake, in hundredths of a percent: 0.01 %..49.99 %
            // (kappa is 32767/65535 ≈ 49.9992 %).
            share in 1u64..5_000,
            cabal_size in 1usize..=3,
            miners in 3usize..=10,
            rows in prop::collection::vec(prop::collection::vec(0u16..=u16::MAX, 10), 8),
            dropped in prop::collection::vec(prop::collection::vec(any::<bool>(), 10), 8),
            favoured in prop::collection::vec(any::<bool>(), 10),
            yuma3 in any::<bool>(),
        ) {
            let h = honest.len();
            let v = h + cabal_size;
            let h_total: u64 = honest.iter().sum();
            // c / (h + c) = share / 10⁴, rounded down (so strictly below the drawn share).
            let c_total = u64::try_from(
                u128::from(h_total) * u128::from(share) / u128::from(10_000 - share),
            )
            .unwrap_or(u64::MAX)
            .max(cabal_size as u64);
            let mut stakes = honest;
            for k in 0..cabal_size as u64 {
                let part = c_total / cabal_size as u64 + u64::from(k < c_total % cabal_size as u64);
                stakes.push(part);
            }
            // Honest rows: random weights on the miners, some dropped (never weighted).
            let weights: Vec<Vec<(u16, u16)>> = (0..h)
                .map(|i| {
                    (0..miners)
                        .filter(|&m| !dropped[i][m])
                        .map(|m| ((v + m) as u16, rows[i][m]))
                        .filter(|&(_, w)| w > 0)
                        .collect()
                })
                .collect();
            let mut input = subnet(&stakes, miners, weights);
            input.params.yuma3 = yuma3;
            let mut picked: Vec<Uid> =
                (0..miners).filter(|&m| favoured[m]).map(|m| Uid((v + m) as u16)).collect();
            if picked.is_empty() {
                picked.push(Uid((v + miners - 1) as u16));
            }
            let cabal: Vec<Uid> = (h..v).map(|i| Uid(i as u16)).collect();

            let r = cabal_effect(&input, &cabal, &picked).unwrap();
            prop_assert!(r.below_kappa, "share {} not below kappa", r.stake_share);
            prop_assert!(r.stake_share < f64::from(32_767u16) / 65_535.0);
            for m in &r.miners {
                let backed = input.weights[..h]
                    .iter()
                    .any(|row| row.iter().any(|&(j, w)| j == m.uid.get() && w > 0));
                prop_assert_eq!(m.honest_support > 0.0, backed);
                if !backed {
                    prop_assert_eq!(m.consensus_pushed, U16Proportion::ZERO, "miner {}", m.uid);
                    prop_assert_eq!(m.incentive_pushed, U16Proportion::ZERO, "miner {}", m.uid);
                }
            }
        }
    }
}
