//! Integrity findings about a subnet, from data anyone can read: weight histories, stakes and
//! miners' answers.
//!
//! Each analysis is a pure function and each finding names its evidence (the uids or hotkeys,
//! the blocks or steps, the numbers that triggered it) in a typed struct with a one-line
//! [`Display`](fmt::Display):
//!
//! - [`detect_weight_copying`] ([`copying`]): validators whose weight rows track another's,
//!   one or more epochs late ([`WeightCopying`]), or equal it in the same epoch
//!   ([`IdenticalWeights`]).
//! - [`cabal_effect`] ([`cabal`]): what a set of colluding validators gains for its miners under
//!   the exact Yuma epoch, pushing them against behaving like everyone else ([`CabalReport`]);
//!   [`epoch_input`] reads the epoch input from a [`Metagraph`](crate::Metagraph).
//! - [`detect_alike_answers`] ([`answers`]): miners whose answers are identical or nearly so,
//!   step after step ([`AlikeAnswers`]).
//!
//! [`IntegrityReport`] gathers [`Finding`]s in a deterministic order, serializable with serde.
//!
//! A finding is evidence, not a verdict: honest validators with slow score averages also trail
//! the others, and honest miners agree on tasks with one right answer. Each analysis documents
//! what it cannot tell apart.

pub mod answers;
pub mod cabal;
pub mod copying;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use answers::{
    AlikeAnswers, Answer, AnswerParams, AnswerRule, AnswerScan, AnswerStep, NearMatch,
    SkippedAnswers, detect_alike_answers,
};
pub use cabal::{CabalError, CabalReport, FavouredMiner, cabal_effect, epoch_input};
pub use copying::{
    CopiedEpoch, CopyingFindings, CopyingParams, EpochWeights, IdenticalWeights, LaggedSource,
    WeightCopying, WeightsHistory, detect_weight_copying,
};

/// One integrity finding, with its evidence.
///
/// Serialized with a `kind` tag (`weight_copying`, `identical_weights`, `cabal`,
/// `alike_answers`) next to the fields of the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// A validator's rows match another's earlier rows better than its current ones.
    WeightCopying(WeightCopying),
    /// Two validators set the same weights in the same epochs.
    IdenticalWeights(IdenticalWeights),
    /// A cabal's stake share against kappa and what its push does to its miners' incentive.
    Cabal(CabalReport),
    /// Two miners' answers are identical or near-identical in many steps.
    AlikeAnswers(AlikeAnswers),
}

impl Finding {
    /// The finding's kind as it is serialized: `weight_copying`, `identical_weights`, `cabal`
    /// or `alike_answers`.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::WeightCopying(_) => "weight_copying",
            Self::IdenticalWeights(_) => "identical_weights",
            Self::Cabal(_) => "cabal",
            Self::AlikeAnswers(_) => "alike_answers",
        }
    }

    /// The order findings are reported in: by kind, then by the uids or hotkeys involved.
    fn sort_key(&self) -> (u8, Vec<u8>) {
        let mut key = Vec::new();
        let rank = match self {
            Self::WeightCopying(f) => {
                key.extend(f.copier.get().to_be_bytes());
                key.extend(f.source.get().to_be_bytes());
                key.extend((f.lag as u64).to_be_bytes());
                0
            }
            Self::IdenticalWeights(f) => {
                for uid in f.validators {
                    key.extend(uid.get().to_be_bytes());
                }
                1
            }
            Self::Cabal(f) => {
                key.extend(f.block.get().to_be_bytes());
                for group in [&f.cabal, &f.favoured] {
                    // Length first, so that [1, 2] + [3] and [1] + [2, 3] differ.
                    key.extend((group.len() as u64).to_be_bytes());
                    for uid in group {
                        key.extend(uid.get().to_be_bytes());
                    }
                }
                2
            }
            Self::AlikeAnswers(f) => {
                for hotkey in &f.hotkeys {
                    key.extend(hotkey.account().as_bytes());
                }
                3
            }
        };
        (rank, key)
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WeightCopying(x) => x.fmt(f),
            Self::IdenticalWeights(x) => x.fmt(f),
            Self::Cabal(x) => x.fmt(f),
            Self::AlikeAnswers(x) => x.fmt(f),
        }
    }
}

impl From<WeightCopying> for Finding {
    fn from(f: WeightCopying) -> Self {
        Self::WeightCopying(f)
    }
}

impl From<IdenticalWeights> for Finding {
    fn from(f: IdenticalWeights) -> Self {
        Self::IdenticalWeights(f)
    }
}

impl From<CabalReport> for Finding {
    fn from(f: CabalReport) -> Self {
        Self::Cabal(f)
    }
}

impl From<AlikeAnswers> for Finding {
    fn from(f: AlikeAnswers) -> Self {
        Self::AlikeAnswers(f)
    }
}

/// The findings of an integrity check of one subnet, in a deterministic order.
///
/// The order is by kind (weight copying, identical weights, cabal, alike answers), then by the
/// uids (copier, source, lag) or hotkeys involved; findings with equal keys keep the order
/// they were added in. [`IntegrityReport::new`], [`push`](IntegrityReport::push) and
/// [`extend`](IntegrityReport::extend) keep it sorted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IntegrityReport {
    /// The findings, sorted.
    pub findings: Vec<Finding>,
}

impl IntegrityReport {
    /// A report of these findings, sorted.
    pub fn new(findings: impl IntoIterator<Item = Finding>) -> Self {
        let mut report = Self {
            findings: findings.into_iter().collect(),
        };
        report.sort();
        report
    }

    /// Adds one finding, keeping the order.
    pub fn push(&mut self, finding: impl Into<Finding>) {
        self.findings.push(finding.into());
        self.sort();
    }

    /// Sorts the findings into the report's order (needed only after editing `findings`).
    pub fn sort(&mut self) {
        self.findings.sort_by_cached_key(Finding::sort_key);
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }

    /// The number of findings.
    pub fn len(&self) -> usize {
        self.findings.len()
    }
}

impl Extend<Finding> for IntegrityReport {
    fn extend<I: IntoIterator<Item = Finding>>(&mut self, iter: I) {
        self.findings.extend(iter);
        self.sort();
    }
}

impl FromIterator<Finding> for IntegrityReport {
    fn from_iter<I: IntoIterator<Item = Finding>>(iter: I) -> Self {
        Self::new(iter)
    }
}

impl fmt::Display for IntegrityReport {
    /// One line per finding, or `no findings`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.findings.is_empty() {
            return f.write_str("no findings");
        }
        for (i, finding) in self.findings.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{finding}")?;
        }
        Ok(())
    }
}

/// Up to `max` items joined by `, `, then `, … (k more)`: evidence lists on one line.
fn list<T: fmt::Display>(items: &[T], max: usize) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().take(max).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&item.to_string());
    }
    if items.len() > max {
        out.push_str(&format!(", … ({} more)", items.len() - max));
    }
    out
}

#[cfg(test)]
mod tests;
