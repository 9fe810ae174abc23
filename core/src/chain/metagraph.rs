//! The metagraph: the state of every neuron of one subnet at one block.

use serde::{Deserialize, Serialize};

use super::{AxonInfo, Balance, Block, Hyperparameters, NetUid, U16Proportion, Uid};
use crate::identity::{Coldkey, Hotkey};

/// The state of one subnet at one block, as a struct of arrays indexed by uid.
///
/// The arrays carry the Python SDK's metagraph fields (`uids`, `hotkeys`, `coldkeys`, `stake`,
/// `consensus`, `validator_trust`, `incentive`, `emission`, `dividends`, `active`,
/// `last_update`, `validator_permit`, `weights`, `bonds`, `axons`), with the chain's exact
/// values: proportions as `u16` out of 65535 (the SDK divides them into floats), amounts in
/// rao. `weights` and `bonds` are the sparse rows the chain stores; they are empty when the
/// metagraph was fetched without them ("lite").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Metagraph {
    /// The subnet.
    pub netuid: NetUid,
    /// The block this snapshot was read at.
    pub block: Block,
    /// Blocks between epochs.
    pub tempo: u16,
    /// The block of the last epoch.
    pub last_step: Block,
    /// The subnet owner's coldkey.
    pub owner_coldkey: Option<Coldkey>,
    /// The subnet owner's hotkey (its uid, if registered, is never pruned).
    pub owner_hotkey: Option<Hotkey>,
    /// The subnet's settings at this block.
    pub hyperparameters: Hyperparameters,
    /// `0..n`.
    pub uids: Vec<Uid>,
    /// The hotkey in each slot.
    pub hotkeys: Vec<Hotkey>,
    /// The coldkey that owns each hotkey.
    pub coldkeys: Vec<Coldkey>,
    /// Total stake on each hotkey.
    pub stake: Vec<Balance>,
    /// Stake-weighted median of the weights each miner received.
    pub consensus: Vec<U16Proportion>,
    /// How much of each validator's weight survived clipping to consensus.
    pub validator_trust: Vec<U16Proportion>,
    /// Each miner's share of the miners' emission.
    pub incentive: Vec<U16Proportion>,
    /// Each validator's share of the validators' emission.
    pub dividends: Vec<U16Proportion>,
    /// Emission at the last epoch, in rao.
    pub emission: Vec<Balance>,
    /// Whether each neuron set weights within the activity cutoff.
    pub active: Vec<bool>,
    /// The block of each neuron's last weights.
    pub last_update: Vec<Block>,
    /// Whether each neuron may set weights.
    pub validator_permit: Vec<bool>,
    /// The block each slot was last (re)registered at.
    pub block_at_registration: Vec<Block>,
    /// Where each neuron serves.
    pub axons: Vec<AxonInfo>,
    /// Each neuron's weights as stored: `(uid, weight)` in submission order.
    pub weights: Vec<Vec<(Uid, u16)>>,
    /// Each validator's bonds as stored: `(uid, bond)`.
    pub bonds: Vec<Vec<(Uid, u16)>>,
}

/// One neuron's row of a [`Metagraph`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neuron {
    /// Its slot.
    pub uid: Uid,
    /// Its hotkey.
    pub hotkey: Hotkey,
    /// Its owner.
    pub coldkey: Coldkey,
    /// Total stake.
    pub stake: Balance,
    /// Consensus.
    pub consensus: U16Proportion,
    /// Validator trust.
    pub validator_trust: U16Proportion,
    /// Incentive.
    pub incentive: U16Proportion,
    /// Dividends.
    pub dividends: U16Proportion,
    /// Emission at the last epoch.
    pub emission: Balance,
    /// Active within the cutoff.
    pub active: bool,
    /// Last weights block.
    pub last_update: Block,
    /// May set weights.
    pub validator_permit: bool,
    /// Registration block.
    pub block_at_registration: Block,
    /// Axon.
    pub axon: AxonInfo,
}

/// Why a metagraph is not internally consistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetagraphError {
    /// A per-uid array has the wrong length.
    #[error("metagraph field `{field}` has {len} entries for {n} uids")]
    LengthMismatch {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The number of uids.
        n: usize,
    },
    /// `uids` is not `0..n`.
    #[error("metagraph uid at index {index} is {uid}, expected {index}")]
    UidOutOfOrder {
        /// The index.
        index: usize,
        /// The uid found there.
        uid: Uid,
    },
    /// A weight or bond row points past the last uid.
    #[error("metagraph `{field}` row {row} points at uid {target}, but n is {n}")]
    TargetOutOfRange {
        /// `weights` or `bonds`.
        field: &'static str,
        /// The row.
        row: usize,
        /// The target uid.
        target: Uid,
        /// The number of uids.
        n: usize,
    },
}

impl Metagraph {
    /// A subnet with no neurons.
    pub fn empty(netuid: NetUid, block: Block, hyperparameters: Hyperparameters) -> Self {
        Self {
            netuid,
            block,
            tempo: hyperparameters.tempo,
            last_step: Block(0),
            owner_coldkey: None,
            owner_hotkey: None,
            hyperparameters,
            uids: Vec::new(),
            hotkeys: Vec::new(),
            coldkeys: Vec::new(),
            stake: Vec::new(),
            consensus: Vec::new(),
            validator_trust: Vec::new(),
            incentive: Vec::new(),
            dividends: Vec::new(),
            emission: Vec::new(),
            active: Vec::new(),
            last_update: Vec::new(),
            validator_permit: Vec::new(),
            block_at_registration: Vec::new(),
            axons: Vec::new(),
            weights: Vec::new(),
            bonds: Vec::new(),
        }
    }

    /// The number of neurons.
    pub fn n(&self) -> usize {
        self.uids.len()
    }

    /// Whether the subnet has no neurons.
    pub fn is_empty(&self) -> bool {
        self.uids.is_empty()
    }

    /// The uid holding `hotkey`, if registered.
    pub fn uid_of(&self, hotkey: &Hotkey) -> Option<Uid> {
        self.hotkeys
            .iter()
            .position(|h| h == hotkey)
            .map(|i| self.uids[i])
    }

    /// One neuron's row, if `uid` exists.
    pub fn neuron(&self, uid: Uid) -> Option<Neuron> {
        let i = uid.index();
        if i >= self.n() {
            return None;
        }
        Some(Neuron {
            uid,
            hotkey: self.hotkeys[i],
            coldkey: self.coldkeys[i],
            stake: self.stake[i],
            consensus: self.consensus[i],
            validator_trust: self.validator_trust[i],
            incentive: self.incentive[i],
            dividends: self.dividends[i],
            emission: self.emission[i],
            active: self.active[i],
            last_update: self.last_update[i],
            validator_permit: self.validator_permit[i],
            block_at_registration: self.block_at_registration[i],
            axon: self.axons[i].clone(),
        })
    }

    /// Every neuron, in uid order. Call [`Metagraph::validate`] first on untrusted data.
    pub fn neurons(&self) -> impl Iterator<Item = Neuron> + '_ {
        self.uids.iter().filter_map(|&uid| self.neuron(uid))
    }

    /// Checks that every array has one entry per uid, uids are `0..n`, and weight and bond
    /// rows point at existing uids. Metagraphs read from outside must pass this before use.
    pub fn validate(&self) -> Result<(), MetagraphError> {
        let n = self.n();
        let lens: [(&'static str, usize); 15] = [
            ("hotkeys", self.hotkeys.len()),
            ("coldkeys", self.coldkeys.len()),
            ("stake", self.stake.len()),
            ("consensus", self.consensus.len()),
            ("validator_trust", self.validator_trust.len()),
            ("incentive", self.incentive.len()),
            ("dividends", self.dividends.len()),
            ("emission", self.emission.len()),
            ("active", self.active.len()),
            ("last_update", self.last_update.len()),
            ("validator_permit", self.validator_permit.len()),
            ("block_at_registration", self.block_at_registration.len()),
            ("axons", self.axons.len()),
            (
                "weights",
                if self.weights.is_empty() {
                    n
                } else {
                    self.weights.len()
                },
            ),
            (
                "bonds",
                if self.bonds.is_empty() {
                    n
                } else {
                    self.bonds.len()
                },
            ),
        ];
        for (field, len) in lens {
            if len != n {
                return Err(MetagraphError::LengthMismatch { field, len, n });
            }
        }
        for (index, uid) in self.uids.iter().enumerate() {
            if uid.index() != index {
                return Err(MetagraphError::UidOutOfOrder { index, uid: *uid });
            }
        }
        for (field, rows) in [("weights", &self.weights), ("bonds", &self.bonds)] {
            for (row, entries) in rows.iter().enumerate() {
                if let Some((target, _)) = entries.iter().find(|(t, _)| t.index() >= n) {
                    return Err(MetagraphError::TargetOutOfRange {
                        field,
                        row,
                        target: *target,
                        n,
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::AccountId;

    fn one_neuron() -> Metagraph {
        let mut m = Metagraph::empty(NetUid(1), Block(10), Hyperparameters::default());
        let key = AccountId([1; 32]);
        m.uids.push(Uid(0));
        m.hotkeys.push(Hotkey(key));
        m.coldkeys.push(Coldkey(key));
        m.stake.push(Balance::from_tao(1));
        m.consensus.push(U16Proportion::ZERO);
        m.validator_trust.push(U16Proportion::ZERO);
        m.incentive.push(U16Proportion::ONE);
        m.dividends.push(U16Proportion::ZERO);
        m.emission.push(Balance::ZERO);
        m.active.push(true);
        m.last_update.push(Block(5));
        m.validator_permit.push(false);
        m.block_at_registration.push(Block(1));
        m.axons.push(AxonInfo::default());
        m
    }

    #[test]
    fn lookups() {
        let m = one_neuron();
        m.validate().unwrap();
        assert_eq!(m.uid_of(&Hotkey(AccountId([1; 32]))), Some(Uid(0)));
        assert_eq!(m.uid_of(&Hotkey(AccountId([2; 32]))), None);
        assert_eq!(m.neuron(Uid(0)).unwrap().incentive, U16Proportion::ONE);
        assert!(m.neuron(Uid(1)).is_none());
        assert_eq!(m.neurons().count(), 1);
    }

    #[test]
    fn validate_names_the_broken_field() {
        let mut m = one_neuron();
        m.stake.clear();
        assert_eq!(
            m.validate(),
            Err(MetagraphError::LengthMismatch {
                field: "stake",
                len: 0,
                n: 1
            })
        );
        let mut m = one_neuron();
        m.weights = vec![vec![(Uid(3), 1)]];
        assert!(matches!(
            m.validate(),
            Err(MetagraphError::TargetOutOfRange { row: 0, .. })
        ));
    }
}
