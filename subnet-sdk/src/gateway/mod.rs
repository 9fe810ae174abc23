//! An HTTP API in the shape applications already use, over a subnet's miners: what a validator
//! operator runs beside the validator so that applications can call the subnet.
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/chat/completions` | OpenAI chat completions; `stream: true` gives server-sent events as the miner produces text |
//! | `POST /v1/completions` | OpenAI (legacy) completions, streamed too |
//! | `GET /v1/models` | the subnet's text model, for OpenAI clients |
//! | `POST /v1/tasks/{name}` | any task of the subnet, as its JSON; the answer is the task's response JSON |
//! | `GET /openapi.json` | the API, with every task's request and response schema |
//! | `GET /health` | liveness, the block, and the serving miners |
//! | `GET /metrics` | Prometheus metrics: requests, latencies, per-miner outcomes |
//!
//! Each query goes to the `k` best miners at once (by incentive, and by the latency and
//! failures the gateway saw itself, `routing`); the first valid answer wins, and while the
//! caller's deadline lasts a failed round moves on to the next miners. The answer carries the
//! miner's signed response in headers (`Subforge-Miner-*`), so a client can prove which miner
//! answered: see [`verify_answer`]. A streamed answer is signed at its end: a completion's in
//! its finishing chunk ([`verify_streamed_answer`]), a streamed task's in HTTP trailers
//! ([`verify_streamed_task`]).
//!
//! Operator controls: API keys (`Authorization: Bearer`), per-key rate and concurrency limits
//! (429 with `Retry-After`), a request size limit, and the task's deadline.

pub mod limits;
pub mod metrics;
mod openai;
mod routes;
pub(crate) mod routing;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use subforge_core::identity::{AccountId, Keypair};
use subforge_core::{Hotkey, NetUid, Signature};
use tokio::sync::watch;

use self::limits::{ApiKeys, KeyLimits, Limiter};
use self::metrics::Metrics;
use self::routing::Board;
use crate::chain::{Chain, ChainError};
use crate::net::{Dendrite, TaskEndpoint, Wire, keys};
use crate::registry::{CompletionSpec, SubnetKind};
use crate::sync::MetagraphSync;

/// Response headers naming the miner that answered and proving it.
pub mod headers {
    /// The answering miner's uid.
    pub const MINER_UID: &str = "subforge-miner-uid";
    /// The answering miner's hotkey (SS58).
    pub const MINER_HOTKEY: &str = "subforge-miner-hotkey";
    /// The miner's sr25519 signature (`0x` hex) over [`SIGNED_MESSAGE`].
    pub const MINER_SIGNATURE: &str = "subforge-miner-signature";
    /// The message the miner signed, base64: five lines naming the miner, the gateway's
    /// hotkey, the gateway's request signature and the SHA-256 of the miner's raw answer.
    pub const SIGNED_MESSAGE: &str = "subforge-signed-message";
    /// The miner's raw answer, base64 (its SHA-256 is the message's last line).
    pub const MINER_BODY: &str = "subforge-miner-body";
}

/// Largest raw miner answer carried in [`headers::MINER_BODY`]; a longer one is left out
/// (the signature and message still are), since proxies limit header sizes.
pub const MAX_PROOF_BODY: usize = 16 * 1024;

/// How a gateway runs.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Where to listen. Default `127.0.0.1:8080`.
    pub bind: SocketAddr,
    /// Miners asked at once for each query. Default 3.
    pub miners_per_query: usize,
    /// How long a query may take in all, retries included. Default: the task's own timeout.
    pub timeout: Option<Duration>,
    /// When the task can pick the best of several answers, how long after the first good
    /// answer the others asked in the same round may still arrive. Default 200 ms.
    pub best_of_wait: Duration,
    /// Largest request body read. Default 1 MiB.
    pub max_body_bytes: usize,
    /// Connections open at once; more are closed as they arrive. Default 1024.
    pub max_connections: usize,
    /// Who may call. Default: anyone ([`ApiKeys::open`]).
    pub keys: ApiKeys,
    /// Per-key limits.
    pub limits: KeyLimits,
    /// The convention requests to miners are signed in. Default: the Synapse protocol.
    pub wire: Wire,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            miners_per_query: 3,
            timeout: None,
            best_of_wait: Duration::from_millis(200),
            max_body_bytes: 1 << 20,
            max_connections: 1024,
            keys: ApiKeys::open(),
            limits: KeyLimits::default(),
            wire: Wire::Synapse,
        }
    }
}

/// Why a gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The subnet's metagraph could not be read.
    #[error("cannot follow subnet {netuid}: {source}")]
    Chain {
        /// The subnet.
        netuid: NetUid,
        /// Why.
        source: ChainError,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A setting is unusable.
    #[error("gateway settings: {0}")]
    Config(String),
}

/// What every request handler reads.
pub(crate) struct Shared {
    pub(crate) subnet: &'static str,
    pub(crate) netuid: NetUid,
    pub(crate) me: Hotkey,
    pub(crate) dendrite: Dendrite,
    pub(crate) metagraph: watch::Receiver<subforge_core::Metagraph>,
    pub(crate) endpoints: Vec<Arc<dyn TaskEndpoint>>,
    pub(crate) completions: Option<CompletionSpec>,
    pub(crate) board: Board,
    pub(crate) metrics: Metrics,
    pub(crate) keys: ApiKeys,
    pub(crate) limiter: Limiter,
    pub(crate) config: GatewayConfig,
    pub(crate) openapi: serde_json::Value,
}

impl Shared {
    /// The endpoint of task `name`.
    pub(crate) fn endpoint(&self, name: &str) -> Option<&Arc<dyn TaskEndpoint>> {
        self.endpoints.iter().find(|e| e.schema().name == name)
    }
}

/// A running gateway; stops when [`RunningGateway::shutdown`] is called or it is dropped.
#[derive(Debug)]
pub struct RunningGateway {
    addr: SocketAddr,
    stop: Option<watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
    _sync: MetagraphSync,
}

impl RunningGateway {
    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL for OpenAI clients (`http://ADDR/v1`).
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Stops accepting, lets requests in flight finish (for at most [`SHUTDOWN_GRACE`]),
    /// and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningGateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }
}

/// How long a request header may take to arrive; a connection that sends none in time is
/// closed (so idle or trickling connections cannot pile up).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long requests in flight may still run once the gateway is told to stop.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `subnet`'s miners on `netuid` of `chain`, signing requests with `hotkey` (miners
/// serve registered hotkeys: use the operator's validator hotkey).
pub async fn serve(
    subnet: &'static dyn SubnetKind,
    chain: Arc<dyn Chain>,
    netuid: NetUid,
    hotkey: Keypair,
    config: GatewayConfig,
) -> Result<RunningGateway, GatewayError> {
    if config.miners_per_query == 0 {
        return Err(GatewayError::Config(
            "miners per query must be at least 1".into(),
        ));
    }
    if config.max_connections == 0 || config.max_body_bytes == 0 {
        return Err(GatewayError::Config(
            "connections and body bytes must be at least 1".into(),
        ));
    }
    let limiter = Limiter::new(config.limits).map_err(|e| GatewayError::Config(e.to_string()))?;
    let sync = MetagraphSync::start(chain, netuid)
        .await
        .map_err(|source| GatewayError::Chain { netuid, source })?;
    let endpoints = subnet.endpoints();
    let openapi = routes::openapi(subnet.name(), &endpoints, subnet.completions().is_some());
    let shared = Arc::new(Shared {
        subnet: subnet.name(),
        netuid,
        me: Hotkey(hotkey.public()),
        dendrite: Dendrite::new(hotkey),
        metagraph: sync.subscribe(),
        endpoints,
        completions: subnet.completions(),
        board: Board::default(),
        metrics: Metrics::new(),
        keys: config.keys.clone(),
        limiter,
        config,
        openapi,
    });
    let addr = shared.config.bind;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| GatewayError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| GatewayError::Bind { addr, source })?;
    let app = routes::router(shared.clone());
    let (stop, stopped) = watch::channel(false);
    let limits = crate::net::server::ServerLimits {
        max_connections: shared.config.max_connections,
        header_read_timeout: HEADER_READ_TIMEOUT,
        max_header_bytes: None,
        drain: Some(SHUTDOWN_GRACE),
        name: "gateway",
    };
    let task = tokio::spawn(crate::net::server::accept_loop(
        listener, app, limits, stopped,
    ));
    tracing::info!(listen = %local, %netuid, "gateway serving");
    Ok(RunningGateway {
        addr: local,
        stop: Some(stop),
        task,
        _sync: sync,
    })
}

/// Why a gateway answer's proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// A part of the proof (a header, or a field of a streamed answer's proof) is missing or
    /// not readable.
    #[error("`{0}` is missing or malformed")]
    Header(&'static str),
    /// The signature does not verify for the named miner.
    #[error("the signature is not the miner's")]
    Signature,
    /// The signed message does not name this miner, or does not hash this body.
    #[error("the signed message does not match: {0}")]
    Message(&'static str),
}

/// A verified proof: which miner answered, to which caller, with which raw answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenAnswer {
    /// The miner.
    pub miner: Hotkey,
    /// The caller the miner answered (the gateway's hotkey).
    pub caller: Hotkey,
    /// The miner's raw answer.
    pub body: Vec<u8>,
}

/// Checks the proof a gateway answer carries (the `Subforge-Miner-*` headers): the miner's
/// signature over the signed message, and that the message names the miner and hashes the
/// raw answer. `header` reads a response header by name.
pub fn verify_answer<'a>(
    header: impl Fn(&str) -> Option<&'a str>,
) -> Result<ProvenAnswer, ProofError> {
    let body = base64::engine::general_purpose::STANDARD
        .decode(header(headers::MINER_BODY).ok_or(ProofError::Header(headers::MINER_BODY))?)
        .map_err(|_| ProofError::Header(headers::MINER_BODY))?;
    let read = |name: &'static str| header(name).ok_or(ProofError::Header(name));
    verify_signed(
        (headers::MINER_HOTKEY, read(headers::MINER_HOTKEY)?),
        (headers::MINER_SIGNATURE, read(headers::MINER_SIGNATURE)?),
        (headers::SIGNED_MESSAGE, read(headers::SIGNED_MESSAGE)?),
        body,
    )
}

/// Checks the proof of a streamed task's answer (`POST /v1/tasks/{name}` of a task the miners
/// stream, asked with `TE: trailers`): the miner's signature and message arrive as HTTP
/// trailers after the body, under the same names as the headers of [`verify_answer`]; `body`
/// is every byte received. `header` reads a header or trailer by name.
pub fn verify_streamed_task<'a>(
    header: impl Fn(&str) -> Option<&'a str>,
    body: &[u8],
) -> Result<ProvenAnswer, ProofError> {
    let read = |name: &'static str| header(name).ok_or(ProofError::Header(name));
    verify_signed(
        (headers::MINER_HOTKEY, read(headers::MINER_HOTKEY)?),
        (headers::MINER_SIGNATURE, read(headers::MINER_SIGNATURE)?),
        (headers::SIGNED_MESSAGE, read(headers::SIGNED_MESSAGE)?),
        body.to_vec(),
    )
}

/// Checks the proof of a streamed chat or text completion: the `subforge` field of the
/// stream's finishing chunk (the one with a `finish_reason`), against `text`, every piece of
/// text the stream carried joined in order. The miner signed the bytes it streamed; the
/// gateway forwards them as they are, so the proof holds for a miner that streams UTF-8 (a
/// byte sequence that is not UTF-8 reaches the client as U+FFFD and no longer matches).
pub fn verify_streamed_answer(
    proof: &serde_json::Value,
    text: &str,
) -> Result<ProvenAnswer, ProofError> {
    fn field<'a>(
        proof: &'a serde_json::Value,
        pointer: &str,
        name: &'static str,
    ) -> Result<(&'static str, &'a str), ProofError> {
        let value = proof.pointer(pointer).and_then(serde_json::Value::as_str);
        Ok((name, value.ok_or(ProofError::Header(name))?))
    }
    verify_signed(
        field(proof, "/miner/hotkey", "miner.hotkey")?,
        field(proof, "/signature", "signature")?,
        field(proof, "/signed_message", "signed_message")?,
        text.as_bytes().to_vec(),
    )
}

/// The checks both proofs share; each part comes with its name, for the error.
fn verify_signed(
    (miner_name, miner): (&'static str, &str),
    (signature_name, signature): (&'static str, &str),
    (message_name, message): (&'static str, &str),
    body: Vec<u8>,
) -> Result<ProvenAnswer, ProofError> {
    let miner: Hotkey = miner.parse().map_err(|_| ProofError::Header(miner_name))?;
    let signature = hex::decode(signature.trim_start_matches("0x"))
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .map(Signature)
        .ok_or(ProofError::Header(signature_name))?;
    let message = base64::engine::general_purpose::STANDARD
        .decode(message)
        .map_err(|_| ProofError::Header(message_name))?;
    if !keys::verify(&miner.0, &message, &signature) {
        return Err(ProofError::Signature);
    }
    let text = std::str::from_utf8(&message).map_err(|_| ProofError::Message("not text"))?;
    let lines: Vec<&str> = text.split('\n').collect();
    let [_tag, signer, caller, _request, digest] = lines.as_slice() else {
        return Err(ProofError::Message("not five lines"));
    };
    if *signer != miner.to_ss58() {
        return Err(ProofError::Message("it names another miner"));
    }
    let caller: Hotkey = caller
        .parse()
        .map_err(|_| ProofError::Message("the caller is not an address"))?;
    let hashed = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&body))
    };
    if *digest != hashed {
        return Err(ProofError::Message("the body is not the one signed"));
    }
    let _: AccountId = caller.0;
    Ok(ProvenAnswer {
        miner,
        caller,
        body,
    })
}
