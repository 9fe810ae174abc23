//! The axon: a miner's HTTP server, one route per task, accepting the Synapse protocol,
//! `btauth/1` and Epistula.
//!
//! ```no_run
//! # use std::time::Duration;
//! # use subforge_core::{Caller, HandlerError, MinerHandler, Task, async_trait};
//! # use subforge_core::identity::Keypair;
//! # use subforge_sdk::net::Axon;
//! # #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
//! # struct Double { value: i64 }
//! # impl Task for Double { const NAME: &'static str = "Double"; type Response = i64; type Reference = i64; }
//! struct Doubler;
//!
//! #[async_trait]
//! impl MinerHandler<Double> for Doubler {
//!     async fn forward(&self, task: Double, _: &Caller) -> Result<i64, HandlerError> {
//!         Ok(task.value * 2)
//!     }
//! }
//!
//! # async fn run(hotkey: Keypair, metagraph: tokio::sync::watch::Receiver<subforge_core::Metagraph>) -> Result<(), Box<dyn std::error::Error>> {
//! let axon = Axon::builder(hotkey)
//!     .metagraph(metagraph)
//!     .serve::<Double, _>(Doubler)
//!     .bind("0.0.0.0:8091".parse()?)
//!     .await?;
//! println!("serving on {}", axon.local_addr());
//! # Ok(()) }
//! ```
//!
//! Every request goes through the same steps, and only a request that passes all of them
//! reaches handler code: bounds (in flight, per IP, body size and type) → signature of its
//! convention → freshness window → task route (404 only after a valid signature) → body
//! bound to the signature → per-hotkey bound → task decoded → `blacklist` with the verified
//! [`Caller`] → nonce recorded → `priority` queue → `forward` under the caller's deadline.

mod priority;
mod route;
mod stream;

pub use stream::{CallerGone, ChunkSink, StreamHandler};

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use subforge_core::identity::Keypair;
use subforge_core::{
    Balance, Block, Caller, Hotkey, Hyperparameters, Metagraph, MinerHandler, NetUid, Task,
    validate_task_name,
};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::limits::{AxonLimits, Gauge, PerKey};
use super::nonce::NonceStore;
use super::server::{ServerLimits, accept_loop};
use super::signer::{HotkeySigner, Signer};
use route::{Route, StreamRoute, UnaryRoute};

/// Why an axon could not start.
#[derive(Debug, thiserror::Error)]
pub enum AxonError {
    /// The address could not be bound.
    #[error("cannot bind the axon to {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A task name that cannot be a route.
    #[error(transparent)]
    TaskName(#[from] subforge_core::InvalidTaskName),
    /// Two handlers for one task name.
    #[error("task `{0}` is served twice")]
    DuplicateTask(&'static str),
}

/// The route that answers health checks: `GET /_health` gives `200 {"status":"ok"}` and
/// nothing else (no task names, no version). Task names cannot start with `_`, so it never
/// shadows a task.
pub const HEALTH_PATH: &str = "/_health";

/// Signing nonces an axon prepares by default: enough for a burst of answers to every
/// validator of a subnet (64 slots) at once, 4 KiB in all.
pub const AXON_PREPARED_NONCES: usize = 64;

pub(crate) struct Shared {
    pub(crate) signer: Signer,
    pub(crate) limits: AxonLimits,
    pub(crate) metagraph: watch::Receiver<Metagraph>,
    pub(crate) nonces: NonceStore,
    pub(crate) in_flight: Arc<Gauge>,
    pub(crate) per_ip: Arc<PerKey<IpAddr>>,
    pub(crate) per_hotkey: Arc<PerKey<Hotkey>>,
    pub(crate) gate: Arc<priority::PriorityGate>,
    pub(crate) routes: HashMap<&'static str, Arc<dyn Route>>,
}

impl Shared {
    /// The verified caller as the latest metagraph knows it.
    pub(crate) fn caller(&self, hotkey: Hotkey, ip: IpAddr) -> Caller {
        let m = self.metagraph.borrow();
        let uid = m.uid_of(&hotkey);
        let i = uid.map(|u| u.index());
        Caller {
            hotkey,
            uid,
            stake: i
                .and_then(|i| m.stake.get(i).copied())
                .unwrap_or(Balance::ZERO),
            validator_permit: i
                .and_then(|i| m.validator_permit.get(i).copied())
                .unwrap_or(false),
            ip: Some(ip),
        }
    }
}

/// Builds an [`Axon`]: its hotkey, where callers' identities come from, its limits and one
/// handler per task.
pub struct AxonBuilder {
    keypair: Keypair,
    prepared_nonces: usize,
    limits: AxonLimits,
    metagraph: Option<watch::Receiver<Metagraph>>,
    routes: HashMap<&'static str, Arc<dyn Route>>,
    error: Option<AxonError>,
}

impl std::fmt::Debug for AxonBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AxonBuilder")
            .field("hotkey", &self.keypair.public())
            .field("limits", &self.limits)
            .field("prepared_nonces", &self.prepared_nonces)
            .field("tasks", &self.routes.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AxonBuilder {
    /// Where callers' uid, stake and permit come from: the latest value of this channel
    /// (the `sync` loop publishes one per block). Default: an empty metagraph, so every
    /// caller is unregistered and the default `blacklist` refuses it.
    pub fn metagraph(mut self, metagraph: watch::Receiver<Metagraph>) -> Self {
        self.metagraph = Some(metagraph);
        self
    }

    /// Replaces the limits (default [`AxonLimits::default`]).
    pub fn limits(mut self, limits: AxonLimits) -> Self {
        self.limits = limits;
        self
    }

    /// How many signing nonces to prepare in idle time for signing answers (see
    /// [`Signer`]); default [`AXON_PREPARED_NONCES`], `0` for none.
    pub fn prepared_nonces(mut self, count: usize) -> Self {
        self.prepared_nonces = count;
        self
    }

    /// Serves task `T` at `POST /{T::NAME}` with `handler`.
    pub fn serve<T: Task, H: MinerHandler<T>>(self, handler: H) -> Self {
        self.route::<T>(Arc::new(UnaryRoute::<T, H>::new(handler)))
    }

    /// Serves streaming task `T` at `POST /{T::NAME}` with `handler`.
    pub fn stream<T: Task, H: StreamHandler<T>>(self, handler: H) -> Self {
        self.route::<T>(Arc::new(StreamRoute::<T, H>::new(handler)))
    }

    fn route<T: Task>(mut self, route: Arc<dyn Route>) -> Self {
        if let Err(e) = validate_task_name(T::NAME) {
            self.error.get_or_insert(e.into());
        } else if self.routes.insert(T::NAME, route).is_some() {
            self.error.get_or_insert(AxonError::DuplicateTask(T::NAME));
        }
        self
    }

    /// Binds `addr` and starts serving. The axon binds exactly where told and never looks up
    /// its external address.
    pub async fn bind(self, addr: SocketAddr) -> Result<Axon, AxonError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| AxonError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| AxonError::Bind { addr, source })?;
        let limits = self.limits;
        let metagraph = self.metagraph.unwrap_or_else(|| {
            watch::channel(Metagraph::empty(
                NetUid(0),
                Block(0),
                Hyperparameters::default(),
            ))
            .1
        });
        // Long enough for the widest window: Synapse's 4 s + timeout back and 4 s ahead,
        // Epistula's 8 s each way, btauth/1's 10 s back and 2 s ahead.
        let retention = (limits.max_timeout + Duration::from_secs(8)).max(Duration::from_secs(16));
        let signer = Signer::new(self.keypair, self.prepared_nonces);
        let hotkey = signer.hotkey();
        let shared = Arc::new(Shared {
            signer,
            nonces: NonceStore::new(limits.nonce_capacity, retention),
            in_flight: Gauge::new(limits.max_in_flight),
            per_ip: PerKey::new(limits.per_ip_in_flight),
            per_hotkey: PerKey::new(limits.per_hotkey_in_flight),
            gate: priority::PriorityGate::new(limits.max_concurrent_handlers, limits.max_in_flight),
            routes: self.routes,
            metagraph,
            limits,
        });
        let (stop, stopped) = watch::channel(false);
        let limits = ServerLimits {
            max_connections: shared.limits.max_connections,
            header_read_timeout: shared.limits.header_read_timeout,
            max_header_bytes: Some(shared.limits.max_header_bytes.max(8192)),
            drain: None,
            name: "axon",
        };
        let router = route::router(Arc::clone(&shared));
        let task = tokio::spawn(accept_loop(listener, router, limits, stopped));
        Ok(Axon {
            local_addr,
            hotkey,
            stop,
            task: Some(task),
        })
    }
}

/// A running axon. Dropping it (or [`Axon::shutdown`]) stops accepting and closes every
/// connection.
#[derive(Debug)]
pub struct Axon {
    local_addr: SocketAddr,
    hotkey: Hotkey,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Axon {
    /// Starts building an axon that signs with `keypair` (the miner's hotkey).
    pub fn builder(keypair: Keypair) -> AxonBuilder {
        AxonBuilder {
            keypair,
            prepared_nonces: AXON_PREPARED_NONCES,
            limits: AxonLimits::default(),
            metagraph: None,
            routes: HashMap::new(),
            error: None,
        }
    }

    /// The address actually bound (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The axon's hotkey.
    pub fn hotkey(&self) -> Hotkey {
        self.hotkey
    }

    /// Stops accepting, closes every connection and waits until that is done.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Axon {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
