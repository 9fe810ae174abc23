//! # subforge-sdk
//!
//! Subforge's runtime: what miners and validators run on top of `subforge-core`.
//!
//! - [`net`]: the axon (a miner's HTTP server) and the dendrite (a validator's client),
//!   speaking the Bittensor wire protocols.

pub mod net;
