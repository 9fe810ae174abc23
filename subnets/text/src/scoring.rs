//! Scoring continuations against the true one with ROUGE-L: the F1 of the longest common
//! subsequence of words. Pure arithmetic on integers and one division, so it gives the same
//! bits natively and in WASM.

use subforge_core::{MinerResponse, ScoreError, Scorer};

use crate::ngram::tokenize;
use crate::task::{Completion, Continuation, TextGeneration};

/// No continuation is compared on more words than this, whatever `max_words` says: the
/// comparison is quadratic in length.
pub const MAX_SCORED_WORDS: usize = 256;

/// ROUGE-L F1 over lower-cased words and punctuation.
#[derive(Debug, Clone, Copy, Default)]
pub struct RougeL;

/// Lower-cased tokens, at most `limit` of them.
fn words(text: &str, limit: usize) -> Vec<String> {
    tokenize(text)
        .into_iter()
        .take(limit)
        .map(|t| t.to_lowercase())
        .collect()
}

/// Length of the longest common subsequence.
fn lcs(a: &[String], b: &[String]) -> usize {
    let mut row = vec![0usize; b.len() + 1];
    for x in a {
        let mut diagonal = 0;
        for (j, y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if x == y {
                diagonal + 1
            } else {
                above.max(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// ROUGE-L F1 of `candidate` against `reference`, in `[0, 1]`.
pub fn rouge_l(candidate: &str, reference: &str, limit: usize) -> f64 {
    let c = words(candidate, limit);
    let r = words(reference, limit);
    let common = lcs(&c, &r);
    if common == 0 {
        return 0.0;
    }
    // F1 = 2PR/(P+R) with P = common/|c| and R = common/|r|, which is 2·common/(|c|+|r|).
    (2 * common) as f64 / (c.len() + r.len()) as f64
}

/// The answer that agrees most with the others: each answer's ROUGE-L against every other
/// one, summed. With no reference at hand, what several independent miners agree on is the
/// best guess at how the passage goes on (a minimum-Bayes-risk choice). Ties go to the
/// earliest answer. `answers` must not be empty.
pub fn consensus(task: &TextGeneration, answers: &[&Completion]) -> usize {
    let limit = usize::from(task.max_words).min(MAX_SCORED_WORDS);
    let mut best = (0, f64::NEG_INFINITY);
    for (i, a) in answers.iter().enumerate() {
        let agreement: f64 = answers
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, b)| rouge_l(&a.text, &b.text, limit))
            .sum();
        if agreement > best.1 {
            best = (i, agreement);
        }
    }
    best.0
}

impl Scorer<TextGeneration> for RougeL {
    fn score(
        &self,
        task: &TextGeneration,
        reference: &Continuation,
        responses: &[MinerResponse<TextGeneration>],
    ) -> Result<Vec<f64>, ScoreError> {
        let limit = usize::from(task.max_words).min(MAX_SCORED_WORDS);
        Ok(responses
            .iter()
            .map(|r| {
                r.ok()
                    .map_or(0.0, |c| rouge_l(&c.text, &reference.text, limit))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consensus_picks_the_answer_the_others_agree_with() {
        let task = TextGeneration {
            prompt: "the river".into(),
            max_words: 16,
        };
        let c = |t: &str| Completion { text: t.into() };
        let (odd, head, whole, tail) = (
            c("purple engines hum softly"),
            c("runs down to the"),
            c("runs down to the old sea"),
            c("to the old sea"),
        );
        // `whole` shares four words with each of the others (0.8 + 0.8), `head` and `tail`
        // share two with each other (0.8 + 0.5 each): `whole` wins wherever it comes.
        assert_eq!(consensus(&task, &[&odd, &head, &whole, &tail]), 2);
        assert_eq!(consensus(&task, &[&whole, &odd, &tail, &head]), 0);
        assert_eq!(consensus(&task, &[&tail, &head, &odd, &whole]), 3);
        // No agreement at all: the earliest.
        assert_eq!(consensus(&task, &[&odd, &c("stone")]), 0);
        assert_eq!(consensus(&task, &[&odd]), 0);
    }

    #[test]
    fn rouge_l_values() {
        assert_eq!(rouge_l("by Dax.", "by Dax.", 16), 1.0);
        assert_eq!(rouge_l("", "by Dax.", 16), 0.0);
        assert_eq!(rouge_l("zzz qqq", "by Dax.", 16), 0.0);
        // LCS 2 ("by", "."), lengths 3 and 3.
        assert_eq!(rouge_l("by Bel.", "by Dax.", 16), 4.0 / 6.0);
        // Case does not matter; words past the limit do not count.
        assert_eq!(rouge_l("BY DAX. and a very long tail", "by Dax.", 3), 1.0);
    }
}
