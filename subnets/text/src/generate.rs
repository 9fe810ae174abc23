//! Validator-side challenges: a sentence from an edition no miner trained on, cut in two.

use async_trait::async_trait;
use rand_core::RngCore;
use subforge_core::{Challenge, GenerateError, Seed, TaskGenerator};

use crate::corpus::World;
use crate::ngram::{detokenize, tokenize};
use crate::task::{Continuation, TextGeneration};

/// Editions below this are for training; validators draw from editions above it.
pub const FIRST_HELD_OUT_EDITION: u64 = 1 << 32;

/// Makes challenges from held-out editions of the world.
#[derive(Debug, Clone)]
pub struct PassageGenerator {
    world: World,
    max_words: u16,
}

impl PassageGenerator {
    /// A generator over `world` asking for continuations of at most `max_words` words.
    pub fn new(world: World, max_words: u16) -> Self {
        Self { world, max_words }
    }

    /// The challenge for `seed`, synchronously.
    pub fn challenge(&self, seed: Seed) -> Challenge<TextGeneration> {
        let mut rng = seed.rng();
        let edition = self
            .world
            .edition(FIRST_HELD_OUT_EDITION + rng.next_u64() % 1024);
        let sentence = &edition[(rng.next_u64() % edition.len() as u64) as usize];
        let tokens = tokenize(sentence);
        // Keep at least two words of prompt and two of continuation.
        let cut = 2 + (rng.next_u64() % (tokens.len().saturating_sub(3).max(1)) as u64) as usize;
        let cut = cut.min(tokens.len().saturating_sub(2));
        let end = tokens.len().min(cut + usize::from(self.max_words));
        Challenge {
            task: TextGeneration {
                prompt: detokenize(&tokens[..cut]),
                max_words: self.max_words,
            },
            reference: Continuation {
                text: detokenize(&tokens[cut..end]),
            },
        }
    }
}

#[async_trait]
impl TaskGenerator<TextGeneration> for PassageGenerator {
    async fn generate(&self, seed: Seed) -> Result<Challenge<TextGeneration>, GenerateError> {
        Ok(self.challenge(seed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::WORLD_SEED;

    #[test]
    fn challenges_are_reproducible_and_well_formed() {
        let g = PassageGenerator::new(World::generate(WORLD_SEED), 16);
        for s in 0..200 {
            let c = g.challenge(Seed(s));
            assert_eq!(c.task, g.challenge(Seed(s)).task);
            assert!(tokenize(&c.task.prompt).len() >= 2, "{c:?}");
            assert!(tokenize(&c.reference.text).len() >= 2, "{c:?}");
            assert!(tokenize(&c.reference.text).len() <= 16);
        }
    }
}
