//! Weights: the chain's checks on `set_weights`, and commit-reveal.

use subforge_core::identity::AccountId;
use subforge_core::weights::stored_weights;
use subforge_core::{Balance, Hotkey, NetUid, Uid};

use super::{Ctx, DispatchResult, MAX_UNREVEALED_COMMITS};
use crate::chain::error::ChainError;
use crate::chain::hash::H256;
use crate::chain::local::records::{CommitStatus, Event};
use crate::chain::local::state::{CommitRecord, State};

/// Stake a hotkey needs to set weights (the chain's `StakeThreshold`; 0 by default).
pub const STAKE_THRESHOLD: Balance = Balance::ZERO;

/// The hash `commit_weights` stores and `reveal_weights` must match
/// ([`subforge_core::weights::commit_hash`], as the chain's `get_commit_hash`).
pub fn commit_hash(
    hotkey: &AccountId,
    netuid: NetUid,
    uids: &[Uid],
    weights: &[u16],
    salt: &[u16],
    version_key: u64,
) -> H256 {
    let uids: Vec<u16> = uids.iter().map(|u| u.0).collect();
    H256(subforge_core::weights::commit_hash(
        hotkey,
        netuid,
        &uids,
        weights,
        salt,
        version_key,
    ))
}

/// `set_weights` without commit-reveal.
pub(super) fn set_weights(
    state: &mut State,
    ctx: Ctx,
    netuid: NetUid,
    uids: &[Uid],
    weights: &[u16],
    version_key: u64,
) -> DispatchResult {
    let subnet = state
        .subnets
        .get(&netuid)
        .ok_or(ChainError::SubnetNotExists { netuid })?;
    if subnet.hyperparameters.commit_reveal_weights_enabled {
        return Err(ChainError::CommitRevealEnabled { netuid });
    }
    store_weights(state, ctx, netuid, uids, weights, version_key, true)
}

/// The chain's `do_set_weights` checks, in its order, then the store.
fn store_weights(
    state: &mut State,
    ctx: Ctx,
    netuid: NetUid,
    uids: &[Uid],
    weights: &[u16],
    version_key: u64,
    rate_limited: bool,
) -> DispatchResult {
    let hotkey = Hotkey(ctx.signer);
    let subnet = state
        .subnets
        .get(&netuid)
        .ok_or(ChainError::SubnetNotExists { netuid })?;
    let h = &subnet.hyperparameters;
    let n = usize::from(subnet.n);
    if uids.len() != weights.len() {
        return Err(ChainError::WeightVecLengthMismatch {
            uids: uids.len(),
            weights: weights.len(),
        });
    }
    let uid = state
        .uid_of(netuid, &hotkey)
        .ok_or(ChainError::NotRegistered { netuid, hotkey })?;
    let lone_self_weight = uids.len() == 1 && uids[0] == uid;
    let min = usize::from(h.min_allowed_weights).min(n);
    if !lone_self_weight && uids.len() < min {
        return Err(ChainError::WeightVecLengthIsLow {
            len: uids.len(),
            min,
        });
    }
    if uids.len() > n {
        return Err(ChainError::TooManyWeights { len: uids.len(), n });
    }
    if !STAKE_THRESHOLD.is_zero() {
        let stake = state.hotkey_stake(netuid, &hotkey);
        if stake < u128::from(STAKE_THRESHOLD.rao()) {
            return Err(ChainError::NotEnoughStakeToSetWeights {
                stake: Balance::from_rao(u64::try_from(stake).unwrap_or(u64::MAX)),
                threshold: STAKE_THRESHOLD,
            });
        }
    }
    if version_key < h.weights_version_key {
        return Err(ChainError::IncorrectWeightVersionKey {
            got: version_key,
            required: h.weights_version_key,
        });
    }
    let neuron = state
        .neurons
        .get(&(netuid, uid))
        .ok_or(ChainError::NotRegistered { netuid, hotkey })?;
    let limit = h.weights_set_rate_limit;
    if rate_limited && ctx.block.since(neuron.last_update) < limit {
        return Err(ChainError::SettingWeightsTooFast {
            last: neuron.last_update,
            now: ctx.block,
            limit,
        });
    }
    if let Some(bad) = uids.iter().find(|u| u.index() >= n) {
        return Err(ChainError::InvalidUid { uid: *bad, n });
    }
    let mut seen = vec![false; n];
    for u in uids {
        if std::mem::replace(&mut seen[u.index()], true) {
            return Err(ChainError::DuplicateUids { uid: *u });
        }
    }
    if !lone_self_weight && !neuron.validator_permit {
        return Err(ChainError::NoValidatorPermit { netuid, uid });
    }
    if h.max_weight_limit < u16::MAX && !lone_self_weight {
        let sum: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let max = weights.iter().copied().max().unwrap_or(0);
        if sum > 0 && u64::from(max) * 65_535 / sum > u64::from(h.max_weight_limit) {
            return Err(ChainError::MaxWeightExceeded {
                limit: h.max_weight_limit,
            });
        }
    }

    let raw: Vec<u16> = uids.iter().map(|u| u.0).collect();
    // Lengths were checked above, so this cannot fail.
    let stored = stored_weights(&raw, weights).unwrap_or_default();
    if let Some(neuron) = state.neurons.get_mut(&(netuid, uid)) {
        neuron.weights = stored;
        neuron.last_update = ctx.block;
    }
    Ok(vec![Event::WeightsSet { netuid, uid }])
}

/// `commit_weights`: stores a hash of weights to reveal in a later epoch.
pub(super) fn commit_weights(
    state: &mut State,
    ctx: Ctx,
    netuid: NetUid,
    commit_hash: H256,
) -> DispatchResult {
    let hotkey = Hotkey(ctx.signer);
    let subnet = state
        .subnets
        .get(&netuid)
        .ok_or(ChainError::SubnetNotExists { netuid })?;
    if !subnet.hyperparameters.commit_reveal_weights_enabled {
        return Err(ChainError::CommitRevealDisabled { netuid });
    }
    let limit = subnet.hyperparameters.weights_set_rate_limit;
    let epoch = subnet.epoch_index;
    state
        .uid_of(netuid, &hotkey)
        .ok_or(ChainError::NotRegistered { netuid, hotkey })?;
    let commits = state.commits.get(&(netuid, hotkey));
    if let Some(last) = commits.and_then(|c| c.iter().map(|c| c.block).max())
        && ctx.block.since(last) < limit
    {
        return Err(ChainError::CommittingWeightsTooFast {
            last,
            now: ctx.block,
            limit,
        });
    }
    if commits.map_or(0, Vec::len) >= MAX_UNREVEALED_COMMITS {
        return Err(ChainError::TooManyUnrevealedCommits {
            max: MAX_UNREVEALED_COMMITS,
        });
    }
    state
        .commits
        .entry_or(&(netuid, hotkey), Vec::new)
        .push(CommitRecord {
            hash: commit_hash,
            block: ctx.block,
            epoch,
        });
    Ok(vec![Event::WeightsCommitted {
        netuid,
        hotkey,
        commit_hash,
    }])
}

/// `reveal_weights`: sets the weights of a live commit whose reveal epoch is now.
pub(super) fn reveal_weights(
    state: &mut State,
    ctx: Ctx,
    netuid: NetUid,
    uids: &[Uid],
    weights: &[u16],
    salt: &[u16],
    version_key: u64,
) -> DispatchResult {
    let hotkey = Hotkey(ctx.signer);
    let subnet = state
        .subnets
        .get(&netuid)
        .ok_or(ChainError::SubnetNotExists { netuid })?;
    if !subnet.hyperparameters.commit_reveal_weights_enabled {
        return Err(ChainError::CommitRevealDisabled { netuid });
    }
    let current = subnet.epoch_index;
    let period = subnet.hyperparameters.commit_reveal_period;
    state
        .uid_of(netuid, &hotkey)
        .ok_or(ChainError::NotRegistered { netuid, hotkey })?;
    let commits = state
        .commits
        .get(&(netuid, hotkey))
        .filter(|c| !c.is_empty())
        .ok_or(ChainError::NoWeightsCommitFound { netuid, hotkey })?;
    let hash = commit_hash(&ctx.signer, netuid, uids, weights, salt, version_key);
    let position = commits
        .iter()
        .position(|c| c.hash == hash)
        .ok_or(ChainError::InvalidRevealCommitHashNotMatch)?;
    let commit = &commits[position];
    let reveal_epoch = commit.epoch.saturating_add(period);
    if current < reveal_epoch {
        return Err(ChainError::RevealTooEarly {
            commit_epoch: commit.epoch,
            reveal_epoch,
            current,
        });
    }
    if current > reveal_epoch {
        return Err(ChainError::ExpiredWeightCommit {
            reveal_epoch,
            current,
        });
    }
    if let Some(list) = state.commits.get_mut(&(netuid, hotkey)) {
        list.remove(position);
        if list.is_empty() {
            state.commits.remove(&(netuid, hotkey));
        }
    }
    // Under commit-reveal the rate limit applies to commits, not to reveals.
    store_weights(state, ctx, netuid, uids, weights, version_key, false)
}

/// Where the commit with `hash` by `hotkey` stands: waiting (and until when), due, or missing.
pub(crate) fn commit_status(
    state: &State,
    netuid: NetUid,
    hotkey: &Hotkey,
    hash: &H256,
) -> Result<CommitStatus, ChainError> {
    let subnet = state
        .subnets
        .get(&netuid)
        .ok_or(ChainError::SubnetNotExists { netuid })?;
    let Some(commit) = state
        .commits
        .get(&(netuid, *hotkey))
        .and_then(|list| list.iter().find(|c| c.hash == *hash))
    else {
        return Ok(CommitStatus::Missing);
    };
    let current = subnet.epoch_index;
    let reveal_epoch = commit
        .epoch
        .saturating_add(subnet.hyperparameters.commit_reveal_period);
    if current >= reveal_epoch {
        return Ok(CommitStatus::Due);
    }
    // Epochs run every `tempo` blocks after the last one.
    let epochs_left = reveal_epoch - current;
    let tempo = u64::from(subnet.hyperparameters.tempo).max(1);
    Ok(CommitStatus::Waiting {
        reveal_epoch,
        current_epoch: current,
        retry_at: subnet
            .last_epoch_block
            .saturating_add(tempo.saturating_mul(epochs_left)),
    })
}

/// Drops commits whose reveal epoch has passed; returns one event per hotkey that lost some.
pub(super) fn expire_commits(
    state: &mut State,
    netuid: NetUid,
    epoch: u64,
    period: u64,
) -> Vec<Event> {
    let keys: Vec<(NetUid, Hotkey)> = state
        .commits
        .iter()
        .filter(|((n, _), list)| {
            *n == netuid && list.iter().any(|c| c.epoch.saturating_add(period) < epoch)
        })
        .map(|(k, _)| *k)
        .collect();
    let mut events = Vec::new();
    for key in keys {
        let Some(list) = state.commits.get_mut(&key) else {
            continue;
        };
        let before = list.len();
        list.retain(|c| c.epoch.saturating_add(period) >= epoch);
        let count = (before - list.len()) as u32;
        if list.is_empty() {
            state.commits.remove(&key);
        }
        events.push(Event::CommitsExpired {
            netuid,
            hotkey: key.1,
            count,
        });
    }
    events
}
