//! Registration by burn: the price, its decay and growth, and pruning when a subnet is full.

use subforge_core::{Balance, Block, Coldkey, Hotkey, NetUid, Uid};

use super::{BURN_INCREASE_MULT_Q32, Ctx, DEFAULT_TAKE, DispatchResult};
use crate::chain::error::ChainError;
use crate::chain::local::records::Event;
use crate::chain::local::state::{HotkeyRecord, NeuronRecord, State, SubnetRecord};

const ONE_Q32: u64 = 1 << 32;

/// `base^exp` in Q32 fixed point, flooring each product.
fn pow_q32(base: u64, mut exp: u32) -> u64 {
    let mut result = ONE_Q32;
    let mut b = base;
    while exp > 0 {
        if exp & 1 == 1 {
            result = ((u128::from(result) * u128::from(b)) >> 32) as u64;
        }
        b = ((u128::from(b) * u128::from(b)) >> 32) as u64;
        exp >>= 1;
    }
    result
}

/// The per-block price factor `f` in Q32 with `f^half_life` just at or below one half, found
/// by binary search as the chain does. A half-life of 0 means no decay.
pub fn burn_decay_factor_q32(half_life: u16) -> u64 {
    if half_life == 0 {
        return ONE_Q32;
    }
    let half = ONE_Q32 / 2;
    let (mut lo, mut hi) = (0u64, ONE_Q32);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if pow_q32(mid, u32::from(half_life)) <= half {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

fn clamp_burn(subnet: &SubnetRecord, burn: u64) -> Balance {
    let h = &subnet.hyperparameters;
    Balance::from_rao(burn).clamp(h.min_burn, h.max_burn.max(h.min_burn))
}

/// One block of price decay (run at the start of every block).
pub(super) fn decay_burn(subnet: &mut SubnetRecord) {
    let f = burn_decay_factor_q32(subnet.hyperparameters.burn_half_life);
    let decayed = ((u128::from(subnet.burn.rao()) * u128::from(f)) >> 32) as u64;
    subnet.burn = clamp_burn(subnet, decayed);
}

/// Errors unless `hotkey` is free or already owned by `coldkey`.
pub(super) fn ensure_hotkey_owner(
    state: &State,
    hotkey: &Hotkey,
    coldkey: &Coldkey,
) -> Result<(), ChainError> {
    match state.owner_of(hotkey) {
        Some(owner) if owner != *coldkey => Err(ChainError::NonAssociatedColdkey {
            hotkey: *hotkey,
            owner: owner.0,
        }),
        _ => Ok(()),
    }
}

fn claim_hotkey(state: &mut State, hotkey: &Hotkey, coldkey: &Coldkey) {
    if !state.hotkeys.contains(hotkey) {
        state.hotkeys.insert(
            *hotkey,
            HotkeyRecord {
                owner: *coldkey,
                take: DEFAULT_TAKE,
            },
        );
    }
}

/// Puts `hotkey` in a new slot at the end of the subnet.
pub(super) fn append_neuron(
    state: &mut State,
    netuid: NetUid,
    hotkey: &Hotkey,
    coldkey: &Coldkey,
    block: Block,
) -> Uid {
    let uid = match state.subnets.get_mut(&netuid) {
        Some(s) => {
            let uid = Uid(s.n);
            s.n = s.n.saturating_add(1);
            uid
        }
        None => Uid(0),
    };
    state
        .neurons
        .insert((netuid, uid), NeuronRecord::new(*hotkey, block));
    state.uids.insert((netuid, *hotkey), uid);
    claim_hotkey(state, hotkey, coldkey);
    uid
}

/// The uid the chain would prune to make room: lowest emission, then earliest registration,
/// then lowest uid; non-immune uids first; the owner's hotkeys never.
pub(crate) fn neuron_to_prune(state: &State, netuid: NetUid, now: Block) -> Option<Uid> {
    let subnet = state.subnets.get(&netuid)?;
    let immunity = u64::from(subnet.hyperparameters.immunity_period);
    let mut best: Option<(bool, Balance, Block, Uid)> = None;
    for i in 0..subnet.n {
        let uid = Uid(i);
        let Some(n) = state.neurons.get(&(netuid, uid)) else {
            continue;
        };
        let owned_by_owner = n.hotkey == subnet.owner_hotkey
            || state.owner_of(&n.hotkey) == Some(subnet.owner_coldkey);
        if owned_by_owner {
            continue;
        }
        let immune = now.since(n.block_at_registration) < immunity;
        let key = (immune, n.emission, n.block_at_registration, uid);
        if best.is_none_or(|b| key < b) {
            best = Some(key);
        }
    }
    best.map(|(_, _, _, uid)| uid)
}

/// Gives `uid` to a new hotkey: its weights and bonds cleared, other rows' weights on it zeroed.
fn replace_neuron(
    state: &mut State,
    netuid: NetUid,
    uid: Uid,
    hotkey: &Hotkey,
    coldkey: &Coldkey,
    block: Block,
) -> Option<Hotkey> {
    let old = state.neurons.get(&(netuid, uid)).map(|n| n.hotkey);
    if let Some(old) = old {
        state.uids.remove(&(netuid, old));
        state.commits.remove(&(netuid, old));
    }
    let n = state.subnets.get(&netuid).map_or(0, |s| s.n);
    for i in 0..n {
        let key = (netuid, Uid(i));
        let points_at_uid = state
            .neurons
            .get(&key)
            .is_some_and(|r| r.weights.iter().any(|&(t, w)| t == uid.0 && w != 0));
        if points_at_uid && let Some(row) = state.neurons.get_mut(&key) {
            for entry in &mut row.weights {
                if entry.0 == uid.0 {
                    entry.1 = 0;
                }
            }
        }
    }
    state
        .neurons
        .insert((netuid, uid), NeuronRecord::new(*hotkey, block));
    state.uids.insert((netuid, *hotkey), uid);
    claim_hotkey(state, hotkey, coldkey);
    old
}

/// `burned_register`: the signer (a coldkey) burns the price to give `hotkey` a uid.
pub(super) fn burned_register(
    state: &mut State,
    ctx: Ctx,
    netuid: NetUid,
    hotkey: &Hotkey,
) -> DispatchResult {
    let coldkey = Coldkey(ctx.signer);
    let subnet = state
        .subnets
        .get(&netuid)
        .ok_or(ChainError::SubnetNotExists { netuid })?;
    let h = &subnet.hyperparameters;
    if !h.registration_allowed {
        return Err(ChainError::SubnetRegistrationDisabled { netuid });
    }
    if subnet.regs_this_block >= h.max_regs_per_block {
        return Err(ChainError::TooManyRegistrationsThisBlock {
            netuid,
            max: h.max_regs_per_block,
        });
    }
    if state.uid_of(netuid, hotkey).is_some() {
        return Err(ChainError::HotkeyAlreadyRegistered {
            netuid,
            hotkey: *hotkey,
        });
    }
    ensure_hotkey_owner(state, hotkey, &coldkey)?;
    let burn = subnet.burn;
    let balance = state.free(&ctx.signer);
    if balance < burn {
        return Err(ChainError::NotEnoughBalanceToRegister {
            account: ctx.signer,
            balance,
            burn,
        });
    }
    let full = subnet.n >= h.max_allowed_uids;
    let prune = if full {
        Some(
            neuron_to_prune(state, netuid, ctx.block)
                .ok_or(ChainError::NoNeuronToPrune { netuid })?,
        )
    } else {
        None
    };

    if let Some(acc) = state.accounts.get_mut(&ctx.signer) {
        acc.free = acc.free.saturating_sub(burn);
    }
    // The burn is recycled: it leaves the total issuance.
    let global = state.global_mut();
    global.total_issuance = global.total_issuance.saturating_sub(burn);
    let (uid, replaced) = match prune {
        Some(uid) => {
            let old = replace_neuron(state, netuid, uid, hotkey, &coldkey, ctx.block);
            (uid, old)
        }
        None => (
            append_neuron(state, netuid, hotkey, &coldkey, ctx.block),
            None,
        ),
    };
    if let Some(s) = state.subnets.get_mut(&netuid) {
        s.regs_this_block = s.regs_this_block.saturating_add(1);
        let raised = (u128::from(s.burn.rao()) * u128::from(BURN_INCREASE_MULT_Q32)) >> 32;
        s.burn = clamp_burn(s, u64::try_from(raised).unwrap_or(u64::MAX));
    }
    Ok(vec![Event::NeuronRegistered {
        netuid,
        uid,
        hotkey: *hotkey,
        burn,
        replaced,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_factor_halves_the_price_over_the_half_life() {
        let f = burn_decay_factor_q32(360);
        let after = pow_q32(f, 360);
        assert!(after <= ONE_Q32 / 2);
        assert!(pow_q32(f + 1, 360) > ONE_Q32 / 2);
        assert_eq!(burn_decay_factor_q32(1), ONE_Q32 / 2);
        assert_eq!(burn_decay_factor_q32(0), ONE_Q32);
    }
}
