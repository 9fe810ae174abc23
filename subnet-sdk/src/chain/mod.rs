//! The chain a subnet runs on: the [`Chain`] trait and its three implementations, peers behind
//! one seam:
//!
//! - [`LocalChain`]: the embedded chain, in process, with the Bittensor chain's rules;
//! - [`NodeClient`]: the same chain served by `subforge node`, over JSON-RPC;
//! - `Subtensor` (feature `subtensor`): the real Bittensor chain (finney, testnet or any
//!   subtensor node).
//!
//! Neurons take an `Arc<dyn Chain>`, so the same miner or validator runs in process in tests,
//! against `subforge node` on a laptop, and on the real network:
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
//! Write calls sign with the given [`Keypair`], wait for the block that includes the
//! extrinsic, and return where it was included, or the rule it broke as a [`ChainError`]
//! variant (`NotRegistered`, `SettingWeightsTooFast`, ...). How a call is encoded, signed and
//! submitted is the implementation's business: the local chain's own protocol lives in
//! [`local`] and [`node`].

mod error;
mod hash;
mod hyperparameter;
pub mod local;
pub mod node;
#[cfg(feature = "subtensor")]
pub mod subtensor;
mod target;
mod types;

use async_trait::async_trait;
use futures::stream::BoxStream;
use subforge_core::chain::AxonInfo;
use subforge_core::identity::{AccountId, Keypair};
use subforge_core::{Balance, Block, Coldkey, Hotkey, Hyperparameters, Metagraph, NetUid, Uid};

pub use error::ChainError;
pub use hash::{BadHash, H256, blake2_256};
pub use hyperparameter::{Hyperparameter, UnknownHyperparameter};
pub use local::{BlockProduction, GenesisConfig, LocalChain, LocalChainApi, LocalChainBuilder};
pub use node::{DEFAULT_RPC_PORT, NodeClient};
pub use target::{ChainTarget, ENV_CHAIN, Network, UnknownChain, connect};
pub use types::{
    BlockRef, ChainInfo, Inclusion, MechanismId, PendingReveal, Reveal, RevealStatus, StakeInfo,
    SubnetInfo, Weights, WeightsOutcome,
};

/// A chain a subnet runs on: what miners, validators and the CLI read and write.
#[async_trait]
pub trait Chain: Send + Sync {
    // ---- reads ---------------------------------------------------------------------------

    /// Chain-wide figures: name, genesis hash, best block, issuance, emission, lock cost.
    async fn info(&self) -> Result<ChainInfo, ChainError>;

    /// The latest block.
    async fn current_block(&self) -> Result<Block, ChainError>;

    /// New blocks as they come. The stream ends when the connection does; subscribe again.
    async fn block_headers(&self) -> Result<BoxStream<'static, BlockRef>, ChainError>;

    /// An account's free balance.
    async fn balance(&self, account: &AccountId) -> Result<Balance, ChainError>;

    /// Every subnet.
    async fn subnets(&self) -> Result<Vec<SubnetInfo>, ChainError>;

    /// One subnet.
    async fn subnet(&self, netuid: NetUid) -> Result<SubnetInfo, ChainError>;

    /// A subnet's metagraph at the latest block.
    async fn metagraph(&self, netuid: NetUid) -> Result<Metagraph, ChainError>;

    /// A subnet's metagraph as it stood at a past `block`: how integrity reports and the
    /// dashboard read a subnet's last epochs at once instead of waiting for them.
    ///
    /// Only chains that keep past state answer: a subtensor archive node, or a full node for
    /// its recent blocks. The others, the local chain among them, answer
    /// [`ChainError::Unsupported`]; a block not made yet is [`ChainError::UnknownBlock`], and
    /// a subnet that did not exist then [`ChainError::SubnetNotExists`].
    async fn metagraph_at(&self, netuid: NetUid, block: Block) -> Result<Metagraph, ChainError> {
        let _ = netuid;
        Err(ChainError::Unsupported {
            what: format!("reading past state (the metagraph at block {block})"),
        })
    }

    /// The metagraph with every neuron's weights filled in, at the latest block or (see
    /// [`metagraph_at`](Chain::metagraph_at)) at a past one: what weight analyses read.
    ///
    /// The local chain's metagraphs always carry the weights. The subtensor client's
    /// [`metagraph`](Chain::metagraph) is the lite one, as the Python SDK's is by default:
    /// the weights cost one storage read per uid, so it reads them only here, at the same
    /// block as the rest.
    async fn metagraph_with_weights(
        &self,
        netuid: NetUid,
        block: Option<Block>,
    ) -> Result<Metagraph, ChainError> {
        match block {
            Some(block) => self.metagraph_at(netuid, block).await,
            None => self.metagraph(netuid).await,
        }
    }

    /// A subnet's hyperparameters.
    async fn hyperparameters(&self, netuid: NetUid) -> Result<Hyperparameters, ChainError>;

    /// Everything a coldkey has staked.
    async fn stakes(&self, coldkey: &Coldkey) -> Result<Vec<StakeInfo>, ChainError>;

    /// Every subnet `hotkey` holds a uid on, with the uid, by netuid.
    async fn registrations(&self, hotkey: &Hotkey) -> Result<Vec<(NetUid, Uid)>, ChainError>;

    // ---- writes --------------------------------------------------------------------------

    /// Sends `amount` of free balance from `from` to `to` (never reaping `from`'s account).
    async fn transfer(
        &self,
        from: &Keypair,
        to: &AccountId,
        amount: Balance,
    ) -> Result<Inclusion, ChainError>;

    /// Creates a subnet owned by `owner` (a coldkey), locking the lock cost; `hotkey` takes
    /// uid 0.
    async fn create_subnet(&self, owner: &Keypair, hotkey: &Hotkey) -> Result<NetUid, ChainError>;

    /// Sets a hyperparameter of `netuid` (signed by the owner's coldkey or the sudo key).
    async fn set_hyperparameter(
        &self,
        owner: &Keypair,
        netuid: NetUid,
        name: Hyperparameter,
        value: i64,
    ) -> Result<Inclusion, ChainError>;

    /// Registers `hotkey` on `netuid`, burning the price from `coldkey`; returns its uid.
    async fn register(
        &self,
        coldkey: &Keypair,
        netuid: NetUid,
        hotkey: &Hotkey,
    ) -> Result<Uid, ChainError>;

    /// Publishes where `hotkey` serves on `netuid` (the axon's `block` is ignored).
    async fn serve_axon(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        axon: &AxonInfo,
    ) -> Result<Inclusion, ChainError>;

    /// Stakes `amount` of `coldkey`'s free balance on `hotkey` on `netuid`.
    async fn add_stake(
        &self,
        coldkey: &Keypair,
        hotkey: &Hotkey,
        netuid: NetUid,
        amount: Balance,
    ) -> Result<Inclusion, ChainError>;

    /// Unstakes `amount` (in the subnet's stake unit) from `hotkey` on `netuid` back to
    /// `coldkey`'s free balance.
    async fn remove_stake(
        &self,
        coldkey: &Keypair,
        hotkey: &Hotkey,
        netuid: NetUid,
        amount: Balance,
    ) -> Result<Inclusion, ChainError>;

    /// Puts `hotkey`'s weights on `netuid` the way the subnet takes them: set at once, or
    /// committed (hash or timelock) when the subnet uses commit-reveal. The outcome says
    /// which, and what is left to do.
    async fn set_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        weights: &Weights,
    ) -> Result<WeightsOutcome, ChainError>;

    /// Reveals weights committed with [`Reveal::Manual`] once the chain accepts it; before
    /// then, says when to ask again.
    async fn reveal_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        pending: &PendingReveal,
    ) -> Result<RevealStatus, ChainError>;
}

/// The hash a local-chain weights commit stores and its reveal must match: blake2b-256 over
/// the SCALE encoding of `(hotkey, netuid, uids, weights, salt, version_key)`, as the
/// Bittensor chain's hash commit-reveal.
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
