//! # subforge-core
//!
//! The domain of a Bittensor-style subnet, with no I/O: the types every other Subforge crate
//! and every subnet speaks, and the pure rules that must give the same bits everywhere.
//!
//! - **Tasks** ([`Task`], [`Challenge`], [`Seed`]): what validators ask and miners answer;
//!   [`Blob`] carries binary payloads (images, arrays) in them as base64.
//! - **Miners** ([`MinerHandler`], [`Caller`], [`Verdict`]): how a task is answered, and for whom.
//! - **Validators** ([`TaskGenerator`], [`Scorer`], [`MinerResponse`]): making challenges and
//!   scoring the answers, purely and deterministically.
//! - **Identity** ([`identity`]): sr25519 keys, SS58 addresses, hotkeys and coldkeys,
//!   mnemonics and Substrate derivation, all compatible with Bittensor's wallets.
//! - **Chain data** ([`chain`]): [`NetUid`], [`Uid`], [`Block`], [`Balance`], [`AxonInfo`],
//!   [`Hyperparameters`] and the [`Metagraph`].
//! - **Consensus** ([`consensus`]): the Yuma epoch and the block emission schedule, bit-exact
//!   with the Bittensor chain, and a scenario simulator over them.
//! - **Weights** ([`weights`]): a validator's scores turned into the weights the chain accepts,
//!   and commit-reveal hashes.
//! - **Integrity** ([`integrity`]): findings from public data, each naming its evidence:
//!   validators copying weights, what a cabal below kappa gains, miners answering alike.
//!
//! The crate builds for `wasm32-unknown-unknown` so that WASM scoring modules share these
//! types. Everything that needs an operating-system random source (generating keys and
//! mnemonics, signing) sits behind the default `signing` feature; turn default features off
//! for WASM.

pub mod chain;
pub mod consensus;
pub mod identity;
pub mod integrity;
pub mod weights;

mod blob;
mod canonical;
mod generate;
mod miner;
mod scoring;
mod task;

pub use blob::Blob;
pub use canonical::canonical_json;
pub use chain::{AxonInfo, Balance, Block, Hyperparameters, Metagraph, NetUid, U16Proportion, Uid};
pub use generate::{GenerateError, TaskGenerator};
pub use identity::{AccountId, Coldkey, Hotkey, Signature};
pub use miner::{Caller, HandlerError, MinerHandler, Verdict};
pub use scoring::{MinerResponse, ScoreError, Scorer, StatusCode, check_scores};
pub use task::{Challenge, InvalidTaskName, Seed, Task, TaskSchema, validate_task_name};

/// Re-exported so that subnet crates name the same versions core was built with.
pub use {async_trait::async_trait, rand_core, schemars};
