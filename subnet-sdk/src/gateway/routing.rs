//! Which miners a query goes to: the metagraph's incentive (what validators think of each
//! miner) weighed with what the gateway saw itself (each miner's recent latency and failures).
//!
//! A miner's rank is `(incentive + 1/n) · (1 − failure rate) / (1 + latency in seconds)`:
//! incentive leads, a floor of `1/n` gives new and unrated miners a chance, and a miner that
//! fails or lags drops down quickly (both are moving averages over its last few answers, so it
//! climbs back when it recovers).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use subforge_core::{Hotkey, Metagraph};

use crate::net::Target;

/// Weight of a new observation in a miner's moving averages (about the last ten answers).
const ALPHA: f64 = 0.2;

/// Miners the board remembers; past it, the least recently seen are forgotten (a subnet has
/// at most a few thousand uids, each hotkey is one entry).
const MAX_MINERS: usize = 16_384;

/// What the gateway saw of one miner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Seen {
    /// Moving average of answer latency, in seconds.
    pub(crate) latency: f64,
    /// Moving average of failures (1 for a failure, 0 for an answer).
    pub(crate) failure: f64,
    /// Answers and failures counted.
    pub(crate) answers: u64,
    pub(crate) failures: u64,
    /// A counter for forgetting the least recently seen.
    last: u64,
}

/// The gateway's own record of every miner it asked, by hotkey (a uid changes hands).
#[derive(Debug, Default)]
pub(crate) struct Board {
    inner: Mutex<BoardInner>,
}

#[derive(Debug, Default)]
struct BoardInner {
    seen: HashMap<Hotkey, Seen>,
    clock: u64,
}

impl Board {
    /// Records an answer (`Ok(latency)`) or a failure of `miner`.
    pub(crate) fn record(&self, miner: Hotkey, outcome: Result<Duration, ()>) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.clock += 1;
        let clock = inner.clock;
        if inner.seen.len() >= MAX_MINERS && !inner.seen.contains_key(&miner) {
            // Forget the least recently seen half: rare, and cheap when it happens.
            let mut ages: Vec<u64> = inner.seen.values().map(|s| s.last).collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() / 2];
            inner.seen.retain(|_, s| s.last > cutoff);
        }
        let s = inner.seen.entry(miner).or_insert(Seen {
            latency: 0.0,
            failure: 0.0,
            answers: 0,
            failures: 0,
            last: clock,
        });
        s.last = clock;
        match outcome {
            Ok(latency) => {
                s.answers += 1;
                let l = latency.as_secs_f64();
                s.latency = if s.answers + s.failures == 1 {
                    l
                } else {
                    s.latency + ALPHA * (l - s.latency)
                };
                s.failure *= 1.0 - ALPHA;
            }
            Err(()) => {
                s.failures += 1;
                s.failure += ALPHA * (1.0 - s.failure);
            }
        }
    }

    /// What the gateway saw of `miner`, if anything.
    #[cfg(test)]
    pub(crate) fn seen(&self, miner: &Hotkey) -> Option<Seen> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .seen
            .get(miner)
            .copied()
    }

    /// The serving miners of `metagraph` (never `me`), best first.
    pub(crate) fn rank(&self, metagraph: &Metagraph, me: &Hotkey) -> Vec<Target> {
        let n = metagraph.n().max(1) as f64;
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut ranked: Vec<(f64, Target)> = Target::serving(metagraph)
            .into_iter()
            .filter(|t| t.hotkey != *me)
            .map(|t| {
                let incentive = metagraph
                    .incentive
                    .get(t.uid.index())
                    .map_or(0.0, |p| p.as_f64());
                let (latency, failure) = inner
                    .seen
                    .get(&t.hotkey)
                    .map_or((0.0, 0.0), |s| (s.latency, s.failure));
                let score = (incentive + 1.0 / n) * (1.0 - failure) / (1.0 + latency);
                (score, t)
            })
            .collect();
        // Best first; ties by uid, so the order is stable.
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.uid.cmp(&b.1.uid)));
        ranked.into_iter().map(|(_, t)| t).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use subforge_core::chain::{AxonInfo, AxonProtocol};
    use subforge_core::{AccountId, Block, Coldkey, Hyperparameters, NetUid, U16Proportion, Uid};

    use super::*;

    fn metagraph(incentives: &[u16]) -> Metagraph {
        let n = incentives.len();
        let hot = |i: usize| Hotkey(AccountId([i as u8 + 1; 32]));
        Metagraph {
            netuid: NetUid(1),
            block: Block(10),
            tempo: 10,
            last_step: Block(0),
            owner_coldkey: None,
            owner_hotkey: None,
            hyperparameters: Hyperparameters::default(),
            uids: (0..n).map(|i| Uid(i as u16)).collect(),
            hotkeys: (0..n).map(hot).collect(),
            coldkeys: (0..n).map(|_| Coldkey(AccountId([0; 32]))).collect(),
            stake: vec![subforge_core::Balance::ZERO; n],
            consensus: vec![U16Proportion(0); n],
            validator_trust: vec![U16Proportion(0); n],
            incentive: incentives.iter().map(|&i| U16Proportion(i)).collect(),
            dividends: vec![U16Proportion(0); n],
            emission: vec![subforge_core::Balance::ZERO; n],
            active: vec![true; n],
            last_update: vec![Block(0); n],
            validator_permit: vec![false; n],
            block_at_registration: vec![Block(0); n],
            axons: (0..n)
                .map(|i| AxonInfo {
                    block: Block(1),
                    version: 1,
                    ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                    port: 8000 + i as u16,
                    protocol: AxonProtocol(4),
                    placeholder1: 0,
                    placeholder2: 0,
                })
                .collect(),
            weights: vec![Vec::new(); n],
            bonds: vec![Vec::new(); n],
        }
    }

    fn uids(t: &[Target]) -> Vec<u16> {
        t.iter().map(|t| t.uid.0).collect()
    }

    #[test]
    fn incentive_leads_and_failures_and_latency_push_down() {
        let m = metagraph(&[0, 60_000, 5_000, 30_000]);
        let board = Board::default();
        let me = m.hotkeys[0];
        assert_eq!(
            uids(&board.rank(&m, &me)),
            [1, 3, 2],
            "never itself; by incentive"
        );

        // The best miner fails a few times in a row: it drops below the next.
        for _ in 0..3 {
            board.record(m.hotkeys[1], Err(()));
        }
        assert_eq!(uids(&board.rank(&m, &me)), [3, 1, 2]);
        // ... and climbs back as it answers again.
        for _ in 0..10 {
            board.record(m.hotkeys[1], Ok(Duration::from_millis(5)));
        }
        assert_eq!(uids(&board.rank(&m, &me))[0], 1);

        // A slow miner loses to an equal but quick one.
        let m = metagraph(&[0, 10_000, 10_000]);
        let board = Board::default();
        board.record(m.hotkeys[1], Ok(Duration::from_secs(2)));
        board.record(m.hotkeys[2], Ok(Duration::from_millis(20)));
        assert_eq!(uids(&board.rank(&m, &me)), [2, 1]);
        let seen = board.seen(&m.hotkeys[1]).unwrap();
        assert_eq!((seen.answers, seen.failures), (1, 0));
        assert!((seen.latency - 2.0).abs() < 1e-9);
    }

    #[test]
    fn unrated_miners_still_get_a_chance_and_memory_is_bounded() {
        let m = metagraph(&[0, 0, 0]);
        let board = Board::default();
        assert_eq!(
            uids(&board.rank(&m, &Hotkey(AccountId([99; 32])))),
            [0, 1, 2]
        );
        for i in 0..(MAX_MINERS as u32 + 10) {
            let mut raw = [0u8; 32];
            raw[..4].copy_from_slice(&i.to_le_bytes());
            board.record(Hotkey(AccountId(raw)), Ok(Duration::ZERO));
        }
        assert!(board.inner.lock().unwrap().seen.len() <= MAX_MINERS);
    }
}
