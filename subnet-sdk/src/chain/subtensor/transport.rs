//! One supervised WebSocket per set of endpoints, shared by every client in the process.
//!
//! What Bittensor operators suffer from with the Python SDK, and what this does instead:
//! - connections pile up when each metagraph resync opens a new client: here clients to the
//!   same endpoints share one connection ([`WsTransport::shared`]), closed when the last
//!   client goes;
//! - an idle connection dies silently: WebSocket pings notice, and the next call reconnects;
//! - one endpoint is down: the next is tried in turn (all must serve the same chain, checked
//!   by their genesis hash);
//! - a transaction sent twice after a reconnect: a submission whose connection broke is never
//!   sent again; the caller hears that its outcome is unknown, and checks before resubmitting;
//! - a node that refuses by policy (JSON-RPC errors such as "rate limit exceeded") is not
//!   hammered with retries: its error goes back to the caller as is.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};
use std::time::Duration;

use futures::StreamExt;
use jsonrpsee::core::client::{ClientT, Error as WsError, SubscriptionClientT};
use jsonrpsee::core::traits::ToRpcParams;
use jsonrpsee::ws_client::{PingConfig, WsClient, WsClientBuilder};
use serde_json::value::RawValue;
use subxt::rpcs::client::{RawRpcFuture, RawRpcSubscription, RpcClientT};
use subxt::rpcs::{Error as RpcError, UserError};

/// Largest message either way: a 256-uid metagraph with weights is a few megabytes; runtime
/// metadata well under one.
const MAX_MESSAGE: u32 = 64 << 20;
/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take (state calls over a large subnet are the slowest).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Notifications buffered per subscription before the oldest are the subscriber's problem.
const SUBSCRIPTION_BUFFER: usize = 2048;
/// Every endpoint is tried this many rounds before a call gives up.
const CONNECT_ROUNDS: usize = 2;
/// Pause between rounds.
const ROUND_PAUSE: Duration = Duration::from_millis(500);

/// Methods that submit a transaction: never sent twice.
fn submits(method: &str) -> bool {
    method.starts_with("author_submit")
}

/// A submission the node did not answer (the connection broke, or the answer was too late):
/// it may or may not be in the pool, so it is not sent again.
#[derive(Debug, thiserror::Error)]
#[error(
    "no answer came to a submitted transaction ({cause}); it may or may not have been \
     included, so check before sending it again"
)]
pub(crate) struct SubmitInterrupted {
    cause: String,
}

fn interrupted(e: &WsError) -> RpcError {
    RpcError::Client(Box::new(SubmitInterrupted {
        cause: e.to_string(),
    }))
}

/// Parameters that are already JSON.
struct Raw(Option<Box<RawValue>>);

impl ToRpcParams for Raw {
    fn to_rpc_params(self) -> Result<Option<Box<RawValue>>, serde_json::Error> {
        Ok(self.0)
    }
}

/// A JSON-RPC error object becomes subxt's matchable user error; anything else is the
/// connection's fault.
fn rpc_error(e: WsError) -> RpcError {
    match e {
        WsError::Call(obj) => RpcError::User(UserError {
            code: obj.code(),
            message: obj.message().to_owned(),
            data: obj.data().map(ToOwned::to_owned),
        }),
        other => RpcError::Client(Box::new(other)),
    }
}

/// Whether the error means the connection is gone (as opposed to an answer or a bad request).
fn connection_lost(e: &WsError) -> bool {
    matches!(
        e,
        WsError::RestartNeeded(_) | WsError::Transport(_) | WsError::ServiceDisconnect
    )
}

/// Whether a submission went out but no answer came back: the connection broke, or the node
/// did not answer in time (it may still have pooled the transaction).
fn unanswered(e: &WsError) -> bool {
    connection_lost(e) || matches!(e, WsError::RequestTimeout)
}

/// Live connections by endpoint list, so that clients to the same chain share one.
static SHARED: LazyLock<Mutex<HashMap<Vec<String>, Weak<WsTransport>>>> =
    LazyLock::new(Mutex::default);

/// A WebSocket JSON-RPC connection that reconnects, rotating through its endpoints.
#[derive(Debug)]
pub(crate) struct WsTransport {
    endpoints: Vec<String>,
    current: Mutex<Option<Connection>>,
    /// Held while reconnecting, so concurrent calls open one connection, not one each.
    reconnecting: tokio::sync::Mutex<()>,
    /// The chain every endpoint must serve: block 0's hash, learnt from the first connection.
    genesis: Mutex<Option<String>>,
}

#[derive(Debug, Clone)]
struct Connection {
    index: usize,
    client: Arc<WsClient>,
}

/// Why no endpoint could be reached: each endpoint's own last failure, since the last one
/// tried alone may hide the reason (a node of another chain) that matters.
fn unreachable(endpoints: &[String], failures: &[String]) -> RpcError {
    let reasons: Vec<String> = endpoints
        .iter()
        .zip(failures)
        .map(|(endpoint, why)| format!("{endpoint}: {why}"))
        .collect();
    RpcError::Client(format!("no endpoint answered ({})", reasons.join("; ")).into())
}

impl WsTransport {
    /// The process's connection to `endpoints`, opening it if there is none.
    pub(crate) async fn shared(endpoints: Vec<String>) -> Result<Arc<Self>, RpcError> {
        if endpoints.is_empty() {
            return Err(RpcError::Client("no endpoint given".into()));
        }
        // Registered before it connects, so that concurrent first connects find it and wait
        // for its one connection instead of each opening their own.
        let transport = {
            let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
            match shared.get(&endpoints).and_then(Weak::upgrade) {
                Some(existing) => existing,
                None => {
                    shared.retain(|_, weak| weak.strong_count() > 0);
                    let transport = Arc::new(Self {
                        endpoints: endpoints.clone(),
                        current: Mutex::new(None),
                        reconnecting: tokio::sync::Mutex::new(()),
                        genesis: Mutex::new(None),
                    });
                    shared.insert(endpoints, Arc::downgrade(&transport));
                    transport
                }
            }
        };
        transport.connection().await?;
        Ok(transport)
    }

    /// The endpoint in use.
    pub(crate) fn endpoint(&self) -> &str {
        let index = self.current().map_or(0, |c| c.index);
        &self.endpoints[index]
    }

    fn current(&self) -> Option<Connection> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .filter(|c| c.client.is_connected())
    }

    /// The open connection, or a new one to the next endpoint that answers.
    async fn connection(&self) -> Result<Arc<WsClient>, RpcError> {
        if let Some(c) = self.current() {
            return Ok(c.client);
        }
        let _one_at_a_time = self.reconnecting.lock().await;
        if let Some(c) = self.current() {
            return Ok(c.client);
        }
        let start = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map_or(0, |c| c.index + 1);
        let mut failures = vec![String::new(); self.endpoints.len()];
        for round in 0..CONNECT_ROUNDS {
            if round > 0 {
                tokio::time::sleep(ROUND_PAUSE).await;
            }
            for step in 0..self.endpoints.len() {
                let index = (start + step) % self.endpoints.len();
                match self.open(index).await {
                    Ok(client) => {
                        let client = Arc::new(client);
                        *self.current.lock().unwrap_or_else(PoisonError::into_inner) =
                            Some(Connection {
                                index,
                                client: client.clone(),
                            });
                        return Ok(client);
                    }
                    Err(e) => {
                        tracing::warn!(endpoint = %self.endpoints[index], error = %e, "chain endpoint unavailable");
                        failures[index] = e;
                    }
                }
            }
        }
        Err(unreachable(&self.endpoints, &failures))
    }

    /// Opens endpoint `index` and checks that it serves the chain the others serve.
    async fn open(&self, index: usize) -> Result<WsClient, String> {
        let url = &self.endpoints[index];
        let client = WsClientBuilder::default()
            .max_request_size(MAX_MESSAGE)
            .max_response_size(MAX_MESSAGE)
            .request_timeout(REQUEST_TIMEOUT)
            .connection_timeout(CONNECT_TIMEOUT)
            .max_buffer_capacity_per_subscription(SUBSCRIPTION_BUFFER)
            .enable_ws_ping(
                PingConfig::new()
                    .ping_interval(Duration::from_secs(30))
                    .inactive_limit(Duration::from_secs(90)),
            )
            .build(url)
            .await
            .map_err(|e| e.to_string())?;
        let genesis: Option<String> = client
            .request("chain_getBlockHash", [0u32])
            .await
            .map_err(|e| format!("chain_getBlockHash(0): {e}"))?;
        let genesis = genesis.ok_or("the node knows no block 0")?;
        let mut known = self.genesis.lock().unwrap_or_else(PoisonError::into_inner);
        match known.as_deref() {
            Some(g) if g != genesis => {
                return Err(format!(
                    "{url} serves another chain (genesis {genesis}, not {g})"
                ));
            }
            Some(_) => tracing::info!(endpoint = %url, "connected to the chain"),
            None => *known = Some(genesis),
        }
        Ok(client)
    }

    /// Sends one request; a read whose connection broke is sent once more on a new one.
    async fn request(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<Box<RawValue>, RpcError> {
        let client = self.connection().await?;
        match client
            .request::<Box<RawValue>, _>(method, Raw(params.clone()))
            .await
        {
            Err(e) if submits(method) && unanswered(&e) => Err(interrupted(&e)),
            Err(e) if connection_lost(&e) => {
                tracing::debug!(method, error = %e, "connection lost; sending again");
                self.connection()
                    .await?
                    .request(method, Raw(params))
                    .await
                    .map_err(rpc_error)
            }
            other => other.map_err(rpc_error),
        }
    }

    /// Subscribes; a subscription that could not start because the connection broke is tried
    /// once more, except a transaction's.
    async fn subscribe(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        unsubscribe: &str,
    ) -> Result<RawRpcSubscription, RpcError> {
        let client = self.connection().await?;
        let first = client
            .subscribe::<Box<RawValue>, _>(method, Raw(params.clone()), unsubscribe)
            .await;
        let subscription = match first {
            Err(e) if submits(method) && unanswered(&e) => return Err(interrupted(&e)),
            Err(e) if connection_lost(&e) => self
                .connection()
                .await?
                .subscribe::<Box<RawValue>, _>(method, Raw(params), unsubscribe)
                .await
                .map_err(rpc_error)?,
            other => other.map_err(rpc_error)?,
        };
        let id = match subscription.kind() {
            jsonrpsee::core::client::SubscriptionKind::Subscription(
                jsonrpsee::types::SubscriptionId::Num(n),
            ) => Some(n.to_string()),
            jsonrpsee::core::client::SubscriptionKind::Subscription(
                jsonrpsee::types::SubscriptionId::Str(s),
            ) => Some(s.to_string()),
            _ => None,
        };
        // Dropping the stream drops the subscription, which unsubscribes.
        let stream = subscription
            .map(|item| item.map_err(RpcError::Deserialization))
            .boxed();
        Ok(RawRpcSubscription { stream, id })
    }
}

impl RpcClientT for WsTransport {
    fn request_raw<'a>(
        &'a self,
        method: &'a str,
        params: Option<Box<RawValue>>,
    ) -> RawRpcFuture<'a, Box<RawValue>> {
        Box::pin(self.request(method, params))
    }

    fn subscribe_raw<'a>(
        &'a self,
        sub: &'a str,
        params: Option<Box<RawValue>>,
        unsub: &'a str,
    ) -> RawRpcFuture<'a, RawRpcSubscription> {
        Box::pin(self.subscribe(sub, params, unsub))
    }
}
