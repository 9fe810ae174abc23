//! Validator-side challenges: a list of random numbers from the validator's seed, and the
//! same list sorted as the reference. The same seed gives the same challenge on every machine,
//! so anyone can re-create a validator's challenge and re-run its scoring.

use subforge_core::rand_core::RngCore;
use subforge_core::{Challenge, GenerateError, Seed, TaskGenerator, async_trait};

use crate::task::{SortNumbers, Sorted};

/// Numbers in each challenge.
pub const LENGTH: usize = 16;
/// Numbers are drawn from `-RANGE..=RANGE`.
pub const RANGE: i64 = 999;

/// Makes challenges of `length` random numbers.
#[derive(Debug, Clone, Copy)]
pub struct NumberGenerator {
    length: usize,
}

impl Default for NumberGenerator {
    fn default() -> Self {
        Self::new(LENGTH)
    }
}

impl NumberGenerator {
    /// A generator of lists of `length` numbers.
    pub fn new(length: usize) -> Self {
        Self { length }
    }

    /// The challenge for `seed`.
    pub fn challenge(&self, seed: Seed) -> Challenge<SortNumbers> {
        let mut rng = seed.rng();
        let span = (2 * RANGE + 1) as u64;
        let numbers: Vec<i64> = (0..self.length)
            .map(|_| (rng.next_u64() % span) as i64 - RANGE)
            .collect();
        let mut sorted = numbers.clone();
        sorted.sort_unstable();
        Challenge {
            task: SortNumbers { numbers },
            reference: Sorted { numbers: sorted },
        }
    }
}

#[async_trait]
impl TaskGenerator<SortNumbers> for NumberGenerator {
    async fn generate(&self, seed: Seed) -> Result<Challenge<SortNumbers>, GenerateError> {
        Ok(self.challenge(seed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_challenge() {
        let g = NumberGenerator::default();
        for s in 0..100 {
            let c = g.challenge(Seed(s));
            let again = g.challenge(Seed(s));
            assert_eq!((&c.task, &c.reference), (&again.task, &again.reference));
            assert_eq!(c.task.numbers.len(), LENGTH);
            assert!(c.task.numbers.iter().all(|n| n.abs() <= RANGE));
            assert!(c.reference.numbers.is_sorted());
        }
        assert_ne!(g.challenge(Seed(1)).task, g.challenge(Seed(2)).task);
    }

    #[test]
    fn challenges_are_the_same_on_every_machine() {
        // ChaCha20 from the seed: these numbers are fixed for good. If they change, every
        // recorded challenge of this subnet stops being reproducible.
        let c = NumberGenerator::new(4).challenge(Seed(42));
        assert_eq!(c.task.numbers, [262, -935, -433, -974]);
    }
}
