//! Staking: a coldkey stakes free balance onto any hotkey on a subnet (its own, or a delegate's).

use subforge_core::{Balance, Coldkey, Hotkey, NetUid};

use super::{Ctx, DispatchResult, MIN_STAKE, overflow};
use crate::chain::error::ChainError;
use crate::chain::local::records::Event;
use crate::chain::local::state::State;

fn check_target(
    state: &State,
    hotkey: &Hotkey,
    netuid: NetUid,
    amount: Balance,
) -> Result<(), ChainError> {
    if amount.is_zero() {
        return Err(ChainError::ZeroAmount);
    }
    if !state.subnets.contains(&netuid) {
        return Err(ChainError::SubnetNotExists { netuid });
    }
    if !state.hotkeys.contains(hotkey) {
        return Err(ChainError::HotkeyNotExists { hotkey: *hotkey });
    }
    Ok(())
}

/// `add_stake`: moves `amount` of the signer's free balance into stake on `hotkey`.
pub(super) fn add_stake(
    state: &mut State,
    ctx: Ctx,
    hotkey: &Hotkey,
    netuid: NetUid,
    amount: Balance,
) -> DispatchResult {
    check_target(state, hotkey, netuid, amount)?;
    if amount < MIN_STAKE {
        return Err(ChainError::StakeAmountTooLow {
            amount,
            min: MIN_STAKE,
        });
    }
    let balance = state.free(&ctx.signer);
    if balance < amount {
        return Err(ChainError::NotEnoughBalanceToStake {
            account: ctx.signer,
            balance,
            amount,
        });
    }
    let coldkey = Coldkey(ctx.signer);
    if state
        .stake_of(netuid, hotkey, &coldkey)
        .checked_add(amount)
        .is_none()
    {
        return Err(overflow("the stake"));
    }
    if let Some(acc) = state.accounts.get_mut(&ctx.signer) {
        acc.free = acc.free.saturating_sub(amount);
    }
    state
        .add_stake(netuid, hotkey, &coldkey, amount)
        .ok_or_else(|| overflow("the stake"))?;
    Ok(vec![Event::StakeAdded {
        coldkey,
        hotkey: *hotkey,
        netuid,
        amount,
    }])
}

/// `remove_stake`: moves `amount` of the signer's stake on `hotkey` back to free balance.
pub(super) fn remove_stake(
    state: &mut State,
    ctx: Ctx,
    hotkey: &Hotkey,
    netuid: NetUid,
    amount: Balance,
) -> DispatchResult {
    check_target(state, hotkey, netuid, amount)?;
    let coldkey = Coldkey(ctx.signer);
    let stake = state.stake_of(netuid, hotkey, &coldkey);
    if stake < amount {
        return Err(ChainError::NotEnoughStakeToWithdraw { stake, amount });
    }
    if state.free(&ctx.signer).checked_add(amount).is_none() {
        return Err(overflow("the free balance"));
    }
    state
        .sub_stake(netuid, hotkey, &coldkey, amount)
        .ok_or_else(|| overflow("the stake"))?;
    state
        .credit(&ctx.signer, amount)
        .ok_or_else(|| overflow("the free balance"))?;
    Ok(vec![Event::StakeRemoved {
        coldkey,
        hotkey: *hotkey,
        netuid,
        amount,
    }])
}
