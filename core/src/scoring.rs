//! Scoring: turning miners' answers into numbers. Pure and deterministic, so that the same
//! inputs give the same bits on every validator, natively or as a WASM module.

use core::fmt;
use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::chain::Uid;
use crate::identity::Hotkey;
use crate::task::Task;

/// The outcome code of one query, with the Python SDK's HTTP meanings.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct StatusCode(pub u16);

impl StatusCode {
    /// Answered.
    pub const SUCCESS: Self = Self(200);
    /// Malformed request.
    pub const BAD_REQUEST: Self = Self(400);
    /// Signature or nonce refused.
    pub const UNAUTHORIZED: Self = Self(401);
    /// Blacklisted.
    pub const FORBIDDEN: Self = Self(403);
    /// Unknown task.
    pub const NOT_FOUND: Self = Self(404);
    /// Deadline passed.
    pub const TIMEOUT: Self = Self(408);
    /// Request too large.
    pub const PAYLOAD_TOO_LARGE: Self = Self(413);
    /// The answer could not be parsed.
    pub const UNPROCESSABLE: Self = Self(422);
    /// Too many requests.
    pub const TOO_MANY_REQUESTS: Self = Self(429);
    /// The miner failed.
    pub const INTERNAL_ERROR: Self = Self(500);
    /// Unreachable or overloaded.
    pub const UNAVAILABLE: Self = Self(503);

    /// Whether this is 200.
    pub const fn is_success(self) -> bool {
        self.0 == 200
    }
}

impl fmt::Debug for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatusCode({})", self.0)
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// One miner's answer to one query, as the validator saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct MinerResponse<T: Task> {
    /// The miner's uid.
    pub uid: Uid,
    /// The miner's hotkey (the one the query was addressed to).
    pub hotkey: Hotkey,
    /// The outcome.
    pub status: StatusCode,
    /// A human-readable account of the outcome (`Success`, or what went wrong).
    pub message: String,
    /// Time from sending the query to having the answer, in whole microseconds on the wire.
    #[serde(with = "micros")]
    pub latency: Duration,
    /// The answer, present exactly when the status is success.
    pub payload: Option<T::Response>,
    /// Whether the answer carried a valid signature of the miner's hotkey over its body.
    pub signature_verified: bool,
}

impl<T: Task> MinerResponse<T> {
    /// The answer, if the query succeeded.
    pub fn ok(&self) -> Option<&T::Response> {
        if self.status.is_success() {
            self.payload.as_ref()
        } else {
            None
        }
    }
}

mod micros {
    use core::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_micros)
    }
}

/// Why scoring failed, or produced scores a validator must not use.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    /// The scorer could not score these inputs.
    #[error("scoring failed: {0}")]
    Failed(String),
    /// Not one score per response.
    #[error("the scorer returned {got} scores for {expected} responses")]
    WrongCount {
        /// Responses given.
        expected: usize,
        /// Scores returned.
        got: usize,
    },
    /// A score that is NaN, infinite or negative.
    #[error("score {index} is {value}; scores must be finite and non-negative")]
    InvalidScore {
        /// Its position.
        index: usize,
        /// The value.
        value: f64,
    },
}

/// Scores miners' answers to one challenge.
///
/// Must be pure and deterministic: no clocks, no randomness, no I/O, no dependence on
/// iteration order of hash maps. The same implementation compiles natively and, through the
/// guest kit, to a WASM module that gives bit-identical scores.
pub trait Scorer<T: Task>: Send + Sync {
    /// One finite, non-negative score per response, in the same order (higher is better).
    fn score(
        &self,
        task: &T,
        reference: &T::Reference,
        responses: &[MinerResponse<T>],
    ) -> Result<Vec<f64>, ScoreError>;
}

/// Checks a scorer's output: one finite, non-negative score per response.
pub fn check_scores(scores: &[f64], responses: usize) -> Result<(), ScoreError> {
    if scores.len() != responses {
        return Err(ScoreError::WrongCount {
            expected: responses,
            got: scores.len(),
        });
    }
    match scores.iter().position(|s| !s.is_finite() || *s < 0.0) {
        Some(index) => Err(ScoreError::InvalidScore {
            index,
            value: scores[index],
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::AccountId;

    #[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
    struct Sum(Vec<u32>);

    impl Task for Sum {
        const NAME: &'static str = "Sum";
        type Response = u64;
        type Reference = u64;
    }

    #[test]
    fn responses_serialize_with_integer_latency() {
        let r = MinerResponse::<Sum> {
            uid: Uid(3),
            hotkey: Hotkey(AccountId([1; 32])),
            status: StatusCode::SUCCESS,
            message: "Success".into(),
            latency: Duration::from_micros(1500),
            payload: Some(6),
            signature_verified: true,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["latency"], 1500);
        assert_eq!(v["uid"], 3);
        let back: MinerResponse<Sum> = serde_json::from_value(v).unwrap();
        assert_eq!(back.ok(), Some(&6));
    }

    #[test]
    fn score_checks() {
        assert!(check_scores(&[0.0, 1.5], 2).is_ok());
        assert_eq!(
            check_scores(&[1.0], 2),
            Err(ScoreError::WrongCount {
                expected: 2,
                got: 1
            })
        );
        assert!(matches!(
            check_scores(&[f64::NAN], 1),
            Err(ScoreError::InvalidScore { index: 0, .. })
        ));
        assert!(matches!(
            check_scores(&[1.0, -0.5], 2),
            Err(ScoreError::InvalidScore { index: 1, .. })
        ));
    }
}
