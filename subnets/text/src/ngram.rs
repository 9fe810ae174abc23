//! A word n-gram language model: trained in milliseconds at start-up, no download, and its
//! order sets its quality, which makes miners of clearly different skill for demonstrations.

use std::collections::HashMap;

/// Splits text into words and punctuation marks (`,` `.` and friends are tokens of their own).
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || c == '\'' || c == '-' {
            word.push(c);
        } else {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Joins tokens back into text, without a space before punctuation.
pub fn detokenize(tokens: &[String]) -> String {
    let mut out = String::new();
    for t in tokens {
        let punct = t.chars().all(|c| !c.is_alphanumeric());
        if !out.is_empty() && !punct {
            out.push(' ');
        }
        out.push_str(t);
    }
    out
}

/// Next-token statistics after one context: token → (count, position first seen).
type Followers = HashMap<u32, (u32, u32)>;

/// A word model of order `n`: it predicts the next token from the previous `n − 1`, backing
/// off to shorter contexts when a context was never seen. Prediction is greedy and
/// deterministic (ties go to the token seen first in training).
#[derive(Debug, Clone)]
pub struct NgramModel {
    order: usize,
    /// For each context length `k` in `0..order`: context → (next token → (count, first seen)).
    tables: Vec<HashMap<Vec<u32>, Followers>>,
    vocab: Vec<String>,
    ids: HashMap<String, u32>,
}

impl NgramModel {
    /// Trains a model of order `order` (at least 1) on `text`.
    pub fn train(order: usize, text: &str) -> Self {
        let order = order.max(1);
        let mut model = Self {
            order,
            tables: vec![HashMap::new(); order],
            vocab: Vec::new(),
            ids: HashMap::new(),
        };
        let ids: Vec<u32> = tokenize(text)
            .into_iter()
            .map(|t| model.intern(t))
            .collect();
        for (pos, &next) in ids.iter().enumerate() {
            for k in 0..order.min(pos + 1) {
                let context = ids[pos - k..pos].to_vec();
                let entry = model.tables[k]
                    .entry(context)
                    .or_default()
                    .entry(next)
                    .or_insert((0, pos as u32));
                entry.0 += 1;
            }
        }
        model
    }

    fn intern(&mut self, token: String) -> u32 {
        if let Some(&id) = self.ids.get(&token) {
            return id;
        }
        let id = self.vocab.len() as u32;
        self.ids.insert(token.clone(), id);
        self.vocab.push(token);
        id
    }

    /// The model's order.
    pub fn order(&self) -> usize {
        self.order
    }

    /// The most likely next token after `context`, if the model knows any token at all.
    fn next(&self, context: &[Option<u32>]) -> Option<u32> {
        for k in (0..self.order.min(context.len() + 1)).rev() {
            let tail = &context[context.len() - k..];
            let Some(ctx) = tail.iter().copied().collect::<Option<Vec<u32>>>() else {
                continue;
            };
            if let Some(nexts) = self.tables[k].get(&ctx) {
                return nexts
                    .iter()
                    .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.1.1.cmp(&a.1.1)))
                    .map(|(&tok, _)| tok);
            }
        }
        None
    }

    /// Continues `prompt` greedily with up to `max_words` tokens, stopping after a full stop.
    pub fn complete(&self, prompt: &str, max_words: usize) -> String {
        let mut context: Vec<Option<u32>> = tokenize(prompt)
            .iter()
            .map(|t| self.ids.get(t).copied())
            .collect();
        let mut out = Vec::new();
        for _ in 0..max_words {
            let Some(tok) = self.next(&context) else {
                break;
            };
            let word = self.vocab[tok as usize].clone();
            let stop = word == ".";
            out.push(word);
            context.push(Some(tok));
            if stop {
                break;
            }
        }
        detokenize(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_words_and_punctuation() {
        assert_eq!(
            tokenize("Hi, there. Don't-stop!"),
            ["Hi", ",", "there", ".", "Don't-stop", "!"]
        );
        assert_eq!(detokenize(&tokenize("a b, c.")), "a b, c.");
    }

    #[test]
    fn higher_orders_remember_longer_facts() {
        let text = "the city of Arn was founded by Bel . the city of Cor was founded by Dax . \
                    the city of Arn was founded by Bel .";
        let bigram = NgramModel::train(2, text);
        let fivegram = NgramModel::train(5, text);
        assert_eq!(
            fivegram.complete("the city of Cor was founded", 3),
            "by Dax."
        );
        // With one word of context, "by" is followed by Bel more often than Dax.
        assert_eq!(bigram.complete("the city of Cor was founded", 3), "by Bel.");
        assert_eq!(NgramModel::train(1, "").complete("anything", 3), "");
    }
}
