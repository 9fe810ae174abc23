//! The dendrite: a validator's client. It signs each request in the convention its target
//! speaks, reuses connections, and fans a task out to many axons at once with one deadline.
//!
//! ```no_run
//! # use std::time::Duration;
//! # use subforge_core::{Metagraph, Task, Uid};
//! # use subforge_core::identity::Keypair;
//! # use subforge_sdk::net::{Dendrite, Target};
//! # #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
//! # struct Double { value: i64 }
//! # impl Task for Double { const NAME: &'static str = "Double"; type Response = i64; type Reference = i64; }
//! # async fn run(hotkey: Keypair, metagraph: &Metagraph) {
//! let dendrite = Dendrite::new(hotkey);
//! let targets = Target::serving(metagraph);
//! let responses = dendrite
//!     .query(&targets, &Double { value: 21 }, Duration::from_secs(5))
//!     .await;
//! for r in &responses {
//!     println!("uid {} -> {} {:?} in {:?}", r.uid, r.status, r.ok(), r.latency);
//! }
//! # }
//! ```
//!
//! `query` returns no later than the timeout plus the runtime's scheduling delay (well under
//! a millisecond on an idle runtime; the tests allow 500 ms on a loaded 2-core machine) and
//! the signature checks of answers that came in just before it (under 1 ms per 32): every
//! request runs against one deadline taken before the task is encoded and the first request
//! signed, and whatever has not answered by then is reported as 408. Answers become typed statuses, never panics: unreachable 503, refused or cut
//! connection 503, late 408, larger than the response cap or not parseable 422, anything
//! the miner said (401, 403, 404, 429, 500, ...) as it said it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subforge_core::identity::Keypair;
use subforge_core::{Hotkey, Metagraph, MinerResponse, Signature, StatusCode, Task, Uid};
use tokio::task::JoinSet;

use super::keys::{self, Claim};
use super::nonce::now_ns;
use super::pyrepr::float_repr;
use super::signer::{HotkeySigner, Signer};
use super::wire::{self, Wire, legacy};

/// One axon to query: who it is, where, and which convention it speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The miner's uid.
    pub uid: Uid,
    /// The miner's hotkey (requests are signed for it; answers must be signed by it).
    pub hotkey: Hotkey,
    /// Where its axon listens.
    pub addr: SocketAddr,
    /// The convention to sign with.
    pub wire: Wire,
}

impl Target {
    /// A target speaking the Synapse protocol (what every Python axon and ours accept).
    pub fn new(uid: Uid, hotkey: Hotkey, addr: SocketAddr) -> Self {
        Self {
            uid,
            hotkey,
            addr,
            wire: Wire::Synapse,
        }
    }

    /// The same target, signed in `wire`.
    pub fn with_wire(mut self, wire: Wire) -> Self {
        self.wire = wire;
        self
    }

    /// The target of `uid` in a metagraph, if it exists.
    pub fn of(metagraph: &Metagraph, uid: Uid) -> Option<Self> {
        let i = uid.index();
        Some(Self::new(
            uid,
            *metagraph.hotkeys.get(i)?,
            metagraph.axons.get(i)?.socket_addr(),
        ))
    }

    /// Every neuron of a metagraph that serves an axon (`ip != 0.0.0.0`).
    pub fn serving(metagraph: &Metagraph) -> Vec<Self> {
        metagraph
            .uids
            .iter()
            .filter(|uid| {
                metagraph
                    .axons
                    .get(uid.index())
                    .is_some_and(|a| a.is_serving())
            })
            .filter_map(|uid| Self::of(metagraph, *uid))
            .collect()
    }
}

/// A dendrite's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DendriteConfig {
    /// Largest response body accepted; larger ones become 422. Default 16 MiB.
    pub max_response_bytes: usize,
    /// Idle keep-alive connections kept per axon. Default 4.
    pub max_idle_per_axon: usize,
    /// Signing nonces prepared in idle time, so that a fan-out's requests are signed in
    /// about 3 µs each instead of 26 µs (see [`Signer`]). Default 1024 (64 KiB), enough for
    /// a fan-out to every uid of a 256-uid subnet with room to spare; `0` for none.
    pub prepared_nonces: usize,
    /// How long an idle connection is kept for reuse. Default 4 s: below the 5 s after which
    /// our axon (its header read timeout) and the Python axon (uvicorn's keep-alive) close
    /// idle connections, so a request is never sent on a connection the axon is closing.
    pub idle_timeout: Duration,
}

impl Default for DendriteConfig {
    fn default() -> Self {
        Self {
            max_response_bytes: 16 << 20,
            max_idle_per_axon: 4,
            prepared_nonces: 1024,
            idle_timeout: Duration::from_secs(4),
        }
    }
}

/// A failure before a stream's first byte, or while reading a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct QueryError {
    /// The status, with the Python SDK's meanings (408 timeout, 503 unreachable, ...).
    pub status: StatusCode,
    /// What went wrong.
    pub message: String,
}

impl QueryError {
    /// A failure with this status and message.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode(status),
            message: message.into(),
        }
    }
}

struct Inner {
    signer: Signer,
    uuid: String,
    last_nonce: AtomicU64,
    client: Client<HttpConnector, Full<Bytes>>,
    config: DendriteConfig,
}

/// A validator's client for querying axons. Cheap to clone; clones share the connection
/// pool.
#[derive(Clone)]
pub struct Dendrite(Arc<Inner>);

impl std::fmt::Debug for Dendrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dendrite({})", self.0.signer.hotkey())
    }
}

/// The most answers whose signatures are checked in one batch (under 1 ms of work), so a
/// burst of answers does not hold a thread for long.
const MAX_CHECK_BATCH: usize = 32;

/// One request of a fan-out, answered or failed, its signature not yet checked.
struct Fetched<T: Task> {
    index: usize,
    /// From the start of the query to the end of the answer.
    latency: Duration,
    /// The answer, its unchecked claim, and its body when proofs are kept.
    outcome: Result<Answered<T>, QueryError>,
}

/// An answer, its signature claim (unchecked) and, when proofs are kept, its raw body.
type Answered<T> = (<T as Task>::Response, Option<Claim>, Option<Bytes>);

/// A task encoded once for every target of a fan-out.
#[derive(Clone)]
enum Encoded {
    Synapse(Arc<legacy::EncodedSynapse>),
    Raw(Bytes),
}

impl Dendrite {
    /// A dendrite signing with `keypair` (the validator's hotkey), default settings.
    pub fn new(keypair: Keypair) -> Self {
        Self::with_config(keypair, DendriteConfig::default())
    }

    /// A dendrite with explicit settings.
    pub fn with_config(keypair: Keypair, config: DendriteConfig) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(config.idle_timeout)
            .pool_max_idle_per_host(config.max_idle_per_axon)
            .build(connector);
        Self(Arc::new(Inner {
            signer: Signer::new(keypair, config.prepared_nonces),
            uuid: wire::random_uuid(),
            last_nonce: AtomicU64::new(0),
            client,
            config,
        }))
    }

    /// The dendrite's hotkey.
    pub fn hotkey(&self) -> Hotkey {
        self.0.signer.hotkey()
    }

    /// What it signs with; [`Signer::fill`] prepares every nonce before a first fan-out.
    pub fn signer(&self) -> &Signer {
        &self.0.signer
    }

    /// A nanosecond nonce, strictly increasing for this dendrite even within one
    /// nanosecond, as Python axons require per `(hotkey, uuid)`.
    fn nonce(&self) -> u64 {
        let now = now_ns();
        let prev = self
            .0
            .last_nonce
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
                Some(now.max(last + 1))
            })
            .unwrap_or(now);
        now.max(prev + 1)
    }

    fn encode<T: Task>(
        &self,
        task: &T,
        wire: Wire,
        timeout: Duration,
    ) -> Result<Encoded, QueryError> {
        match wire {
            Wire::Synapse => legacy::encode(task, timeout)
                .map(|e| Encoded::Synapse(Arc::new(e)))
                .map_err(|e| QueryError::new(400, e.to_string())),
            Wire::BtAuth | Wire::Epistula => serde_json::to_vec(task)
                .map(|b| Encoded::Raw(b.into()))
                .map_err(|e| QueryError::new(400, format!("task did not serialize: {e}"))),
        }
    }

    /// Sends `task` to every target at once and returns one response per target, in order,
    /// no later than `timeout` from the call.
    pub async fn query<T: Task>(
        &self,
        targets: &[Target],
        task: &T,
        timeout: Duration,
    ) -> Vec<MinerResponse<T>> {
        self.fan_out(targets, task, timeout, false)
            .await
            .into_iter()
            .map(|(response, _)| response)
            .collect()
    }

    /// As [`Dendrite::query`], keeping what proves each signed answer (see
    /// [`Dendrite::call_signed`]): what a validator's transcript records.
    pub async fn query_signed<T: Task>(
        &self,
        targets: &[Target],
        task: &T,
        timeout: Duration,
    ) -> Vec<(MinerResponse<T>, Option<SignedAnswer>)> {
        self.fan_out(targets, task, timeout, true).await
    }

    async fn fan_out<T: Task>(
        &self,
        targets: &[Target],
        task: &T,
        timeout: Duration,
        keep_proofs: bool,
    ) -> Vec<(MinerResponse<T>, Option<SignedAnswer>)> {
        let start = Instant::now();
        let deadline = tokio::time::Instant::from_std(start) + timeout;
        let mut encoded: [Option<Result<Encoded, QueryError>>; 3] = [None, None, None];
        let mut set = JoinSet::new();
        for (index, target) in targets.iter().enumerate() {
            let slot = &mut encoded[target.wire as usize];
            let enc = slot
                .get_or_insert_with(|| self.encode(task, target.wire, timeout))
                .clone();
            let this = self.clone();
            let target = target.clone();
            set.spawn(async move {
                let outcome = match enc {
                    Ok(enc) => this.fetch::<T>(&target, enc, timeout, deadline).await.map(
                        |(payload, claim, body)| (payload, claim, keep_proofs.then_some(body)),
                    ),
                    Err(e) => Err(e),
                };
                Fetched {
                    index,
                    latency: start.elapsed(),
                    outcome,
                }
            });
        }
        // Answers that arrive together have their signatures checked together.
        let mut out: Vec<Option<(MinerResponse<T>, Option<SignedAnswer>)>> =
            (0..targets.len()).map(|_| None).collect();
        while let Some(joined) = set.join_next().await {
            let mut ready: Vec<Fetched<T>> = joined.into_iter().collect();
            while ready.len() < MAX_CHECK_BATCH {
                match set.try_join_next() {
                    Some(joined) => ready.extend(joined),
                    None => break,
                }
            }
            for (index, response, proof) in self.settle(targets, ready) {
                out[index] = Some((response, proof));
            }
        }
        out.into_iter()
            .zip(targets)
            .map(|(r, t)| {
                r.unwrap_or_else(|| {
                    let failed = self.response(
                        t.clone(),
                        Err(QueryError::new(500, "the query task failed")),
                        start.elapsed(),
                    );
                    (failed, None)
                })
            })
            .collect()
    }

    /// Checks the answer signatures of a group of finished requests in one batch and makes
    /// their responses.
    fn settle<T: Task>(
        &self,
        targets: &[Target],
        ready: Vec<Fetched<T>>,
    ) -> Vec<(usize, MinerResponse<T>, Option<SignedAnswer>)> {
        let mut claims = Vec::with_capacity(ready.len());
        let ready: Vec<_> = ready
            .into_iter()
            .map(|f| {
                let outcome = f.outcome.map(|(payload, claim, body)| {
                    let at = claim.map(|c| {
                        claims.push(c);
                        claims.len() - 1
                    });
                    (payload, at, body)
                });
                (f.index, f.latency, outcome)
            })
            .collect();
        let checked = keys::verify_all(&claims);
        ready
            .into_iter()
            .filter_map(|(index, latency, outcome)| {
                let mut proof = None;
                let outcome = outcome.map(|(payload, at, body)| {
                    let verified = at.filter(|&i| checked.get(i) == Some(&true));
                    if let (Some(i), Some(body)) = (verified, body) {
                        proof = claims.get(i).map(|claim| SignedAnswer {
                            claim: claim.clone(),
                            body,
                        });
                    }
                    (payload, verified.is_some())
                });
                let target = targets.get(index)?.clone();
                Some((index, self.response(target, outcome, latency), proof))
            })
            .collect()
    }

    /// Sends `task` to one target.
    pub async fn call<T: Task>(
        &self,
        target: &Target,
        task: &T,
        timeout: Duration,
    ) -> MinerResponse<T> {
        self.call_signed(target, task, timeout).await.0
    }

    /// Sends `task` to one target, and keeps what proves the miner gave the answer: its raw
    /// body and signature, when the answer was signed and the signature checks.
    pub async fn call_signed<T: Task>(
        &self,
        target: &Target,
        task: &T,
        timeout: Duration,
    ) -> (MinerResponse<T>, Option<SignedAnswer>) {
        let start = Instant::now();
        let deadline = tokio::time::Instant::from_std(start) + timeout;
        let outcome = match self.encode(task, target.wire, timeout) {
            Ok(enc) => self.fetch::<T>(target, enc, timeout, deadline).await,
            Err(e) => Err(e),
        };
        let latency = start.elapsed();
        let mut proof = None;
        let outcome = outcome.map(|(payload, claim, body)| {
            let verified = claim.filter(Claim::verify).map(|claim| {
                proof = Some(SignedAnswer { claim, body });
            });
            (payload, verified.is_some())
        });
        (self.response(target.clone(), outcome, latency), proof)
    }

    fn response<T: Task>(
        &self,
        target: Target,
        outcome: Result<(T::Response, bool), QueryError>,
        latency: Duration,
    ) -> MinerResponse<T> {
        match outcome {
            Ok((payload, signature_verified)) => MinerResponse {
                uid: target.uid,
                hotkey: target.hotkey,
                status: StatusCode::SUCCESS,
                message: "Success".to_owned(),
                latency,
                payload: Some(payload),
                signature_verified,
            },
            Err(e) => MinerResponse {
                uid: target.uid,
                hotkey: target.hotkey,
                status: e.status,
                message: e.message,
                latency,
                payload: None,
                signature_verified: false,
            },
        }
    }

    /// Builds and signs one request.
    fn request(
        &self,
        task_name: &str,
        target: &Target,
        encoded: &Encoded,
        timeout: Duration,
        stream: bool,
    ) -> Result<(Request<Full<Bytes>>, Signature), QueryError> {
        let path = format!("/{task_name}");
        let uri = format!("http://{}{path}", target.addr);
        let mut headers = HeaderMap::new();
        let (body, signature) = match encoded {
            Encoded::Synapse(enc) => {
                let sig = legacy::sign(
                    &mut headers,
                    enc,
                    task_name,
                    &self.0.signer,
                    &self.0.uuid,
                    self.nonce(),
                    &target.hotkey,
                    target.addr,
                );
                (enc.body.clone(), sig)
            }
            Encoded::Raw(body) => {
                let sig = match target.wire {
                    Wire::BtAuth => wire::btauth::sign(
                        &mut headers,
                        &self.0.signer,
                        "POST",
                        &path,
                        body,
                        self.nonce(),
                        &target.hotkey,
                    ),
                    _ => wire::epistula::sign(
                        &mut headers,
                        &self.0.signer,
                        body,
                        &wire::random_uuid(),
                        now_ns() / 1_000_000,
                        &target.hotkey,
                    ),
                };
                // Our axons read the deadline from `timeout` in every convention.
                if let Ok(v) = HeaderValue::try_from(float_repr(timeout.as_secs_f64())) {
                    headers.insert(legacy::TIMEOUT, v);
                }
                (body.clone(), sig)
            }
        };
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if stream {
            // Our axons sign a stream at its end, in trailers, when asked to.
            headers.insert(header::TE, HeaderValue::from_static("trailers"));
        }
        let mut request = Request::post(uri)
            .body(Full::new(body))
            .map_err(|e| QueryError::new(400, format!("cannot build the request: {e}")))?;
        *request.headers_mut() = headers;
        Ok((request, signature))
    }

    async fn send(
        &self,
        task_name: &str,
        target: &Target,
        encoded: &Encoded,
        timeout: Duration,
        deadline: tokio::time::Instant,
        stream: bool,
    ) -> Result<(http::response::Parts, Incoming, Signature), QueryError> {
        let (request, signature) = self.request(task_name, target, encoded, timeout, stream)?;
        let timed_out = || {
            QueryError::new(
                408,
                format!(
                    "Request timeout after {} seconds",
                    float_repr(timeout.as_secs_f64())
                ),
            )
        };
        let response = tokio::time::timeout_at(deadline, self.0.client.request(request))
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| {
                if e.is_connect() {
                    QueryError::new(
                        503,
                        format!("Service unavailable at {}/{task_name}", target.addr),
                    )
                } else {
                    QueryError::new(503, format!("Service disconnected: {e}"))
                }
            })?;
        let (parts, body) = response.into_parts();
        Ok((parts, body, signature))
    }

    /// Sends one request and reads its answer, whose signature is returned unchecked.
    async fn fetch<T: Task>(
        &self,
        target: &Target,
        encoded: Encoded,
        timeout: Duration,
        deadline: tokio::time::Instant,
    ) -> Result<(T::Response, Option<Claim>, Bytes), QueryError> {
        let (parts, body, signature) = self
            .send(T::NAME, target, &encoded, timeout, deadline, false)
            .await?;
        let body = self.read_body(body, timeout, deadline).await?;
        if parts.status != http::StatusCode::OK {
            return Err(error_from(parts.status.as_u16(), &body));
        }
        let payload = decode_response::<T>(target.wire, &body)?;
        let claim = wire::response::claim(
            &parts.headers,
            &target.hotkey,
            &self.hotkey(),
            &signature,
            &body,
        );
        Ok((payload, claim, body))
    }

    async fn read_body(
        &self,
        body: Incoming,
        timeout: Duration,
        deadline: tokio::time::Instant,
    ) -> Result<Bytes, QueryError> {
        let cap = self.0.config.max_response_bytes;
        match tokio::time::timeout_at(deadline, Limited::new(body, cap).collect()).await {
            Err(_) => Err(QueryError::new(
                408,
                format!(
                    "Request timeout after {} seconds",
                    float_repr(timeout.as_secs_f64())
                ),
            )),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(QueryError::new(
                422,
                format!("Failed to parse response: the body is larger than {cap} bytes"),
            )),
            Ok(Err(e)) => Err(QueryError::new(503, format!("Service disconnected: {e}"))),
            Ok(Ok(c)) => Ok(c.to_bytes()),
        }
    }

    /// Sends streaming task `task` to one target and returns its chunks as they arrive, or
    /// the failure that came before the first one. The stream ends at `timeout`.
    pub async fn stream<T: Task>(
        &self,
        target: &Target,
        task: &T,
        timeout: Duration,
    ) -> Result<ChunkStream, QueryError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let encoded = self.encode(task, target.wire, timeout)?;
        let (parts, body, request) = self
            .send(T::NAME, target, &encoded, timeout, deadline, true)
            .await?;
        if parts.status != http::StatusCode::OK {
            let body = self.read_body(body, timeout, deadline).await?;
            return Err(error_from(parts.status.as_u16(), &body));
        }
        Ok(ChunkStream {
            body,
            deadline,
            remaining: self.0.config.max_response_bytes,
            done: false,
            hasher: Sha256::new(),
            seal: StreamSeal {
                axon: target.hotkey,
                caller: self.hotkey(),
                request,
            },
            signed: None,
        })
    }
}

/// A miner's answer with its proof: the raw body as it came, and the miner's signature over
/// `subforge-response/1`, its hotkey, the caller's hotkey, the request's signature and the
/// body's SHA-256 (see `docs/wire.md`). Anyone holding it can check that this miner gave this
/// answer to this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAnswer {
    /// The signer, the signed message and the signature (already checked).
    pub claim: Claim,
    /// The body the message's hash covers.
    pub body: Bytes,
}

/// The chunks of a streaming answer, as they arrive, and at the end the miner's signature over
/// all of them.
#[derive(Debug)]
pub struct ChunkStream {
    body: Incoming,
    deadline: tokio::time::Instant,
    remaining: usize,
    done: bool,
    /// Every byte received so far, hashed.
    hasher: Sha256,
    seal: StreamSeal,
    signed: Option<Claim>,
}

/// Who must have signed a stream, for whom, answering which request.
#[derive(Debug)]
struct StreamSeal {
    axon: Hotkey,
    caller: Hotkey,
    request: Signature,
}

impl ChunkStream {
    /// The miner's signature over every byte of the stream, once [`next`](Self::next) has
    /// returned `None`: its message ends with the SHA-256 of the chunks joined, and it has been
    /// checked. `None` before the end, and for a stream that ended without a valid signature
    /// (a Python axon's, which does not sign streams; one cut off at its deadline; one whose
    /// handler failed; or a forged one).
    pub fn signature(&self) -> Option<&Claim> {
        self.signed.as_ref()
    }

    /// The next chunk; `None` at the end. After an error the stream is over.
    pub async fn next(&mut self) -> Option<Result<Bytes, QueryError>> {
        if self.done {
            return None;
        }
        loop {
            let frame = match tokio::time::timeout_at(self.deadline, self.body.frame()).await {
                Err(_) => {
                    self.done = true;
                    return Some(Err(QueryError::new(408, "the stream passed its deadline")));
                }
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Ok(Some(Err(e))) => {
                    self.done = true;
                    return Some(Err(QueryError::new(
                        503,
                        format!("Service disconnected: {e}"),
                    )));
                }
                Ok(Some(Ok(frame))) => frame,
            };
            let data = match frame.into_data() {
                Ok(data) => data,
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        let digest = hex::encode(self.hasher.clone().finalize());
                        let s = &self.seal;
                        self.signed = wire::response::claim_for_hash(
                            &trailers, &s.axon, &s.caller, &s.request, &digest,
                        )
                        .filter(Claim::verify);
                    }
                    continue;
                }
            };
            if data.len() > self.remaining {
                self.done = true;
                return Some(Err(QueryError::new(
                    422,
                    "Failed to parse response: the stream exceeded the response size cap",
                )));
            }
            self.remaining -= data.len();
            self.hasher.update(&data);
            if !data.is_empty() {
                return Some(Ok(data));
            }
        }
    }
}

/// A non-200 answer: its status, and its `message` when the body is the usual JSON error.
fn error_from(status: u16, body: &[u8]) -> QueryError {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| wire::abbreviate(&String::from_utf8_lossy(body)));
    QueryError::new(status, message)
}

/// A 200 answer's payload: the body itself, or for the Synapse protocol the synapse whose
/// fields hold the response (or its `response` field when the response is not an object).
fn decode_response<T: Task>(wire: Wire, body: &[u8]) -> Result<T::Response, QueryError> {
    let parse_error =
        |e: serde_json::Error| QueryError::new(422, format!("Failed to parse response: {e}"));
    match wire {
        Wire::Synapse => match serde_json::from_slice::<T::Response>(body) {
            Ok(r) => Ok(r),
            Err(e) => {
                let mut value: Value = serde_json::from_slice(body).map_err(parse_error)?;
                match value.get_mut("response").map(Value::take) {
                    Some(inner) => serde_json::from_value(inner).map_err(parse_error),
                    None => Err(parse_error(e)),
                }
            }
        },
        Wire::BtAuth | Wire::Epistula => serde_json::from_slice(body).map_err(parse_error),
    }
}
