//! Tasks: what a validator asks, what a miner answers, and what the validator keeps to itself.

use core::fmt;
use core::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::canonical::canonical_json;

/// A unit of work a validator sends to miners.
///
/// The task value itself is what travels to the miner; [`Task::Response`] is what comes back;
/// [`Task::Reference`] is the validator's private ground truth, never sent, used only to score.
/// All three are plain serde types; the task and its response also describe themselves with a
/// JSON Schema, so a subnet's interface can be exported, checked and called from any language.
///
/// ```
/// use std::time::Duration;
/// use serde::{Deserialize, Serialize};
/// use subforge_core::Task;
///
/// #[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
/// struct Double { value: i64 }
///
/// impl Task for Double {
///     const NAME: &'static str = "Double";
///     const TIMEOUT: Duration = Duration::from_secs(2);
///     type Response = i64;
///     type Reference = i64;
/// }
///
/// assert_eq!(Double::schema().name, "Double");
/// ```
pub trait Task:
    Serialize + DeserializeOwned + schemars::JsonSchema + Clone + fmt::Debug + Send + Sync + 'static
{
    /// The task's stable name: the axon route (`POST /{NAME}`) and the Synapse class name
    /// Python peers use. ASCII letters, digits and `_`, starting with a letter.
    const NAME: &'static str;

    /// How long a validator waits for an answer unless told otherwise.
    const TIMEOUT: Duration = Duration::from_secs(12);

    /// The fields a Synapse-protocol body hash covers, in order: the Python class's
    /// `required_hash_fields`. Empty (the Python default) binds no field to the signature, so
    /// set it to the task's inputs when talking to Python peers that declare them.
    const HASH_FIELDS: &'static [&'static str] = &[];

    /// What a miner returns.
    type Response: Serialize
        + DeserializeOwned
        + schemars::JsonSchema
        + Clone
        + fmt::Debug
        + Send
        + Sync
        + 'static;

    /// The validator's private ground truth for scoring; never sent to miners.
    type Reference: Serialize + DeserializeOwned + Clone + fmt::Debug + Send + Sync + 'static;

    /// The task's self-description: its name and the JSON Schemas of task and response.
    fn schema() -> TaskSchema {
        TaskSchema::of::<Self>()
    }
}

/// A task's self-description, as exported by `subforge schema` and embedded in WASM scorers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSchema {
    /// [`Task::NAME`].
    pub name: String,
    /// JSON Schema of the task.
    pub task: serde_json::Value,
    /// JSON Schema of the response.
    pub response: serde_json::Value,
}

impl TaskSchema {
    /// Builds the description of `T`.
    pub fn of<T: Task>() -> Self {
        Self {
            name: T::NAME.to_owned(),
            task: schemars::schema_for!(T).to_value(),
            response: schemars::schema_for!(T::Response).to_value(),
        }
    }

    /// SHA-256 over the canonical JSON (sorted keys, no white space) of the whole description.
    /// Two builds agree on a task's interface exactly when their hashes are equal.
    pub fn hash(&self) -> [u8; 32] {
        let value = serde_json::json!({
            "name": self.name,
            "task": self.task,
            "response": self.response,
        });
        Sha256::digest(canonical_json(&value).as_bytes()).into()
    }
}

/// Why a task name is not usable as a route and class name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "task name `{0}` is invalid: use ASCII letters, digits and `_`, starting with a letter, \
     at most 64 characters"
)]
pub struct InvalidTaskName(pub String);

/// Checks a task name: ASCII letters, digits and `_`, starting with a letter, 1 to 64 chars.
pub fn validate_task_name(name: &str) -> Result<(), InvalidTaskName> {
    let mut chars = name.chars();
    let ok = name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(InvalidTaskName(name.to_owned()))
    }
}

/// A task together with the validator's reference answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Challenge<T: Task> {
    /// What is sent to miners.
    pub task: T,
    /// What the validator keeps to score the answers.
    pub reference: T::Reference,
}

/// The seed a validator draws a challenge from. Recording it lets anyone re-create the
/// challenge and re-run the scoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seed(pub u64);

impl Seed {
    /// A ChaCha20 generator seeded from this seed: the same seed gives the same stream on
    /// every platform.
    pub fn rng(self) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::RngCore;

    #[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
    struct Echo {
        text: String,
    }

    impl Task for Echo {
        const NAME: &'static str = "Echo";
        type Response = String;
        type Reference = String;
    }

    #[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
    struct EchoTwo {
        text: String,
        times: u32,
    }

    impl Task for EchoTwo {
        const NAME: &'static str = "Echo";
        type Response = String;
        type Reference = String;
    }

    #[test]
    fn schema_hash_changes_with_the_interface() {
        let a = Echo::schema();
        assert_eq!(a.name, "Echo");
        assert_eq!(a.hash(), Echo::schema().hash());
        assert_ne!(a.hash(), EchoTwo::schema().hash());
        assert_eq!(Echo::TIMEOUT, Duration::from_secs(12));
    }

    #[test]
    fn task_names() {
        assert!(validate_task_name("TextGeneration").is_ok());
        assert!(validate_task_name("a_1").is_ok());
        for bad in ["", "1abc", "a-b", "a/b", "ü", &"a".repeat(65)] {
            assert!(validate_task_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn seeds_are_reproducible() {
        let a = Seed(7).rng().next_u64();
        assert_eq!(a, Seed(7).rng().next_u64());
        assert_ne!(a, Seed(8).rng().next_u64());
    }
}
