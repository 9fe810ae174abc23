//! The chain's rules, one module per pallet-sized idea. Every call checks first and writes
//! after; the runtime also wraps each call in a storage transaction, so a failed call changes
//! nothing.

mod balances;
mod coinbase;
mod registration;
mod serving;
mod staking;
mod subnets;
mod weights;

pub(crate) use coinbase::on_initialize;
pub use registration::burn_decay_factor_q32;
pub(crate) use subnets::lock_cost;
pub(crate) use weights::commit_status;
pub use weights::{STAKE_THRESHOLD, commit_hash};

use subforge_core::identity::AccountId;
use subforge_core::{Balance, Block};

use super::state::State;
use crate::chain::error::ChainError;
use crate::chain::local::extrinsic::Call;
use crate::chain::local::records::Event;

/// Delegate take a hotkey starts with: 11 796/65 535 ≈ 18%.
pub const DEFAULT_TAKE: u16 = 11_796;
/// The subnet owner's cut of the subnet's emission: 11 796/65 535 ≈ 18%.
pub const OWNER_CUT: u16 = 11_796;
/// The smallest network lock cost: 1000 TAO.
pub const MIN_LOCK: Balance = Balance::from_tao(1000);
/// Blocks over which a doubled lock cost decays back.
pub const LOCK_REDUCTION_INTERVAL: u64 = 100_800;
/// A new subnet's registration price: 1 TAO.
pub const INITIAL_BURN: Balance = Balance::from_tao(1);
/// `1.26` as the chain's `I32F32` holds it (raw bits), the price multiplier per registration.
pub const BURN_INCREASE_MULT_Q32: u64 = 5_411_658_793;
/// Unrevealed commits one hotkey may hold on a subnet.
pub const MAX_UNREVEALED_COMMITS: usize = 10;
/// The smallest stake `add_stake` accepts.
pub const MIN_STAKE: Balance = Balance::from_rao(500_000);
/// Subnets the chain holds at most (netuids 1..=128).
pub const MAX_SUBNETS: u16 = 128;
/// Epochs run in one block at most; others wait for the next block.
pub const MAX_EPOCHS_PER_BLOCK: usize = 2;
/// The hard ceiling on `max_allowed_uids`.
pub const MAX_UIDS: u16 = 256;
/// The longest tempo an owner may set.
pub const MAX_TEMPO: u16 = 50_400;
/// The shortest tempo an owner may set (the sudo key may set any).
pub const MIN_OWNER_TEMPO: u16 = 360;

/// Who is calling, and when.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    pub(crate) block: Block,
    pub(crate) signer: AccountId,
}

pub(crate) type DispatchResult = Result<Vec<Event>, ChainError>;

/// Runs one call against the state.
pub(crate) fn dispatch(state: &mut State, ctx: Ctx, call: &Call) -> DispatchResult {
    match call {
        Call::Transfer { dest, amount } => balances::transfer(state, ctx, dest, *amount),
        Call::CreateSubnet { hotkey } => subnets::create_subnet(state, ctx, hotkey),
        Call::SetHyperparameter {
            netuid,
            name,
            value,
        } => subnets::set_hyperparameter(state, ctx, *netuid, *name, *value),
        Call::BurnedRegister { netuid, hotkey } => {
            registration::burned_register(state, ctx, *netuid, hotkey)
        }
        Call::ServeAxon {
            netuid,
            version,
            ip,
            port,
            ip_type,
            protocol,
            placeholder1,
            placeholder2,
        } => serving::serve_axon(
            state,
            ctx,
            *netuid,
            serving::AxonCall {
                version: *version,
                ip: *ip,
                port: *port,
                ip_type: *ip_type,
                protocol: *protocol,
                placeholder1: *placeholder1,
                placeholder2: *placeholder2,
            },
        ),
        Call::AddStake {
            hotkey,
            netuid,
            amount,
        } => staking::add_stake(state, ctx, hotkey, *netuid, *amount),
        Call::RemoveStake {
            hotkey,
            netuid,
            amount,
        } => staking::remove_stake(state, ctx, hotkey, *netuid, *amount),
        Call::SetWeights {
            netuid,
            uids,
            weights,
            version_key,
        } => weights::set_weights(state, ctx, *netuid, uids, weights, *version_key),
        Call::CommitWeights {
            netuid,
            commit_hash,
        } => weights::commit_weights(state, ctx, *netuid, *commit_hash),
        Call::RevealWeights {
            netuid,
            uids,
            weights,
            salt,
            version_key,
        } => weights::reveal_weights(state, ctx, *netuid, uids, weights, salt, *version_key),
    }
}

fn overflow(what: &str) -> ChainError {
    ChainError::ArithmeticOverflow {
        what: what.to_owned(),
    }
}
