//! Serving: the axon record a neuron publishes, validated and rate limited.

use subforge_core::chain::{AxonInfo, AxonProtocol};
use subforge_core::{Hotkey, NetUid};

use super::{Ctx, DispatchResult};
use crate::chain::error::ChainError;
use crate::chain::local::records::Event;
use crate::chain::local::state::State;

/// The fields of a `serve_axon` call.
#[derive(Debug, Clone, Copy)]
pub(super) struct AxonCall {
    pub(super) version: u32,
    pub(super) ip: u128,
    pub(super) port: u16,
    pub(super) ip_type: u8,
    pub(super) protocol: u8,
    pub(super) placeholder1: u8,
    pub(super) placeholder2: u8,
}

/// Whether the chain accepts `ip` of `ip_type`: not unspecified, not all ones. Unlike the
/// Bittensor chain, loopback is accepted: on a local chain everything runs on one machine.
fn valid_ip(ip: u128, ip_type: u8) -> bool {
    match ip_type {
        4 => ip != 0 && ip < u128::from(u32::MAX),
        6 => ip != 0 && ip != u128::MAX,
        _ => false,
    }
}

/// `serve_axon`: the signing hotkey publishes where it serves on `netuid`.
pub(super) fn serve_axon(
    state: &mut State,
    ctx: Ctx,
    netuid: NetUid,
    call: AxonCall,
) -> DispatchResult {
    let hotkey = Hotkey(ctx.signer);
    let subnet = state
        .subnets
        .get(&netuid)
        .ok_or(ChainError::SubnetNotExists { netuid })?;
    let limit = subnet.hyperparameters.serving_rate_limit;
    let uid = state
        .uid_of(netuid, &hotkey)
        .ok_or(ChainError::NotRegistered { netuid, hotkey })?;
    if call.ip_type != 4 && call.ip_type != 6 {
        return Err(ChainError::InvalidIpType {
            ip_type: call.ip_type,
        });
    }
    let ip = AxonInfo::ip_from_chain(call.ip, call.ip_type)
        .filter(|_| valid_ip(call.ip, call.ip_type))
        .ok_or(ChainError::InvalidIpAddress { ip: call.ip })?;
    if call.port == 0 {
        return Err(ChainError::InvalidPort);
    }
    let previous = state
        .neurons
        .get(&(netuid, uid))
        .and_then(|n| n.axon.as_ref().map(|a| a.block));
    if let Some(last) = previous
        && ctx.block.since(last) < limit
    {
        return Err(ChainError::ServingRateLimitExceeded {
            last,
            now: ctx.block,
            limit,
        });
    }
    if let Some(n) = state.neurons.get_mut(&(netuid, uid)) {
        n.axon = Some(AxonInfo {
            block: ctx.block,
            version: call.version,
            ip,
            port: call.port,
            protocol: AxonProtocol(call.protocol),
            placeholder1: call.placeholder1,
            placeholder2: call.placeholder2,
        });
    }
    Ok(vec![Event::AxonServed { netuid, hotkey }])
}
