//! The miner's side: answering tasks, and deciding whom to answer first or at all.

use std::net::IpAddr;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::chain::{Balance, Uid};
use crate::identity::Hotkey;
use crate::task::Task;

/// The verified identity of whoever sent a request.
///
/// The hotkey is the one whose signature the axon checked before any handler code ran; uid,
/// stake and permit come from the latest metagraph, not from anything the caller claimed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The hotkey that signed the request.
    pub hotkey: Hotkey,
    /// Its uid on this subnet, if registered.
    pub uid: Option<Uid>,
    /// Its total stake on this subnet.
    pub stake: Balance,
    /// Whether it holds a validator permit.
    pub validator_permit: bool,
    /// The address the request came from.
    pub ip: Option<IpAddr>,
}

impl Caller {
    /// Whether the caller is registered on the subnet.
    pub const fn is_registered(&self) -> bool {
        self.uid.is_some()
    }
}

/// Whether a request may proceed to the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Serve it.
    Allow,
    /// Refuse it (403) with this reason.
    Deny(String),
}

/// Why a miner could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// The task is well-formed but unacceptable (answered as 400).
    #[error("invalid task: {0}")]
    InvalidTask(String),
    /// The miner cannot serve now, e.g. its model backend is down (answered as 503).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything else (answered as 500; the message stays in the miner's log).
    #[error("{0}")]
    Internal(String),
}

/// How a miner answers one kind of task.
///
/// The axon calls [`MinerHandler::blacklist`] and [`MinerHandler::priority`] with the verified
/// [`Caller`] and the decoded task before [`MinerHandler::forward`]; the defaults refuse
/// unregistered hotkeys and serve callers with more stake first.
#[async_trait]
pub trait MinerHandler<T: Task>: Send + Sync + 'static {
    /// Produces the answer to `task`.
    async fn forward(&self, task: T, caller: &Caller) -> Result<T::Response, HandlerError>;

    /// Decides whether to serve `caller` at all. Default: registered hotkeys only.
    async fn blacklist(&self, caller: &Caller, _task: &T) -> Verdict {
        if caller.is_registered() {
            Verdict::Allow
        } else {
            Verdict::Deny(format!("hotkey {} is not registered", caller.hotkey))
        }
    }

    /// Orders waiting requests: higher is served first. Default: the caller's stake in TAO.
    fn priority(&self, caller: &Caller, _task: &T) -> f64 {
        caller.stake.tao_f64()
    }
}

/// A shared handler is a handler: lets a runtime hold `Arc<dyn MinerHandler<T>>`.
#[async_trait]
impl<T: Task, H: MinerHandler<T> + ?Sized> MinerHandler<T> for std::sync::Arc<H> {
    async fn forward(&self, task: T, caller: &Caller) -> Result<T::Response, HandlerError> {
        (**self).forward(task, caller).await
    }

    async fn blacklist(&self, caller: &Caller, task: &T) -> Verdict {
        (**self).blacklist(caller, task).await
    }

    fn priority(&self, caller: &Caller, task: &T) -> f64 {
        (**self).priority(caller, task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::AccountId;

    #[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
    struct Ping;

    impl Task for Ping {
        const NAME: &'static str = "Ping";
        type Response = ();
        type Reference = ();
    }

    struct Pong;

    #[async_trait]
    impl MinerHandler<Ping> for Pong {
        async fn forward(&self, _: Ping, _: &Caller) -> Result<(), HandlerError> {
            Ok(())
        }
    }

    fn caller(uid: Option<Uid>, stake: u64) -> Caller {
        Caller {
            hotkey: Hotkey(AccountId([3; 32])),
            uid,
            stake: Balance::from_tao(stake),
            validator_permit: false,
            ip: None,
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        // The default hooks never await anything, so one poll finishes them.
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("default hook awaited"),
        }
    }

    #[test]
    fn default_hooks_refuse_unregistered_and_rank_by_stake() {
        let v = block_on(Pong.blacklist(&caller(None, 5), &Ping));
        assert!(matches!(v, Verdict::Deny(reason) if reason.contains("not registered")));
        assert_eq!(
            block_on(Pong.blacklist(&caller(Some(Uid(1)), 0), &Ping)),
            Verdict::Allow
        );
        assert!(
            Pong.priority(&caller(Some(Uid(1)), 10), &Ping)
                > Pong.priority(&caller(Some(Uid(2)), 1), &Ping)
        );
    }
}
