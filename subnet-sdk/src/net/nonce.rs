//! Replay protection: the freshness window every convention enforces, and a bounded store of
//! the nonces already accepted inside it.
//!
//! A nonce is accepted once: the window rejects anything too old or too far ahead, and the
//! store remembers each accepted nonce for as long as the window could still let it through
//! again (the store's `retention`). Entries expire in arrival order, and the store holds at most
//! `capacity` of them, so memory stays flat however many distinct callers arrive; when it is
//! full of unexpired entries it refuses (fails closed) rather than forgetting a live one.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Why a nonce was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NonceError {
    /// Older than the window allows.
    #[error(
        "Nonce is too old: acceptable delta is {allowed:.2} seconds but request was {age:.2} seconds old"
    )]
    TooOld {
        /// Seconds the window reaches back.
        allowed: f64,
        /// The request's age in seconds.
        age: f64,
    },
    /// Further in the future than clock skew explains.
    #[error(
        "Nonce is too far in the future: {ahead:.2} seconds ahead, at most {allowed:.2} allowed"
    )]
    TooNew {
        /// Seconds of forward skew allowed.
        allowed: f64,
        /// How far ahead the nonce is, in seconds.
        ahead: f64,
    },
    /// Already accepted once inside the window.
    #[error("Nonce is too old, a newer one was last processed")]
    Replayed,
    /// The store is full of unexpired nonces; the request is refused rather than risk a replay.
    #[error("nonce store is full ({capacity} live entries)")]
    StoreFull {
        /// The store's capacity.
        capacity: usize,
    },
}

/// The current wall-clock time in nanoseconds since the Unix epoch (Python's `time.time_ns()`).
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A freshness window: how far back and how far ahead of now a nonce may lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// How far in the past.
    pub back: Duration,
    /// How far in the future (clock skew).
    pub ahead: Duration,
}

impl Window {
    /// Checks a nanosecond timestamp against the window at `now_ns`.
    pub fn check(&self, nonce_ns: u64, now_ns: u64) -> Result<(), NonceError> {
        let secs = |ns: u64| ns as f64 / 1e9;
        if nonce_ns < now_ns {
            let age = now_ns - nonce_ns;
            if u128::from(age) > self.back.as_nanos() {
                return Err(NonceError::TooOld {
                    allowed: self.back.as_secs_f64(),
                    age: secs(age),
                });
            }
        } else {
            let ahead = nonce_ns - now_ns;
            if u128::from(ahead) > self.ahead.as_nanos() {
                return Err(NonceError::TooNew {
                    allowed: self.ahead.as_secs_f64(),
                    ahead: secs(ahead),
                });
            }
        }
        Ok(())
    }
}

const SHARDS: usize = 16;

#[derive(Default)]
struct Shard {
    seen: HashMap<u128, Instant>,
    expiry: VecDeque<(Instant, u128)>,
}

impl Shard {
    fn expire(&mut self, now: Instant) {
        while let Some(&(at, key)) = self.expiry.front() {
            if at > now {
                break;
            }
            self.expiry.pop_front();
            if self.seen.get(&key) == Some(&at) {
                self.seen.remove(&key);
            }
        }
    }
}

/// A bounded, expiring set of accepted nonces, sharded to keep lock contention low.
pub struct NonceStore {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    capacity: usize,
    retention: Duration,
    keys: (RandomState, RandomState),
}

impl std::fmt::Debug for NonceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceStore")
            .field("capacity", &self.capacity)
            .field("retention", &self.retention)
            .field("len", &self.len())
            .finish()
    }
}

impl NonceStore {
    /// A store keeping each nonce for `retention`, holding at most `capacity` of them.
    pub fn new(capacity: usize, retention: Duration) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard,
            capacity: per_shard * SHARDS,
            retention,
            keys: (RandomState::new(), RandomState::new()),
        }
    }

    /// How long each accepted nonce is remembered.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// The most entries the store holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The number of live entries (expired ones are dropped lazily).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.seen.len()))
            .sum()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records `id` (anything naming one request: convention, hotkey and nonce) as seen at
    /// `now`; fails if it was already seen inside the retention or the store is full.
    pub fn check_and_insert<K: Hash + ?Sized>(
        &self,
        id: &K,
        now: Instant,
    ) -> Result<(), NonceError> {
        let key = self.fingerprint(id);
        // The low bits pick the shard; the fingerprint's keyed hash makes them uniform.
        let shard = &self.shards[(key as usize) % SHARDS];
        let mut shard = shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        shard.expire(now);
        if shard.seen.contains_key(&key) {
            return Err(NonceError::Replayed);
        }
        if shard.seen.len() >= self.per_shard {
            return Err(NonceError::StoreFull {
                capacity: self.capacity,
            });
        }
        let at = now + self.retention;
        shard.seen.insert(key, at);
        shard.expiry.push_back((at, key));
        Ok(())
    }

    /// A 128-bit keyed fingerprint: collisions between distinct requests are out of reach for
    /// a caller who does not know the process's random keys.
    fn fingerprint<K: Hash + ?Sized>(&self, id: &K) -> u128 {
        (u128::from(self.keys.0.hash_one(id)) << 64) | u128::from(self.keys.1.hash_one(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_edges() {
        let w = Window {
            back: Duration::from_secs(9),
            ahead: Duration::from_secs(4),
        };
        let now = 1_000_000_000_000;
        assert!(w.check(now, now).is_ok());
        assert!(w.check(now - 9_000_000_000, now).is_ok());
        assert_eq!(
            w.check(now - 10_000_000_000, now),
            Err(NonceError::TooOld {
                allowed: 9.0,
                age: 10.0
            })
        );
        assert_eq!(
            w.check(now - 10_000_000_000, now).unwrap_err().to_string(),
            "Nonce is too old: acceptable delta is 9.00 seconds but request was 10.00 seconds old"
        );
        assert!(w.check(now + 4_000_000_000, now).is_ok());
        assert!(matches!(
            w.check(now + 5_000_000_000, now),
            Err(NonceError::TooNew { .. })
        ));
        assert!(matches!(
            w.check(u64::MAX, now),
            Err(NonceError::TooNew { .. })
        ));
        assert!(matches!(w.check(0, now), Err(NonceError::TooOld { .. })));
    }

    #[test]
    fn replays_are_refused_until_expiry() {
        let store = NonceStore::new(1000, Duration::from_secs(10));
        let t0 = Instant::now();
        store.check_and_insert(&("legacy", 1u64), t0).unwrap();
        assert_eq!(
            store.check_and_insert(&("legacy", 1u64), t0 + Duration::from_secs(9)),
            Err(NonceError::Replayed)
        );
        store.check_and_insert(&("legacy", 2u64), t0).unwrap();
        store
            .check_and_insert(&("legacy", 1u64), t0 + Duration::from_secs(11))
            .unwrap();
    }

    #[test]
    fn a_million_distinct_callers_keep_memory_flat() {
        // 1,000,000 callers, one request each, 20,000 a second for 50 simulated seconds,
        // against a 2-second retention: at most ~40,000 entries are ever live.
        let store = NonceStore::new(64 * 1024, Duration::from_secs(2));
        let t0 = Instant::now();
        let mut peak = 0;
        for i in 0..1_000_000u64 {
            let now = t0 + Duration::from_micros(i * 50);
            store
                .check_and_insert(&(i, i.wrapping_mul(7)), now)
                .unwrap();
            if i % 10_000 == 0 {
                peak = peak.max(store.len());
            }
        }
        assert!(peak <= 41_000, "peak {peak}");
        let total_queued: usize = store
            .shards
            .iter()
            .map(|s| s.lock().unwrap().expiry.len())
            .sum();
        assert!(total_queued <= 41_000 + SHARDS, "queued {total_queued}");
    }

    #[test]
    fn a_full_store_fails_closed() {
        let store = NonceStore::new(SHARDS * 4, Duration::from_secs(60));
        let now = Instant::now();
        let mut refused = 0;
        for i in 0..10_000u64 {
            match store.check_and_insert(&i, now) {
                Ok(()) => {}
                Err(NonceError::StoreFull { capacity }) => {
                    assert_eq!(capacity, SHARDS * 4);
                    refused += 1;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(store.len(), SHARDS * 4);
        assert_eq!(refused, 10_000 - SHARDS * 4);
        // Once the entries expire the store accepts again.
        store
            .check_and_insert(&1_000_000u64, now + Duration::from_secs(61))
            .unwrap();
    }
}
