//! The validator's side of a task: making challenges.

use async_trait::async_trait;

use crate::task::{Challenge, Seed, Task};

/// Why a challenge could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not generate a challenge: {0}")]
pub struct GenerateError(pub String);

/// Makes challenges for one kind of task. Runs only on validators; may be slow or call
/// models. Given the same seed it should make the same challenge, so that a validator's
/// scoring can be re-run by anyone.
#[async_trait]
pub trait TaskGenerator<T: Task>: Send + Sync + 'static {
    /// Makes one challenge from `seed`.
    async fn generate(&self, seed: Seed) -> Result<Challenge<T>, GenerateError>;
}
