//! Miners for the text subnet: n-gram models of chosen order, and a lazy one that answers junk.

use async_trait::async_trait;
use rand_core::RngCore;
use subforge_core::{Caller, HandlerError, MinerHandler, Seed};

use crate::corpus::World;
use crate::ngram::NgramModel;
use crate::task::{Completion, TextGeneration};

/// Editions a built-in miner reads before it starts.
pub const TRAINING_EDITIONS: u64 = 4;

/// A miner answering with an n-gram model trained on the world's training editions.
#[derive(Debug, Clone)]
pub struct NgramMiner {
    model: NgramModel,
}

impl NgramMiner {
    /// Trains a model of `order` on `world` (order 1 guesses common words, order 5 recalls facts).
    pub fn train(world: &World, order: usize) -> Self {
        Self {
            model: NgramModel::train(order, &world.training_text(TRAINING_EDITIONS)),
        }
    }

    /// The continuation it gives.
    pub fn complete(&self, task: &TextGeneration) -> Completion {
        Completion {
            text: self
                .model
                .complete(&task.prompt, usize::from(task.max_words)),
        }
    }
}

#[async_trait]
impl MinerHandler<TextGeneration> for NgramMiner {
    async fn forward(&self, task: TextGeneration, _: &Caller) -> Result<Completion, HandlerError> {
        Ok(self.complete(&task))
    }
}

/// A lazy miner: random letters, no model at all.
#[derive(Debug, Clone, Copy)]
pub struct JunkMiner {
    seed: u64,
}

impl JunkMiner {
    /// A junk miner whose noise starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// The junk it gives for `task`.
    pub fn complete(&self, task: &TextGeneration) -> Completion {
        let mut rng = Seed(self.seed ^ task.prompt.len() as u64).rng();
        let words: Vec<String> = (0..task.max_words.min(64))
            .map(|_| {
                let len = 2 + rng.next_u32() % 6;
                (0..len)
                    .map(|_| char::from(b'a' + (rng.next_u32() % 26) as u8))
                    .collect()
            })
            .collect();
        Completion {
            text: words.join(" "),
        }
    }
}

#[async_trait]
impl MinerHandler<TextGeneration> for JunkMiner {
    async fn forward(&self, task: TextGeneration, _: &Caller) -> Result<Completion, HandlerError> {
        Ok(self.complete(&task))
    }
}
