//! Integration tests of the data-analysis subnet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// Chain and neuron test support shared with subforge-sdk's own tests (not every helper is
// used here).
#[allow(dead_code)]
#[path = "../../../../subnet-sdk/tests/all/chain_support.rs"]
mod chain_support;
#[allow(dead_code)]
#[path = "../../../../subnet-sdk/tests/subnet_support/mod.rs"]
mod subnet_support;

#[allow(dead_code)]
#[path = "../../../../subnet-sdk/tests/all/python.rs"]
mod python;

mod localnet;
mod neurons;
mod wasm_parity;
