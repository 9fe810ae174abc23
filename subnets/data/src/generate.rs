//! Validator-side challenges: rows drawn from the held-out split, their targets kept back.

use async_trait::async_trait;
use rand_core::RngCore;
use subforge_core::{Challenge, GenerateError, Seed, TaskGenerator};

use crate::data::{Split, diabetes};
use crate::task::{Regression, Targets};

/// Rows per challenge unless told otherwise.
pub const DEFAULT_ROWS: usize = 32;

/// Makes challenges of distinct held-out rows, chosen by the seed.
#[derive(Debug, Clone, Copy)]
pub struct RowGenerator {
    split: &'static Split,
    rows: usize,
}

impl RowGenerator {
    /// A generator over `split`'s held-out rows asking about `rows` of them per challenge
    /// (clamped to between 1 and the number of held-out rows).
    pub fn new(split: &'static Split, rows: usize) -> Self {
        Self {
            split,
            rows: rows.clamp(1, split.test.rows().max(1)),
        }
    }

    /// Rows per challenge.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The held-out rows a challenge from `seed` asks about, in the order asked.
    pub fn pick(&self, seed: Seed) -> Vec<usize> {
        let mut rng = seed.rng();
        let mut order: Vec<usize> = (0..self.split.test.rows()).collect();
        // The first steps of a Fisher-Yates shuffle. The modulo's bias (below 2^-50 for
        // a hundred rows) does not matter here; determinism does.
        let take = self.rows.min(order.len());
        for i in 0..take {
            let remaining = (order.len() - i) as u64;
            let j = i + (rng.next_u64() % remaining) as usize;
            order.swap(i, j);
        }
        order.truncate(take);
        order
    }

    /// The challenge for `seed`, synchronously.
    pub fn challenge(&self, seed: Seed) -> Challenge<Regression> {
        let test = &self.split.test;
        let picked = self.pick(seed);
        let mut features = Vec::with_capacity(picked.len() * test.columns());
        let mut targets = Vec::with_capacity(picked.len());
        for &i in &picked {
            features.extend_from_slice(test.row(i));
            targets.push(test.targets()[i]);
        }
        Challenge {
            task: Regression::new(self.split.feature_names.clone(), &features),
            reference: Targets::new(&targets),
        }
    }
}

/// [`DEFAULT_ROWS`] rows of the [`diabetes`] data set.
impl Default for RowGenerator {
    fn default() -> Self {
        Self::new(diabetes(), DEFAULT_ROWS)
    }
}

#[async_trait]
impl TaskGenerator<Regression> for RowGenerator {
    async fn generate(&self, seed: Seed) -> Result<Challenge<Regression>, GenerateError> {
        Ok(self.challenge(seed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_reproducible_and_well_formed() {
        let g = RowGenerator::default();
        assert_eq!(g.rows(), 32);
        let test = &diabetes().test;
        for s in 0..50 {
            let c = g.challenge(Seed(s));
            let again = g.challenge(Seed(s));
            assert_eq!(c.task, again.task);
            assert_eq!(c.reference, again.reference);
            assert_eq!((c.task.rows, c.task.columns), (32, 10));
            let features = c.task.decode_features().unwrap();
            let targets = c.reference.decode().unwrap();
            let mut picked = g.pick(Seed(s));
            for (k, &i) in picked.iter().enumerate() {
                assert_eq!(&features[k * 10..(k + 1) * 10], test.row(i));
                assert_eq!(targets[k], test.targets()[i]);
            }
            picked.sort_unstable();
            picked.dedup();
            assert_eq!(picked.len(), 32, "rows repeat");
        }
        assert_ne!(g.pick(Seed(1)), g.pick(Seed(2)));
    }

    #[test]
    fn row_counts_are_clamped() {
        assert_eq!(RowGenerator::new(diabetes(), 0).rows(), 1);
        let all = RowGenerator::new(diabetes(), 1000);
        assert_eq!(all.rows(), 89);
        let mut picked = all.pick(Seed(9));
        picked.sort_unstable();
        assert_eq!(picked, (0..89).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn generates_through_the_trait() {
        let g = RowGenerator::default();
        let c = g.generate(Seed(5)).await.unwrap();
        assert_eq!(c.task, g.challenge(Seed(5)).task);
    }
}
