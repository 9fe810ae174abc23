//! Weight copying: validators whose weight rows track another validator's.
//!
//! # Similarity
//!
//! Two rows are compared as distributions: each is normalised to sum to 1 and their
//! similarity is the weight they share, `Σⱼ min(pⱼ, qⱼ)`, which equals `1 − ½‖p − q‖₁`
//! (one minus the total variation distance). It lies in `[0, 1]`, is 1 exactly for
//! proportional rows and says how much weight would have to move to turn one row into the
//! other: 0.99 means 1 % of the weight sits on different miners or in different amounts.
//! Unlike cosine similarity it does not discount the small weights of a long row.
//!
//! # Why a lag
//!
//! Honest validators that score the same miners alike set similar rows in the same epoch, so
//! a high same-epoch similarity proves nothing. Under commit-reveal a copier cannot see its
//! source's current row, only the last revealed one, so its row at epoch `t` matches the
//! source's row at `t − L` (the lag, in epochs) better than the source's row at `t`. An honest
//! validator does the opposite: its row at `t` is closest to other rows at `t`, which measure
//! the same miners at the same time. A copier flagged at lag `L ≥ 1`:
//!
//! - has rows at `t`, while the source has rows at `t − L` and at `t`, in at least
//!   [`min_epochs`](CopyingParams::min_epochs) epochs `t`;
//! - matches the source's rows `L` epochs earlier with mean similarity at least
//!   [`threshold`](CopyingParams::threshold) over those epochs;
//! - and that mean beats the mean similarity to the source's same-epoch rows, over the same
//!   epochs, by at least [`min_gain`](CopyingParams::min_gain).
//!
//! The lag with the highest mean is reported (the smaller lag on a tie), and for each copier
//! only the source it follows most closely; other sources that pass are listed in the finding
//! ([`WeightCopying::other_sources`]): a copier of one validator also trails, less closely,
//! every validator that agrees with its source. Identical rows in the same epoch are a
//! separate finding, [`IdenticalWeights`]: the data cannot say who copied whom (the rows'
//! `last_update` blocks can, if the caller has them).
//!
//! # What it cannot tell apart
//!
//! - A validator whose scores are a slow moving average trails every other validator, so its
//!   finding lists many sources about as close as the best; a copier's best source stands out.
//! - A source whose rows barely change between epochs cannot be told from its copier: the
//!   lagged and same-epoch similarities are then equal and nothing is flagged.
//! - Winner-take-all rows (all weight on one miner) are identical for every honest validator;
//!   [`min_support`](CopyingParams::min_support) keeps rows with fewer non-zero weights out
//!   of the identical-weights rule.
//!
//! # Cost
//!
//! At most `V² · E · (max_lag + 1)` comparisons for `V` validators and `E` epochs, each a
//! merge of two sorted rows of up to `M` miners; a lag stops being compared as soon as its
//! mean can no longer reach the threshold, so pairs that are not copies cost little more than
//! their same-epoch comparisons.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::list;
use crate::chain::{Block, Metagraph, Uid};

/// Every validator's weight row in effect at one block: one snapshot of the chain's `Weights`
/// storage, normally taken at each epoch block.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EpochWeights {
    /// The block the rows were read at.
    pub block: Block,
    /// Each validator's row: `(miner uid, weight)`. Any non-negative scale (the chain's `u16`s
    /// do); rows are normalised before comparing. Entries that are not finite and positive are
    /// ignored, a miner named twice counts its weights summed, and a row without positive
    /// weight counts as no row.
    pub rows: BTreeMap<Uid, Vec<(Uid, f64)>>,
}

impl EpochWeights {
    /// A snapshot at `block` with no rows yet.
    pub fn new(block: Block) -> Self {
        Self {
            block,
            rows: BTreeMap::new(),
        }
    }

    /// Sets `validator`'s row from weights as the chain stores them (`u16`s).
    pub fn insert_stored(&mut self, validator: Uid, row: &[(Uid, u16)]) {
        self.rows.insert(
            validator,
            row.iter().map(|&(j, w)| (j, f64::from(w))).collect(),
        );
    }

    /// The non-empty weight rows of a metagraph, at the metagraph's block.
    pub fn from_metagraph(metagraph: &Metagraph) -> Self {
        let mut epoch = Self::new(metagraph.block);
        for (i, row) in metagraph.weights.iter().enumerate() {
            if let (false, Ok(uid)) = (row.is_empty(), u16::try_from(i)) {
                epoch.insert_stored(Uid(uid), row);
            }
        }
        epoch
    }
}

/// Weight snapshots over time. Lags are counted in snapshots: take one per epoch (per tempo)
/// so that a lag is an epoch.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WeightsHistory {
    /// The snapshots, in any order (analyses sort them by block; equal blocks keep this order).
    pub epochs: Vec<EpochWeights>,
}

/// The thresholds of [`detect_weight_copying`]. [`Default`] gives the values documented on
/// each field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyingParams {
    /// The largest lag tried, in epochs (default 3: commit-reveal periods are a few epochs).
    pub max_lag: usize,
    /// Least mean similarity at the lag for a [`WeightCopying`] finding (default 0.99).
    pub threshold: f64,
    /// Least number of epochs compared, and of identical epochs for [`IdenticalWeights`]
    /// (default 3).
    pub min_epochs: usize,
    /// How much the lagged mean similarity must beat the same-epoch one (default 0.005: half
    /// a percent of the weight).
    pub min_gain: f64,
    /// Rows whose similarity is within this of 1 count as identical (default 1e-9: only
    /// rounding).
    pub identical_tolerance: f64,
    /// Least number of miners with non-zero weight in both rows for them to count as
    /// identical (default 2: one-miner rows are alike whenever validators agree on a winner).
    pub min_support: usize,
}

impl Default for CopyingParams {
    fn default() -> Self {
        Self {
            max_lag: 3,
            threshold: 0.99,
            min_epochs: 3,
            min_gain: 0.005,
            identical_tolerance: 1e-9,
            min_support: 2,
        }
    }
}

/// One epoch of evidence for a [`WeightCopying`] finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopiedEpoch {
    /// The block of the copier's row.
    pub block: Block,
    /// The block of the source's earlier row it is compared with.
    pub source_block: Block,
    /// Similarity of the copier's row to the source's earlier row.
    pub similarity: f64,
    /// Similarity of the copier's row to the source's row at `block`.
    pub same_epoch_similarity: f64,
}

/// A validator (`copier`) whose rows match another's (`source`) rows `lag` epochs earlier
/// better than the source's rows of the same epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightCopying {
    /// The validator that copies.
    pub copier: Uid,
    /// The validator copied.
    pub source: Uid,
    /// The lag, in epochs (snapshots), with the highest mean similarity.
    pub lag: usize,
    /// Mean similarity of the copier's rows to the source's rows `lag` epochs earlier.
    pub similarity: f64,
    /// Mean similarity of the copier's rows to the source's rows of the same epochs.
    pub same_epoch_similarity: f64,
    /// The epochs compared, in block order.
    pub epochs: Vec<CopiedEpoch>,
    /// Other validators the copier's rows also pass the rule against, by uid. A copier of one
    /// validator also trails whoever agrees with it, less closely; a validator that trails
    /// many sources alike may just be slow (a long score average).
    pub other_sources: Vec<LaggedSource>,
}

/// Another source a copier's rows pass the lagged rule against (see
/// [`WeightCopying::other_sources`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaggedSource {
    /// The validator.
    pub source: Uid,
    /// Its best lag, in epochs.
    pub lag: usize,
    /// Mean similarity to its rows `lag` epochs earlier.
    pub similarity: f64,
    /// Mean similarity to its rows of the same epochs.
    pub same_epoch_similarity: f64,
}

impl fmt::Display for WeightCopying {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let blocks: Vec<Block> = self.epochs.iter().map(|e| e.block).collect();
        write!(
            f,
            "weight copying: uid {} follows uid {} {} epoch{} late: mean similarity {:.4} to its \
             earlier rows vs {:.4} to its current ones, over {} epochs (blocks {})",
            self.copier,
            self.source,
            self.lag,
            if self.lag == 1 { "" } else { "s" },
            self.similarity,
            self.same_epoch_similarity,
            self.epochs.len(),
            list(&blocks, 6),
        )?;
        if !self.other_sources.is_empty() {
            let others: Vec<String> = self
                .other_sources
                .iter()
                .map(|o| format!("uid {} ({:.4})", o.source, o.similarity))
                .collect();
            write!(f, "; also trails {}", list(&others, 4))?;
        }
        Ok(())
    }
}

/// Two validators whose rows were identical (up to scale) in the same epochs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdenticalWeights {
    /// The two validators, lower uid first. Which one copied is not known from the rows.
    pub validators: [Uid; 2],
    /// The blocks where their rows were identical.
    pub blocks: Vec<Block>,
    /// The number of epochs where both had rows with at least `min_support` miners.
    pub shared_epochs: usize,
    /// The fewest miners with non-zero weight in any of the identical rows.
    pub support: usize,
}

impl fmt::Display for IdenticalWeights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "identical weights: uids {} and {} set the same row (at least {} miners) in {} of {} \
             shared epochs (blocks {})",
            self.validators[0],
            self.validators[1],
            self.support,
            self.blocks.len(),
            self.shared_epochs,
            list(&self.blocks, 6),
        )
    }
}

/// What [`detect_weight_copying`] found, by kind, each sorted by uid.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CopyingFindings {
    /// Lagged copying, one per copier, by copier.
    pub copying: Vec<WeightCopying>,
    /// Same-epoch identical rows, by validator pair.
    pub identical: Vec<IdenticalWeights>,
}

impl CopyingFindings {
    /// All findings, as report entries.
    pub fn into_findings(self) -> Vec<super::Finding> {
        let copying = self.copying.into_iter().map(super::Finding::from);
        copying
            .chain(self.identical.into_iter().map(super::Finding::from))
            .collect()
    }
}

/// A row normalised to sum to 1: `(miner uid, share)`, ascending by uid, shares positive.
type Row = Vec<(u16, f64)>;

/// The row as a distribution, or `None` if it has no positive weight.
fn normalise(raw: &[(Uid, f64)]) -> Option<Row> {
    let mut row: Row = raw
        .iter()
        .filter(|(_, w)| w.is_finite() && *w > 0.0)
        .map(|&(j, w)| (j.get(), w))
        .collect();
    row.sort_by_key(|&(j, _)| j);
    row.dedup_by(|next, kept| {
        let same = next.0 == kept.0;
        if same {
            kept.1 += next.1;
        }
        same
    });
    let total: f64 = row.iter().map(|&(_, w)| w).sum();
    if !(total.is_finite() && total > 0.0) {
        return None;
    }
    for entry in &mut row {
        entry.1 /= total;
    }
    Some(row)
}

/// The weight two normalised rows share: `Σ min(p, q)` = `1 − ½‖p − q‖₁`, clamped to
/// `[0, 1]` against rounding.
fn similarity(p: &[(u16, f64)], q: &[(u16, f64)]) -> f64 {
    let mut shared = 0.0;
    for_common(p, q, |x, y| shared += x.min(y));
    shared.clamp(0.0, 1.0)
}

/// The number of miners in both rows.
fn common_support(p: &[(u16, f64)], q: &[(u16, f64)]) -> usize {
    let mut common = 0;
    for_common(p, q, |_, _| common += 1);
    common
}

/// Calls `f` with both weights of every miner in both rows (rows sorted by uid).
fn for_common(p: &[(u16, f64)], q: &[(u16, f64)], mut f: impl FnMut(f64, f64)) {
    let (mut a, mut b) = (p.iter().peekable(), q.iter().peekable());
    while let (Some(&&(i, x)), Some(&&(j, y))) = (a.peek(), b.peek()) {
        match i.cmp(&j) {
            std::cmp::Ordering::Less => {
                a.next();
            }
            std::cmp::Ordering::Greater => {
                b.next();
            }
            std::cmp::Ordering::Equal => {
                f(x, y);
                a.next();
                b.next();
            }
        }
    }
}

/// Finds validators copying weights, lagged or in the same epoch. See the
/// [module documentation](self) for the rules.
pub fn detect_weight_copying(history: &WeightsHistory, params: &CopyingParams) -> CopyingFindings {
    let mut order: Vec<&EpochWeights> = history.epochs.iter().collect();
    order.sort_by_key(|e| e.block);
    let blocks: Vec<Block> = order.iter().map(|e| e.block).collect();
    let validators: Vec<Uid> = order
        .iter()
        .flat_map(|e| e.rows.keys().copied())
        .collect::<BTreeSet<Uid>>()
        .into_iter()
        .collect();
    // rows[t][v]: validator v's normalised row at epoch t.
    let rows: Vec<Vec<Option<Row>>> = order
        .iter()
        .map(|e| {
            validators
                .iter()
                .map(|v| e.rows.get(v).and_then(|raw| normalise(raw)))
                .collect()
        })
        .collect();

    let mut found = CopyingFindings::default();
    let mut passing: Vec<Vec<WeightCopying>> = vec![Vec::new(); validators.len()];
    for a in 0..validators.len() {
        for b in a + 1..validators.len() {
            // Same-epoch similarities, shared by both rules and both directions.
            let same: Vec<Option<f64>> = rows
                .iter()
                .map(|at| match (&at[a], &at[b]) {
                    (Some(p), Some(q)) => Some(similarity(p, q)),
                    _ => None,
                })
                .collect();
            let pair = Pair {
                rows: &rows,
                blocks: &blocks,
                same: &same,
                params,
            };
            if let Some(f) = pair.identical([a, b], [validators[a], validators[b]]) {
                found.identical.push(f);
            }
            for (c, s) in [(a, b), (b, a)] {
                if let Some(f) = pair.lagged(c, s, validators[c], validators[s]) {
                    passing[c].push(f);
                }
            }
        }
    }
    for mut candidates in passing {
        // The closest source is the finding; the others that pass are named in it.
        let Some(best) = (0..candidates.len()).max_by(|&x, &y| {
            let (x, y) = (&candidates[x], &candidates[y]);
            x.similarity
                .total_cmp(&y.similarity)
                .then(y.source.cmp(&x.source))
        }) else {
            continue;
        };
        let mut finding = candidates.swap_remove(best);
        candidates.sort_by_key(|f| f.source);
        finding.other_sources = candidates
            .into_iter()
            .map(|f| LaggedSource {
                source: f.source,
                lag: f.lag,
                similarity: f.similarity,
                same_epoch_similarity: f.same_epoch_similarity,
            })
            .collect();
        found.copying.push(finding);
    }
    found
}

/// One pair of validators (by index into the validator list) under analysis.
struct Pair<'a> {
    /// `rows[t][v]`: validator `v`'s normalised row at epoch `t`.
    rows: &'a [Vec<Option<Row>>],
    /// The block of each epoch.
    blocks: &'a [Block],
    /// The pair's same-epoch similarity at each epoch where both have rows.
    same: &'a [Option<f64>],
    params: &'a CopyingParams,
}

impl Pair<'_> {
    /// The identical-weights rule.
    fn identical(&self, index: [usize; 2], uids: [Uid; 2]) -> Option<IdenticalWeights> {
        let mut shared_epochs = 0;
        let mut blocks = Vec::new();
        let mut support = usize::MAX;
        for (t, at) in self.rows.iter().enumerate() {
            let (Some(p), Some(q), Some(sim)) = (&at[index[0]], &at[index[1]], self.same[t]) else {
                continue;
            };
            if p.len() < self.params.min_support || q.len() < self.params.min_support {
                continue;
            }
            shared_epochs += 1;
            if sim >= 1.0 - self.params.identical_tolerance {
                blocks.push(self.blocks[t]);
                support = support.min(common_support(p, q));
            }
        }
        (blocks.len() >= self.params.min_epochs.max(1)).then_some(IdenticalWeights {
            validators: uids,
            blocks,
            shared_epochs,
            support,
        })
    }

    /// The lagged-copying rule for copier `c` and source `s`: the best lag that passes.
    fn lagged(&self, c: usize, s: usize, copier: Uid, source: Uid) -> Option<WeightCopying> {
        let p = self.params;
        let mut best: Option<WeightCopying> = None;
        'lags: for lag in 1..=p.max_lag {
            // Epochs where the copier's row, the source's row and its earlier row all exist.
            let usable: Vec<(usize, &Row, &Row, f64)> = (lag..self.rows.len())
                .filter_map(
                    |t| match (&self.rows[t][c], &self.rows[t - lag][s], self.same[t]) {
                        (Some(now), Some(then), Some(same)) => Some((t, now, then, same)),
                        _ => None,
                    },
                )
                .collect();
            if usable.len() < p.min_epochs.max(1) {
                continue;
            }
            // Stop as soon as the mean can no longer reach the threshold: most pairs are not
            // copies and fail within a few epochs.
            let need = p.threshold * usable.len() as f64;
            let mut sum = 0.0;
            let mut used = Vec::with_capacity(usable.len());
            for (k, &(t, now, then, same)) in usable.iter().enumerate() {
                let sim = similarity(now, then);
                sum += sim;
                if sum + (usable.len() - k - 1) as f64 + 1e-9 < need {
                    continue 'lags;
                }
                used.push(CopiedEpoch {
                    block: self.blocks[t],
                    source_block: self.blocks[t - lag],
                    similarity: sim,
                    same_epoch_similarity: same,
                });
            }
            let count = used.len() as f64;
            let mean = used.iter().map(|e| e.similarity).sum::<f64>() / count;
            let same = used.iter().map(|e| e.same_epoch_similarity).sum::<f64>() / count;
            let passes = mean >= p.threshold && mean - same >= p.min_gain;
            if passes && best.as_ref().is_none_or(|b| mean > b.similarity) {
                best = Some(WeightCopying {
                    copier,
                    source,
                    lag,
                    similarity: mean,
                    same_epoch_similarity: same,
                    epochs: used,
                    other_sources: Vec::new(),
                });
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stream of numbers in `[0, 1)` (xorshift), so tests need no RNG crate.
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// The "true" quality of 16 miners at epoch `t`: drifting, so rows change between epochs.
    fn truth(t: usize) -> Vec<f64> {
        (0..16)
            .map(|j| 1.0 + ((j * 7 + t * 3) % 11) as f64 / 10.0 + (t as f64 * 0.3 + j as f64).sin())
            .map(|x: f64| x.max(0.05))
            .collect()
    }

    /// A row scoring `truth(t)` with multiplicative noise of `noise` (0.02 is 2 %).
    fn scored(t: usize, noise: f64, rng: &mut Noise) -> Vec<(Uid, f64)> {
        truth(t)
            .into_iter()
            .enumerate()
            .map(|(j, q)| {
                (
                    Uid(j as u16 + 10),
                    q * (1.0 + noise * (2.0 * rng.next() - 1.0)),
                )
            })
            .collect()
    }

    fn history(
        epochs: usize,
        mut rows: impl FnMut(usize) -> Vec<(u16, Vec<(Uid, f64)>)>,
    ) -> WeightsHistory {
        WeightsHistory {
            epochs: (0..epochs)
                .map(|t| EpochWeights {
                    block: Block(360 * t as u64 + 360),
                    rows: rows(t).into_iter().map(|(v, r)| (Uid(v), r)).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn similarity_is_shared_weight() {
        let p = normalise(&[(Uid(1), 3.0), (Uid(2), 1.0)]).unwrap();
        let q = normalise(&[(Uid(2), 2.0), (Uid(3), 2.0)]).unwrap();
        assert!((similarity(&p, &q) - 0.25).abs() < 1e-12);
        assert!((similarity(&p, &p) - 1.0).abs() < 1e-12);
        // Scale, order, duplicates and junk entries do not matter.
        let r = normalise(&[
            (Uid(2), 10.0),
            (Uid(1), 15.0),
            (Uid(1), 15.0),
            (Uid(4), -1.0),
            (Uid(5), f64::NAN),
        ])
        .unwrap();
        assert!((similarity(&p, &r) - 1.0).abs() < 1e-12);
        assert_eq!(normalise(&[(Uid(1), 0.0)]), None);
    }

    /// Two honest validators scoring the same drifting miners, with 2 % noise each and with
    /// 0.1 % noise each: close rows, but closest in the same epoch. Nothing is flagged.
    #[test]
    fn honest_pair_with_similar_rows_is_not_flagged() {
        for noise in [0.02, 0.001] {
            let mut rng = Noise(0x5eed);
            let h = history(12, |t| {
                vec![
                    (0, scored(t, noise, &mut rng)),
                    (1, scored(t, noise, &mut rng)),
                ]
            });
            let found = detect_weight_copying(&h, &CopyingParams::default());
            assert_eq!(found, CopyingFindings::default(), "noise {noise}");
        }
    }

    /// Validator 2 sets validator 0's previous-epoch row (as commit-reveal would let it);
    /// validator 1 is honest.
    #[test]
    fn copier_of_the_previous_epoch_is_flagged_at_lag_1() {
        let mut rng = Noise(7);
        let rows: Vec<Vec<(Uid, f64)>> = (0..10).map(|t| scored(t, 0.02, &mut rng)).collect();
        let mut honest = Noise(99);
        let h = history(10, |t| {
            let mut out = vec![(0, rows[t].clone()), (1, scored(t, 0.02, &mut honest))];
            if t > 0 {
                out.push((2, rows[t - 1].clone()));
            }
            out
        });
        let found = detect_weight_copying(&h, &CopyingParams::default());
        assert!(found.identical.is_empty());
        assert_eq!(found.copying.len(), 1, "{:?}", found.copying);
        let f = &found.copying[0];
        assert_eq!((f.copier, f.source, f.lag), (Uid(2), Uid(0), 1));
        // Validator 1 agrees with 0 to within noise, so the copier trails it too, less closely.
        assert_eq!(f.other_sources.len(), 1);
        assert_eq!(f.other_sources[0].source, Uid(1));
        assert!(f.other_sources[0].similarity < f.similarity);
        assert!(f.similarity > 0.999_999);
        assert!(f.same_epoch_similarity < 0.99);
        // Epochs 2..10: the copier has a row from epoch 1, the source one epoch earlier too.
        assert_eq!(f.epochs.len(), 9);
        assert_eq!(f.epochs[0].block, Block(360 * 2));
        assert_eq!(f.epochs[0].source_block, Block(360));
        let line = f.to_string();
        assert!(line.contains("uid 2 follows uid 0 1 epoch late"), "{line}");
    }

    /// A copier two epochs behind is found at lag 2, not at lag 1.
    #[test]
    fn the_best_lag_is_reported() {
        let mut rng = Noise(11);
        let rows: Vec<Vec<(Uid, f64)>> = (0..10).map(|t| scored(t, 0.02, &mut rng)).collect();
        let h = history(10, |t| {
            let mut out = vec![(0, rows[t].clone())];
            if t > 1 {
                out.push((1, rows[t - 2].clone()));
            }
            out
        });
        let found = detect_weight_copying(&h, &CopyingParams::default());
        assert_eq!(found.copying.len(), 1);
        assert_eq!(found.copying[0].lag, 2);
    }

    /// Validator 1 sets validator 0's row of the same epoch (scaled, as a re-upscale would):
    /// identical weights, not lagged copying.
    #[test]
    fn same_epoch_copy_is_identical_weights() {
        let mut rng = Noise(3);
        let h = history(5, |t| {
            let row = scored(t, 0.02, &mut rng);
            let scaled = row.iter().map(|&(j, w)| (j, w * 3.0)).collect();
            vec![(4, row), (1, scaled)]
        });
        let found = detect_weight_copying(&h, &CopyingParams::default());
        assert!(found.copying.is_empty(), "{:?}", found.copying);
        assert_eq!(found.identical.len(), 1);
        let f = &found.identical[0];
        assert_eq!(f.validators, [Uid(1), Uid(4)]);
        assert_eq!(f.blocks.len(), 5);
        assert_eq!(f.shared_epochs, 5);
        assert_eq!(f.support, 16);
        assert!(f.to_string().starts_with("identical weights: uids 1 and 4"));
    }

    /// Winner-take-all rows are alike for every honest validator: not identical weights.
    #[test]
    fn one_miner_rows_are_not_identical_weights() {
        let h = history(5, |_| {
            vec![(0, vec![(Uid(9), 1.0)]), (1, vec![(Uid(9), 1.0)])]
        });
        let found = detect_weight_copying(&h, &CopyingParams::default());
        assert_eq!(found, CopyingFindings::default());
    }

    /// Fewer epochs than `min_epochs`: no finding of either kind.
    #[test]
    fn short_histories_find_nothing() {
        let mut rng = Noise(5);
        let rows: Vec<Vec<(Uid, f64)>> = (0..3).map(|t| scored(t, 0.02, &mut rng)).collect();
        // Lag 1 has two comparable epochs; identical rows appear in two epochs.
        let h = history(3, |t| {
            let mut out = vec![(0, rows[t].clone())];
            if t > 0 {
                out.push((1, rows[t - 1].clone()));
            }
            if t < 2 {
                out.push((2, rows[t].clone()));
            }
            out
        });
        let found = detect_weight_copying(&h, &CopyingParams::default());
        assert_eq!(found, CopyingFindings::default());
        // With a lower bar both show.
        let params = CopyingParams {
            min_epochs: 2,
            ..CopyingParams::default()
        };
        let found = detect_weight_copying(&h, &params);
        assert_eq!(found.copying.len(), 1);
        assert_eq!(found.identical.len(), 1);
    }

    /// Snapshots from metagraphs keep non-empty rows as stored, in any order of blocks.
    #[test]
    fn history_from_metagraphs() {
        let mut m = Metagraph::empty(
            crate::chain::NetUid(1),
            Block(720),
            crate::chain::Hyperparameters::default(),
        );
        m.weights = vec![vec![(Uid(2), 65535), (Uid(3), 100)], vec![], vec![]];
        let e = EpochWeights::from_metagraph(&m);
        assert_eq!(e.block, Block(720));
        assert_eq!(e.rows.len(), 1);
        assert_eq!(e.rows[&Uid(0)], [(Uid(2), 65535.0), (Uid(3), 100.0)]);
        let json = serde_json::to_string(&WeightsHistory { epochs: vec![e] }).unwrap();
        let back: WeightsHistory = serde_json::from_str(&json).unwrap();
        assert_eq!(back.epochs[0].rows[&Uid(0)].len(), 2);
    }
}
