//! A subnet's task as JSON in and JSON out: what a program that serves any subnet (the
//! gateway) calls miners with, without knowing the task's Rust type.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use subforge_core::{MinerResponse, StatusCode, Task, TaskSchema};

use super::dendrite::{ChunkStream, Dendrite, QueryError, SignedAnswer, Target};

/// Why a JSON task is not the task it claims to be: the field at fault and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The path of the field at fault (`max_words`, `items[2].id`; `.` for the whole body).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// A miner's answer as JSON, with its proof when it was signed.
#[derive(Debug, Clone)]
pub struct JsonAnswer {
    /// The outcome, as a [`MinerResponse`] reports it (status, message, latency).
    pub status: StatusCode,
    /// What went wrong, or `Success`.
    pub message: String,
    /// How long the miner took.
    pub latency: Duration,
    /// The response, present exactly when the status is success.
    pub response: Option<Value>,
    /// The signed raw answer, when the miner signed it and the signature checks.
    pub signed: Option<SignedAnswer>,
}

/// A task of some subnet, callable with JSON.
#[async_trait]
pub trait TaskEndpoint: Send + Sync {
    /// The task's name, schemas and default timeout.
    fn schema(&self) -> TaskSchema;

    /// How long a miner may take by default.
    fn timeout(&self) -> Duration;

    /// Whether miners stream their answers to this task (see [`super::StreamHandler`]).
    fn streams(&self) -> bool;

    /// Checks that `task` is this task, naming the field at fault if not.
    fn check(&self, task: &Value) -> Result<(), FieldError>;

    /// Whether the subnet can cheaply tell which of several answers to one task is best
    /// (see [`Endpoint::answered_best_by`]). When it can, the gateway collects the answers of
    /// the miners it asked at once and returns the best, not merely the first.
    fn picks(&self) -> bool {
        false
    }

    /// The index of the best of `answers` to `task`, when [`TaskEndpoint::picks`]; `None`
    /// when it does not, or when the task or an answer is not this task's.
    fn pick(&self, task: &Value, answers: &[&Value]) -> Option<usize> {
        let _ = (task, answers);
        None
    }

    /// Asks one miner. `task` must have passed [`TaskEndpoint::check`]; if not, the answer
    /// is a failure with status 400.
    async fn call(
        &self,
        dendrite: &Dendrite,
        target: &Target,
        task: &Value,
        timeout: Duration,
    ) -> JsonAnswer;

    /// Asks one miner for a streamed answer (for tasks whose miners stream).
    async fn stream(
        &self,
        dendrite: &Dendrite,
        target: &Target,
        task: &Value,
        timeout: Duration,
    ) -> Result<ChunkStream, QueryError>;
}

/// Parses `task` as `T`, with the path of the field at fault on failure.
fn parse<T: Task>(task: &Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize::<_, T>(task).map_err(|e| {
        let path = e.path().to_string();
        FieldError {
            field: if path.is_empty() {
                ".".to_owned()
            } else {
                path
            },
            message: e.into_inner().to_string(),
        }
    })
}

/// Chooses the best of several answers to one task, without a reference: the index into
/// `answers` (which is never empty). Must be cheap: it runs on the request path.
pub type Pick<T> = fn(&T, &[&<T as Task>::Response]) -> usize;

/// The [`TaskEndpoint`] of task type `T`.
pub struct Endpoint<T: Task> {
    streams: bool,
    pick: Option<Pick<T>>,
}

impl<T: Task> std::fmt::Debug for Endpoint<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("task", &T::NAME)
            .field("streams", &self.streams)
            .field("picks", &self.pick.is_some())
            .finish()
    }
}

impl<T: Task> Endpoint<T> {
    /// Miners answer `T` with one JSON response; the first valid one wins.
    pub fn answered() -> Arc<dyn TaskEndpoint> {
        Arc::new(Self {
            streams: false,
            pick: None,
        })
    }

    /// Miners answer `T` with one JSON response, and `pick` chooses the best of those that
    /// arrive together (for instance the answer that agrees most with the others).
    pub fn answered_best_by(pick: Pick<T>) -> Arc<dyn TaskEndpoint> {
        Arc::new(Self {
            streams: false,
            pick: Some(pick),
        })
    }

    /// Miners stream their answers to `T`.
    pub fn streamed() -> Arc<dyn TaskEndpoint> {
        Arc::new(Self {
            streams: true,
            pick: None,
        })
    }
}

#[async_trait]
impl<T: Task> TaskEndpoint for Endpoint<T> {
    fn schema(&self) -> TaskSchema {
        T::schema()
    }

    fn timeout(&self) -> Duration {
        T::TIMEOUT
    }

    fn streams(&self) -> bool {
        self.streams
    }

    fn check(&self, task: &Value) -> Result<(), FieldError> {
        parse::<T>(task).map(|_| ())
    }

    fn picks(&self) -> bool {
        self.pick.is_some()
    }

    fn pick(&self, task: &Value, answers: &[&Value]) -> Option<usize> {
        let pick = self.pick?;
        if answers.is_empty() {
            return None;
        }
        let task = parse::<T>(task).ok()?;
        let typed: Vec<T::Response> = answers
            .iter()
            .map(|a| T::Response::deserialize(*a))
            .collect::<Result<_, _>>()
            .ok()?;
        let refs: Vec<&T::Response> = typed.iter().collect();
        let best = pick(&task, &refs);
        (best < answers.len()).then_some(best)
    }

    async fn call(
        &self,
        dendrite: &Dendrite,
        target: &Target,
        task: &Value,
        timeout: Duration,
    ) -> JsonAnswer {
        let task = match parse::<T>(task) {
            Ok(t) => t,
            Err(e) => {
                return JsonAnswer {
                    status: StatusCode(400),
                    message: e.to_string(),
                    latency: Duration::ZERO,
                    response: None,
                    signed: None,
                };
            }
        };
        let (answer, signed): (MinerResponse<T>, _) =
            dendrite.call_signed(target, &task, timeout).await;
        let response = answer
            .payload
            .as_ref()
            .filter(|_| answer.status.is_success())
            .and_then(|p| serde_json::to_value(p).ok());
        JsonAnswer {
            status: answer.status,
            message: answer.message,
            latency: answer.latency,
            response,
            signed,
        }
    }

    async fn stream(
        &self,
        dendrite: &Dendrite,
        target: &Target,
        task: &Value,
        timeout: Duration,
    ) -> Result<ChunkStream, QueryError> {
        let task = parse::<T>(task).map_err(|e| QueryError::new(400, e.to_string()))?;
        dendrite.stream(target, &task, timeout).await
    }
}
