//! What the local chain records: block headers, blocks with their extrinsics and events,
//! receipts, and accounts.

use serde::{Deserialize, Serialize};
use subforge_core::identity::AccountId;
use subforge_core::{Balance, Block, Coldkey, Hotkey, NetUid, Uid};

use super::codec::{Decode, DecodeError, Encode, Input, struct_codec};
use super::extrinsic::Extrinsic;
use crate::chain::error::ChainError;
use crate::chain::hash::H256;
use crate::chain::hyperparameter::Hyperparameter;
use crate::chain::types::{BlockRef, Inclusion};

/// A block header: what the digest chain links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The block number (genesis is 0).
    pub number: Block,
    /// The previous header's hash (zero for genesis).
    pub parent_hash: H256,
    /// blake2b-256 over the canonical encoding of the whole state after this block.
    pub state_digest: H256,
    /// blake2b-256 over the hashes of the block's extrinsics, in order.
    pub extrinsics_root: H256,
}

struct_codec!(Header {
    number,
    parent_hash,
    state_digest,
    extrinsics_root
});

impl Header {
    /// The block hash: blake2b-256 of the header's encoding.
    pub fn hash(&self) -> H256 {
        H256::of(&self.encode())
    }

    /// The block's number and hash.
    pub fn block_ref(&self) -> BlockRef {
        BlockRef {
            number: self.number,
            hash: self.hash(),
        }
    }
}

/// When an event happened within a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Before the extrinsics: emission, registration prices, epochs.
    Initialization,
    /// During the extrinsic at this index.
    Extrinsic(u32),
}

/// Something the chain did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Free balance moved.
    Transfer {
        /// Payer.
        from: AccountId,
        /// Recipient.
        to: AccountId,
        /// Amount.
        amount: Balance,
    },
    /// A subnet was created.
    SubnetCreated {
        /// Its netuid.
        netuid: NetUid,
        /// Owner coldkey.
        owner: Coldkey,
        /// Owner hotkey (uid 0).
        hotkey: Hotkey,
        /// The balance locked.
        lock: Balance,
    },
    /// A hotkey took a uid by burning the registration price.
    NeuronRegistered {
        /// The subnet.
        netuid: NetUid,
        /// The uid.
        uid: Uid,
        /// The hotkey.
        hotkey: Hotkey,
        /// The price burned.
        burn: Balance,
        /// The hotkey pruned to make room, if the subnet was full.
        replaced: Option<Hotkey>,
    },
    /// An axon record was published.
    AxonServed {
        /// The subnet.
        netuid: NetUid,
        /// The hotkey.
        hotkey: Hotkey,
    },
    /// Stake was added.
    StakeAdded {
        /// Who staked.
        coldkey: Coldkey,
        /// On which hotkey.
        hotkey: Hotkey,
        /// On which subnet.
        netuid: NetUid,
        /// How much.
        amount: Balance,
    },
    /// Stake was removed.
    StakeRemoved {
        /// Who unstaked.
        coldkey: Coldkey,
        /// From which hotkey.
        hotkey: Hotkey,
        /// On which subnet.
        netuid: NetUid,
        /// How much.
        amount: Balance,
    },
    /// Weights were stored (set directly or revealed).
    WeightsSet {
        /// The subnet.
        netuid: NetUid,
        /// The setter's uid.
        uid: Uid,
    },
    /// A weights commit was stored.
    WeightsCommitted {
        /// The subnet.
        netuid: NetUid,
        /// The committer.
        hotkey: Hotkey,
        /// The hash.
        commit_hash: H256,
    },
    /// Unrevealed commits passed their reveal epoch and were dropped.
    CommitsExpired {
        /// The subnet.
        netuid: NetUid,
        /// The committer.
        hotkey: Hotkey,
        /// How many.
        count: u32,
    },
    /// A hyperparameter changed.
    HyperparameterSet {
        /// The subnet.
        netuid: NetUid,
        /// Which.
        name: Hyperparameter,
        /// The new value.
        value: i64,
    },
    /// A subnet's epoch ran and paid its emission as stake.
    EpochRun {
        /// The subnet.
        netuid: NetUid,
        /// The subnet's epoch counter after this epoch.
        epoch: u64,
        /// Paid to miners (incentive).
        incentive: Balance,
        /// Paid to validators and their nominators (dividends).
        dividends: Balance,
        /// Paid to the owner (owner cut).
        owner_cut: Balance,
        /// Recycled: the owner's own incentive and rounding dust.
        recycled: Balance,
    },
    /// An epoch could not run (its input was inconsistent); the pending emission carries over.
    EpochSkipped {
        /// The subnet.
        netuid: NetUid,
        /// Why.
        reason: String,
    },
}

/// An event with the phase it happened in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// When.
    pub phase: Phase,
    /// What.
    pub event: Event,
}

/// Everything about one block: header, extrinsics, each extrinsic's outcome, events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockRecord {
    /// The header.
    pub header: Header,
    /// The header's hash.
    pub hash: H256,
    /// The included extrinsics, in order.
    pub extrinsics: Vec<Extrinsic>,
    /// Each extrinsic's outcome: `None` for success, else the rule it broke.
    pub outcomes: Vec<Option<ChainError>>,
    /// The events, in order.
    pub events: Vec<EventRecord>,
}

impl BlockRecord {
    /// The receipt of the extrinsic at `index`.
    pub fn receipt(&self, index: usize) -> Option<Receipt> {
        let xt = self.extrinsics.get(index)?;
        let phase = Phase::Extrinsic(u32::try_from(index).ok()?);
        Some(Receipt {
            extrinsic: xt.hash(),
            block: self.header.number,
            block_hash: self.hash,
            index: index as u32,
            error: self.outcomes.get(index).cloned().flatten(),
            events: self
                .events
                .iter()
                .filter(|e| e.phase == phase)
                .map(|e| e.event.clone())
                .collect(),
        })
    }
}

/// Encoded for the store: the header and extrinsics in the canonical encoding, outcomes and
/// events as JSON (they are not hashed).
impl Encode for BlockRecord {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header.encode_to(out);
        self.extrinsics.encode_to(out);
        let tail = serde_json::to_string(&(&self.outcomes, &self.events)).unwrap_or_default();
        tail.encode_to(out);
    }
}

impl Decode for BlockRecord {
    fn decode_from(input: &mut Input<'_>) -> Result<Self, DecodeError> {
        let header = Header::decode_from(input)?;
        let extrinsics = Vec::<Extrinsic>::decode_from(input)?;
        let tail = String::decode_from(input)?;
        let (outcomes, events): (Vec<Option<ChainError>>, Vec<EventRecord>) =
            serde_json::from_str(&tail)
                .map_err(|_| DecodeError::InvalidValue("block outcomes and events"))?;
        Ok(Self {
            hash: header.hash(),
            header,
            extrinsics,
            outcomes,
            events,
        })
    }
}

/// Where an extrinsic landed and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The extrinsic's hash.
    pub extrinsic: H256,
    /// The block that included it.
    pub block: Block,
    /// That block's hash.
    pub block_hash: H256,
    /// Its index in the block.
    pub index: u32,
    /// `None` if it succeeded, else the rule it broke (it changed nothing but the nonce).
    pub error: Option<ChainError>,
    /// The events it emitted.
    pub events: Vec<Event>,
}

impl Receipt {
    /// The receipt if the extrinsic succeeded, else its error.
    pub fn into_result(self) -> Result<Self, ChainError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self),
        }
    }

    /// Where the extrinsic was included.
    pub fn inclusion(&self) -> Inclusion {
        Inclusion {
            extrinsic: self.extrinsic,
            block: self.block,
            block_hash: self.block_hash,
        }
    }
}

/// An account's free balance and nonce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// Free balance.
    pub free: Balance,
    /// Extrinsics included so far.
    pub nonce: u64,
}

/// Where a weights commit stands on the local chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CommitStatus {
    /// Its reveal epoch has not come.
    Waiting {
        /// The epoch it may be revealed in.
        reveal_epoch: u64,
        /// The subnet's epoch now.
        current_epoch: u64,
        /// The block the reveal epoch starts at, if the tempo holds.
        retry_at: Block,
    },
    /// It may be revealed now.
    Due,
    /// The chain holds no commit with this hash for the hotkey (revealed, expired or never made).
    Missing,
}
