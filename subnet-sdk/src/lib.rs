//! # subforge-sdk
//!
//! The shared runtime of Subforge subnets: everything between a subnet's three small pieces
//! (task, miner handler, scorer; see [`subforge_core`]) and a running network.
//!
//! - [`wallet`]: Bittensor-compatible wallets and keyfiles (`~/.bittensor/wallets`).
//! - [`chain`]: the [`chain::Chain`] trait, the embedded [`chain::LocalChain`] and
//!   [`chain::NodeClient`] for `subforge node`.
//! - [`fs`]: crash-safe file writes.
//! - [`net`]: the axon (a miner's HTTP server) and the dendrite (a validator's client),
//!   speaking the Bittensor wire protocols.
//! - [`sync`]: a subnet's metagraph, refreshed every block and published on a watch channel.
//! - [`neuron`]: the miner and validator runtimes.
//! - [`registry`]: subnets by name, so one program runs any subnet linked into it.
//! - [`localnet`]: a whole subnet (chain, miners, validators) in one process.
//! - [`wasm`] (feature `wasm`): sandboxed WASM scoring on wasmtime, ABI v1.
//! - [`gateway`] (feature `gateway`): an OpenAI-style HTTP API over a subnet's miners.
//! - `cli` (feature `cli`): the `subforge` command-line tool.

pub mod audit;
pub mod chain;
pub mod dashboard;
pub mod fs;
pub mod localnet;
pub mod net;
pub mod neuron;
pub mod registry;
pub mod sync;
pub mod wallet;

#[cfg(feature = "wasm")]
pub mod wasm;

#[cfg(feature = "gateway")]
pub mod gateway;

#[cfg(feature = "cli")]
pub mod cli;

pub use subforge_core as core;

/// The bytes of WASM scoring module `NAME`, built by the crate's build script with the
/// `subforge-build` crate (`subforge_build::ScorerBuild`) and embedded in the program:
///
/// ```ignore
/// pub const SCORER_WASM: &[u8] = subforge_sdk::embedded_scorer!("my_subnet_scorer");
/// ```
///
/// A module is named after its artifact: the scorer crate's library name, or an example's.
#[macro_export]
macro_rules! embedded_scorer {
    ($name:literal) => {
        include_bytes!(env!(concat!("SUBFORGE_WASM_", $name)))
    };
}
