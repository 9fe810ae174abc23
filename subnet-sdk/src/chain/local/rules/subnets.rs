//! Subnets: creation with a lock cost, and the hyperparameters an owner (or the sudo key) sets.

use subforge_core::{Balance, Block, Coldkey, Hotkey, Hyperparameters, NetUid};

use super::registration::{append_neuron, ensure_hotkey_owner};
use super::{
    Ctx, DispatchResult, INITIAL_BURN, LOCK_REDUCTION_INTERVAL, MAX_SUBNETS, MAX_TEMPO, MAX_UIDS,
    MIN_LOCK, MIN_OWNER_TEMPO,
};
use crate::chain::error::ChainError;
use crate::chain::hyperparameter::Hyperparameter;
use crate::chain::local::records::Event;
use crate::chain::local::state::{GlobalRecord, State, SubnetRecord};

/// What creating a subnet locks at `now`: the last lock doubled, minus a linear decay over
/// [`LOCK_REDUCTION_INTERVAL`] blocks since, never below [`MIN_LOCK`] (the chain's
/// `get_network_lock_cost`).
pub(crate) fn lock_cost(global: &GlobalRecord, now: Block) -> Balance {
    let last = global.last_lock.rao().max(MIN_LOCK.rao());
    let mult: u64 = if global.last_lock_block.0 == 0 { 1 } else { 2 };
    let decay = (last / LOCK_REDUCTION_INTERVAL).saturating_mul(now.since(global.last_lock_block));
    Balance::from_rao(
        last.saturating_mul(mult)
            .saturating_sub(decay)
            .max(MIN_LOCK.rao()),
    )
}

/// Creates a subnet owned by the signer, with `hotkey` as uid 0.
pub(super) fn create_subnet(state: &mut State, ctx: Ctx, hotkey: &Hotkey) -> DispatchResult {
    let coldkey = Coldkey(ctx.signer);
    let cost = lock_cost(&state.global(), ctx.block);
    let balance = state.free(&ctx.signer);
    if balance < cost {
        return Err(ChainError::NotEnoughBalanceToCreateSubnet {
            account: ctx.signer,
            balance,
            lock_cost: cost,
        });
    }
    ensure_hotkey_owner(state, hotkey, &coldkey)?;
    let netuid = (1..=MAX_SUBNETS)
        .map(NetUid)
        .find(|n| !state.subnets.contains(n))
        .ok_or(ChainError::SubnetLimitReached { max: MAX_SUBNETS })?;

    if let Some(acc) = state.accounts.get_mut(&ctx.signer) {
        acc.free = acc.free.saturating_sub(cost);
    }
    let hyperparameters = Hyperparameters::default();
    let tempo = u64::from(hyperparameters.tempo.max(1));
    let burn = INITIAL_BURN.clamp(hyperparameters.min_burn, hyperparameters.max_burn);
    state.subnets.insert(
        netuid,
        SubnetRecord {
            owner_coldkey: coldkey,
            owner_hotkey: *hotkey,
            hyperparameters,
            n: 0,
            registered_at: ctx.block,
            locked: cost,
            burn,
            regs_this_block: 0,
            // Staggers the epochs of subnets created in the same block, as the chain does.
            last_epoch_block: Block(ctx.block.0.saturating_sub(u64::from(netuid.0) % tempo)),
            epoch_index: 0,
            pending_server: Balance::ZERO,
            pending_validator: Balance::ZERO,
            pending_owner_cut: Balance::ZERO,
            emission_enabled: true,
        },
    );
    append_neuron(state, netuid, hotkey, &coldkey, ctx.block);
    let global = state.global_mut();
    global.last_lock = cost;
    global.last_lock_block = ctx.block;
    Ok(vec![Event::SubnetCreated {
        netuid,
        owner: coldkey,
        hotkey: *hotkey,
        lock: cost,
    }])
}

/// The inclusive range a signer may set `name` to; `None` when only the sudo key may set it.
fn bounds(name: Hyperparameter, h: &Hyperparameters, n: u16, sudo: bool) -> Option<(i128, i128)> {
    use Hyperparameter as H;
    let any_u16 = (0, i128::from(u16::MAX));
    let flag = (0, 1);
    let any_u63 = (0, i128::from(i64::MAX));
    let owner = match name {
        H::Tempo => Some((i128::from(MIN_OWNER_TEMPO), i128::from(MAX_TEMPO))),
        H::ImmunityPeriod | H::BondsPenalty => Some(any_u16),
        H::MinAllowedWeights => Some((0, i128::from(h.max_allowed_uids))),
        H::MaxAllowedUids => Some((i128::from(n.max(1)), i128::from(MAX_UIDS))),
        H::ActivityCutoffFactorMilli => Some((1_000, 50_000)),
        H::WeightsVersionKey | H::ServingRateLimit => Some(any_u63),
        H::BondsMovingAverage => Some((0, 975_000)),
        H::Yuma3Enabled
        | H::LiquidAlphaEnabled
        | H::CommitRevealWeightsEnabled
        | H::BondsResetEnabled => Some(flag),
        H::AlphaLow => Some((1_638, i128::from(h.alpha_high))),
        H::AlphaHigh => Some((i128::from(h.alpha_low.max(1_638)), i128::from(u16::MAX))),
        H::AlphaSigmoidSteepness => Some((0, i128::from(i16::MAX))),
        H::CommitRevealPeriod => Some((1, 100)),
        H::MinBurn => Some((0, i128::from(h.max_burn.rao()))),
        H::MaxBurn => Some((i128::from(h.min_burn.rao()), any_u63.1)),
        H::BurnHalfLife => Some((1, i128::from(u16::MAX))),
        H::Kappa
        | H::MaxAllowedValidators
        | H::WeightsSetRateLimit
        | H::RegistrationAllowed
        | H::MaxRegsPerBlock
        | H::EmissionEnabled => None,
    };
    if !sudo {
        return owner;
    }
    Some(match name {
        H::Tempo | H::Kappa | H::MaxRegsPerBlock => any_u16,
        H::MaxAllowedValidators => (1, i128::from(h.max_allowed_uids)),
        H::ActivityCutoffFactorMilli => (1, i128::from(u32::MAX)),
        H::MinAllowedWeights => (0, i128::from(u16::MAX)),
        H::WeightsSetRateLimit => any_u63,
        H::BondsMovingAverage => (0, 1_000_000),
        H::AlphaSigmoidSteepness => (i128::from(i16::MIN), i128::from(i16::MAX)),
        H::RegistrationAllowed | H::EmissionEnabled => flag,
        _ => owner.unwrap_or(any_u16),
    })
}

/// Sets one hyperparameter of a subnet: the owner within the owner's bounds, the sudo key
/// within wider ones.
pub(super) fn set_hyperparameter(
    state: &mut State,
    ctx: Ctx,
    netuid: NetUid,
    name: Hyperparameter,
    value: i64,
) -> DispatchResult {
    let subnet = state
        .subnets
        .get(&netuid)
        .ok_or(ChainError::SubnetNotExists { netuid })?;
    let sudo = state.global().sudo == Some(ctx.signer);
    if !sudo && subnet.owner_coldkey.0 != ctx.signer {
        return Err(ChainError::NotSubnetOwner {
            netuid,
            account: ctx.signer,
        });
    }
    let (min, max) = bounds(name, &subnet.hyperparameters, subnet.n, sudo)
        .ok_or(ChainError::RootOnlyHyperparameter { name: name.name() })?;
    let v = i128::from(value);
    if v < min || v > max {
        return Err(ChainError::HyperparameterOutOfBounds {
            name: name.name(),
            value: v,
            min,
            max,
        });
    }
    let Some(subnet) = state.subnets.get_mut(&netuid) else {
        return Err(ChainError::SubnetNotExists { netuid });
    };
    // In range by the bounds above, so these conversions cannot fail.
    let as_u16 = || u16::try_from(value).unwrap_or(u16::MAX);
    let as_u64 = || u64::try_from(value).unwrap_or(0);
    let h = &mut subnet.hyperparameters;
    use Hyperparameter as H;
    match name {
        H::Tempo => h.tempo = as_u16(),
        H::Kappa => h.kappa = as_u16(),
        H::ImmunityPeriod => h.immunity_period = as_u16(),
        H::MinAllowedWeights => h.min_allowed_weights = as_u16(),
        H::MaxAllowedUids => h.max_allowed_uids = as_u16(),
        H::MaxAllowedValidators => h.max_allowed_validators = as_u16(),
        H::ActivityCutoffFactorMilli => {
            h.activity_cutoff_factor_milli = u32::try_from(value).unwrap_or(u32::MAX);
        }
        H::WeightsVersionKey => h.weights_version_key = as_u64(),
        H::WeightsSetRateLimit => h.weights_set_rate_limit = as_u64(),
        H::ServingRateLimit => h.serving_rate_limit = as_u64(),
        H::BondsMovingAverage => h.bonds_moving_average = as_u64(),
        H::BondsPenalty => h.bonds_penalty = as_u16(),
        H::Yuma3Enabled => h.yuma3_enabled = value == 1,
        H::LiquidAlphaEnabled => h.liquid_alpha_enabled = value == 1,
        H::AlphaLow => h.alpha_low = as_u16(),
        H::AlphaHigh => h.alpha_high = as_u16(),
        H::AlphaSigmoidSteepness => {
            h.alpha_sigmoid_steepness = i16::try_from(value).unwrap_or(i16::MAX);
        }
        H::CommitRevealWeightsEnabled => h.commit_reveal_weights_enabled = value == 1,
        H::CommitRevealPeriod => h.commit_reveal_period = as_u64(),
        H::RegistrationAllowed => h.registration_allowed = value == 1,
        H::MaxRegsPerBlock => h.max_regs_per_block = as_u16(),
        H::MinBurn => h.min_burn = Balance::from_rao(as_u64()),
        H::MaxBurn => h.max_burn = Balance::from_rao(as_u64()),
        H::BurnHalfLife => h.burn_half_life = as_u16(),
        H::BondsResetEnabled => h.bonds_reset_enabled = value == 1,
        H::EmissionEnabled => subnet.emission_enabled = value == 1,
    }
    if matches!(name, H::MinBurn | H::MaxBurn) {
        let (lo, hi) = (
            subnet.hyperparameters.min_burn,
            subnet.hyperparameters.max_burn,
        );
        subnet.burn = subnet.burn.clamp(lo, hi);
    }
    Ok(vec![Event::HyperparameterSet {
        netuid,
        name,
        value,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_cost_doubles_then_decays_to_the_minimum() {
        let mut g = GlobalRecord::default();
        assert_eq!(lock_cost(&g, Block(5)), MIN_LOCK);
        g.last_lock = MIN_LOCK;
        g.last_lock_block = Block(10);
        assert_eq!(lock_cost(&g, Block(10)), Balance::from_tao(2000));
        let per_block = MIN_LOCK.rao() / LOCK_REDUCTION_INTERVAL;
        assert_eq!(
            lock_cost(&g, Block(110)).rao(),
            2 * MIN_LOCK.rao() - 100 * per_block
        );
        assert_eq!(
            lock_cost(&g, Block(10 + 2 * LOCK_REDUCTION_INTERVAL)),
            MIN_LOCK
        );
    }
}
