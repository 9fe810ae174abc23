//! A scorer written once against `subforge_core::Scorer`, compiled natively and to
//! `wasm32-unknown-unknown`, giving bit-identical scores both ways.
//!
//! The task asks miners to reproduce a text; the reference is the exact text; a response scores
//! by its edit-distance similarity, discounted for latency and for a missing signature. The
//! last line of this file makes the crate a scoring module.

pub mod sample;
mod task;

use subforge_guest::core::{MinerResponse, ScoreError, Scorer};

pub use task::TextMatch;

/// Edit-distance similarity to the reference, discounted for latency and missing signatures.
#[derive(Debug, Clone, Copy, Default)]
pub struct EditDistance;

impl Scorer<TextMatch> for EditDistance {
    fn score(
        &self,
        _task: &TextMatch,
        reference: &String,
        responses: &[MinerResponse<TextMatch>],
    ) -> Result<Vec<f64>, ScoreError> {
        let reference: Vec<char> = reference.chars().collect();
        let mut row = Vec::new();
        Ok(responses
            .iter()
            .map(|r| {
                let Some(text) = r.ok() else { return 0.0 };
                let text: Vec<char> = text.chars().collect();
                let longest = reference.len().max(text.len()).max(1);
                let distance = levenshtein(&reference, &text, &mut row);
                let similarity = 1.0 - distance as f64 / longest as f64;
                // Whole microseconds, as on the wire; basic IEEE operations only, so every
                // platform rounds alike.
                let seconds = r.latency.as_micros() as f64 / 1e6;
                let speed = 1.0 / (1.0 + seconds / 12.0);
                let trust = if r.signature_verified { 1.0 } else { 0.5 };
                similarity * speed * trust
            })
            .collect())
    }
}

/// The Levenshtein distance between `a` and `b`, with one reusable row.
pub fn levenshtein(a: &[char], b: &[char], row: &mut Vec<usize>) -> usize {
    row.clear();
    row.extend(0..=b.len());
    for (i, ca) in a.iter().enumerate() {
        // The cell to the left stays in a register; iterating (not indexing) the row lets
        // both compilers drop the bounds checks.
        let mut diagonal = row[0];
        let mut left = i + 1;
        row[0] = left;
        for (cell, cb) in row[1..].iter_mut().zip(b) {
            let above = *cell;
            left = (diagonal + usize::from(ca != cb))
                .min(above + 1)
                .min(left + 1);
            *cell = left;
            diagonal = above;
        }
    }
    row[b.len()]
}

subforge_guest::export_scorer!(TextMatch, EditDistance);

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn distances() {
        let mut row = Vec::new();
        for (a, b, d) in [
            ("", "", 0),
            ("kitten", "sitting", 3),
            ("flaw", "lawn", 2),
            ("é漢", "e漢", 1),
            ("abc", "", 3),
        ] {
            assert_eq!(levenshtein(&chars(a), &chars(b), &mut row), d, "{a} {b}");
        }
    }
}
