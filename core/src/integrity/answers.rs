//! Miners answering alike: hotkeys whose answers are identical, or nearly so, step after
//! step.
//!
//! # Rules
//!
//! For every pair of hotkeys the scan counts the steps where both answered and the steps where
//! their answers matched:
//!
//! - **exact**: the same bytes (grouped by SHA-256 of the serialized answer);
//! - **near**: different bytes, but text whose word shingles overlap: the Jaccard similarity of
//!   the sets of [`shingle_words`](AnswerParams::shingle_words)-word shingles (words are runs of
//!   letters and digits, lowercased) is at least
//!   [`near_threshold`](AnswerParams::near_threshold). A text with fewer words than a shingle
//!   is one shingle.
//!
//! A pair is flagged by the exact rule when its exact matches number at least
//! [`min_steps`](AnswerParams::min_steps) and make up at least
//! [`min_fraction`](AnswerParams::min_fraction) of the steps both answered; otherwise by the
//! near rule when exact and near matches together do. With 3-word shingles and the default
//! 0.9, one changed word keeps a pair near only in texts of about 60 words or more (a changed
//! word touches up to three shingles); shorter texts must match up to case, spacing and
//! punctuation.
//!
//! # Bounds
//!
//! Exact matching sorts each step's digests: `O(n log n)` for `n` answers, plus one count per
//! matching pair. Near matching compares one answer per group of identical answers, at most
//! [`near_max_answers`](AnswerParams::near_max_answers) per step (the lowest uids first), each
//! at most [`near_max_bytes`](AnswerParams::near_max_bytes) long and valid UTF-8; answers
//! beyond the cap or the size are left out of the near rule and counted in
//! [`AnswerScan::skipped`]. Candidates are sorted by shingle count and a pair is compared only
//! if the smaller set holds at least `near_threshold` of the larger one's shingles (no Jaccard
//! similarity could reach the threshold otherwise), so a step costs at most
//! `near_max_answers² / 2` merges of two sorted shingle sets.
//!
//! # What it cannot tell apart
//!
//! Honest miners agree on tasks with one right answer. For such tasks set
//! [`common_answer_share`](AnswerParams::common_answer_share): an answer given by more than
//! that share of a step's miners (in steps with at least three answers) is taken as the common
//! answer and left out of both rules.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::list;
use crate::Blob;
use crate::chain::Uid;
use crate::identity::Hotkey;

/// One miner's serialized answer in one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The miner's uid when it answered.
    pub uid: Uid,
    /// The miner's hotkey: pairs are tracked by hotkey, since uids are reused.
    pub hotkey: Hotkey,
    /// The answer as serialized (for text tasks, the UTF-8 text).
    pub body: Blob,
}

/// The answers to one task (one validator step).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AnswerStep {
    /// The step's number, as the caller counts steps (a validator step, a block); it only
    /// names the step in findings.
    pub step: u64,
    /// The answers, in any order. A hotkey answering twice counts with its first answer.
    pub answers: Vec<Answer>,
}

/// The thresholds and bounds of [`detect_alike_answers`]. [`Default`] gives the values
/// documented on each field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerParams {
    /// Least number of matching steps for a finding (default 3).
    pub min_steps: usize,
    /// Least share of the steps both answered that must match (default 0.5).
    pub min_fraction: f64,
    /// Least Jaccard similarity of the word shingles for a near match (default 0.9).
    pub near_threshold: f64,
    /// Words per shingle (default 3; 0 counts as 1).
    pub shingle_words: usize,
    /// Most answers compared by the near rule per step (default 256).
    pub near_max_answers: usize,
    /// Largest answer, in bytes, the near rule reads (default 65536).
    pub near_max_bytes: usize,
    /// An identical answer given by more than this share of a step's answers (with at least
    /// three) is the common answer and is not evidence (default 1.0: never).
    pub common_answer_share: f64,
}

impl Default for AnswerParams {
    fn default() -> Self {
        Self {
            min_steps: 3,
            min_fraction: 0.5,
            near_threshold: 0.9,
            shingle_words: 3,
            near_max_answers: 256,
            near_max_bytes: 65_536,
            common_answer_share: 1.0,
        }
    }
}

/// Which rule flagged a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerRule {
    /// Identical bytes in enough steps.
    Exact,
    /// Identical or near-identical text in enough steps, but not identical bytes alone.
    Near,
}

/// A step where two answers were near-identical but not identical.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearMatch {
    /// The step.
    pub step: u64,
    /// The Jaccard similarity of the two answers' word shingles.
    pub similarity: f64,
}

/// Two hotkeys whose answers matched in many of the steps both answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlikeAnswers {
    /// The two hotkeys, in ascending byte order.
    pub hotkeys: [Hotkey; 2],
    /// Their uids in the last step either answered.
    pub uids: [Uid; 2],
    /// The rule that flagged them.
    pub rule: AnswerRule,
    /// The number of steps both answered.
    pub steps_both_answered: usize,
    /// The steps where their answers were identical.
    pub exact_steps: Vec<u64>,
    /// The steps where their answers were near-identical (and not identical).
    pub near_steps: Vec<NearMatch>,
    /// Matching steps under `rule` over `steps_both_answered`.
    pub fraction: f64,
}

impl AlikeAnswers {
    /// The steps that count under `rule`, in input order.
    pub fn matched_steps(&self) -> Vec<u64> {
        let mut steps = self.exact_steps.clone();
        if self.rule == AnswerRule::Near {
            steps.extend(self.near_steps.iter().map(|m| m.step));
        }
        steps
    }
}

impl fmt::Display for AlikeAnswers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps = self.matched_steps();
        write!(
            f,
            "{} answers: hotkeys {} (uid {}) and {} (uid {}) answered {} in {} of {} steps both \
             answered ({:.0}%): steps {}",
            match self.rule {
                AnswerRule::Exact => "identical",
                AnswerRule::Near => "near-identical",
            },
            self.hotkeys[0],
            self.uids[0],
            self.hotkeys[1],
            self.uids[1],
            match self.rule {
                AnswerRule::Exact => "identically",
                AnswerRule::Near => "alike",
            },
            steps.len(),
            self.steps_both_answered,
            self.fraction * 100.0,
            list(&steps, 8),
        )
    }
}

/// A step where some answers were left out of the near rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedAnswers {
    /// The step.
    pub step: u64,
    /// Answers beyond [`AnswerParams::near_max_answers`].
    pub over_cap: usize,
    /// Answers longer than [`AnswerParams::near_max_bytes`].
    pub too_long: usize,
}

/// What [`detect_alike_answers`] found, and what it did not compare.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AnswerScan {
    /// Flagged pairs, by hotkeys.
    pub alike: Vec<AlikeAnswers>,
    /// Steps where the near rule's bounds left answers out, in input order.
    pub skipped: Vec<SkippedAnswers>,
}

impl AnswerScan {
    /// The flagged pairs, as report entries.
    pub fn into_findings(self) -> Vec<super::Finding> {
        self.alike.into_iter().map(super::Finding::from).collect()
    }
}

/// What one pair matched, by step position.
#[derive(Default)]
struct PairMatches {
    exact: Vec<usize>,
    near: Vec<(usize, f64)>,
}

/// One answer of a step, ready to compare.
struct Prepared<'a> {
    hotkey: Hotkey,
    uid: Uid,
    body: &'a [u8],
    digest: [u8; 32],
}

/// Finds hotkeys answering alike over many steps. See the [module documentation](self).
pub fn detect_alike_answers(steps: &[AnswerStep], params: &AnswerParams) -> AnswerScan {
    // Per hotkey: the step positions it answered and its latest uid.
    let mut answered: BTreeMap<Hotkey, (Vec<usize>, Uid)> = BTreeMap::new();
    let mut pairs: BTreeMap<(Hotkey, Hotkey), PairMatches> = BTreeMap::new();
    let mut skipped = Vec::new();

    for (pos, step) in steps.iter().enumerate() {
        let mut prepared: Vec<Prepared<'_>> = Vec::with_capacity(step.answers.len());
        let mut seen: BTreeSet<Hotkey> = BTreeSet::new();
        for a in &step.answers {
            if !seen.insert(a.hotkey) {
                continue;
            }
            let entry = answered.entry(a.hotkey).or_default();
            entry.0.push(pos);
            entry.1 = a.uid;
            prepared.push(Prepared {
                hotkey: a.hotkey,
                uid: a.uid,
                body: a.body.as_bytes(),
                digest: Sha256::digest(a.body.as_bytes()).into(),
            });
        }
        let groups = exact_groups(&mut prepared, params);
        for group in &groups {
            for (k, x) in group.iter().enumerate() {
                for y in &group[k + 1..] {
                    pairs
                        .entry(pair(x.hotkey, y.hotkey))
                        .or_default()
                        .exact
                        .push(pos);
                }
            }
        }
        let (near, over_cap, too_long) = near_matches(&groups, params);
        for (gx, gy, similarity) in near {
            for x in groups[gx] {
                for y in groups[gy] {
                    let matches = pairs.entry(pair(x.hotkey, y.hotkey)).or_default();
                    matches.near.push((pos, similarity));
                }
            }
        }
        if over_cap + too_long > 0 {
            skipped.push(SkippedAnswers {
                step: step.step,
                over_cap,
                too_long,
            });
        }
    }

    let alike = pairs
        .into_iter()
        .filter_map(|((a, b), m)| {
            let (steps_a, uid_a) = answered.get(&a)?;
            let (steps_b, uid_b) = answered.get(&b)?;
            let both = common_count(steps_a, steps_b);
            let passes = |matched: usize| {
                matched >= params.min_steps.max(1)
                    && matched as f64 >= params.min_fraction * both as f64
            };
            let rule = if passes(m.exact.len()) {
                AnswerRule::Exact
            } else if passes(m.exact.len() + m.near.len()) {
                AnswerRule::Near
            } else {
                return None;
            };
            let matched = match rule {
                AnswerRule::Exact => m.exact.len(),
                AnswerRule::Near => m.exact.len() + m.near.len(),
            };
            let step_of = |p: usize| steps[p].step;
            Some(AlikeAnswers {
                hotkeys: [a, b],
                uids: [*uid_a, *uid_b],
                rule,
                steps_both_answered: both,
                exact_steps: m.exact.iter().map(|&p| step_of(p)).collect(),
                near_steps: m
                    .near
                    .iter()
                    .map(|&(p, similarity)| NearMatch {
                        step: step_of(p),
                        similarity,
                    })
                    .collect(),
                fraction: matched as f64 / both.max(1) as f64,
            })
        })
        .collect();
    AnswerScan { alike, skipped }
}

/// The pair in ascending order.
fn pair(x: Hotkey, y: Hotkey) -> (Hotkey, Hotkey) {
    if x <= y { (x, y) } else { (y, x) }
}

/// Groups a step's answers by digest (each group sorted by hotkey), leaving out common
/// answers. Singletons are groups too: the near rule compares them.
fn exact_groups<'p, 'a>(
    prepared: &'p mut [Prepared<'a>],
    params: &AnswerParams,
) -> Vec<&'p [Prepared<'a>]> {
    prepared.sort_by_key(|x| (x.digest, x.hotkey));
    let n = prepared.len();
    let common = |len: usize| n >= 3 && len as f64 > params.common_answer_share * n as f64;
    prepared
        .chunk_by(|x, y| x.digest == y.digest)
        .filter(|g| !common(g.len()))
        .collect()
}

/// Near-identical group pairs `(i, j, similarity)` of one step, and the numbers of answers left
/// out for the cap and for size.
fn near_matches(
    groups: &[&[Prepared<'_>]],
    params: &AnswerParams,
) -> (Vec<(usize, usize, f64)>, usize, usize) {
    let mut too_long = 0;
    // One candidate per group: its lowest uid stands for it.
    let mut candidates: Vec<(Uid, usize, &str)> = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let Some(first) = group.first() else {
            continue;
        };
        if first.body.len() > params.near_max_bytes {
            too_long += group.len();
            continue;
        }
        if let Ok(text) = std::str::from_utf8(first.body) {
            let uid = group.iter().map(|p| p.uid).min().unwrap_or(first.uid);
            candidates.push((uid, g, text));
        }
    }
    candidates.sort_by_key(|&(uid, g, _)| (uid, g));
    let over_cap: usize = candidates
        .iter()
        .skip(params.near_max_answers)
        .map(|&(_, g, _)| groups[g].len())
        .sum();
    candidates.truncate(params.near_max_answers);

    let mut sets: Vec<(usize, Vec<u64>)> = candidates
        .iter()
        .map(|&(_, g, text)| (g, shingles(text, params.shingle_words.max(1))))
        .filter(|(_, s)| !s.is_empty())
        .collect();
    sets.sort_by_key(|(g, s)| (s.len(), *g));

    let mut near = Vec::new();
    for (k, (gx, x)) in sets.iter().enumerate() {
        for (gy, y) in &sets[k + 1..] {
            // Jaccard ≤ |x| / |y| when |x| ≤ |y|; sets only grow from here.
            if (x.len() as f64) < params.near_threshold * y.len() as f64 {
                break;
            }
            let similarity = jaccard(x, y);
            if similarity >= params.near_threshold {
                near.push(((*gx).min(*gy), (*gx).max(*gy), similarity));
            }
        }
    }
    near.sort_by_key(|&(x, y, _)| (x, y));
    (near, over_cap, too_long)
}

/// The sorted, deduplicated 64-bit hashes of a text's `k`-word shingles.
fn shingles(text: &str, k: usize) -> Vec<u64> {
    let words: Vec<u64> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| fnv1a(FNV_OFFSET, w.to_lowercase().as_bytes()))
        .collect();
    let mut set: Vec<u64> = if words.is_empty() {
        Vec::new()
    } else {
        words
            .windows(k.min(words.len()))
            .map(|shingle| {
                shingle
                    .iter()
                    .fold(FNV_OFFSET, |h, w| fnv1a(h, &w.to_le_bytes()))
            })
            .collect()
    };
    set.sort_unstable();
    set.dedup();
    set
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// FNV-1a over `bytes`, continuing from `hash`: fast, and the same on every platform.
fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(hash, |h, &b| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME))
}

/// `|x ∩ y| / |x ∪ y|` of two sorted sets.
fn jaccard(x: &[u64], y: &[u64]) -> f64 {
    let common = common_count(x, y);
    let union = x.len() + y.len() - common;
    if union == 0 {
        return 0.0;
    }
    common as f64 / union as f64
}

/// The number of values in both of two ascending slices.
fn common_count<T: Ord>(x: &[T], y: &[T]) -> usize {
    let (mut i, mut j, mut common) = (0, 0, 0);
    while let (Some(a), Some(b)) = (x.get(i), y.get(j)) {
        match a.cmp(b) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::AccountId;

    fn hotkey(k: u8) -> Hotkey {
        Hotkey(AccountId([k; 32]))
    }

    fn answer(uid: u16, text: &str) -> Answer {
        Answer {
            uid: Uid(uid),
            hotkey: hotkey(uid as u8),
            body: Blob(text.as_bytes().to_vec()),
        }
    }

    /// A text of `words` distinct words for step `step` and miner `miner`.
    fn essay(step: u64, miner: u16, words: usize) -> String {
        (0..words)
            .map(|w| format!("w{step}x{miner}y{w}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Five steps: miners 1..=4 answer differently each step, miner 5 returns miner 2's bytes.
    fn steps(copy: impl Fn(&str) -> String) -> Vec<AnswerStep> {
        (0..5)
            .map(|s| {
                let mut answers: Vec<Answer> =
                    (1..=4).map(|m| answer(m, &essay(s, m, 80))).collect();
                answers.push(answer(5, &copy(&essay(s, 2, 80))));
                AnswerStep {
                    step: 100 + s,
                    answers,
                }
            })
            .collect()
    }

    #[test]
    fn identical_answers_are_flagged_exactly() {
        let scan = detect_alike_answers(&steps(str::to_owned), &AnswerParams::default());
        assert!(scan.skipped.is_empty());
        assert_eq!(scan.alike.len(), 1, "{:?}", scan.alike);
        let f = &scan.alike[0];
        assert_eq!(f.hotkeys, [hotkey(2), hotkey(5)]);
        assert_eq!(f.uids, [Uid(2), Uid(5)]);
        assert_eq!(f.rule, AnswerRule::Exact);
        assert_eq!(f.exact_steps, [100, 101, 102, 103, 104]);
        assert!(f.near_steps.is_empty());
        assert_eq!(f.steps_both_answered, 5);
        assert_eq!(f.fraction, 1.0);
        assert!(f.to_string().starts_with("identical answers: hotkeys"));
    }

    #[test]
    fn different_answers_are_not_flagged() {
        let scan =
            detect_alike_answers(&steps(|_| "my own answer".into()), &AnswerParams::default());
        // Miner 5 now says the same short thing every step: alike only with itself.
        assert!(scan.alike.is_empty(), "{:?}", scan.alike);
    }

    /// One word changed in an 80-word answer: Jaccard (78 − 3) / (78 + 3) ≈ 0.926.
    #[test]
    fn one_changed_word_is_near_not_exact() {
        let edit = |text: &str| text.replacen("y40", "y40changed", 1);
        let scan = detect_alike_answers(&steps(edit), &AnswerParams::default());
        assert_eq!(scan.alike.len(), 1, "{:?}", scan.alike);
        let f = &scan.alike[0];
        assert_eq!(f.hotkeys, [hotkey(2), hotkey(5)]);
        assert_eq!(f.rule, AnswerRule::Near);
        assert!(f.exact_steps.is_empty());
        assert_eq!(f.near_steps.len(), 5);
        assert!((f.near_steps[0].similarity - 75.0 / 81.0).abs() < 1e-12);
        assert!(f.to_string().starts_with("near-identical answers"));
        // Case, spacing and punctuation do not matter either.
        let shout = |text: &str| format!("{}!!", text.to_uppercase().replace(' ', ",  "));
        let scan = detect_alike_answers(&steps(shout), &AnswerParams::default());
        assert_eq!(scan.alike.len(), 1);
        assert_eq!(scan.alike[0].near_steps[0].similarity, 1.0);
    }

    /// Matching in two of five steps is below `min_steps`; in three of six answered it
    /// passes at a fraction of one half.
    #[test]
    fn matches_are_counted_against_steps_both_answered() {
        let mut s = steps(str::to_owned);
        for step in &mut s[2..] {
            step.answers[4].body = Blob(b"something else".to_vec());
        }
        let scan = detect_alike_answers(&s, &AnswerParams::default());
        assert!(scan.alike.is_empty());
        let mut s = steps(str::to_owned);
        for step in &mut s[3..] {
            step.answers[4].body = Blob(b"something else".to_vec());
        }
        s.push(AnswerStep {
            step: 105,
            answers: vec![answer(2, "a"), answer(5, "b")],
        });
        // Miner 2 is absent from a step: it does not count against the pair.
        s.push(AnswerStep {
            step: 106,
            answers: vec![answer(5, "b")],
        });
        let scan = detect_alike_answers(&s, &AnswerParams::default());
        assert_eq!(scan.alike.len(), 1);
        assert_eq!(scan.alike[0].steps_both_answered, 6);
        assert_eq!(scan.alike[0].exact_steps, [100, 101, 102]);
        assert_eq!(scan.alike[0].fraction, 0.5);
    }

    /// With a common-answer share, the answer most miners give is not evidence.
    #[test]
    fn common_answers_can_be_ignored() {
        let s: Vec<AnswerStep> = (0..4)
            .map(|step| AnswerStep {
                step,
                answers: (1..=5).map(|m| answer(m, "42")).collect(),
            })
            .collect();
        assert_eq!(
            detect_alike_answers(&s, &AnswerParams::default())
                .alike
                .len(),
            10
        );
        let params = AnswerParams {
            common_answer_share: 0.5,
            ..AnswerParams::default()
        };
        assert!(detect_alike_answers(&s, &params).alike.is_empty());
    }

    /// The near rule's bounds are reported, and binary answers are compared exactly only.
    #[test]
    fn near_bounds_are_reported() {
        let params = AnswerParams {
            near_max_answers: 3,
            near_max_bytes: 100,
            ..AnswerParams::default()
        };
        let mut s = steps(str::to_owned);
        s[0].answers.push(Answer {
            uid: Uid(9),
            hotkey: hotkey(9),
            body: Blob(vec![0xff, 0xfe]),
        });
        let scan = detect_alike_answers(&s, &params);
        // 80-word essays are longer than 100 bytes: all five answers are too long.
        assert_eq!(
            scan.skipped[0],
            SkippedAnswers {
                step: 100,
                over_cap: 0,
                too_long: 5
            }
        );
        assert_eq!(scan.alike.len(), 1);
        let short: Vec<AnswerStep> = vec![AnswerStep {
            step: 7,
            answers: (1..=5).map(|m| answer(m, &format!("answer {m}"))).collect(),
        }];
        let scan = detect_alike_answers(&short, &params);
        assert_eq!(
            scan.skipped,
            [SkippedAnswers {
                step: 7,
                over_cap: 2,
                too_long: 0
            }]
        );
    }

    #[test]
    fn duplicate_answers_of_a_hotkey_count_once() {
        let s: Vec<AnswerStep> = (0..3)
            .map(|step| AnswerStep {
                step,
                answers: vec![answer(1, "x y z"), answer(1, "x y z"), answer(2, "other")],
            })
            .collect();
        assert!(
            detect_alike_answers(&s, &AnswerParams::default())
                .alike
                .is_empty()
        );
    }

    #[test]
    fn shingles_and_jaccard() {
        assert_eq!(shingles("", 3), Vec::<u64>::new());
        assert_eq!(shingles("One two", 3), shingles("one, TWO.", 3));
        assert_eq!(shingles("a b c d", 3).len(), 2);
        let x = shingles("a b c d e", 3);
        let y = shingles("a b c d f", 3);
        assert!((jaccard(&x, &y) - 0.5).abs() < 1e-12);
    }
}
