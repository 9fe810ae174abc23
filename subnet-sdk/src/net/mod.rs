//! Networking: the axon (a miner's server) and the dendrite (a validator's client), speaking
//! the wire protocols of the live network.
//!
//! The axon accepts three conventions, recognised from the headers, and answers each caller
//! in its own form: the Synapse protocol of the Python SDK v8 to v10 ([`wire::legacy`]),
//! `btauth/1` of SDK v11 ([`wire::btauth`]) and Epistula v2 ([`wire::epistula`]). The
//! dendrite signs in whichever convention a [`Target`] names. Where it costs no
//! compatibility the axon is stricter than the Python one: the signature is always checked
//! before handler code, the nonce window holds whatever version a caller claims, the nonce
//! store is bounded, deadlines cancel handlers, sizes and concurrency are bounded, handlers
//! see only verified identity, and successful answers are signed ([`wire::response`]).
//! `docs/wire.md` describes all of it; `docs/performance.md` has the figures.

pub mod axon;
pub mod dendrite;
pub mod endpoint;
pub mod keys;
pub mod limits;
pub mod nonce;
pub mod pyrepr;
pub(crate) mod server;
pub mod signer;
pub mod wire;

pub use axon::{
    AXON_PREPARED_NONCES, Axon, AxonBuilder, AxonError, CallerGone, ChunkSink, HEALTH_PATH,
    StreamHandler,
};
pub use dendrite::{ChunkStream, Dendrite, DendriteConfig, QueryError, SignedAnswer, Target};
pub use endpoint::{Endpoint, FieldError, JsonAnswer, TaskEndpoint};
pub use limits::AxonLimits;
pub use signer::{HotkeySigner, Signer};
pub use wire::Wire;
