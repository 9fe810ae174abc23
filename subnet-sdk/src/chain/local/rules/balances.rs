//! Free balances: transfers.

use subforge_core::Balance;
use subforge_core::identity::AccountId;

use super::{Ctx, DispatchResult, overflow};
use crate::chain::error::ChainError;
use crate::chain::local::records::Event;
use crate::chain::local::state::State;

/// Moves `amount` of the signer's free balance to `dest`.
pub(super) fn transfer(
    state: &mut State,
    ctx: Ctx,
    dest: &AccountId,
    amount: Balance,
) -> DispatchResult {
    if amount.is_zero() {
        return Err(ChainError::ZeroAmount);
    }
    let balance = state.free(&ctx.signer);
    if balance < amount {
        return Err(ChainError::InsufficientBalance {
            account: ctx.signer,
            balance,
            needed: amount,
        });
    }
    if *dest != ctx.signer && state.free(dest).checked_add(amount).is_none() {
        return Err(overflow("the recipient's balance"));
    }
    if let Some(acc) = state.accounts.get_mut(&ctx.signer) {
        acc.free = acc.free.saturating_sub(amount);
    }
    state
        .credit(dest, amount)
        .ok_or_else(|| overflow("the recipient's balance"))?;
    Ok(vec![Event::Transfer {
        from: ctx.signer,
        to: *dest,
        amount,
    }])
}
