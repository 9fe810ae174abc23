//! What happens at the start of every block: registration prices decay, the block's emission is
//! minted and shared among subnets, and subnets whose tempo has come run their epoch through
//! [`subforge_core::consensus::epoch`] and pay it out as stake.

use subforge_core::consensus::{EpochInput, EpochOutput, EpochParams, block_emission, epoch};
use subforge_core::{Balance, Block, Coldkey, Hotkey, NetUid, Uid};

use super::registration::decay_burn;
use super::weights::{STAKE_THRESHOLD, expire_commits};
use super::{MAX_EPOCHS_PER_BLOCK, OWNER_CUT};
use crate::chain::local::records::Event;
use crate::chain::local::state::State;

/// Runs the block's initialization at `block`; returns its events.
pub(crate) fn on_initialize(state: &mut State, block: Block) -> Vec<Event> {
    state.global_mut().block = block;
    let netuids: Vec<NetUid> = state.subnets.iter().map(|(n, _)| *n).collect();
    for netuid in &netuids {
        if let Some(s) = state.subnets.get_mut(netuid) {
            s.regs_this_block = 0;
            decay_burn(s);
        }
    }
    distribute_block_emission(state, &netuids);
    let mut events = Vec::new();
    let mut epochs = 0;
    for netuid in netuids {
        if epochs >= MAX_EPOCHS_PER_BLOCK {
            // The rest stay due and run in the next block.
            break;
        }
        let due = state.subnets.get(&netuid).is_some_and(|s| {
            let tempo = s.hyperparameters.tempo;
            tempo != 0 && block.since(s.last_epoch_block) >= u64::from(tempo)
        });
        if due {
            events.extend(run_epoch(state, netuid, block));
            epochs += 1;
        }
    }
    events
}

/// Mints the block emission and shares it equally among subnets with emission on: 18% to the
/// owner's pending cut, the rest half to miners and half to validators (pending until the
/// epoch). Rounding dust is not minted.
fn distribute_block_emission(state: &mut State, netuids: &[NetUid]) {
    let enabled: Vec<NetUid> = netuids
        .iter()
        .copied()
        .filter(|n| state.subnets.get(n).is_some_and(|s| s.emission_enabled))
        .collect();
    if enabled.is_empty() {
        return;
    }
    let emission = block_emission(state.global().total_issuance.rao());
    let share = emission / enabled.len() as u64;
    if share == 0 {
        return;
    }
    let owner_cut = (u128::from(share) * u128::from(OWNER_CUT) / 65_535) as u64;
    let rest = share - owner_cut;
    let server = rest / 2;
    let validator = rest - server;
    for netuid in &enabled {
        if let Some(s) = state.subnets.get_mut(netuid) {
            s.pending_owner_cut = s
                .pending_owner_cut
                .saturating_add(Balance::from_rao(owner_cut));
            s.pending_server = s.pending_server.saturating_add(Balance::from_rao(server));
            s.pending_validator = s
                .pending_validator
                .saturating_add(Balance::from_rao(validator));
        }
    }
    let minted = share * enabled.len() as u64;
    let global = state.global_mut();
    global.total_issuance = global
        .total_issuance
        .saturating_add(Balance::from_rao(minted));
}

/// The epoch's input, read from the state as the chain's `epoch_mechanism` reads it.
pub(crate) fn epoch_input(state: &State, netuid: NetUid, block: Block) -> Option<EpochInput> {
    let s = state.subnets.get(&netuid)?;
    let n = s.n;
    let mut input = EpochInput {
        block,
        params: EpochParams {
            stake_threshold: STAKE_THRESHOLD.rao(),
            ..EpochParams::from(&s.hyperparameters)
        },
        owner: state.uid_of(netuid, &s.owner_hotkey),
        last_epoch_block: s.last_epoch_block,
        emission: s.pending_server.saturating_add(s.pending_validator),
        commit_reveal: s
            .hyperparameters
            .commit_reveal_weights_enabled
            .then(|| Vec::with_capacity(usize::from(n))),
        ..EpochInput::default()
    };
    for i in 0..n {
        let uid = Uid(i);
        let nr = state.neurons.get(&(netuid, uid))?;
        let stake = state.hotkey_stake(netuid, &nr.hotkey);
        input
            .stake
            .push(Balance::from_rao(u64::try_from(stake).unwrap_or(u64::MAX)));
        input.last_update.push(nr.last_update);
        input.block_at_registration.push(nr.block_at_registration);
        input.validator_permit.push(nr.validator_permit);
        input.weights.push(nr.weights.clone());
        input.bonds.push(nr.bonds.clone());
        if let Some(cr) = &mut input.commit_reveal {
            // Expired commits were dropped at the previous epoch, so every stored one is live.
            let earliest = state
                .commits
                .get(&(netuid, nr.hotkey))
                .and_then(|c| c.iter().map(|c| c.block).min());
            cr.push(earliest);
        }
    }
    Some(input)
}

/// One payout: stake credited to `(hotkey, coldkey)` on the subnet.
type Payout = (Hotkey, Coldkey, u64);

/// Splits a validator's dividend: the take to the hotkey's owner, the rest to everyone staked
/// on the hotkey pro rata (rounding dust to the owner).
fn split_dividend(
    state: &State,
    netuid: NetUid,
    hotkey: &Hotkey,
    amount: u64,
    out: &mut Vec<Payout>,
) {
    let Some(record) = state.hotkeys.get(hotkey) else {
        return;
    };
    let owner = record.owner;
    let take = (u128::from(amount) * u128::from(record.take) / 65_535) as u64;
    let rest = amount - take;
    let stakers = state.stakers(netuid, hotkey);
    let total: u128 = stakers.iter().map(|(_, s)| u128::from(s.rao())).sum();
    let mut paid = 0u64;
    for (coldkey, stake) in &stakers {
        let part = (u128::from(rest) * u128::from(stake.rao()))
            .checked_div(total)
            .unwrap_or(0) as u64;
        if part > 0 {
            out.push((*hotkey, *coldkey, part));
            paid += part;
        }
    }
    out.push((*hotkey, owner, take + (rest - paid)));
}

fn run_epoch(state: &mut State, netuid: NetUid, block: Block) -> Vec<Event> {
    let Some(input) = epoch_input(state, netuid, block) else {
        return Vec::new();
    };
    let output = match epoch(&input) {
        Ok(o) => o,
        Err(e) => {
            // As on chain: an inconsistent input skips the epoch and the emission carries over.
            if let Some(s) = state.subnets.get_mut(&netuid) {
                s.last_epoch_block = block;
            }
            return vec![Event::EpochSkipped {
                netuid,
                reason: e.to_string(),
            }];
        }
    };
    pay_epoch(state, netuid, block, &input, &output)
}

fn pay_epoch(
    state: &mut State,
    netuid: NetUid,
    block: Block,
    input: &EpochInput,
    output: &EpochOutput,
) -> Vec<Event> {
    let Some(subnet) = state.subnets.get(&netuid).cloned() else {
        return Vec::new();
    };
    let n = usize::from(subnet.n);
    let mut payouts: Vec<Payout> = Vec::new();
    let (mut incentive, mut dividends, mut recycled) = (0u64, 0u64, 0u64);
    for i in 0..n {
        let Some(nr) = state.neurons.get(&(netuid, Uid(i as u16))) else {
            continue;
        };
        let hotkey = nr.hotkey;
        let server = output.server_emission.get(i).map_or(0, |b| b.rao());
        let validator = output.validator_emission.get(i).map_or(0, |b| b.rao());
        let owners_key =
            hotkey == subnet.owner_hotkey || state.owner_of(&hotkey) == Some(subnet.owner_coldkey);
        if server > 0 {
            if owners_key {
                // Incentive paid to the owner's own keys is recycled, as on chain.
                recycled += server;
            } else if let Some(owner) = state.owner_of(&hotkey) {
                payouts.push((hotkey, owner, server));
                incentive += server;
            }
        }
        if validator > 0 {
            split_dividend(state, netuid, &hotkey, validator, &mut payouts);
            dividends += validator;
        }
    }
    let owner_cut = subnet.pending_owner_cut.rao();
    if owner_cut > 0 {
        payouts.push((subnet.owner_hotkey, subnet.owner_coldkey, owner_cut));
    }
    // What the epoch did not hand out (fixed-point dust) leaves the issuance.
    recycled += input
        .emission
        .rao()
        .saturating_sub(incentive.saturating_add(dividends).saturating_add(recycled));

    for (hotkey, coldkey, amount) in payouts {
        if state
            .add_stake(netuid, &hotkey, &coldkey, Balance::from_rao(amount))
            .is_none()
        {
            recycled += amount;
        }
    }
    for i in 0..n {
        if let Some(nr) = state.neurons.get_mut(&(netuid, Uid(i as u16))) {
            let at = |v: &Vec<u16>| v.get(i).copied().unwrap_or(0);
            nr.incentive = at(&output.incentive);
            nr.dividends = at(&output.dividends);
            nr.consensus = at(&output.consensus);
            nr.validator_trust = at(&output.validator_trust);
            nr.stake_weight = at(&output.stake_weight);
            nr.active = output.active.get(i).copied().unwrap_or(false);
            nr.validator_permit = output.validator_permit.get(i).copied().unwrap_or(false);
            nr.emission = output.emission.get(i).copied().unwrap_or(Balance::ZERO);
            nr.bonds = output.bonds.get(i).cloned().unwrap_or_default();
        }
    }
    let global = state.global_mut();
    global.total_issuance = global
        .total_issuance
        .saturating_sub(Balance::from_rao(recycled));
    let period = subnet.hyperparameters.commit_reveal_period;
    let epoch_index = subnet.epoch_index + 1;
    if let Some(s) = state.subnets.get_mut(&netuid) {
        s.pending_server = Balance::ZERO;
        s.pending_validator = Balance::ZERO;
        s.pending_owner_cut = Balance::ZERO;
        s.last_epoch_block = block;
        s.epoch_index = epoch_index;
    }
    let mut events = vec![Event::EpochRun {
        netuid,
        epoch: epoch_index,
        incentive: Balance::from_rao(incentive),
        dividends: Balance::from_rao(dividends),
        owner_cut: Balance::from_rao(owner_cut),
        recycled: Balance::from_rao(recycled),
    }];
    events.extend(expire_commits(state, netuid, epoch_index, period));
    events
}

#[cfg(test)]
mod tests {
    use subforge_core::identity::Keypair;

    use super::*;
    use crate::chain::error::ChainError;
    use crate::chain::hash::H256;
    use crate::chain::hyperparameter::Hyperparameter;
    use crate::chain::local::extrinsic::{Call, Extrinsic};
    use crate::chain::local::runtime::{CheckedExtrinsic, GenesisConfig, Runtime};

    fn apply(rt: &mut Runtime, kp: &Keypair, call: Call) -> Option<ChainError> {
        let nonce = rt.state.account(&kp.public()).nonce;
        let xt = Extrinsic::sign(kp, nonce, call, &rt.genesis_hash);
        let checked = CheckedExtrinsic::check(xt, &rt.genesis_hash).unwrap();
        rt.apply_block(vec![checked]).record.outcomes[0].clone()
    }

    #[test]
    fn commit_reveal_mask_input_is_each_uids_earliest_live_commit_block() {
        let (mut rt, _) = Runtime::genesis(&GenesisConfig::dev());
        let alice = Keypair::from_uri("//Alice").unwrap();
        let owner = Keypair::from_uri("//Alice//owner").unwrap();
        let miner = Keypair::from_uri("//Bob//miner").unwrap();
        let bob = Keypair::from_uri("//Bob").unwrap();
        let netuid = NetUid(1);
        assert_eq!(
            apply(
                &mut rt,
                &alice,
                Call::CreateSubnet {
                    hotkey: Hotkey(owner.public())
                }
            ),
            None
        );
        let set = |name, value| Call::SetHyperparameter {
            netuid,
            name,
            value,
        };
        assert_eq!(
            apply(&mut rt, &alice, set(Hyperparameter::WeightsSetRateLimit, 0)),
            None
        );
        let register = Call::BurnedRegister {
            netuid,
            hotkey: Hotkey(miner.public()),
        };
        assert_eq!(apply(&mut rt, &bob, register), None);
        let commit = |i: u8| Call::CommitWeights {
            netuid,
            commit_hash: H256([i; 32]),
        };
        assert_eq!(apply(&mut rt, &owner, commit(1)), None);
        let first = rt.head.number;
        assert_eq!(apply(&mut rt, &owner, commit(2)), None);
        let input = epoch_input(&rt.state, netuid, rt.head.number).unwrap();
        assert_eq!(input.commit_reveal, Some(vec![Some(first), None]));
        assert_eq!(input.owner, Some(Uid(0)));
        assert_eq!(input.stake.len(), 2);
        assert_eq!(
            apply(
                &mut rt,
                &alice,
                set(Hyperparameter::CommitRevealWeightsEnabled, 0)
            ),
            None
        );
        let input = epoch_input(&rt.state, netuid, rt.head.number).unwrap();
        assert_eq!(input.commit_reveal, None);
    }
}
