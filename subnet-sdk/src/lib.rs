//! # subforge-sdk
//!
//! The shared runtime of Subforge subnets: everything between a subnet's three small pieces
//! (task, miner handler, scorer; see [`subforge_core`]) and a running network.
//!
//! - [`wallet`]: Bittensor-compatible wallets and keyfiles (`~/.bittensor/wallets`).
//! - `cli` (feature `cli`): the `subforge` command-line tool.

pub mod wallet;

#[cfg(feature = "cli")]
pub mod cli;

pub use subforge_core as core;
