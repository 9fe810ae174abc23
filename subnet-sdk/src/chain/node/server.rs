//! `subforge node`: a [`LocalChain`] served over JSON-RPC on HTTP and WebSocket (one port),
//! with a block subscription, so neurons in other processes share one chain.
//!
//! Every request is bounded (body size, connections, subscriptions); bad input gets a JSON-RPC
//! error (`-32700` parse, `-32601` unknown method, `-32602` bad params, `1010` refused
//! extrinsic with the [`ChainError`] as `data`) and the node keeps running.

use std::net::SocketAddr;

use futures::StreamExt;
use jsonrpsee::server::{RpcModule, Server, ServerConfig, ServerHandle};
use jsonrpsee::types::{ErrorObject, ErrorObjectOwned, Params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use subforge_core::identity::AccountId;
use subforge_core::{Block, Coldkey, Hotkey, NetUid};

use super::rpc;
use crate::chain::Chain;
use crate::chain::error::ChainError;
use crate::chain::hash::H256;
use crate::chain::local::codec::Decode;
use crate::chain::local::extrinsic::{Extrinsic, MAX_EXTRINSIC_SIZE};
use crate::chain::local::{LocalChain, LocalChainApi};

/// Largest JSON-RPC request body the node reads: an extrinsic as hex, with room to spare.
pub const MAX_REQUEST_SIZE: u32 = 4 * MAX_EXTRINSIC_SIZE as u32;
/// Largest response the node writes.
pub const MAX_RESPONSE_SIZE: u32 = 64 * 1024 * 1024;
/// Concurrent connections the node accepts.
pub const MAX_CONNECTIONS: u32 = 256;

/// Why the node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The RPC address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// A method could not be registered (a bug).
    #[error("cannot register the RPC methods: {0}")]
    Register(String),
}

/// A running JSON-RPC server over a chain.
#[derive(Debug)]
pub struct RunningNode {
    chain: LocalChain,
    addr: SocketAddr,
    handle: ServerHandle,
}

impl RunningNode {
    /// The address the server listens on (HTTP and WebSocket).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `ws://` URL for a [`super::NodeClient`].
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The chain served.
    pub fn chain(&self) -> &LocalChain {
        &self.chain
    }

    /// Stops the server.
    pub fn stop(&self) {
        let _ = self.handle.stop();
    }

    /// Waits until the server has stopped.
    pub async fn stopped(self) {
        self.handle.stopped().await;
    }
}

fn rpc_error(e: ChainError) -> ErrorObjectOwned {
    let data = serde_json::to_value(&e).ok();
    ErrorObject::owned(rpc::error_code(&e), e.to_string(), data)
}

fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObject::owned(
        jsonrpsee::types::error::INVALID_PARAMS_CODE,
        message.into(),
        None::<()>,
    )
}

fn one<T: DeserializeOwned>(params: &Params<'_>) -> Result<T, ErrorObjectOwned> {
    params.one::<T>()
}

type Reply<T> = Result<T, ErrorObjectOwned>;

fn reply<T: Serialize>(r: Result<T, ChainError>) -> Reply<T> {
    r.map_err(rpc_error)
}

/// Decodes a `0x`-hex extrinsic, refusing oversized or malformed input before any allocation
/// beyond the (already bounded) request.
fn decode_extrinsic(hex_text: &str) -> Result<Extrinsic, ChainError> {
    let digits = hex_text.strip_prefix("0x").unwrap_or(hex_text);
    if digits.len() / 2 > MAX_EXTRINSIC_SIZE {
        return Err(ChainError::ExtrinsicTooLarge {
            size: digits.len() / 2,
            max: MAX_EXTRINSIC_SIZE,
        });
    }
    let bytes = hex::decode(digits).map_err(|e| ChainError::MalformedExtrinsic {
        reason: format!("not hex: {e}"),
    })?;
    Extrinsic::decode(&bytes).map_err(|e| ChainError::MalformedExtrinsic {
        reason: e.to_string(),
    })
}

fn module(chain: LocalChain) -> Result<RpcModule<LocalChain>, NodeError> {
    let mut m = RpcModule::new(chain);
    let reg = |e: jsonrpsee::core::RegisterMethodError| NodeError::Register(e.to_string());
    m.register_async_method(rpc::INFO, |_, c, _| async move { reply(c.info().await) })
        .map_err(reg)?;
    m.register_async_method(rpc::GET_BLOCK, |p, c, _| async move {
        let n: u64 = one(&p)?;
        reply(c.block(Block(n)).await)
    })
    .map_err(reg)?;
    m.register_async_method(rpc::GET_RECEIPT, |p, c, _| async move {
        let h: H256 = one(&p)?;
        reply(c.receipt(h).await)
    })
    .map_err(reg)?;
    m.register_async_method(rpc::GET_ACCOUNT, |p, c, _| async move {
        let a: AccountId = one(&p)?;
        reply(c.account(&a).await)
    })
    .map_err(reg)?;
    m.register_async_method(rpc::NEXT_NONCE, |p, c, _| async move {
        let a: AccountId = one(&p)?;
        reply(c.next_nonce(&a).await)
    })
    .map_err(reg)?;
    m.register_async_method(rpc::COMMIT_STATUS, |p, c, _| async move {
        let (netuid, hotkey, hash): (NetUid, Hotkey, H256) = p.parse()?;
        reply(c.commit_status(netuid, &hotkey, hash).await)
    })
    .map_err(reg)?;
    m.register_async_method(
        rpc::SUBNETS,
        |_, c, _| async move { reply(c.subnets().await) },
    )
    .map_err(reg)?;
    m.register_async_method(rpc::SUBNET, |p, c, _| async move {
        let n: NetUid = one(&p)?;
        reply(c.subnet(n).await)
    })
    .map_err(reg)?;
    m.register_async_method(rpc::METAGRAPH, |p, c, _| async move {
        let n: NetUid = one(&p)?;
        reply(c.metagraph(n).await)
    })
    .map_err(reg)?;
    m.register_async_method(rpc::HYPERPARAMETERS, |p, c, _| async move {
        let n: NetUid = one(&p)?;
        reply(c.hyperparameters(n).await)
    })
    .map_err(reg)?;
    m.register_async_method(rpc::STAKES, |p, c, _| async move {
        let a: Coldkey = one(&p)?;
        reply(c.stakes(&a).await)
    })
    .map_err(reg)?;
    m.register_async_method(rpc::REGISTRATIONS, |p, c, _| async move {
        let h: Hotkey = one(&p)?;
        reply(c.registrations(&h).await)
    })
    .map_err(reg)?;
    m.register_async_method(rpc::SUBMIT, |p, c, _| async move {
        let text: String = one(&p)
            .map_err(|_| invalid_params("expected one parameter: the extrinsic as 0x hex"))?;
        let xt = decode_extrinsic(&text).map_err(rpc_error)?;
        reply(c.submit(xt).await)
    })
    .map_err(reg)?;
    m.register_subscription(
        rpc::SUBSCRIBE_BLOCKS,
        rpc::BLOCK_NOTIFICATION,
        rpc::UNSUBSCRIBE_BLOCKS,
        |_, pending, c, _| async move {
            let mut headers = c.headers();
            let sink = pending.accept().await?;
            while let Some(h) = headers.next().await {
                let msg = serde_json::value::to_raw_value(&h)?;
                if sink
                    .send(jsonrpsee::SubscriptionMessage::from(msg))
                    .await
                    .is_err()
                {
                    break;
                }
            }
            Ok(())
        },
    )
    .map_err(reg)?;
    Ok(m)
}

/// Serves `chain` on `addr` (use `127.0.0.1:0` for any free port). Needs a tokio runtime.
pub async fn serve(chain: LocalChain, addr: SocketAddr) -> Result<RunningNode, NodeError> {
    let config = ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_SIZE)
        .max_response_body_size(MAX_RESPONSE_SIZE)
        .max_connections(MAX_CONNECTIONS)
        .max_subscriptions_per_connection(64)
        .build();
    let server = Server::builder()
        .set_config(config)
        .build(addr)
        .await
        .map_err(|source| NodeError::Bind { addr, source })?;
    let local = server
        .local_addr()
        .map_err(|source| NodeError::Bind { addr, source })?;
    let handle = server.start(module(chain.clone())?);
    Ok(RunningNode {
        chain,
        addr: local,
        handle,
    })
}
