//! Integration tests of subforge-sdk, one module per topic, in one binary to keep links few.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli_scorer;
mod cli_wallet;
mod python;
mod wallet_interop;
mod wasm_guest_build;
mod wasm_hostile;
mod wasm_scorer;
