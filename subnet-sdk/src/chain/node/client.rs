//! [`NodeClient`]: the [`Chain`] of a `subforge node`, over JSON-RPC on a WebSocket.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use serde::de::DeserializeOwned;
use subforge_core::chain::AxonInfo;
use subforge_core::identity::{AccountId, Keypair};
use subforge_core::{Balance, Block, Coldkey, Hotkey, Hyperparameters, Metagraph, NetUid, Uid};

use super::rpc;
use crate::chain::Chain;
use crate::chain::error::ChainError;
use crate::chain::hash::H256;
use crate::chain::hyperparameter::Hyperparameter;
use crate::chain::local::codec::Encode;
use crate::chain::local::extrinsic::{Extrinsic, MAX_EXTRINSIC_SIZE};
use crate::chain::local::protocol::{self, LocalChainApi};
use crate::chain::local::records::{AccountInfo, BlockRecord, CommitStatus, Header, Receipt};
use crate::chain::types::{
    BlockRef, ChainInfo, Inclusion, PendingReveal, RevealStatus, StakeInfo, SubnetInfo, Weights,
    WeightsOutcome,
};

/// Largest response the client accepts (a full metagraph of 256 uids with weights fits easily).
const MAX_RESPONSE_SIZE: u32 = 64 * 1024 * 1024;

/// A connection to `subforge node` (`ws://127.0.0.1:9944` by default) implementing [`Chain`].
///
/// Cheap to clone; clones share the connection. When the node goes away (a restart, a network
/// fault), the call that finds the connection closed opens a new one first, and accepts it only
/// if the node still serves the same chain (its genesis hash). A call whose connection breaks
/// while it is in flight fails with [`ChainError::Connection`] and is never sent again by the
/// client, so an extrinsic is submitted at most once per call.
#[derive(Debug, Clone)]
pub struct NodeClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    url: String,
    genesis: H256,
    connection: Mutex<Arc<WsClient>>,
    /// Held while reconnecting, so that concurrent calls open one connection, not one each.
    reconnecting: tokio::sync::Mutex<()>,
}

fn transport(e: jsonrpsee::core::ClientError) -> ChainError {
    match e {
        jsonrpsee::core::ClientError::Call(obj) => {
            rpc::chain_error(obj.code(), obj.message(), obj.data().map(|d| d.get()))
        }
        other => ChainError::Connection {
            message: other.to_string(),
        },
    }
}

/// Opens a connection to `url` and reads the chain's description.
async fn open(url: &str) -> Result<(WsClient, ChainInfo), ChainError> {
    let client = WsClientBuilder::default()
        .max_request_size(4 * MAX_EXTRINSIC_SIZE as u32)
        .max_response_size(MAX_RESPONSE_SIZE)
        .request_timeout(Duration::from_secs(120))
        .connection_timeout(Duration::from_secs(10))
        .build(url)
        .await
        .map_err(|e| ChainError::Connection {
            message: format!("{url}: {e}"),
        })?;
    let info: ChainInfo = client
        .request(rpc::INFO, rpc_params![])
        .await
        .map_err(transport)?;
    Ok((client, info))
}

impl NodeClient {
    /// Connects to a node at `url` (`ws://host:port`).
    pub async fn connect(url: &str) -> Result<Self, ChainError> {
        let (client, info) = open(url).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                url: url.to_owned(),
                genesis: info.genesis_hash,
                connection: Mutex::new(Arc::new(client)),
                reconnecting: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// Whether `url` serves a `subforge node` (rather than, say, a subtensor node): it answers
    /// the node's own `chain_info` method.
    pub async fn is_node(url: &str) -> Result<bool, ChainError> {
        let (client, _) = match open(url).await {
            Ok(opened) => opened,
            Err(ChainError::Rpc { code, .. })
                if code == jsonrpsee::types::error::METHOD_NOT_FOUND_CODE =>
            {
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        drop(client);
        Ok(true)
    }

    /// The node's address.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    fn current(&self) -> Arc<WsClient> {
        Arc::clone(
            &self
                .inner
                .connection
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// The open connection, or a new one if the node closed it.
    async fn connection(&self) -> Result<Arc<WsClient>, ChainError> {
        let current = self.current();
        if current.is_connected() {
            return Ok(current);
        }
        let _one_at_a_time = self.inner.reconnecting.lock().await;
        let current = self.current();
        if current.is_connected() {
            return Ok(current);
        }
        let (client, info) = open(&self.inner.url).await?;
        if info.genesis_hash != self.inner.genesis {
            return Err(ChainError::Connection {
                message: format!(
                    "{} now serves another chain (genesis {:?}, was {:?})",
                    self.inner.url, info.genesis_hash, self.inner.genesis
                ),
            });
        }
        tracing::info!(node = %self.inner.url, "reconnected to the node");
        let client = Arc::new(client);
        *self
            .inner
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Arc::clone(&client);
        Ok(client)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: ArrayParams,
    ) -> Result<T, ChainError> {
        self.connection()
            .await?
            .request(method, params)
            .await
            .map_err(transport)
    }
}

#[async_trait]
impl Chain for NodeClient {
    async fn info(&self) -> Result<ChainInfo, ChainError> {
        self.call(rpc::INFO, rpc_params![]).await
    }

    async fn current_block(&self) -> Result<Block, ChainError> {
        Ok(self.info().await?.best_block)
    }

    async fn block_headers(&self) -> Result<BoxStream<'static, BlockRef>, ChainError> {
        let sub = self
            .connection()
            .await?
            .subscribe::<Header, _>(
                rpc::SUBSCRIBE_BLOCKS,
                rpc_params![],
                rpc::UNSUBSCRIBE_BLOCKS,
            )
            .await
            .map_err(transport)?;
        Ok(sub
            .take_while(|h| futures::future::ready(h.is_ok()))
            .filter_map(|h| futures::future::ready(h.ok().map(|h| h.block_ref())))
            .boxed())
    }

    async fn balance(&self, account: &AccountId) -> Result<Balance, ChainError> {
        Ok(self.account(account).await?.free)
    }

    async fn subnets(&self) -> Result<Vec<SubnetInfo>, ChainError> {
        self.call(rpc::SUBNETS, rpc_params![]).await
    }

    async fn subnet(&self, netuid: NetUid) -> Result<SubnetInfo, ChainError> {
        self.call(rpc::SUBNET, rpc_params![netuid]).await
    }

    async fn metagraph(&self, netuid: NetUid) -> Result<Metagraph, ChainError> {
        let m: Metagraph = self.call(rpc::METAGRAPH, rpc_params![netuid]).await?;
        m.validate().map_err(|e| ChainError::Connection {
            message: format!("the node sent an inconsistent metagraph: {e}"),
        })?;
        Ok(m)
    }

    async fn hyperparameters(&self, netuid: NetUid) -> Result<Hyperparameters, ChainError> {
        self.call(rpc::HYPERPARAMETERS, rpc_params![netuid]).await
    }

    async fn stakes(&self, coldkey: &Coldkey) -> Result<Vec<StakeInfo>, ChainError> {
        self.call(rpc::STAKES, rpc_params![coldkey]).await
    }

    async fn registrations(&self, hotkey: &Hotkey) -> Result<Vec<(NetUid, Uid)>, ChainError> {
        self.call(rpc::REGISTRATIONS, rpc_params![hotkey]).await
    }

    async fn transfer(
        &self,
        from: &Keypair,
        to: &AccountId,
        amount: Balance,
    ) -> Result<Inclusion, ChainError> {
        protocol::transfer(self, from, to, amount).await
    }

    async fn create_subnet(&self, owner: &Keypair, hotkey: &Hotkey) -> Result<NetUid, ChainError> {
        protocol::create_subnet(self, owner, hotkey).await
    }

    async fn set_hyperparameter(
        &self,
        owner: &Keypair,
        netuid: NetUid,
        name: Hyperparameter,
        value: i64,
    ) -> Result<Inclusion, ChainError> {
        protocol::set_hyperparameter(self, owner, netuid, name, value).await
    }

    async fn register(
        &self,
        coldkey: &Keypair,
        netuid: NetUid,
        hotkey: &Hotkey,
    ) -> Result<Uid, ChainError> {
        protocol::register(self, coldkey, netuid, hotkey).await
    }

    async fn serve_axon(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        axon: &AxonInfo,
    ) -> Result<Inclusion, ChainError> {
        protocol::serve_axon(self, hotkey, netuid, axon).await
    }

    async fn add_stake(
        &self,
        coldkey: &Keypair,
        hotkey: &Hotkey,
        netuid: NetUid,
        amount: Balance,
    ) -> Result<Inclusion, ChainError> {
        protocol::add_stake(self, coldkey, hotkey, netuid, amount).await
    }

    async fn remove_stake(
        &self,
        coldkey: &Keypair,
        hotkey: &Hotkey,
        netuid: NetUid,
        amount: Balance,
    ) -> Result<Inclusion, ChainError> {
        protocol::remove_stake(self, coldkey, hotkey, netuid, amount).await
    }

    async fn set_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        weights: &Weights,
    ) -> Result<WeightsOutcome, ChainError> {
        let commit_reveal = self
            .hyperparameters(netuid)
            .await?
            .commit_reveal_weights_enabled;
        protocol::set_weights(self, commit_reveal, hotkey, netuid, weights).await
    }

    async fn reveal_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        pending: &PendingReveal,
    ) -> Result<RevealStatus, ChainError> {
        protocol::reveal_weights(self, hotkey, netuid, pending).await
    }
}

#[async_trait]
impl LocalChainApi for NodeClient {
    fn genesis_hash(&self) -> H256 {
        self.inner.genesis
    }

    async fn block(&self, number: Block) -> Result<BlockRecord, ChainError> {
        self.call(rpc::GET_BLOCK, rpc_params![number.0]).await
    }

    async fn receipt(&self, extrinsic: H256) -> Result<Option<Receipt>, ChainError> {
        self.call(rpc::GET_RECEIPT, rpc_params![extrinsic]).await
    }

    async fn account(&self, account: &AccountId) -> Result<AccountInfo, ChainError> {
        self.call(rpc::GET_ACCOUNT, rpc_params![account]).await
    }

    async fn next_nonce(&self, account: &AccountId) -> Result<u64, ChainError> {
        self.call(rpc::NEXT_NONCE, rpc_params![account]).await
    }

    async fn commit_status(
        &self,
        netuid: NetUid,
        hotkey: &Hotkey,
        hash: H256,
    ) -> Result<CommitStatus, ChainError> {
        self.call(rpc::COMMIT_STATUS, rpc_params![netuid, hotkey, hash])
            .await
    }

    async fn submit(&self, extrinsic: Extrinsic) -> Result<Receipt, ChainError> {
        let hex = format!("0x{}", hex::encode(extrinsic.encode()));
        self.call(rpc::SUBMIT, rpc_params![hex]).await
    }
}
