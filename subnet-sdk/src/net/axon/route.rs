//! The request pipeline every task route shares, and the typed tail of each route.

use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::routing::any;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use serde_json::Value;
use subforge_core::{Caller, HandlerError, MinerHandler, Task, Verdict, async_trait};

use super::Shared;
use super::stream::{CHUNK_QUEUE, ChunkSink, Seal, StreamBody, StreamHandler};
use crate::net::limits::{GaugeGuard, PerKeyGuard};
use crate::net::nonce::now_ns;
use crate::net::pyrepr::{PyValue, float_repr};
use crate::net::signer::HotkeySigner;
use crate::net::wire::{self, AuthError, Verified, Wire, legacy};

pub(crate) use crate::net::server::Peer;

/// An answer other than success: status and the message the caller reads from
/// `{"message": ...}` (the Python SDK's error body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub(crate) status: u16,
    pub(crate) message: String,
}

impl Rejection {
    pub(crate) fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn auth(e: &AuthError) -> Self {
        match e.status() {
            401 => Self::new(401, format!("Not Verified with error: {e}")),
            status => Self::new(status, e.to_string()),
        }
    }

    fn timeout(timeout: Duration) -> Self {
        Self::new(
            408,
            format!(
                "Response timeout after: {}s",
                float_repr(timeout.as_secs_f64())
            ),
        )
    }

    pub(crate) fn into_response(self) -> Response<Body> {
        let body = serde_json::json!({ "message": self.message }).to_string();
        json_response(self.status, body.into(), HeaderMap::new())
    }
}

fn json_response(status: u16, body: Bytes, headers: HeaderMap) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = response.headers_mut();
    h.extend(headers);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// What a successful route produces.
pub(crate) enum Reply {
    /// A JSON value (the task's response).
    Json(Value),
    /// A chunk stream.
    Stream(StreamBody),
}

/// Slots a request holds until its answer is complete.
pub(crate) struct Held {
    _in_flight: GaugeGuard,
    _ip: PerKeyGuard<std::net::IpAddr>,
    _hotkey: Option<PerKeyGuard<subforge_core::Hotkey>>,
}

/// What the typed part of a route gets: an authenticated request.
pub(crate) struct Authenticated {
    pub(crate) shared: Arc<Shared>,
    pub(crate) verified: Verified,
    pub(crate) body: Bytes,
    pub(crate) caller: Caller,
    pub(crate) deadline: tokio::time::Instant,
    pub(crate) timeout: Duration,
    /// Whether the caller takes trailers (`TE: trailers`): only then is a stream signed.
    pub(crate) trailers: bool,
    pub(crate) held: Held,
}

/// A task route with its types erased.
#[async_trait]
pub(crate) trait Route: Send + Sync + 'static {
    fn timeout(&self) -> Duration;
    fn hash_fields(&self) -> &'static [&'static str];
    async fn run(&self, req: Authenticated) -> Result<Reply, Rejection>;
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new();
    for name in shared.routes.keys() {
        let s = Arc::clone(&shared);
        router = router.route(
            &format!("/{name}"),
            any(move |req: Request<Body>| {
                let s = Arc::clone(&s);
                async move { pipeline(s, req).await }
            }),
        );
    }
    let health = any(|req: Request<Body>| async move {
        if req.method() == Method::GET {
            json_response(
                200,
                Bytes::from_static(br#"{"status":"ok"}"#),
                HeaderMap::new(),
            )
        } else {
            Rejection::new(405, "Method Not Allowed").into_response()
        }
    });
    let s = Arc::clone(&shared);
    router
        .route(super::HEALTH_PATH, health)
        .fallback(move |req: Request<Body>| {
            let s = Arc::clone(&s);
            async move { pipeline(s, req).await }
        })
}

/// The task name in a path as the Python axon reads it: the first segment.
fn requested_name(path: &str) -> &str {
    path.trim_start_matches('/').split('/').next().unwrap_or("")
}

async fn pipeline(shared: Arc<Shared>, req: Request<Body>) -> Response<Body> {
    match authenticate_and_run(shared, req).await {
        Ok(response) => response,
        Err(rejection) => rejection.into_response(),
    }
}

async fn authenticate_and_run(
    shared: Arc<Shared>,
    req: Request<Body>,
) -> Result<Response<Body>, Rejection> {
    let received = Instant::now();
    let peer = req
        .extensions()
        .get::<Peer>()
        .map_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)), |p| p.0);

    let in_flight = shared
        .in_flight
        .acquire()
        .ok_or_else(|| Rejection::new(503, "Service unavailable: too many requests in flight"))?;
    let ip_slot = shared.per_ip.acquire(peer.ip()).ok_or_else(|| {
        Rejection::new(
            429,
            format!("Too many requests in flight from {}", peer.ip()),
        )
    })?;

    if req.method() != Method::POST {
        return Err(Rejection::new(405, "Method Not Allowed: use POST"));
    }
    let headers = req.headers();
    if let Some(len) = headers.get(header::CONTENT_LENGTH) {
        let len: Option<u64> = len.to_str().ok().and_then(|s| s.parse().ok());
        match len {
            Some(n) if n > shared.limits.max_body_bytes as u64 => {
                return Err(too_large(shared.limits.max_body_bytes));
            }
            Some(_) => {}
            None => return Err(Rejection::new(400, "Content-Length is not a number")),
        }
    }
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let json = ct
            .to_str()
            .ok()
            .and_then(|s| s.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(Rejection::new(
                415,
                "Unsupported Media Type: the body must be application/json",
            ));
        }
    }

    let route = shared.routes.get(requested_name(req.uri().path())).cloned();
    let wire = Wire::detect(headers).map_err(|e| Rejection::auth(&e))?;
    let max_timeout = shared.limits.max_timeout;
    // The deadline: the caller's `timeout` header (any convention), else the task's default.
    let header_timeout = match wire::header(headers, legacy::TIMEOUT)
        .map_err(|e| Rejection::auth(&e))?
    {
        Some(t) => Some(legacy::parse_timeout(t).map_err(|e| Rejection::new(400, e.to_string()))?),
        None => None,
    };
    let timeout = header_timeout
        .or_else(|| route.as_ref().map(|r| r.timeout()))
        .unwrap_or(Duration::from_secs(12))
        .min(max_timeout);
    // Answer a little before the caller gives up, so it hears the 408 from us.
    let margin = (timeout / 20).min(Duration::from_millis(250));
    let deadline = tokio::time::Instant::from_std(received) + (timeout - margin);

    // The Synapse protocol signs headers only: check them before reading any body.
    let early = match wire {
        Wire::Synapse => Some(
            legacy::verify(headers, &shared.signer.hotkey(), max_timeout)
                .map_err(|e| Rejection::auth(&e))?,
        ),
        Wire::BtAuth | Wire::Epistula => None,
    };
    let method = req.method().as_str().to_owned();
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    let path_name = requested_name(req.uri().path()).to_owned();
    let (parts, body) = req.into_parts();

    let limited = Limited::new(body, shared.limits.max_body_bytes);
    let body = match tokio::time::timeout_at(deadline, limited.collect()).await {
        Err(_) => return Err(Rejection::timeout(timeout)),
        Ok(Err(e)) => {
            return Err(if e.is::<http_body_util::LengthLimitError>() {
                too_large(shared.limits.max_body_bytes)
            } else {
                Rejection::new(400, "Bad Request: the body ended early")
            });
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };

    let verified = match early {
        Some(v) => v,
        None => match wire {
            Wire::BtAuth => wire::btauth::verify(
                &parts.headers,
                &method,
                &target,
                &body,
                &shared.signer.hotkey(),
            ),
            _ => wire::epistula::verify(&parts.headers, &body, &shared.signer.hotkey()),
        }
        .map_err(|e| Rejection::auth(&e))?,
    };
    verified
        .window
        .check(verified.nonce_ns, now_ns())
        .map_err(|e| Rejection::auth(&AuthError::Nonce(e)))?;

    let Some(route) = route else {
        return Err(Rejection::new(
            404,
            format!("Synapse name '{}' not found.", wire::abbreviate(&path_name)),
        ));
    };

    if let Some(signed) = &verified.body_hash {
        let fields = route.hash_fields();
        let parsed = if fields.is_empty() {
            PyValue::None
        } else {
            PyValue::from_json(&body).map_err(|e| {
                Rejection::new(400, format!("Bad Request: the body is not JSON: {e}"))
            })?
        };
        legacy::check_body_hash(signed, &parsed, fields).map_err(|e| Rejection::auth(&e))?;
    }

    let hotkey_slot = shared.per_hotkey.acquire(verified.hotkey).ok_or_else(|| {
        Rejection::new(
            429,
            format!(
                "Too many requests in flight from hotkey {}",
                verified.hotkey
            ),
        )
    })?;
    let caller = shared.caller(verified.hotkey, peer.ip());
    let wire = verified.wire;
    let request_signature = verified.signature;
    let request_body = body.clone();
    let reply = route
        .run(Authenticated {
            trailers: wire::response::accepts_trailers(&parts.headers),
            shared: Arc::clone(&shared),
            verified,
            body,
            caller: caller.clone(),
            deadline,
            timeout,
            held: Held {
                _in_flight: in_flight,
                _ip: ip_slot,
                _hotkey: Some(hotkey_slot),
            },
        })
        .await?;

    match reply {
        Reply::Stream(body) => {
            let mut response = Response::new(Body::new(body));
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
            if wire == Wire::Synapse {
                legacy::stream_headers(headers, &shared.signer.hotkey(), received.elapsed());
            }
            // The signature follows the stream, to callers that take trailers.
            if wire::response::accepts_trailers(&parts.headers) {
                headers.insert(
                    header::TRAILER,
                    HeaderValue::from_static(wire::response::TRAILERS),
                );
            }
            Ok(response)
        }
        Reply::Json(value) => {
            let bytes: Bytes = match wire {
                Wire::Synapse => legacy::success_body(
                    &request_body,
                    value,
                    &shared.signer.hotkey(),
                    received.elapsed(),
                ),
                Wire::BtAuth | Wire::Epistula => serde_json::to_vec(&value).unwrap_or_default(),
            }
            .into();
            let mut headers = HeaderMap::new();
            wire::response::sign(
                &mut headers,
                &shared.signer,
                &caller.hotkey,
                &request_signature,
                &bytes,
            );
            Ok(json_response(200, bytes, headers))
        }
    }
}

fn too_large(max: usize) -> Rejection {
    Rejection::new(
        413,
        format!("Payload Too Large: the body is limited to {max} bytes"),
    )
}

fn decode<T: Task>(wire: Wire, body: &[u8]) -> Result<T, Rejection> {
    let invalid = |e: serde_json::Error| {
        Rejection::new(400, format!("Bad Request: invalid {} task: {e}", T::NAME))
    };
    match wire {
        // A synapse body carries the synapse's own fields beside the task's.
        Wire::Synapse => {
            let mut map: serde_json::Map<String, Value> =
                serde_json::from_slice(body).map_err(invalid)?;
            for field in legacy::SYNAPSE_FIELDS {
                map.remove(field);
            }
            serde_json::from_value(Value::Object(map)).map_err(invalid)
        }
        Wire::BtAuth | Wire::Epistula => serde_json::from_slice(body).map_err(invalid),
    }
}

/// Blacklist, then the nonce, then priority: the typed steps both route kinds share.
async fn admit(
    req: &Authenticated,
    verdict: Verdict,
    priority: f64,
) -> Result<super::priority::Slot, Rejection> {
    if let Verdict::Deny(reason) = verdict {
        return Err(Rejection::new(
            403,
            format!("Forbidden. Key is blacklisted: {reason}."),
        ));
    }
    // Recorded only now, so callers that are refused anyway cannot fill the store.
    let v = &req.verified;
    req.shared
        .nonces
        .check_and_insert(
            &(v.wire.to_string(), v.hotkey, &v.replay_id),
            Instant::now(),
        )
        .map_err(|e| Rejection::auth(&AuthError::Nonce(e)))?;
    match tokio::time::timeout_at(req.deadline, req.shared.gate.acquire(priority)).await {
        Err(_) => Err(Rejection::timeout(req.timeout)),
        Ok(Err(_)) => Err(Rejection::new(
            503,
            "Service unavailable: the queue is full",
        )),
        Ok(Ok(slot)) => Ok(slot),
    }
}

fn handler_error(e: HandlerError) -> Rejection {
    match e {
        HandlerError::InvalidTask(m) => Rejection::new(400, format!("Bad Request: {m}")),
        HandlerError::Unavailable(m) => Rejection::new(503, format!("Service unavailable: {m}")),
        HandlerError::Internal(m) => {
            let id = wire::random_uuid();
            tracing::error!(error = %m, id = %id, "miner handler failed");
            Rejection::new(500, format!("Internal Server Error #{id}"))
        }
    }
}

pub(crate) struct UnaryRoute<T, H> {
    handler: H,
    _task: PhantomData<fn() -> T>,
}

impl<T: Task, H: MinerHandler<T>> UnaryRoute<T, H> {
    pub(crate) fn new(handler: H) -> Self {
        Self {
            handler,
            _task: PhantomData,
        }
    }
}

#[async_trait]
impl<T: Task, H: MinerHandler<T>> Route for UnaryRoute<T, H> {
    fn timeout(&self) -> Duration {
        T::TIMEOUT
    }

    fn hash_fields(&self) -> &'static [&'static str] {
        T::HASH_FIELDS
    }

    async fn run(&self, req: Authenticated) -> Result<Reply, Rejection> {
        let task: T = decode(req.verified.wire, &req.body)?;
        let verdict = self.handler.blacklist(&req.caller, &task).await;
        let priority = self.handler.priority(&req.caller, &task);
        let _slot = admit(&req, verdict, priority).await?;
        // Past the deadline the handler's future is dropped: nothing of it keeps running.
        let answer = tokio::time::timeout_at(req.deadline, self.handler.forward(task, &req.caller))
            .await
            .map_err(|_| Rejection::timeout(req.timeout))?
            .map_err(handler_error)?;
        serde_json::to_value(&answer).map(Reply::Json).map_err(|e| {
            handler_error(HandlerError::Internal(format!(
                "response did not serialize: {e}"
            )))
        })
    }
}

pub(crate) struct StreamRoute<T, H> {
    handler: Arc<H>,
    _task: PhantomData<fn() -> T>,
}

impl<T: Task, H: StreamHandler<T>> StreamRoute<T, H> {
    pub(crate) fn new(handler: H) -> Self {
        Self {
            handler: Arc::new(handler),
            _task: PhantomData,
        }
    }
}

#[async_trait]
impl<T: Task, H: StreamHandler<T>> Route for StreamRoute<T, H> {
    fn timeout(&self) -> Duration {
        T::TIMEOUT
    }

    fn hash_fields(&self) -> &'static [&'static str] {
        T::HASH_FIELDS
    }

    async fn run(&self, req: Authenticated) -> Result<Reply, Rejection> {
        let task: T = decode(req.verified.wire, &req.body)?;
        let verdict = self.handler.blacklist(&req.caller, &task).await;
        let priority = self.handler.priority(&req.caller, &task);
        let slot = admit(&req, verdict, priority).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(CHUNK_QUEUE);
        let handler = Arc::clone(&self.handler);
        let caller = req.caller.clone();
        let producer = Box::pin(async move { handler.stream(task, &caller, ChunkSink(tx)).await });
        // Signed at its end for a caller that takes trailers (hyper would drop them otherwise).
        let (shared, caller, request) = (req.shared, req.caller.hotkey, req.verified.signature);
        let seal = req.trailers.then(|| -> Seal {
            Box::new(move |digest| {
                let mut trailers = HeaderMap::new();
                wire::response::sign_hash(&mut trailers, &shared.signer, &caller, &request, digest);
                trailers
            })
        });
        Ok(Reply::Stream(StreamBody::new(
            producer,
            rx,
            req.deadline,
            seal,
            Box::new((req.held, slot)),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_rejections() {
        assert_eq!(requested_name("/Dummy"), "Dummy");
        assert_eq!(requested_name("/Dummy/extra"), "Dummy");
        assert_eq!(requested_name("/"), "");
        assert_eq!(
            Rejection::timeout(Duration::from_secs(5)).message,
            "Response timeout after: 5.0s"
        );
        let r = Rejection::auth(&AuthError::Missing {
            header: "x",
            message: "Missing Nonce",
        });
        assert_eq!(
            r,
            Rejection::new(401, "Not Verified with error: Missing Nonce")
        );
    }
}
