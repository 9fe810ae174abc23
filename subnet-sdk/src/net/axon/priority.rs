//! The priority gate: at most N handlers run at once; waiting requests are admitted highest
//! priority first (ties in arrival order). A waiter that gives up (deadline, disconnect)
//! leaves the queue without losing a slot.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

#[derive(Debug)]
struct Waiter {
    priority: f64,
    seq: u64,
    tx: oneshot::Sender<Grant>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Waiter {}
impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiter {
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority
            .total_cmp(&other.priority)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

#[derive(Debug)]
struct State {
    free: usize,
    queue: BinaryHeap<Waiter>,
    seq: u64,
}

/// Hands out handler slots by priority.
#[derive(Debug)]
pub(crate) struct PriorityGate {
    state: Mutex<State>,
    max_queued: usize,
}

/// A slot in transit to a waiter; if the waiter is gone it goes back to the gate.
#[derive(Debug)]
struct Grant(Option<Arc<PriorityGate>>);

impl Drop for Grant {
    fn drop(&mut self) {
        if let Some(gate) = self.0.take() {
            gate.release();
        }
    }
}

/// A running handler's slot, returned on drop.
#[derive(Debug)]
pub(crate) struct Slot(Arc<PriorityGate>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// The queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueueFull;

impl PriorityGate {
    pub(crate) fn new(slots: usize, max_queued: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                free: slots.max(1),
                queue: BinaryHeap::new(),
                seq: 0,
            }),
            max_queued,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for a slot; the future may be dropped at any time.
    pub(crate) async fn acquire(self: &Arc<Self>, priority: f64) -> Result<Slot, QueueFull> {
        let rx = {
            let mut st = self.lock();
            if st.free > 0 && st.queue.is_empty() {
                st.free -= 1;
                return Ok(Slot(Arc::clone(self)));
            }
            if st.queue.len() >= self.max_queued {
                return Err(QueueFull);
            }
            let (tx, rx) = oneshot::channel();
            st.seq += 1;
            let seq = st.seq;
            let priority = if priority.is_nan() { 0.0 } else { priority };
            st.queue.push(Waiter { priority, seq, tx });
            rx
        };
        match rx.await {
            Ok(mut grant) => {
                grant.0 = None;
                Ok(Slot(Arc::clone(self)))
            }
            // The gate dropped the sender without a grant: only when the gate is gone.
            Err(_) => Err(QueueFull),
        }
    }

    fn release(self: &Arc<Self>) {
        loop {
            let waiter = {
                let mut st = self.lock();
                match st.queue.pop() {
                    Some(w) => w,
                    None => {
                        st.free += 1;
                        return;
                    }
                }
            };
            match waiter.tx.send(Grant(Some(Arc::clone(self)))) {
                Ok(()) => return,
                // The waiter left; defuse the grant and offer the slot to the next one.
                Err(mut grant) => grant.0 = None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn higher_priority_first_and_cancelled_waiters_return_slots() {
        let gate = PriorityGate::new(1, 10);
        let first = gate.acquire(0.0).await.unwrap();
        let (order_tx, mut order_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for p in [1.0, 5.0, 3.0] {
            let gate = Arc::clone(&gate);
            let tx = order_tx.clone();
            tasks.push(tokio::spawn(async move {
                let slot = gate.acquire(p).await.unwrap();
                tx.send(p).unwrap();
                drop(slot);
            }));
            tokio::task::yield_now().await;
        }
        // A waiter that gives up must not swallow the slot.
        let quitter = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { gate.acquire(100.0).await.map(|_| ()) })
        };
        tokio::task::yield_now().await;
        quitter.abort();
        let _ = quitter.await;
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        let order: Vec<f64> = std::iter::from_fn(|| order_rx.try_recv().ok()).collect();
        assert_eq!(order, vec![5.0, 3.0, 1.0]);
        let _again = gate.acquire(0.0).await.unwrap();
    }

    #[tokio::test]
    async fn full_queue_is_refused() {
        let gate = PriorityGate::new(1, 1);
        let _held = gate.acquire(0.0).await.unwrap();
        let g2 = Arc::clone(&gate);
        let waiting = tokio::spawn(async move { g2.acquire(0.0).await.map(|_| ()) });
        tokio::task::yield_now().await;
        assert_eq!(gate.acquire(0.0).await.err(), Some(QueueFull));
        waiting.abort();
    }
}
