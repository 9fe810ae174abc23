//! The local chain across processes: `subforge node` serves a [`crate::chain::LocalChain`]
//! over JSON-RPC (HTTP and WebSocket on one port), and [`NodeClient`] is the [`crate::chain::Chain`]
//! (and [`crate::chain::LocalChainApi`]) of such a node. The methods are listed in [`rpc`].

mod client;
pub mod rpc;
#[cfg(feature = "node")]
mod server;

pub use client::NodeClient;
pub use rpc::{CODE_REFUSED, CODE_RULE, CODE_STORE, DEFAULT_RPC_PORT};
#[cfg(feature = "node")]
pub use server::{
    MAX_CONNECTIONS, MAX_REQUEST_SIZE, MAX_RESPONSE_SIZE, NodeError, RunningNode, serve,
};
