//! Extrinsics waiting for a block, in arrival order, with each signer's count (so the next
//! nonce accounts for what already waits).

use std::collections::{HashMap, HashSet, VecDeque};

use subforge_core::identity::AccountId;

use super::runtime::CheckedExtrinsic;
use crate::chain::error::ChainError;
use crate::chain::hash::H256;

/// Most extrinsics the pool holds.
pub const POOL_CAPACITY: usize = 262_144;

#[derive(Debug, Default)]
pub(super) struct Pool {
    queue: VecDeque<(H256, CheckedExtrinsic)>,
    pending: HashMap<AccountId, u64>,
    hashes: HashSet<H256>,
}

impl Pool {
    pub(super) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Extrinsics of `account` waiting.
    pub(super) fn pending(&self, account: &AccountId) -> u64 {
        self.pending.get(account).copied().unwrap_or(0)
    }

    pub(super) fn push(&mut self, xt: CheckedExtrinsic) -> Result<H256, ChainError> {
        if self.queue.len() >= POOL_CAPACITY {
            return Err(ChainError::PoolFull {
                capacity: POOL_CAPACITY,
            });
        }
        let hash = xt.hash();
        if !self.hashes.insert(hash) {
            let account = xt.get().signer;
            return Err(ChainError::StaleNonce {
                account,
                expected: xt.get().nonce + 1,
                got: xt.get().nonce,
            });
        }
        *self.pending.entry(xt.get().signer).or_default() += 1;
        self.queue.push_back((hash, xt));
        Ok(hash)
    }

    /// The oldest `max` extrinsics, for the next block.
    pub(super) fn take(&mut self, max: usize) -> Vec<CheckedExtrinsic> {
        let n = max.min(self.queue.len());
        self.queue
            .drain(..n)
            .map(|(hash, xt)| {
                self.hashes.remove(&hash);
                if let Some(p) = self.pending.get_mut(&xt.get().signer) {
                    *p = p.saturating_sub(1);
                    if *p == 0 {
                        self.pending.remove(&xt.get().signer);
                    }
                }
                xt
            })
            .collect()
    }

    /// After a block the state's nonces moved on; recount what still waits.
    pub(super) fn reset_pending(&mut self) {
        self.pending.clear();
        for (_, xt) in &self.queue {
            *self.pending.entry(xt.get().signer).or_default() += 1;
        }
    }
}
