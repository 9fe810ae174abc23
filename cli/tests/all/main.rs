//! Integration tests of the `subforge` command, run as a person runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// Test support shared with subforge-sdk's own tests (not every helper is used here).
#[allow(dead_code)]
#[path = "../../../subnet-sdk/tests/all/chain_support.rs"]
mod chain_support;
#[allow(dead_code)]
#[path = "../../../subnet-sdk/tests/all/python.rs"]
mod python;
#[path = "../../../subnet-sdk/tests/all/wasm_guest_build.rs"]
mod wasm_guest_build;

mod chain_node;
mod cli_chain;
mod cli_epoch;
mod cli_neuron;
mod cli_scorer;
mod cli_wallet;
mod dashboard;
mod run;
mod subtensor_runtime;
mod templates;
mod wallet_interop;
