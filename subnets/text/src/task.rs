//! The text subnet's task: continue a passage.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use subforge_core::Task;

/// Continue `prompt` with at most `max_words` words (punctuation counts as a word).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TextGeneration {
    /// The beginning of a passage.
    pub prompt: String,
    /// The most words the continuation may have; anything past it is ignored when scoring.
    pub max_words: u16,
}

/// A miner's continuation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Completion {
    /// The text that follows the prompt.
    pub text: String,
}

/// The validator's reference: how the passage really goes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// The true continuation.
    pub text: String,
}

impl Task for TextGeneration {
    const NAME: &'static str = "TextGeneration";
    const TIMEOUT: Duration = Duration::from_secs(5);
    type Response = Completion;
    type Reference = Continuation;
}

/// The same request as [`TextGeneration`], answered as a stream: the miner sends the
/// continuation's words as it produces them (UTF-8 text chunks). What the gateway uses for
/// streamed chat completions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TextStream {
    /// The beginning of a passage.
    pub prompt: String,
    /// The most words the continuation may have.
    pub max_words: u16,
}

impl Task for TextStream {
    const NAME: &'static str = "TextGenerationStream";
    const TIMEOUT: Duration = Duration::from_secs(5);
    type Response = Completion;
    type Reference = Continuation;
}

impl From<TextStream> for TextGeneration {
    fn from(s: TextStream) -> Self {
        Self {
            prompt: s.prompt,
            max_words: s.max_words,
        }
    }
}
