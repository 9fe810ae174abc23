//! Integration tests of subforge-sdk, one module per topic, in one binary to keep links few.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chain_extrinsics;
mod chain_rules;
mod chain_support;
mod net_axon;
mod net_dendrite;
mod net_python;
mod net_support;
mod python;
mod subtensor_replay;
mod subtensor_support;
mod subtensor_timelock;
mod subtensor_transport;
mod wasm_guest_build;
mod wasm_hostile;
mod wasm_scorer;
mod weights_python;
