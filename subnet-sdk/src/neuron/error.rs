//! What can stop a neuron.

use std::net::SocketAddr;

use subforge_core::{Hotkey, NetUid};

use super::state::StateError;
use crate::chain::ChainError;
use crate::net::AxonError;

/// Why a miner or validator could not start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum NeuronError {
    /// The chain refused or could not be reached.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The hotkey holds no uid on the subnet and registering was not asked for.
    #[error(
        "hotkey {hotkey} is not registered on netuid {netuid}; register it first \
         (`subforge register`) or let the miner do it (`--register`)"
    )]
    NotRegistered {
        /// The hotkey.
        hotkey: Hotkey,
        /// The subnet.
        netuid: NetUid,
    },
    /// Registering needs the coldkey that pays, and none was given.
    #[error("registering hotkey {hotkey} needs its coldkey to pay the burn")]
    NoColdkey {
        /// The hotkey.
        hotkey: Hotkey,
    },
    /// The axon could not start.
    #[error(transparent)]
    Axon(#[from] AxonError),
    /// No address to publish on chain.
    #[error(
        "the axon listens on {bind}, which is not an address others can reach; \
         give the external IP to publish (--external-ip); Subforge never looks it up"
    )]
    NoExternalIp {
        /// The bind address.
        bind: SocketAddr,
    },
    /// The validator's saved state could not be used.
    #[error(transparent)]
    State(#[from] StateError),
    /// The subnet's own code failed (task generation or scoring) in a way that stops the run.
    #[error("{0}")]
    Subnet(String),
}
