//! Miners: one that does the work, one that does part of it and one that does none, so a
//! localnet shows rewards following quality.

use subforge_core::async_trait;
use subforge_core::{Caller, HandlerError, MinerHandler};

use crate::task::{SortNumbers, Sorted};

/// The longest list a miner accepts: a bound on the work any one query can ask for.
pub const MAX_NUMBERS: usize = 10_000;

/// Refuses lists longer than [`MAX_NUMBERS`] (answered as 400 Bad Request).
fn check(task: &SortNumbers) -> Result<(), HandlerError> {
    if task.numbers.len() > MAX_NUMBERS {
        return Err(HandlerError::InvalidTask(format!(
            "{} numbers; at most {MAX_NUMBERS} are sorted",
            task.numbers.len()
        )));
    }
    Ok(())
}

/// An honest miner: sorts the whole list.
#[derive(Debug, Clone, Copy, Default)]
pub struct SortingMiner;

impl SortingMiner {
    /// Its answer to `task`.
    pub fn answer(&self, task: &SortNumbers) -> Sorted {
        let mut numbers = task.numbers.clone();
        numbers.sort_unstable();
        Sorted { numbers }
    }
}

#[async_trait]
impl MinerHandler<SortNumbers> for SortingMiner {
    async fn forward(&self, task: SortNumbers, _caller: &Caller) -> Result<Sorted, HandlerError> {
        check(&task)?;
        Ok(self.answer(&task))
    }
}

/// A sloppy miner: stops bubble sort after `passes` passes, so only the largest `passes`
/// numbers are sure to be in place. More passes, better answers.
#[derive(Debug, Clone, Copy)]
pub struct BubbleMiner {
    passes: usize,
}

impl BubbleMiner {
    /// A miner making `passes` passes.
    pub fn new(passes: usize) -> Self {
        Self { passes }
    }

    /// Its answer to `task`.
    pub fn answer(&self, task: &SortNumbers) -> Sorted {
        let mut numbers = task.numbers.clone();
        let len = numbers.len();
        for pass in 0..self.passes.min(len) {
            for i in 1..len - pass {
                if numbers[i - 1] > numbers[i] {
                    numbers.swap(i - 1, i);
                }
            }
        }
        Sorted { numbers }
    }
}

#[async_trait]
impl MinerHandler<SortNumbers> for BubbleMiner {
    async fn forward(&self, task: SortNumbers, _caller: &Caller) -> Result<Sorted, HandlerError> {
        check(&task)?;
        Ok(self.answer(&task))
    }
}

/// A lazy miner: sends the list back as it came.
#[derive(Debug, Clone, Copy, Default)]
pub struct LazyMiner;

#[async_trait]
impl MinerHandler<SortNumbers> for LazyMiner {
    async fn forward(&self, task: SortNumbers, _caller: &Caller) -> Result<Sorted, HandlerError> {
        Ok(Sorted {
            numbers: task.numbers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(numbers: &[i64]) -> SortNumbers {
        SortNumbers {
            numbers: numbers.to_vec(),
        }
    }

    #[test]
    fn the_honest_miner_sorts() {
        assert_eq!(
            SortingMiner.answer(&task(&[3, -1, 2, 2])).numbers,
            [-1, 2, 2, 3]
        );
    }

    #[test]
    fn each_bubble_pass_puts_the_next_largest_in_place() {
        let t = task(&[5, 4, 3, 2, 1]);
        assert_eq!(BubbleMiner::new(0).answer(&t).numbers, [5, 4, 3, 2, 1]);
        assert_eq!(BubbleMiner::new(1).answer(&t).numbers, [4, 3, 2, 1, 5]);
        assert_eq!(BubbleMiner::new(2).answer(&t).numbers, [3, 2, 1, 4, 5]);
        assert_eq!(BubbleMiner::new(99).answer(&t).numbers, [1, 2, 3, 4, 5]);
        assert!(BubbleMiner::new(3).answer(&task(&[])).numbers.is_empty());
    }

    #[test]
    fn overlong_lists_are_refused() {
        assert!(check(&task(&vec![0; MAX_NUMBERS])).is_ok());
        assert!(matches!(
            check(&task(&vec![0; MAX_NUMBERS + 1])),
            Err(HandlerError::InvalidTask(m)) if m.starts_with("10001 numbers")
        ));
    }
}
