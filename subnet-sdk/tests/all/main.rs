//! Integration tests of subforge-sdk, one module per topic, in one binary to keep links few.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli_wallet;
mod python;
mod wallet_interop;
