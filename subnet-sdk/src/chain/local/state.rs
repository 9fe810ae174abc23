//! The chain's state: every storage item, its canonical encoding, and the state digest.

use std::collections::BTreeMap;

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use subforge_core::chain::{AxonInfo, U16Proportion};
use subforge_core::identity::AccountId;
use subforge_core::{Balance, Block, Coldkey, Hotkey, Hyperparameters, Metagraph, NetUid, Uid};

use super::storage::{Change, StorageMap};
use crate::chain::hash::{H256, blake2_256};
use crate::chain::local::codec::{DecodeError, struct_codec};
use crate::chain::local::records::AccountInfo;
use crate::chain::types::{StakeInfo, SubnetInfo};

/// An account's free balance and nonce.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AccountRecord {
    pub(crate) free: Balance,
    pub(crate) nonce: u64,
}
struct_codec!(AccountRecord { free, nonce });

/// A hotkey's owner and delegate take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HotkeyRecord {
    pub(crate) owner: Coldkey,
    /// Out of 65535.
    pub(crate) take: u16,
}
struct_codec!(HotkeyRecord { owner, take });

/// A subnet's owner, settings and running counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SubnetRecord {
    pub(crate) owner_coldkey: Coldkey,
    pub(crate) owner_hotkey: Hotkey,
    pub(crate) hyperparameters: Hyperparameters,
    pub(crate) n: u16,
    pub(crate) registered_at: Block,
    pub(crate) locked: Balance,
    /// The registration price now.
    pub(crate) burn: Balance,
    pub(crate) regs_this_block: u16,
    pub(crate) last_epoch_block: Block,
    pub(crate) epoch_index: u64,
    pub(crate) pending_server: Balance,
    pub(crate) pending_validator: Balance,
    pub(crate) pending_owner_cut: Balance,
    pub(crate) emission_enabled: bool,
}
struct_codec!(SubnetRecord {
    owner_coldkey,
    owner_hotkey,
    hyperparameters,
    n,
    registered_at,
    locked,
    burn,
    regs_this_block,
    last_epoch_block,
    epoch_index,
    pending_server,
    pending_validator,
    pending_owner_cut,
    emission_enabled,
});

impl SubnetRecord {
    pub(crate) fn pending_total(&self) -> Balance {
        self.pending_server
            .saturating_add(self.pending_validator)
            .saturating_add(self.pending_owner_cut)
    }
}

/// One uid's slot on a subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NeuronRecord {
    pub(crate) hotkey: Hotkey,
    pub(crate) block_at_registration: Block,
    pub(crate) last_update: Block,
    /// `(uid, weight)` in submission order, max-upscaled.
    pub(crate) weights: Vec<(u16, u16)>,
    pub(crate) bonds: Vec<(u16, u16)>,
    pub(crate) axon: Option<AxonInfo>,
    pub(crate) incentive: u16,
    pub(crate) dividends: u16,
    pub(crate) consensus: u16,
    pub(crate) validator_trust: u16,
    pub(crate) stake_weight: u16,
    pub(crate) emission: Balance,
    pub(crate) active: bool,
    pub(crate) validator_permit: bool,
}
struct_codec!(NeuronRecord {
    hotkey,
    block_at_registration,
    last_update,
    weights,
    bonds,
    axon,
    incentive,
    dividends,
    consensus,
    validator_trust,
    stake_weight,
    emission,
    active,
    validator_permit,
});

impl NeuronRecord {
    /// A freshly registered slot.
    pub(crate) fn new(hotkey: Hotkey, block: Block) -> Self {
        Self {
            hotkey,
            block_at_registration: block,
            last_update: block,
            weights: Vec::new(),
            bonds: Vec::new(),
            axon: None,
            incentive: 0,
            dividends: 0,
            consensus: 0,
            validator_trust: 0,
            stake_weight: 0,
            emission: Balance::ZERO,
            active: true,
            validator_permit: false,
        }
    }
}

/// A weights commit waiting to be revealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommitRecord {
    pub(crate) hash: H256,
    pub(crate) block: Block,
    /// The subnet's epoch counter when committed.
    pub(crate) epoch: u64,
}
struct_codec!(CommitRecord { hash, block, epoch });

/// Chain-wide values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GlobalRecord {
    /// The number of the last block applied.
    pub(crate) block: Block,
    pub(crate) total_issuance: Balance,
    /// The lock paid by the last subnet creation (the base of the next lock cost).
    pub(crate) last_lock: Balance,
    pub(crate) last_lock_block: Block,
    pub(crate) sudo: Option<AccountId>,
}
struct_codec!(GlobalRecord {
    block,
    total_issuance,
    last_lock,
    last_lock_block,
    sudo
});

/// The whole state of the chain.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) accounts: StorageMap<AccountId, AccountRecord>,
    pub(crate) hotkeys: StorageMap<Hotkey, HotkeyRecord>,
    pub(crate) stake: StorageMap<(NetUid, Hotkey, Coldkey), Balance>,
    pub(crate) subnets: StorageMap<NetUid, SubnetRecord>,
    pub(crate) neurons: StorageMap<(NetUid, Uid), NeuronRecord>,
    pub(crate) uids: StorageMap<(NetUid, Hotkey), Uid>,
    pub(crate) commits: StorageMap<(NetUid, Hotkey), Vec<CommitRecord>>,
    pub(crate) global: StorageMap<(), GlobalRecord>,
    /// blake2b-256 of each stored value, by full key: what the digest hashes.
    leaves: BTreeMap<Vec<u8>, [u8; 32]>,
}

macro_rules! each_map {
    ($self:ident, $m:ident => $body:expr) => {{
        {
            let $m = &mut $self.accounts;
            $body;
        }
        {
            let $m = &mut $self.hotkeys;
            $body;
        }
        {
            let $m = &mut $self.stake;
            $body;
        }
        {
            let $m = &mut $self.subnets;
            $body;
        }
        {
            let $m = &mut $self.neurons;
            $body;
        }
        {
            let $m = &mut $self.uids;
            $body;
        }
        {
            let $m = &mut $self.commits;
            $body;
        }
        {
            let $m = &mut $self.global;
            $body;
        }
    }};
}

const MIN_ACCOUNT: AccountId = AccountId([0; 32]);
const MAX_ACCOUNT: AccountId = AccountId([0xff; 32]);

impl State {
    pub(crate) fn new() -> Self {
        Self {
            accounts: StorageMap::new(1),
            hotkeys: StorageMap::new(2),
            stake: StorageMap::new(3),
            subnets: StorageMap::new(4),
            neurons: StorageMap::new(5),
            uids: StorageMap::new(6),
            commits: StorageMap::new(7),
            global: StorageMap::new(8),
            leaves: BTreeMap::new(),
        }
    }

    /// Opens a transaction: later writes can be undone with [`State::rollback`].
    pub(crate) fn begin(&mut self) {
        each_map!(self, m => m.begin());
    }

    pub(crate) fn commit(&mut self) {
        each_map!(self, m => m.commit());
    }

    pub(crate) fn rollback(&mut self) {
        each_map!(self, m => m.rollback());
    }

    /// The changes since the last call, for the store; updates the digest's leaves.
    pub(crate) fn take_changes(&mut self) -> Vec<Change> {
        let mut out = Vec::new();
        each_map!(self, m => m.take_changes(&mut out));
        for (key, value) in &out {
            match value {
                Some(v) => {
                    self.leaves.insert(key.clone(), blake2_256(v));
                }
                None => {
                    self.leaves.remove(key);
                }
            }
        }
        out
    }

    /// blake2b-256 over every entry in key order: `len(key) ‖ key ‖ blake2b-256(value)`.
    ///
    /// Call after [`State::take_changes`], which brings the leaves up to date.
    pub(crate) fn digest(&self) -> H256 {
        let mut hasher = Blake2b::<U32>::new();
        for (key, leaf) in &self.leaves {
            hasher.update((key.len() as u32).to_le_bytes());
            hasher.update(key);
            hasher.update(leaf);
        }
        H256(hasher.finalize().into())
    }

    /// Rebuilds the state from stored entries (full keys and values).
    pub(crate) fn load<'a>(
        entries: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Result<Self, DecodeError> {
        let mut state = Self::new();
        for (key, value) in entries {
            let Some((&prefix, rest)) = key.split_first() else {
                return Err(DecodeError::InvalidValue("empty storage key"));
            };
            match prefix {
                1 => state.accounts.load(rest, value)?,
                2 => state.hotkeys.load(rest, value)?,
                3 => state.stake.load(rest, value)?,
                4 => state.subnets.load(rest, value)?,
                5 => state.neurons.load(rest, value)?,
                6 => state.uids.load(rest, value)?,
                7 => state.commits.load(rest, value)?,
                8 => state.global.load(rest, value)?,
                _ => return Err(DecodeError::InvalidValue("storage prefix")),
            }
            state.leaves.insert(key.to_vec(), blake2_256(value));
        }
        Ok(state)
    }

    // ---- reads ---------------------------------------------------------------------------

    pub(crate) fn global(&self) -> GlobalRecord {
        self.global.get(&()).cloned().unwrap_or_default()
    }

    pub(crate) fn global_mut(&mut self) -> &mut GlobalRecord {
        self.global.entry_or(&(), GlobalRecord::default)
    }

    pub(crate) fn block(&self) -> Block {
        self.global().block
    }

    pub(crate) fn account(&self, account: &AccountId) -> AccountInfo {
        self.accounts
            .get(account)
            .map(|a| AccountInfo {
                free: a.free,
                nonce: a.nonce,
            })
            .unwrap_or_default()
    }

    pub(crate) fn free(&self, account: &AccountId) -> Balance {
        self.accounts.get(account).map_or(Balance::ZERO, |a| a.free)
    }

    /// Whether an account may sign: it has a record (balance or nonce) or is a known hotkey.
    pub(crate) fn is_known(&self, account: &AccountId) -> bool {
        self.accounts.contains(account) || self.hotkeys.contains(&Hotkey(*account))
    }

    pub(crate) fn uid_of(&self, netuid: NetUid, hotkey: &Hotkey) -> Option<Uid> {
        self.uids.get(&(netuid, *hotkey)).copied()
    }

    pub(crate) fn stake_of(&self, netuid: NetUid, hotkey: &Hotkey, coldkey: &Coldkey) -> Balance {
        self.stake
            .get(&(netuid, *hotkey, *coldkey))
            .copied()
            .unwrap_or(Balance::ZERO)
    }

    /// Every coldkey's stake on `hotkey` on `netuid`, in coldkey order.
    pub(crate) fn stakers(&self, netuid: NetUid, hotkey: &Hotkey) -> Vec<(Coldkey, Balance)> {
        self.stake
            .range(
                (netuid, *hotkey, Coldkey(MIN_ACCOUNT))..=(netuid, *hotkey, Coldkey(MAX_ACCOUNT)),
            )
            .map(|((_, _, c), s)| (*c, *s))
            .collect()
    }

    /// The total stake on `hotkey` on `netuid`, in rao (u128: never overflows).
    pub(crate) fn hotkey_stake(&self, netuid: NetUid, hotkey: &Hotkey) -> u128 {
        self.stake
            .range(
                (netuid, *hotkey, Coldkey(MIN_ACCOUNT))..=(netuid, *hotkey, Coldkey(MAX_ACCOUNT)),
            )
            .map(|(_, s)| u128::from(s.rao()))
            .sum()
    }

    pub(crate) fn owner_of(&self, hotkey: &Hotkey) -> Option<Coldkey> {
        self.hotkeys.get(hotkey).map(|h| h.owner)
    }

    pub(crate) fn subnet_info(&self, netuid: NetUid) -> Option<SubnetInfo> {
        let s = self.subnets.get(&netuid)?;
        Some(SubnetInfo {
            netuid,
            owner_coldkey: s.owner_coldkey,
            owner_hotkey: s.owner_hotkey,
            n: s.n,
            max_allowed_uids: s.hyperparameters.max_allowed_uids,
            tempo: s.hyperparameters.tempo,
            burn: s.burn,
            locked: s.locked,
            registered_at: s.registered_at,
            last_epoch_block: s.last_epoch_block,
            epoch_index: s.epoch_index,
            emission_enabled: s.emission_enabled,
            pending_emission: s.pending_total(),
        })
    }

    pub(crate) fn stakes_of(&self, coldkey: &Coldkey) -> Vec<StakeInfo> {
        self.stake
            .iter()
            .filter(|((_, _, c), s)| c == coldkey && !s.is_zero())
            .map(|((netuid, hotkey, coldkey), stake)| StakeInfo {
                coldkey: *coldkey,
                hotkey: *hotkey,
                netuid: *netuid,
                stake: *stake,
            })
            .collect()
    }

    /// The subnet's metagraph at the current block.
    pub(crate) fn metagraph(&self, netuid: NetUid) -> Option<Metagraph> {
        let s = self.subnets.get(&netuid)?;
        let mut m = Metagraph::empty(netuid, self.block(), s.hyperparameters.clone());
        m.last_step = s.last_epoch_block;
        m.owner_coldkey = Some(s.owner_coldkey);
        m.owner_hotkey = Some(s.owner_hotkey);
        for i in 0..s.n {
            let uid = Uid(i);
            let Some(nr) = self.neurons.get(&(netuid, uid)) else {
                continue;
            };
            m.uids.push(uid);
            m.hotkeys.push(nr.hotkey);
            m.coldkeys
                .push(self.owner_of(&nr.hotkey).unwrap_or(Coldkey(MIN_ACCOUNT)));
            let stake = self.hotkey_stake(netuid, &nr.hotkey);
            m.stake
                .push(Balance::from_rao(u64::try_from(stake).unwrap_or(u64::MAX)));
            m.consensus.push(U16Proportion(nr.consensus));
            m.validator_trust.push(U16Proportion(nr.validator_trust));
            m.incentive.push(U16Proportion(nr.incentive));
            m.dividends.push(U16Proportion(nr.dividends));
            m.emission.push(nr.emission);
            m.active.push(nr.active);
            m.last_update.push(nr.last_update);
            m.validator_permit.push(nr.validator_permit);
            m.block_at_registration.push(nr.block_at_registration);
            m.axons.push(nr.axon.clone().unwrap_or_default());
            m.weights
                .push(nr.weights.iter().map(|&(u, w)| (Uid(u), w)).collect());
            m.bonds
                .push(nr.bonds.iter().map(|&(u, b)| (Uid(u), b)).collect());
        }
        Some(m)
    }

    // ---- writes --------------------------------------------------------------------------

    /// Adds `amount` to an account's free balance.
    pub(crate) fn credit(&mut self, account: &AccountId, amount: Balance) -> Option<()> {
        let acc = self.accounts.entry_or(account, AccountRecord::default);
        acc.free = acc.free.checked_add(amount)?;
        Some(())
    }

    /// Adds `amount` to a coldkey's stake on a hotkey; `None` on overflow.
    pub(crate) fn add_stake(
        &mut self,
        netuid: NetUid,
        hotkey: &Hotkey,
        coldkey: &Coldkey,
        amount: Balance,
    ) -> Option<()> {
        if amount.is_zero() {
            return Some(());
        }
        let entry = self
            .stake
            .entry_or(&(netuid, *hotkey, *coldkey), || Balance::ZERO);
        *entry = entry.checked_add(amount)?;
        Some(())
    }

    /// Subtracts `amount` from a stake, removing the entry when it reaches zero.
    pub(crate) fn sub_stake(
        &mut self,
        netuid: NetUid,
        hotkey: &Hotkey,
        coldkey: &Coldkey,
        amount: Balance,
    ) -> Option<()> {
        let key = (netuid, *hotkey, *coldkey);
        let left = self.stake.get(&key)?.checked_sub(amount)?;
        if left.is_zero() {
            self.stake.remove(&key);
        } else {
            self.stake.insert(key, left);
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_follows_content_not_history_and_rollback_restores() {
        let a = AccountId([1; 32]);
        let b = AccountId([2; 32]);
        let mut s1 = State::new();
        s1.credit(&a, Balance::from_rao(5)).unwrap();
        s1.credit(&b, Balance::from_rao(7)).unwrap();
        s1.take_changes();
        let mut s2 = State::new();
        s2.credit(&b, Balance::from_rao(3)).unwrap();
        s2.credit(&a, Balance::from_rao(5)).unwrap();
        s2.credit(&b, Balance::from_rao(4)).unwrap();
        s2.take_changes();
        assert_eq!(s1.digest(), s2.digest());

        s1.begin();
        s1.credit(&a, Balance::from_rao(1)).unwrap();
        s1.rollback();
        s1.take_changes();
        assert_eq!(s1.free(&a), Balance::from_rao(5));
        assert_eq!(s1.digest(), s2.digest());

        let changes = {
            let mut s = State::new();
            s.credit(&a, Balance::from_rao(5)).unwrap();
            s.credit(&b, Balance::from_rao(7)).unwrap();
            s.take_changes()
        };
        let loaded = State::load(
            changes
                .iter()
                .map(|(k, v)| (k.as_slice(), v.as_deref().unwrap())),
        )
        .unwrap();
        assert_eq!(loaded.digest(), s1.digest());
    }
}
