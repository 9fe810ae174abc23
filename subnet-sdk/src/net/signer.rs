//! Signing as a hotkey, with the expensive half of each signature done in idle time.
//!
//! A dendrite signs one request per miner it queries, all at once when a fan-out starts; an
//! axon signs every answer as the caller waits for it. Most of an sr25519 signature is drawing
//! the nonce and its commitment, which does not depend on the message ([`PreparedNonce`]). A
//! [`Signer`] keeps a pool of prepared nonces, refilled by one thread per process that the
//! operating system runs only when a core would otherwise idle (`SCHED_IDLE` on Linux), so a
//! signature on the hot path costs 2.8 µs instead of 26 µs (`docs/performance.md`). An empty
//! pool is never waited for: the signature is then made the ordinary way.
//!
//! Each nonce leaves the pool before it is used and is consumed by the signature, and its
//! slot is wiped, so none signs twice. A process forked from one holding a pool inherits a
//! copy of it; the pool notes the process it was made in, and a forked child never draws
//! from it (nor prepares nonces in the background). What this cannot see is a copy of the
//! whole process under the same pid: a restored VM snapshot or checkpoint. Two copies would
//! sign different messages with the same nonce, which reveals the key, so a neuron that runs
//! where it may be snapshotted and resumed twice should set its prepared nonces to `0`.
//! (Ordinary signatures are safe there, since schnorrkel mixes the message into the nonce.)

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, TryLockError, Weak};
use std::thread::Thread;
use std::time::Duration;

use subforge_core::identity::{Keypair, PreparedNonce};
use subforge_core::{Hotkey, Signature};
use zeroize::Zeroize;

/// Anything that signs as a hotkey: a plain [`Keypair`], or a [`Signer`].
pub trait HotkeySigner: Send + Sync {
    /// The hotkey whose signatures these are.
    fn hotkey(&self) -> Hotkey;
    /// An sr25519 signature over `message`, context `substrate`.
    fn sign(&self, message: &[u8]) -> Signature;
}

impl HotkeySigner for Keypair {
    fn hotkey(&self) -> Hotkey {
        Hotkey(self.public())
    }

    fn sign(&self, message: &[u8]) -> Signature {
        Keypair::sign(self, message)
    }
}

/// A hotkey's keypair with a pool of nonces prepared in idle time.
///
/// ```
/// # use subforge_core::identity::Keypair;
/// # use subforge_sdk::net::{HotkeySigner, Signer};
/// let signer = Signer::new(Keypair::from_uri("//Alice").unwrap(), 64);
/// signer.fill(); // optional: the pool also fills by itself when a core is idle
/// let signature = signer.sign(b"hello");
/// assert!(signer.hotkey().account().verify(b"hello", &signature));
/// ```
pub struct Signer {
    pool: Arc<Pool>,
    hotkey: Hotkey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("hotkey", &self.hotkey)
            .field("prepared", &self.prepared())
            .field("capacity", &self.pool.capacity)
            .finish()
    }
}

impl Signer {
    /// A signer for `keypair` keeping up to `capacity` prepared nonces (64 bytes each);
    /// `0` turns preparation off, so every signature is made the ordinary way.
    pub fn new(keypair: Keypair, capacity: usize) -> Self {
        let hotkey = Hotkey(keypair.public());
        let pool = Arc::new(Pool {
            keypair,
            capacity,
            // Room for a typical pool up front; a larger one grows as it fills.
            nonces: Mutex::new(Vec::with_capacity(capacity.min(4096))),
            process: std::process::id(),
        });
        if capacity > 0 {
            Preparer::global().adopt(&pool);
        }
        Self { pool, hotkey }
    }

    /// The keypair it signs with.
    pub fn keypair(&self) -> &Keypair {
        &self.pool.keypair
    }

    /// How many prepared nonces are waiting.
    pub fn prepared(&self) -> usize {
        self.pool.lock().len()
    }

    /// Prepares nonces on the calling thread until the pool is full (for example before a
    /// validator's first fan-out, or in a test).
    pub fn fill(&self) {
        self.pool.fill();
    }
}

impl HotkeySigner for Signer {
    fn hotkey(&self) -> Hotkey {
        self.hotkey
    }

    fn sign(&self, message: &[u8]) -> Signature {
        match self.pool.take() {
            Some(nonce) => {
                Preparer::global().wake();
                self.pool.keypair.sign_prepared(message, nonce)
            }
            None => self.pool.keypair.sign(message),
        }
    }
}

struct Pool {
    keypair: Keypair,
    capacity: usize,
    nonces: Mutex<Vec<PreparedNonce>>,
    /// The process the nonces were drawn in.
    process: u32,
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, Vec<PreparedNonce>> {
        self.nonces.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A prepared nonce, if one is at hand without waiting. The preparing thread runs at idle
    /// priority and may be descheduled while it holds the lock for a push; a signer never
    /// waits for it to run again, it signs the ordinary way instead.
    fn take(&self) -> Option<PreparedNonce> {
        if self.capacity == 0 || self.process != std::process::id() {
            return None;
        }
        let mut nonces = match self.nonces.try_lock() {
            Ok(nonces) => nonces,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        let nonce = nonces.pop();
        // The move out left the secret's bytes in the vacated slot: wipe them.
        if let Some(vacated) = nonces.spare_capacity_mut().first_mut() {
            vacated.zeroize();
        }
        nonce
    }

    fn missing(&self) -> usize {
        self.capacity.saturating_sub(self.lock().len())
    }

    /// Prepares nonces until the pool is full. The preparation runs outside the lock, so
    /// signing never waits for it.
    fn fill(&self) {
        if self.process != std::process::id() {
            return;
        }
        while self.missing() > 0 {
            let nonce = self.keypair.prepare_nonce();
            let mut nonces = self.lock();
            if nonces.len() < self.capacity {
                nonces.push(nonce);
            }
        }
    }
}

/// The process's one preparing thread and the pools it keeps full.
struct Preparer {
    pools: Mutex<Vec<Weak<Pool>>>,
    /// The thread, woken when a nonce is taken.
    thread: OnceLock<Thread>,
    /// The process the thread runs in: a forked child inherits this value but not the thread.
    process: u32,
}

/// How long the preparing thread sleeps between looks at the pools when nothing wakes it.
const IDLE_RECHECK: Duration = Duration::from_secs(1);

impl Preparer {
    fn global() -> &'static Preparer {
        static PREPARER: OnceLock<&'static Preparer> = OnceLock::new();
        PREPARER.get_or_init(|| {
            let preparer: &'static Preparer = Box::leak(Box::new(Preparer {
                pools: Mutex::new(Vec::new()),
                thread: OnceLock::new(),
                process: std::process::id(),
            }));
            let spawned = std::thread::Builder::new()
                .name("subforge-nonces".to_owned())
                .spawn(move || preparer.run());
            match spawned {
                Ok(handle) => {
                    let _ = preparer.thread.set(handle.thread().clone());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "no thread to prepare signing nonces; signing without them");
                }
            }
            preparer
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Weak<Pool>>> {
        self.pools.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn adopt(&self, pool: &Arc<Pool>) {
        // In a forked child there is no thread to fill the pool, and a lock it held at the
        // fork would never be released: leave the pool empty.
        if self.process != std::process::id() {
            return;
        }
        self.lock().push(Arc::downgrade(pool));
        self.wake();
    }

    fn wake(&self) {
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
    }

    fn run(&self) {
        run_only_when_idle();
        loop {
            let needy = {
                let mut pools = self.lock();
                pools.retain(|p| p.strong_count() > 0);
                pools
                    .iter()
                    .filter_map(Weak::upgrade)
                    .find(|p| p.missing() > 0)
            };
            match needy {
                Some(pool) => pool.fill(),
                // A wake-up that came before this park makes it return at once.
                None => std::thread::park_timeout(IDLE_RECHECK),
            }
        }
    }
}

/// Lowers the calling thread to `SCHED_IDLE`: it runs only on a core nothing else wants.
/// Where that is refused (or elsewhere than Linux) the thread keeps its normal priority.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn run_only_when_idle() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `sched_setscheduler` only reads the `sched_param` behind the pointer, which is a
    // live local; pid 0 names the calling thread, and the call changes nothing else.
    let status = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    if status != 0 {
        tracing::info!(
            error = %std::io::Error::last_os_error(),
            "the nonce thread keeps its normal priority"
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn run_only_when_idle() {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn alice() -> Keypair {
        Keypair::from_uri("//Alice").unwrap()
    }

    #[test]
    fn signatures_from_the_pool_and_without_it_verify() {
        let signer = Signer::new(alice(), 8);
        signer.fill();
        assert_eq!(signer.prepared(), 8);
        let public = signer.hotkey();
        let mut seen = std::collections::HashSet::new();
        // Eight from the pool (unless the preparing thread adds some), then more than it holds.
        for i in 0..20u8 {
            let sig = signer.sign(&[i]);
            assert!(public.account().verify(&[i], &sig), "signature {i}");
            assert!(seen.insert(sig.0[..32].to_vec()), "a commitment came twice");
        }
    }

    #[test]
    fn the_preparing_thread_refills_a_drawn_pool() {
        let signer = Signer::new(alice(), 4);
        let deadline = Instant::now() + Duration::from_secs(30);
        while signer.prepared() < 4 {
            assert!(Instant::now() < deadline, "the pool was never filled");
            std::thread::sleep(Duration::from_millis(5));
        }
        for _ in 0..4 {
            let _ = signer.sign(b"drain");
        }
        while signer.prepared() < 4 {
            assert!(Instant::now() < deadline, "the pool was never refilled");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn capacity_zero_signs_the_ordinary_way() {
        let signer = Signer::new(alice(), 0);
        signer.fill();
        assert_eq!(signer.prepared(), 0);
        let sig = signer.sign(b"m");
        assert!(signer.hotkey().account().verify(b"m", &sig));
    }

    #[test]
    fn a_pool_from_another_process_is_never_drawn() {
        let foreign = Pool {
            keypair: alice(),
            capacity: 2,
            nonces: Mutex::new(vec![alice().prepare_nonce()]),
            process: std::process::id().wrapping_add(1),
        };
        assert!(foreign.take().is_none());
        foreign.fill();
        assert_eq!(foreign.lock().len(), 1);
    }

    #[test]
    fn a_dropped_signer_leaves_the_preparer() {
        let signer = Signer::new(alice(), 2);
        let weak = Arc::downgrade(&signer.pool);
        drop(signer);
        // The preparer holds a pool only while it fills it, so the pool and its secrets go
        // as soon as that is done.
        let deadline = Instant::now() + Duration::from_secs(30);
        while weak.upgrade().is_some() {
            assert!(Instant::now() < deadline, "the pool outlived its signer");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
