//! The bounds an axon enforces, with their defaults, and the in-flight counters behind the
//! per-IP and per-hotkey limits.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What an axon accepts, and how much at once. Every field has a default (see
/// [`AxonLimits::default`]) suited to a miner on a small machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AxonLimits {
    /// Largest request body; larger ones get 413. Default 8 MiB.
    pub max_body_bytes: usize,
    /// Largest request head (request line and headers); larger ones get 431. Default 32 KiB
    /// (at least 8 KiB is always allowed).
    pub max_header_bytes: usize,
    /// How long a connection may take to send a complete request head before it is closed;
    /// an idle keep-alive connection is closed after the same time. Default 5 s.
    pub header_read_timeout: Duration,
    /// Open connections; further ones are closed at once. Default 4096.
    pub max_connections: usize,
    /// Requests being processed or waiting; beyond it callers get 503. Default 1024.
    pub max_in_flight: usize,
    /// Handlers running at once; others wait, highest priority first. Default 256.
    pub max_concurrent_handlers: usize,
    /// Requests in flight from one IP address; beyond it 429. Default 256.
    pub per_ip_in_flight: usize,
    /// Requests in flight from one verified hotkey; beyond it 429. Default 64.
    pub per_hotkey_in_flight: usize,
    /// The longest deadline a caller may ask for; longer `timeout`s are cut to it. Default 60 s.
    pub max_timeout: Duration,
    /// Nonces remembered at once for replay protection. Default 1,048,576 (about 50 MB when
    /// full).
    pub nonce_capacity: usize,
}

impl Default for AxonLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 8 << 20,
            max_header_bytes: 32 << 10,
            header_read_timeout: Duration::from_secs(5),
            max_connections: 4096,
            max_in_flight: 1024,
            max_concurrent_handlers: 256,
            per_ip_in_flight: 256,
            per_hotkey_in_flight: 64,
            max_timeout: Duration::from_secs(60),
            nonce_capacity: 1 << 20,
        }
    }
}

/// Counts requests in flight per key, refusing beyond a limit. Entries vanish when their
/// count drops to zero, so memory follows the requests in flight, not the callers seen.
#[derive(Debug)]
pub(crate) struct PerKey<K: Eq + Hash> {
    counts: Mutex<HashMap<K, usize>>,
    limit: usize,
}

impl<K: Eq + Hash + Clone + Send + 'static> PerKey<K> {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            counts: Mutex::new(HashMap::new()),
            limit,
        })
    }

    /// A guard holding one slot for `key`, or `None` at the limit.
    pub(crate) fn acquire(self: &Arc<Self>, key: K) -> Option<PerKeyGuard<K>> {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = counts.entry(key.clone()).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(PerKeyGuard {
            owner: Arc::clone(self),
            key: Some(key),
        })
    }

    #[cfg(test)]
    pub(crate) fn keys(&self) -> usize {
        self.counts.lock().map_or(0, |c| c.len())
    }
}

/// One slot of a [`PerKey`] counter, released on drop.
#[derive(Debug)]
pub(crate) struct PerKeyGuard<K: Eq + Hash> {
    owner: Arc<PerKey<K>>,
    key: Option<K>,
}

impl<K: Eq + Hash> Drop for PerKeyGuard<K> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut counts = self
            .owner
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&key);
            }
        }
    }
}

/// A plain counter with a limit.
#[derive(Debug)]
pub(crate) struct Gauge {
    n: AtomicUsize,
    limit: usize,
}

impl Gauge {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            n: AtomicUsize::new(0),
            limit,
        })
    }

    pub(crate) fn acquire(self: &Arc<Self>) -> Option<GaugeGuard> {
        let prev = self.n.fetch_add(1, Ordering::AcqRel);
        if prev >= self.limit {
            self.n.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(GaugeGuard(Arc::clone(self)))
    }
}

/// One unit of a [`Gauge`], released on drop.
#[derive(Debug)]
pub(crate) struct GaugeGuard(Arc<Gauge>);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.n.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_key_limits_and_forgets() {
        let c = PerKey::new(2);
        let a1 = c.acquire("a").unwrap();
        let a2 = c.acquire("a").unwrap();
        assert!(c.acquire("a").is_none());
        let b = c.acquire("b").unwrap();
        drop(a1);
        let a3 = c.acquire("a").unwrap();
        drop((a2, a3, b));
        assert_eq!(c.keys(), 0);
        let g = Gauge::new(1);
        let one = g.acquire().unwrap();
        assert!(g.acquire().is_none());
        drop(one);
        assert!(g.acquire().is_some());
    }
}
