//! # subforge-sdk
//!
//! The shared runtime of Subforge subnets: everything between a subnet's three small pieces
//! (task, miner handler, scorer; see [`subforge_core`]) and a running network.
//!
//! - [`wallet`]: Bittensor-compatible wallets and keyfiles (`~/.bittensor/wallets`).
//! - [`wasm`] (feature `wasm`): sandboxed WASM scoring on wasmtime, ABI v1.
//! - `cli` (feature `cli`): the `subforge` command-line tool.

pub mod wallet;

#[cfg(feature = "wasm")]
pub mod wasm;

#[cfg(feature = "cli")]
pub mod cli;

pub use subforge_core as core;
