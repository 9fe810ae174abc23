//! [`LocalChain`]: the embedded chain. The Bittensor chain's rules in a pure state machine
//! (`runtime`), durable in redb ([`store`]), with blocks produced by hand, per extrinsic, or on
//! a timer.
//!
//! Beyond the [`Chain`] seam it offers [`LocalChainApi`]: blocks with their events, receipts,
//! nonces and the chain's own signed [`extrinsic`] format (encoded with [`codec`]), which
//! `subforge node` serves to other processes.
//!
//! ```no_run
//! # async fn demo() -> Result<(), subforge_sdk::chain::ChainError> {
//! use subforge_sdk::chain::{Chain, LocalChain};
//! use subforge_sdk::core::identity::Keypair;
//!
//! let chain = LocalChain::builder().path("/tmp/devchain").dev().instant().open()?;
//! let alice = Keypair::from_uri("//Alice").expect("dev key");
//! let hotkey = Keypair::from_uri("//Alice//hot").expect("dev key");
//! let netuid = chain.create_subnet(&alice, &hotkey.public().into()).await?;
//! let metagraph = chain.metagraph(netuid).await?;
//! assert_eq!(metagraph.n(), 1);
//! # Ok(()) }
//! ```

pub mod codec;
pub mod extrinsic;
mod pool;
pub(crate) mod protocol;
pub mod records;
pub mod rules;
pub(crate) mod runtime;
mod state;
mod storage;
pub mod store;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use subforge_core::chain::AxonInfo;
use subforge_core::identity::{AccountId, Keypair};
use subforge_core::{Balance, Block, Coldkey, Hotkey, Hyperparameters, Metagraph, NetUid, Uid};
use tokio::sync::{broadcast, oneshot};

pub use extrinsic::{Call, Extrinsic, MAX_EXTRINSIC_SIZE};
pub use pool::POOL_CAPACITY;
pub use protocol::LocalChainApi;
pub use records::{
    AccountInfo, BlockRecord, CommitStatus, Event, EventRecord, Header, Phase, Receipt,
};
pub use runtime::{CheckedExtrinsic, DEV_ACCOUNTS, DEV_BALANCE, GenesisConfig};

use self::pool::Pool;
use self::runtime::{AppliedBlock, Runtime};
use self::store::Store;
use super::Chain;
use super::error::ChainError;
use super::hash::H256;
use super::hyperparameter::Hyperparameter;
use super::types::{
    BlockRef, ChainInfo, Inclusion, PendingReveal, RevealStatus, StakeInfo, SubnetInfo, Weights,
    WeightsOutcome,
};

/// What the local chain calls itself (`ChainInfo::name`).
pub const CHAIN_NAME: &str = "subforge-local";

/// The default block time of the Bittensor chain: 12 s.
pub const DEFAULT_BLOCK_TIME: Duration = Duration::from_secs(12);

/// Most extrinsics put in one block; the rest wait for the next.
pub const MAX_BLOCK_EXTRINSICS: usize = 65_536;

/// When blocks are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockProduction {
    /// Only by [`LocalChain::produce_block`]: deterministic tests.
    Manual,
    /// One block per submitted extrinsic, at once (like an "instant seal" dev chain).
    Instant,
    /// On a timer (12 s on the Bittensor chain; any interval for development).
    Interval(Duration),
}

/// Configures and opens a [`LocalChain`].
#[derive(Debug, Clone)]
pub struct LocalChainBuilder {
    path: Option<PathBuf>,
    genesis: GenesisConfig,
    production: BlockProduction,
}

impl LocalChainBuilder {
    /// Keep the chain in `dir` (created if missing; reopened if it holds a chain).
    pub fn path(mut self, dir: impl AsRef<Path>) -> Self {
        self.path = Some(dir.as_ref().to_owned());
        self
    }

    /// Keep the chain in memory only.
    pub fn in_memory(mut self) -> Self {
        self.path = None;
        self
    }

    /// Start from the dev genesis: `//Alice` … `//Ferdie` funded, `//Alice` sudo (the default).
    pub fn dev(mut self) -> Self {
        self.genesis = GenesisConfig::dev();
        self
    }

    /// Start from `genesis` (ignored when reopening an existing chain).
    pub fn genesis(mut self, genesis: GenesisConfig) -> Self {
        self.genesis = genesis;
        self
    }

    /// Blocks only by [`LocalChain::produce_block`] (the default).
    pub fn manual(mut self) -> Self {
        self.production = BlockProduction::Manual;
        self
    }

    /// One block per submitted extrinsic.
    pub fn instant(mut self) -> Self {
        self.production = BlockProduction::Instant;
        self
    }

    /// A block every `interval` (needs a tokio runtime when opening).
    pub fn block_time(mut self, interval: Duration) -> Self {
        self.production = BlockProduction::Interval(interval);
        self
    }

    /// Opens the chain: reopens the folder at its last committed block, or makes genesis.
    pub fn open(self) -> Result<LocalChain, ChainError> {
        let store = self.path.as_deref().map(Store::open).transpose()?;
        let loaded = store.as_ref().map(Store::load).transpose()?.flatten();
        let mut memory = MemoryBlocks::default();
        let runtime = match loaded {
            Some(l) => Runtime {
                state: l.state,
                genesis_hash: l.genesis_hash,
                head: l.head,
            },
            None => {
                let (runtime, block) = Runtime::genesis(&self.genesis);
                match &store {
                    Some(s) => s.commit(&block, &runtime.genesis_hash)?,
                    None => memory.push(block.record, &block.hashes),
                }
                runtime
            }
        };
        let (blocks, _) = broadcast::channel(1024);
        let genesis_hash = runtime.genesis_hash;
        let chain = LocalChain {
            inner: Arc::new(Inner {
                node: Mutex::new(Node {
                    runtime,
                    store,
                    pool: Pool::default(),
                    waiters: HashMap::new(),
                    memory,
                    failed: None,
                }),
                blocks,
                production: self.production,
                genesis_hash,
            }),
        };
        if let BlockProduction::Interval(interval) = self.production {
            let handle =
                tokio::runtime::Handle::try_current().map_err(|_| ChainError::Connection {
                    message: "a timed LocalChain needs a tokio runtime".to_owned(),
                })?;
            let weak = Arc::downgrade(&chain.inner);
            handle.spawn(async move {
                let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(1)));
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticker.tick().await;
                loop {
                    ticker.tick().await;
                    let Some(inner) = weak.upgrade() else { break };
                    let chain = LocalChain { inner };
                    // A store failure is kept in the chain and reported to every caller.
                    let _ = tokio::task::spawn_blocking(move || chain.produce_block()).await;
                }
            });
        }
        Ok(chain)
    }
}

/// Blocks of an in-memory chain (a chain with a folder reads them from the store).
#[derive(Debug, Default)]
struct MemoryBlocks {
    blocks: Vec<BlockRecord>,
    extrinsics: HashMap<H256, (u64, u32)>,
}

impl MemoryBlocks {
    fn push(&mut self, record: BlockRecord, hashes: &[H256]) {
        for (i, hash) in hashes.iter().enumerate() {
            self.extrinsics
                .insert(*hash, (record.header.number.0, i as u32));
        }
        self.blocks.push(record);
    }
}

#[derive(Debug)]
struct Node {
    runtime: Runtime,
    store: Option<Store>,
    pool: Pool,
    waiters: HashMap<H256, oneshot::Sender<Result<Receipt, ChainError>>>,
    memory: MemoryBlocks,
    /// Set when the store failed: the in-memory state ran ahead of the disk, so the chain stops.
    failed: Option<ChainError>,
}

#[derive(Debug)]
struct Inner {
    node: Mutex<Node>,
    blocks: broadcast::Sender<Header>,
    production: BlockProduction,
    genesis_hash: H256,
}

/// The embedded chain: the Bittensor chain's rules, signed extrinsics, durable state.
///
/// Cheap to clone (clones share the chain). Implements [`Chain`]; the sync methods
/// ([`LocalChain::produce_block`], [`LocalChain::submit_batch`]) serve tests and benchmarks.
#[derive(Debug, Clone)]
pub struct LocalChain {
    inner: Arc<Inner>,
}

impl LocalChain {
    /// A builder: in memory, dev genesis, manual blocks until told otherwise.
    pub fn builder() -> LocalChainBuilder {
        LocalChainBuilder {
            path: None,
            genesis: GenesisConfig::dev(),
            production: BlockProduction::Manual,
        }
    }

    /// A dev chain in memory with manual blocks.
    pub fn dev_in_memory() -> Self {
        Self::builder()
            .open()
            .unwrap_or_else(|_| unreachable!("an in-memory chain has no store to fail"))
    }

    fn lock(&self) -> MutexGuard<'_, Node> {
        // A panic while holding the lock cannot leave the state half-written across a block
        // (blocks are applied then committed), so a poisoned lock is still usable.
        self.inner.node.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How blocks are made.
    pub fn production(&self) -> BlockProduction {
        self.inner.production
    }

    /// The last committed block's header.
    pub fn head(&self) -> Header {
        self.lock().runtime.head.clone()
    }

    /// Headers of new blocks as they are committed. A reader that falls behind skips blocks
    /// rather than losing the stream.
    pub fn headers(&self) -> BoxStream<'static, Header> {
        let rx = self.inner.blocks.subscribe();
        futures::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(h) => return Some((h, rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .boxed()
    }

    /// Extrinsics waiting for the next block.
    pub fn pool_len(&self) -> usize {
        self.lock().pool.len()
    }

    /// Checks and queues one extrinsic without waiting for its block.
    pub fn submit_nowait(&self, xt: Extrinsic) -> Result<H256, ChainError> {
        let checked = CheckedExtrinsic::check(xt, &self.inner.genesis_hash)?;
        let mut node = self.lock();
        let hash = node.enqueue(checked)?;
        if self.inner.production == BlockProduction::Instant {
            self.produce_locked(&mut node)?;
        }
        Ok(hash)
    }

    /// Checks many extrinsics (signatures verified on every core) and queues those that pass,
    /// in order. Returns each one's hash or refusal.
    pub fn submit_batch(&self, xts: Vec<Extrinsic>) -> Vec<Result<H256, ChainError>> {
        let checked = check_parallel(xts, &self.inner.genesis_hash);
        let mut node = self.lock();
        checked
            .into_iter()
            .map(|c| c.and_then(|c| node.enqueue(c)))
            .collect()
    }

    /// Applies and commits the next block with what the pool holds.
    pub fn produce_block(&self) -> Result<BlockRecord, ChainError> {
        let mut node = self.lock();
        self.produce_locked(&mut node)
    }

    /// Produces `count` blocks; returns the last.
    pub fn produce_blocks(&self, count: u64) -> Result<Header, ChainError> {
        let mut node = self.lock();
        for _ in 0..count {
            self.produce_locked(&mut node)?;
        }
        Ok(node.runtime.head.clone())
    }

    fn produce_locked(&self, node: &mut Node) -> Result<BlockRecord, ChainError> {
        if let Some(e) = &node.failed {
            return Err(e.clone());
        }
        let batch = node.pool.take(MAX_BLOCK_EXTRINSICS);
        let applied: AppliedBlock = node.runtime.apply_block(batch);
        if let Some(store) = &node.store
            && let Err(e) = store.commit(&applied, &node.runtime.genesis_hash)
        {
            let e = ChainError::from(e);
            node.failed = Some(e.clone());
            return Err(e);
        }
        let record = applied.record;
        if !node.waiters.is_empty() {
            for (i, hash) in applied.hashes.iter().enumerate() {
                if let Some(tx) = node.waiters.remove(hash) {
                    let _ = tx.send(record.receipt(i).ok_or(ChainError::Closed));
                }
            }
        }
        for (hash, e) in applied.dropped {
            if let Some(tx) = node.waiters.remove(&hash) {
                let _ = tx.send(Err(e));
            }
        }
        node.pool.reset_pending();
        if node.store.is_none() {
            node.memory.push(record.clone(), &applied.hashes);
        }
        let _ = self.inner.blocks.send(record.header.clone());
        Ok(record)
    }

    /// A block by number.
    pub fn block_record_now(&self, number: Block) -> Result<BlockRecord, ChainError> {
        let node = self.lock();
        let found = match &node.store {
            Some(s) => s.block(number.0)?,
            None => usize::try_from(number.0)
                .ok()
                .and_then(|i| node.memory.blocks.get(i).cloned()),
        };
        found.ok_or(ChainError::UnknownBlock { block: number })
    }

    /// The receipt of an included extrinsic.
    pub fn receipt_now(&self, hash: &H256) -> Result<Option<Receipt>, ChainError> {
        let located = {
            let node = self.lock();
            match &node.store {
                Some(s) => s.extrinsic(hash)?,
                None => node.memory.extrinsics.get(hash).copied(),
            }
        };
        let Some((number, index)) = located else {
            return Ok(None);
        };
        Ok(self
            .block_record_now(Block(number))?
            .receipt(index as usize))
    }

    fn read<T>(&self, f: impl FnOnce(&Runtime) -> T) -> T {
        f(&self.lock().runtime)
    }
}

impl Node {
    fn enqueue(&mut self, xt: CheckedExtrinsic) -> Result<H256, ChainError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let signer = xt.get().signer;
        self.runtime
            .validate(xt.get(), self.pool.pending(&signer))?;
        self.pool.push(xt)
    }
}

/// Checks signatures on every available core.
fn check_parallel(
    xts: Vec<Extrinsic>,
    genesis: &H256,
) -> Vec<Result<CheckedExtrinsic, ChainError>> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads <= 1 || xts.len() < 256 {
        return CheckedExtrinsic::check_many(xts, genesis);
    }
    let chunk = xts.len().div_ceil(threads);
    let mut chunks: Vec<Vec<Extrinsic>> = Vec::new();
    let mut it = xts.into_iter().peekable();
    while it.peek().is_some() {
        chunks.push(it.by_ref().take(chunk).collect());
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| scope.spawn(move || CheckedExtrinsic::check_many(c, genesis)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

fn subnet_missing(netuid: NetUid) -> ChainError {
    ChainError::SubnetNotExists { netuid }
}

#[async_trait]
impl Chain for LocalChain {
    async fn info(&self) -> Result<ChainInfo, ChainError> {
        Ok(self.read(Runtime::info))
    }

    async fn current_block(&self) -> Result<Block, ChainError> {
        Ok(self.read(|r| r.head.number))
    }

    async fn block_headers(&self) -> Result<BoxStream<'static, BlockRef>, ChainError> {
        Ok(self.headers().map(|h| h.block_ref()).boxed())
    }

    async fn balance(&self, account: &AccountId) -> Result<Balance, ChainError> {
        Ok(self.read(|r| r.state.account(account).free))
    }

    async fn subnets(&self) -> Result<Vec<SubnetInfo>, ChainError> {
        Ok(self.read(|r| {
            r.state
                .subnets
                .iter()
                .filter_map(|(n, _)| r.state.subnet_info(*n))
                .collect()
        }))
    }

    async fn subnet(&self, netuid: NetUid) -> Result<SubnetInfo, ChainError> {
        self.read(|r| r.state.subnet_info(netuid))
            .ok_or_else(|| subnet_missing(netuid))
    }

    async fn metagraph(&self, netuid: NetUid) -> Result<Metagraph, ChainError> {
        self.read(|r| r.state.metagraph(netuid))
            .ok_or_else(|| subnet_missing(netuid))
    }

    async fn hyperparameters(&self, netuid: NetUid) -> Result<Hyperparameters, ChainError> {
        self.read(|r| {
            r.state
                .subnets
                .get(&netuid)
                .map(|s| s.hyperparameters.clone())
        })
        .ok_or_else(|| subnet_missing(netuid))
    }

    async fn stakes(&self, coldkey: &Coldkey) -> Result<Vec<StakeInfo>, ChainError> {
        Ok(self.read(|r| r.state.stakes_of(coldkey)))
    }

    async fn registrations(&self, hotkey: &Hotkey) -> Result<Vec<(NetUid, Uid)>, ChainError> {
        Ok(self.read(|r| {
            r.state
                .subnets
                .iter()
                .filter_map(|(n, _)| r.state.uid_of(*n, hotkey).map(|u| (*n, u)))
                .collect()
        }))
    }

    async fn transfer(
        &self,
        from: &Keypair,
        to: &AccountId,
        amount: Balance,
    ) -> Result<Inclusion, ChainError> {
        protocol::transfer(self, from, to, amount).await
    }

    async fn create_subnet(&self, owner: &Keypair, hotkey: &Hotkey) -> Result<NetUid, ChainError> {
        protocol::create_subnet(self, owner, hotkey).await
    }

    async fn set_hyperparameter(
        &self,
        owner: &Keypair,
        netuid: NetUid,
        name: Hyperparameter,
        value: i64,
    ) -> Result<Inclusion, ChainError> {
        protocol::set_hyperparameter(self, owner, netuid, name, value).await
    }

    async fn register(
        &self,
        coldkey: &Keypair,
        netuid: NetUid,
        hotkey: &Hotkey,
    ) -> Result<Uid, ChainError> {
        protocol::register(self, coldkey, netuid, hotkey).await
    }

    async fn serve_axon(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        axon: &AxonInfo,
    ) -> Result<Inclusion, ChainError> {
        protocol::serve_axon(self, hotkey, netuid, axon).await
    }

    async fn add_stake(
        &self,
        coldkey: &Keypair,
        hotkey: &Hotkey,
        netuid: NetUid,
        amount: Balance,
    ) -> Result<Inclusion, ChainError> {
        protocol::add_stake(self, coldkey, hotkey, netuid, amount).await
    }

    async fn remove_stake(
        &self,
        coldkey: &Keypair,
        hotkey: &Hotkey,
        netuid: NetUid,
        amount: Balance,
    ) -> Result<Inclusion, ChainError> {
        protocol::remove_stake(self, coldkey, hotkey, netuid, amount).await
    }

    async fn set_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        weights: &Weights,
    ) -> Result<WeightsOutcome, ChainError> {
        let commit_reveal = self
            .hyperparameters(netuid)
            .await?
            .commit_reveal_weights_enabled;
        protocol::set_weights(self, commit_reveal, hotkey, netuid, weights).await
    }

    async fn reveal_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        pending: &PendingReveal,
    ) -> Result<RevealStatus, ChainError> {
        protocol::reveal_weights(self, hotkey, netuid, pending).await
    }
}

#[async_trait]
impl LocalChainApi for LocalChain {
    fn genesis_hash(&self) -> H256 {
        self.inner.genesis_hash
    }

    async fn block(&self, number: Block) -> Result<BlockRecord, ChainError> {
        self.block_record_now(number)
    }

    async fn receipt(&self, extrinsic: H256) -> Result<Option<Receipt>, ChainError> {
        self.receipt_now(&extrinsic)
    }

    async fn account(&self, account: &AccountId) -> Result<AccountInfo, ChainError> {
        Ok(self.read(|r| r.state.account(account)))
    }

    async fn next_nonce(&self, account: &AccountId) -> Result<u64, ChainError> {
        let node = self.lock();
        Ok(node
            .runtime
            .state
            .account(account)
            .nonce
            .saturating_add(node.pool.pending(account)))
    }

    async fn commit_status(
        &self,
        netuid: NetUid,
        hotkey: &Hotkey,
        hash: H256,
    ) -> Result<CommitStatus, ChainError> {
        self.read(|r| rules::commit_status(&r.state, netuid, hotkey, &hash))
    }

    async fn submit(&self, extrinsic: Extrinsic) -> Result<Receipt, ChainError> {
        let checked = CheckedExtrinsic::check(extrinsic, &self.inner.genesis_hash)?;
        let rx = {
            let mut node = self.lock();
            let hash = node.enqueue(checked)?;
            let (tx, rx) = oneshot::channel();
            node.waiters.insert(hash, tx);
            if self.inner.production == BlockProduction::Instant {
                self.produce_locked(&mut node)?;
            }
            rx
        };
        rx.await.map_err(|_| ChainError::Closed)?
    }
}
