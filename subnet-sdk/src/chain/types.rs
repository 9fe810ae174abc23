//! What every chain reports and accepts: new blocks, inclusions, subnets, stake, and weights
//! with the chain's way of taking them (set at once, or committed and revealed).

use serde::{Deserialize, Serialize};
use subforge_core::identity::AccountId;
use subforge_core::{Balance, Block, Coldkey, Hotkey, NetUid};

use super::hash::H256;

/// A block as the chain announces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRef {
    /// The block number (genesis is 0).
    pub number: Block,
    /// The block's hash.
    pub hash: H256,
}

/// Where a submitted extrinsic was included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inclusion {
    /// The extrinsic's hash (blake2b-256 of its encoding).
    pub extrinsic: H256,
    /// The block that included it.
    pub block: Block,
    /// That block's hash.
    pub block_hash: H256,
}

/// A sub-subnet of a subnet, with weights and incentive of its own; `0` is the main one.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct MechanismId(pub u8);

/// A validator's weights as they go on chain: parallel uids and u16 values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weights {
    /// Target uids.
    pub uids: Vec<u16>,
    /// Weight per uid (the chain normalises them).
    pub values: Vec<u16>,
    /// The validator software's version; the subnet may require a minimum.
    pub version_key: u64,
    /// The mechanism the weights are for (default: the main one).
    pub mechanism: MechanismId,
}

impl Weights {
    /// Weights for the main mechanism.
    pub fn new(uids: Vec<u16>, values: Vec<u16>, version_key: u64) -> Self {
        Self {
            uids,
            values,
            version_key,
            mechanism: MechanismId::default(),
        }
    }
}

/// What the chain did with weights: stored them, or took a commit to reveal later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WeightsOutcome {
    /// The weights are on chain.
    Set(Inclusion),
    /// The subnet uses commit-reveal: a commit was included and the weights become visible at
    /// the reveal.
    Committed {
        /// Where the commit was included.
        inclusion: Inclusion,
        /// Who reveals, and when.
        reveal: Reveal,
    },
}

impl WeightsOutcome {
    /// Where the extrinsic was included.
    pub fn inclusion(&self) -> &Inclusion {
        match self {
            Self::Set(i) | Self::Committed { inclusion: i, .. } => i,
        }
    }
}

/// How committed weights get revealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reveal {
    /// The chain reveals them itself (drand timelock): nothing is left to do.
    Automatic {
        /// The drand round whose signature decrypts the commit.
        round: u64,
        /// The block the chain is expected to reveal at.
        expected_block: Block,
    },
    /// The validator must reveal them with [`super::Chain::reveal_weights`]; keep this until
    /// then (it survives restarts as JSON).
    Manual(PendingReveal),
}

/// A hash commit waiting to be revealed: what the reveal must repeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReveal {
    /// The block the commit was included in.
    pub commit_block: Block,
    /// The weights committed.
    pub uids: Vec<u16>,
    /// Weight per uid.
    pub values: Vec<u16>,
    /// The salt hashed into the commit.
    pub salt: Vec<u16>,
    /// The version key hashed into the commit.
    pub version_key: u64,
}

/// Where a commit stands when its reveal is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RevealStatus {
    /// The reveal window has not opened; ask again at `retry_at`.
    NotYet {
        /// The first block the reveal may be accepted in.
        retry_at: Block,
    },
    /// The weights were revealed.
    Revealed(Inclusion),
}

/// A subnet as listed by `subnets()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetInfo {
    /// The netuid.
    pub netuid: NetUid,
    /// The owner's coldkey.
    pub owner_coldkey: Coldkey,
    /// The owner's hotkey.
    pub owner_hotkey: Hotkey,
    /// Registered neurons.
    pub n: u16,
    /// Slots.
    pub max_allowed_uids: u16,
    /// Blocks between epochs.
    pub tempo: u16,
    /// The registration price now.
    pub burn: Balance,
    /// The balance locked at creation.
    pub locked: Balance,
    /// The creation block.
    pub registered_at: Block,
    /// The block of the last epoch.
    pub last_epoch_block: Block,
    /// Epochs run so far.
    pub epoch_index: u64,
    /// Whether the subnet receives a share of block emission.
    pub emission_enabled: bool,
    /// Emission waiting for the next epoch (miners + validators + owner cut).
    pub pending_emission: Balance,
}

/// One coldkey's stake on one hotkey on one subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StakeInfo {
    /// The staker.
    pub coldkey: Coldkey,
    /// The hotkey.
    pub hotkey: Hotkey,
    /// The subnet.
    pub netuid: NetUid,
    /// The amount.
    pub stake: Balance,
}

/// Chain-wide figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainInfo {
    /// What the chain calls itself (`system_chain`): `subforge-local`, `Bittensor`, ...
    #[serde(default)]
    pub name: String,
    /// The runtime's version, on chains that upgrade their runtime.
    #[serde(default)]
    pub spec_version: Option<u32>,
    /// The genesis block's hash: extrinsics are signed for it.
    pub genesis_hash: H256,
    /// The best (latest) block.
    pub best_block: Block,
    /// The best block's hash.
    pub best_hash: H256,
    /// TAO in existence, in rao.
    pub total_issuance: Balance,
    /// What a block mints.
    pub block_emission: Balance,
    /// What creating a subnet locks now.
    pub subnet_lock_cost: Balance,
    /// The sudo key, if any (dev chains: `//Alice`).
    pub sudo: Option<AccountId>,
}
