//! The chain a subnet runs on: the [`Chain`] trait, the embedded [`LocalChain`], and
//! [`NodeClient`] for a chain served by `subforge node`.
//!
//! Neurons take a `&dyn Chain` (or `Arc<dyn Chain>`), so the same miner or validator runs
//! in-process on a [`LocalChain`] in tests, against `subforge node` over JSON-RPC on a laptop:
//!
//! ```no_run
//! # async fn demo() -> Result<(), subforge_sdk::chain::ChainError> {
//! use std::sync::Arc;
//! use subforge_sdk::chain::{Chain, LocalChain, NodeClient};
//!
//! // In-process: blocks on a timer, state in ./chain-data.
//! let local: Arc<dyn Chain> = Arc::new(
//!     LocalChain::builder()
//!         .path("chain-data")
//!         .block_time(std::time::Duration::from_millis(500))
//!         .open()?,
//! );
//! // Or another process's node: `subforge node --dev --base-path chain-data`.
//! let remote: Arc<dyn Chain> = Arc::new(NodeClient::connect("ws://127.0.0.1:9944").await?);
//! println!("{} {}", local.current_block().await?, remote.current_block().await?);
//! # Ok(()) }
//! ```
//!
//! Write calls sign an extrinsic with the given [`Keypair`] and the account's next nonce, submit
//! it, wait for the block that includes it, and return its [`Receipt`] or the rule it broke as a
//! [`ChainError`] variant (`NotRegistered`, `SettingWeightsTooFast`, ...).

pub mod codec;
mod error;
mod extrinsic;
pub mod local;
mod types;

mod client;
#[cfg(feature = "node")]
pub mod node;
mod rpc;

use std::net::IpAddr;

use async_trait::async_trait;
use futures::stream::BoxStream;
use subforge_core::chain::AxonInfo;
use subforge_core::identity::{AccountId, Keypair};
use subforge_core::{Balance, Block, Coldkey, Hotkey, Hyperparameters, Metagraph, NetUid, Uid};

pub use client::NodeClient;
pub use error::ChainError;
pub use extrinsic::{
    BadHash, Call, Extrinsic, H256, Hyperparameter, MAX_EXTRINSIC_SIZE, UnknownHyperparameter,
    blake2_256,
};
pub use local::{BlockProduction, GenesisConfig, LocalChain, LocalChainBuilder};
pub use rpc::{CODE_REFUSED, CODE_RULE, CODE_STORE, DEFAULT_RPC_PORT};
pub use types::{
    AccountInfo, BlockRecord, ChainInfo, Event, EventRecord, Header, Phase, Receipt, StakeInfo,
    SubnetInfo,
};

/// How many times a write call re-signs after losing a nonce race with a concurrent call from
/// the same account.
const NONCE_RETRIES: usize = 4;

/// A chain a subnet runs on: reads, a block stream, and signed write calls.
///
/// Implementations provide the reads and [`Chain::submit`]; the write calls are built on
/// [`Chain::sign_and_submit`] and need no implementation.
#[async_trait]
pub trait Chain: Send + Sync {
    /// Chain-wide figures: genesis hash, best block, issuance, emission, lock cost, sudo.
    async fn info(&self) -> Result<ChainInfo, ChainError>;

    /// The hash of block 0; extrinsics are signed for it.
    async fn genesis_hash(&self) -> Result<H256, ChainError>;

    /// The last committed block.
    async fn current_block(&self) -> Result<Block, ChainError>;

    /// Headers of new blocks as they are committed.
    async fn block_headers(&self) -> Result<BoxStream<'static, Header>, ChainError>;

    /// A committed block with its extrinsics, their outcomes and its events.
    async fn block(&self, number: Block) -> Result<BlockRecord, ChainError>;

    /// Where an extrinsic was included and how it went; `None` if it never was.
    async fn receipt(&self, extrinsic: H256) -> Result<Option<Receipt>, ChainError>;

    /// An account's free balance and nonce.
    async fn account(&self, account: &AccountId) -> Result<AccountInfo, ChainError>;

    /// The nonce the account's next extrinsic must carry (counting those waiting for a block).
    async fn next_nonce(&self, account: &AccountId) -> Result<u64, ChainError>;

    /// Every subnet.
    async fn subnets(&self) -> Result<Vec<SubnetInfo>, ChainError>;

    /// One subnet.
    async fn subnet(&self, netuid: NetUid) -> Result<SubnetInfo, ChainError>;

    /// A subnet's metagraph at the current block.
    async fn metagraph(&self, netuid: NetUid) -> Result<Metagraph, ChainError>;

    /// A subnet's hyperparameters.
    async fn hyperparameters(&self, netuid: NetUid) -> Result<Hyperparameters, ChainError>;

    /// Everything a coldkey has staked.
    async fn stakes(&self, coldkey: &Coldkey) -> Result<Vec<StakeInfo>, ChainError>;

    /// Submits a signed extrinsic and waits for its block. A refusal (bad signature, stale
    /// nonce, ...) is an `Err`; an included extrinsic gives its receipt, whose `error` says
    /// whether it broke a rule.
    async fn submit(&self, extrinsic: Extrinsic) -> Result<Receipt, ChainError>;

    /// Signs `call` with `signer` at its next nonce, submits it and waits for its block;
    /// returns the receipt, or the rule the call broke.
    async fn sign_and_submit(&self, signer: &Keypair, call: Call) -> Result<Receipt, ChainError> {
        let genesis = self.genesis_hash().await?;
        let account = signer.public();
        let mut attempt = 0;
        loop {
            let nonce = self.next_nonce(&account).await?;
            let xt = Extrinsic::sign(signer, nonce, call.clone(), &genesis);
            match self.submit(xt).await {
                Err(ChainError::StaleNonce { .. }) if attempt < NONCE_RETRIES => attempt += 1,
                Err(e) => return Err(e),
                Ok(receipt) => return receipt.into_result(),
            }
        }
    }

    /// Sends `amount` of free balance from `from` to `to`.
    async fn transfer(
        &self,
        from: &Keypair,
        to: &AccountId,
        amount: Balance,
    ) -> Result<Receipt, ChainError> {
        self.sign_and_submit(from, Call::Transfer { dest: *to, amount })
            .await
    }

    /// Creates a subnet owned by `owner` (a coldkey), locking the lock cost; `hotkey` takes uid 0.
    async fn create_subnet(&self, owner: &Keypair, hotkey: &Hotkey) -> Result<NetUid, ChainError> {
        let receipt = self
            .sign_and_submit(owner, Call::CreateSubnet { hotkey: *hotkey })
            .await?;
        receipt
            .events
            .iter()
            .find_map(|e| match e {
                Event::SubnetCreated { netuid, .. } => Some(*netuid),
                _ => None,
            })
            .ok_or_else(|| ChainError::Connection {
                message: "the block has no SubnetCreated event".to_owned(),
            })
    }

    /// Registers `hotkey` on `netuid`, burning the price from `coldkey`; returns its uid.
    async fn register(
        &self,
        coldkey: &Keypair,
        netuid: NetUid,
        hotkey: &Hotkey,
    ) -> Result<Uid, ChainError> {
        let receipt = self
            .sign_and_submit(
                coldkey,
                Call::BurnedRegister {
                    netuid,
                    hotkey: *hotkey,
                },
            )
            .await?;
        receipt
            .events
            .iter()
            .find_map(|e| match e {
                Event::NeuronRegistered { uid, .. } => Some(*uid),
                _ => None,
            })
            .ok_or_else(|| ChainError::Connection {
                message: "the block has no NeuronRegistered event".to_owned(),
            })
    }

    /// Publishes where `hotkey` serves on `netuid` (the axon's `block` is ignored).
    async fn serve_axon(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        axon: &AxonInfo,
    ) -> Result<Receipt, ChainError> {
        let ip_type = match axon.ip {
            IpAddr::V4(_) => 4,
            IpAddr::V6(_) => 6,
        };
        let call = Call::ServeAxon {
            netuid,
            version: axon.version,
            ip: axon.ip_u128(),
            port: axon.port,
            ip_type,
            protocol: axon.protocol.0,
            placeholder1: axon.placeholder1,
            placeholder2: axon.placeholder2,
        };
        self.sign_and_submit(hotkey, call).await
    }

    /// Stakes `amount` of `coldkey`'s free balance on `hotkey` on `netuid`.
    async fn add_stake(
        &self,
        coldkey: &Keypair,
        hotkey: &Hotkey,
        netuid: NetUid,
        amount: Balance,
    ) -> Result<Receipt, ChainError> {
        let call = Call::AddStake {
            hotkey: *hotkey,
            netuid,
            amount,
        };
        self.sign_and_submit(coldkey, call).await
    }

    /// Unstakes `amount` from `hotkey` on `netuid` back to `coldkey`'s free balance.
    async fn remove_stake(
        &self,
        coldkey: &Keypair,
        hotkey: &Hotkey,
        netuid: NetUid,
        amount: Balance,
    ) -> Result<Receipt, ChainError> {
        let call = Call::RemoveStake {
            hotkey: *hotkey,
            netuid,
            amount,
        };
        self.sign_and_submit(coldkey, call).await
    }

    /// Sets `hotkey`'s weights on `netuid` (subnets without commit-reveal).
    async fn set_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        uids: &[Uid],
        weights: &[u16],
        version_key: u64,
    ) -> Result<Receipt, ChainError> {
        let call = Call::SetWeights {
            netuid,
            uids: uids.to_vec(),
            weights: weights.to_vec(),
            version_key,
        };
        self.sign_and_submit(hotkey, call).await
    }

    /// Commits the hash of weights ([`weights_commit_hash`]) to reveal in a later epoch.
    async fn commit_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        commit_hash: H256,
    ) -> Result<Receipt, ChainError> {
        self.sign_and_submit(
            hotkey,
            Call::CommitWeights {
                netuid,
                commit_hash,
            },
        )
        .await
    }

    /// Reveals committed weights.
    async fn reveal_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        uids: &[Uid],
        weights: &[u16],
        salt: &[u16],
        version_key: u64,
    ) -> Result<Receipt, ChainError> {
        let call = Call::RevealWeights {
            netuid,
            uids: uids.to_vec(),
            weights: weights.to_vec(),
            salt: salt.to_vec(),
            version_key,
        };
        self.sign_and_submit(hotkey, call).await
    }

    /// Sets a hyperparameter of `netuid` (signed by the owner's coldkey or the sudo key).
    async fn set_hyperparameter(
        &self,
        owner: &Keypair,
        netuid: NetUid,
        name: Hyperparameter,
        value: i64,
    ) -> Result<Receipt, ChainError> {
        self.sign_and_submit(
            owner,
            Call::SetHyperparameter {
                netuid,
                name,
                value,
            },
        )
        .await
    }
}

/// The hash `commit_weights` stores and `reveal_weights` must match: blake2b-256 over the
/// SCALE encoding of `(hotkey, netuid, uids, weights, salt, version_key)`, as on chain.
pub fn weights_commit_hash(
    hotkey: &Hotkey,
    netuid: NetUid,
    uids: &[Uid],
    weights: &[u16],
    salt: &[u16],
    version_key: u64,
) -> H256 {
    local::rules::commit_hash(&hotkey.0, netuid, uids, weights, salt, version_key)
}
