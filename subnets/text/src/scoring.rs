//! Scoring continuations against the true one with ROUGE-L: the F1 of the longest common
//! subsequence of words. Pure arithmetic on integers and one division, so it gives the same
//! bits natively and in WASM.

use subforge_core::{MinerResponse, ScoreError, Scorer};

use crate::ngram::tokenize;
use crate::task::{Continuation, TextGeneration};

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
