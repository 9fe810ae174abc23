//! Keeping a subnet's metagraph fresh: one fetch per new block, published through a
//! `tokio::sync::watch` channel so handlers and loops read the latest snapshot without waiting.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use subforge_core::{Metagraph, NetUid};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::chain::{Chain, ChainError};

/// How long to wait before re-subscribing after the block stream ends or fails.
const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// A running metagraph follower; stops when dropped.
#[derive(Debug)]
pub struct MetagraphSync {
    rx: watch::Receiver<Metagraph>,
    task: JoinHandle<()>,
}

impl MetagraphSync {
    /// Fetches `netuid`'s metagraph now, then again at every new block.
    ///
    /// Fails if the first fetch fails (for example, the subnet does not exist); later failures
    /// are logged and retried with backoff while the last good snapshot stays published.
    pub async fn start(chain: Arc<dyn Chain>, netuid: NetUid) -> Result<Self, ChainError> {
        let first = fetch(&*chain, netuid).await?;
        let (tx, rx) = watch::channel(first);
        let task = tokio::spawn(follow(chain, netuid, tx));
        Ok(Self { rx, task })
    }

    /// A receiver of every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Metagraph> {
        self.rx.clone()
    }

    /// The latest snapshot.
    pub fn latest(&self) -> Metagraph {
        self.rx.borrow().clone()
    }
}

impl Drop for MetagraphSync {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn fetch(chain: &dyn Chain, netuid: NetUid) -> Result<Metagraph, ChainError> {
    let m = chain.metagraph(netuid).await?;
    m.validate().map_err(|e| ChainError::Connection {
        message: format!("the chain sent an inconsistent metagraph: {e}"),
    })?;
    Ok(m)
}

async fn follow(chain: Arc<dyn Chain>, netuid: NetUid, tx: watch::Sender<Metagraph>) {
    let mut backoff = RETRY_MIN;
    loop {
        match chain.block_headers().await {
            Ok(mut headers) => {
                while let Some(header) = headers.next().await {
                    if tx.is_closed() {
                        return;
                    }
                    if header.number <= tx.borrow().block {
                        continue;
                    }
                    match fetch(&*chain, netuid).await {
                        Ok(m) => {
                            backoff = RETRY_MIN;
                            tx.send_if_modified(|old| {
                                let changed = *old != m;
                                *old = m;
                                changed
                            });
                        }
                        Err(e) => tracing::warn!(%netuid, error = %e, "metagraph refresh failed"),
                    }
                }
                tracing::warn!(%netuid, "the block stream ended; re-subscribing");
            }
            Err(e) => tracing::warn!(%netuid, error = %e, "cannot follow blocks"),
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(RETRY_MAX);
    }
}
