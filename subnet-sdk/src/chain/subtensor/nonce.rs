//! Nonces that never collide with a transaction still in the pool.
//!
//! The chain's account nonce only counts included transactions, so a client that reads it
//! while one of its own transactions waits in the pool signs a second one with the same nonce,
//! and the node refuses it ("Priority is too low"). The node's `system_accountNextIndex`
//! counts the pool too. We ask it once per account, count up locally for each submission, and
//! forget the account after any failed submission, so the next one asks the node again rather
//! than trusting a count that a dropped transaction made wrong.

use std::collections::HashMap;
use std::future::Future;

use subforge_core::identity::AccountId;
use tokio::sync::Mutex;

use crate::chain::error::ChainError;

/// Accounts remembered at once; a process signs for a handful, so past this something is odd
/// and starting over costs one query per account.
const MAX_ACCOUNTS: usize = 1024;

/// The next nonce of each account this process signs for.
#[derive(Debug, Default)]
pub(crate) struct Nonces {
    next: Mutex<HashMap<AccountId, u64>>,
}

impl Nonces {
    /// Takes the nonce for `account`'s next transaction, asking the node with `fetch` when the
    /// account is not known. Concurrent callers for one account get consecutive nonces.
    pub(crate) async fn take<F, Fut>(
        &self,
        account: &AccountId,
        fetch: F,
    ) -> Result<u64, ChainError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<u64, ChainError>>,
    {
        // Held across the fetch, so two first submissions do not both ask and both get the
        // same answer.
        let mut next = self.next.lock().await;
        let nonce = match next.get(account) {
            Some(n) => *n,
            None => fetch().await?,
        };
        if next.len() >= MAX_ACCOUNTS && !next.contains_key(account) {
            next.clear();
        }
        next.insert(*account, nonce.saturating_add(1));
        Ok(nonce)
    }

    /// Forgets `account` after a failed submission: its next nonce comes from the node again.
    pub(crate) async fn forget(&self, account: &AccountId) {
        self.next.lock().await.remove(account);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// A node whose pool-aware next index is `chain` plus what it has seen submitted.
    #[derive(Default)]
    struct Node {
        included: AtomicU64,
        pooled: AtomicU64,
        asked: AtomicU64,
    }

    impl Node {
        async fn next_index(&self) -> Result<u64, ChainError> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            Ok(self.included.load(Ordering::SeqCst) + self.pooled.load(Ordering::SeqCst))
        }
    }

    #[tokio::test]
    async fn asks_once_then_counts_and_asks_again_after_a_failure() {
        let node = Node::default();
        node.included.store(7, Ordering::SeqCst);
        let nonces = Nonces::default();
        let me = AccountId([1; 32]);
        // Two transactions in a row while the first still waits in the pool: 7 then 8.
        assert_eq!(nonces.take(&me, || node.next_index()).await.unwrap(), 7);
        node.pooled.store(1, Ordering::SeqCst);
        assert_eq!(nonces.take(&me, || node.next_index()).await.unwrap(), 8);
        assert_eq!(node.asked.load(Ordering::SeqCst), 1, "asked once");

        // The second was refused (never pooled): the count is wrong now, so forget it.
        nonces.forget(&me).await;
        assert_eq!(nonces.take(&me, || node.next_index()).await.unwrap(), 8);
        assert_eq!(node.asked.load(Ordering::SeqCst), 2);

        // Another account is counted on its own.
        let other = AccountId([2; 32]);
        node.included.store(0, Ordering::SeqCst);
        node.pooled.store(0, Ordering::SeqCst);
        assert_eq!(nonces.take(&other, || node.next_index()).await.unwrap(), 0);
        assert_eq!(nonces.take(&me, || node.next_index()).await.unwrap(), 9);
    }

    #[tokio::test]
    async fn concurrent_takes_get_distinct_consecutive_nonces() {
        let node = Arc::new(Node::default());
        let nonces = Arc::new(Nonces::default());
        let me = AccountId([3; 32]);
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (node, nonces) = (node.clone(), nonces.clone());
                tokio::spawn(async move { nonces.take(&me, || node.next_index()).await.unwrap() })
            })
            .collect();
        let mut got = Vec::new();
        for t in tasks {
            got.push(t.await.unwrap());
        }
        got.sort_unstable();
        assert_eq!(got, (0..32).collect::<Vec<_>>());
        assert_eq!(node.asked.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_fetch_remembers_nothing() {
        let nonces = Nonces::default();
        let me = AccountId([4; 32]);
        let err = nonces
            .take(&me, || async {
                Err(ChainError::Connection {
                    message: "down".into(),
                })
            })
            .await;
        assert!(matches!(err, Err(ChainError::Connection { .. })));
        assert_eq!(nonces.take(&me, || async { Ok(5) }).await.unwrap(), 5);
    }

    #[tokio::test]
    async fn the_table_stays_bounded() {
        let nonces = Nonces::default();
        for i in 0..(MAX_ACCOUNTS as u64 * 3) {
            let mut raw = [0u8; 32];
            raw[..8].copy_from_slice(&i.to_le_bytes());
            nonces
                .take(&AccountId(raw), || async { Ok(0) })
                .await
                .unwrap();
        }
        assert!(nonces.next.lock().await.len() <= MAX_ACCOUNTS);
    }
}
