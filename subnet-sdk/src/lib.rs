//! # subforge-sdk
//!
//! The shared runtime of Subforge subnets: everything between a subnet's three small pieces
//! (task, miner handler, scorer; see [`subforge_core`]) and a running network.
//!
//! - [`wallet`]: Bittensor-compatible wallets and keyfiles (`~/.bittensor/wallets`).
//! - [`chain`]: the [`chain::Chain`] trait, the embedded [`chain::LocalChain`] and
//!   [`chain::NodeClient`] for `subforge node`.
//! - `cli` (feature `cli`): the `subforge` command-line tool.

pub mod chain;
pub mod wallet;

#[cfg(feature = "cli")]
pub mod cli;

pub use subforge_core as core;
