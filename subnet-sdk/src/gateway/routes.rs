//! The gateway's HTTP routes: authentication and limits, the OpenAI endpoints, the generic
//! task endpoint, and how a query finds a miner that answers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use futures::StreamExt;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use serde_json::{Value, json};
use subforge_core::{Hotkey, Uid};
use tokio::task::JoinSet;

use super::limits::{AuthError, Permit, RefusalReason};
use super::metrics::MinerOutcome;
use super::openai::{
    ApiError, ChatRequest, CompletionRequest, Prompt, Usage, finish_reason, parse_body,
};
use super::{MAX_PROOF_BODY, Shared, headers};
use crate::net::keys::Claim;
use crate::net::{ChunkStream, QueryError, SignedAnswer, Target, TaskEndpoint, wire};
use crate::registry::CompletionSpec;

const ROUTE_CHAT: &str = "/v1/chat/completions";
const ROUTE_COMPLETIONS: &str = "/v1/completions";
const ROUTE_MODELS: &str = "/v1/models";
const ROUTE_TASKS: &str = "/v1/tasks";

/// How long a request body may take to arrive once its headers have.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The gateway's routes over its shared state.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_json))
        .route(ROUTE_MODELS, get(models))
        .route(ROUTE_CHAT, post(chat))
        .route(ROUTE_COMPLETIONS, post(completions))
        .route("/v1/tasks/{name}", post(task))
        .fallback(not_found)
        .with_state(shared)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route; see /openapi.json")
}

async fn health(State(s): State<Arc<Shared>>) -> Response {
    let (block, serving) = {
        let m = s.metagraph.borrow();
        let serving = m.axons.iter().filter(|a| a.is_serving()).count();
        (m.block.get(), serving)
    };
    s.metrics.set_miners_known(serving);
    json_response(
        StatusCode::OK,
        &json!({
            "status": "ok",
            "subnet": s.subnet,
            "netuid": s.netuid.get(),
            "block": block,
            "serving_miners": serving,
        }),
    )
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    let serving = s
        .metagraph
        .borrow()
        .axons
        .iter()
        .filter(|a| a.is_serving())
        .count();
    s.metrics.set_miners_known(serving);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, super::metrics::CONTENT_TYPE)],
        s.metrics.render(),
    )
        .into_response()
}

async fn openapi_json(State(s): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &s.openapi)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Admits a `/v1` request: its key, then its key's limits. The permit holds a concurrency
/// slot until dropped.
fn admit(s: &Shared, headers: &HeaderMap) -> Result<Permit, ApiError> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let key = s.keys.check(auth).map_err(|e| match e {
        AuthError::Missing => {
            ApiError::unauthorized("no API key: send `Authorization: Bearer <key>`")
        }
        other => ApiError::unauthorized(other.to_string()),
    })?;
    s.limiter.admit(&key, Instant::now()).map_err(|refusal| {
        let message = match refusal.reason {
            RefusalReason::RateLimited => format!(
                "rate limit of key `{key}` reached; retry in {} s",
                refusal.retry_after_secs()
            ),
            RefusalReason::TooManyConcurrent => format!(
                "too many requests of key `{key}` at once; retry in {} s",
                refusal.retry_after_secs()
            ),
        };
        ApiError::rate_limited(message, refusal.retry_after_secs())
    })
}

/// Reads a body up to the configured limit.
async fn read_body(s: &Shared, body: Body) -> Result<Bytes, ApiError> {
    let limit = s.config.max_body_bytes;
    let collect = http_body_util::Limited::new(body, limit).collect();
    let Ok(collected) = tokio::time::timeout(BODY_READ_TIMEOUT, collect).await else {
        return Err(ApiError {
            status: StatusCode::REQUEST_TIMEOUT,
            code: Some("body_timeout"),
            ..ApiError::invalid(
                format!(
                    "the request body did not arrive within {} s",
                    BODY_READ_TIMEOUT.as_secs()
                ),
                None,
            )
        });
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::too_large(limit)),
        Err(e) => Err(ApiError::invalid(
            format!("the request body could not be read: {e}"),
            None,
        )),
    }
}

/// Records the request in the metrics and hands the response back.
fn finish(
    s: &Shared,
    route: &'static str,
    started: Instant,
    r: Result<Response, ApiError>,
) -> Response {
    let response = match r {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    s.metrics
        .record_request(route, response.status().as_u16(), started.elapsed());
    response
}

async fn models(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let r = admit(&s, &headers).map(|_permit| {
        let data: Vec<Value> = s
            .completions
            .iter()
            .map(|c| {
                json!({
                    "id": c.model,
                    "object": "model",
                    "created": 0,
                    "owned_by": format!("subnet-{}", s.netuid),
                })
            })
            .collect();
        json_response(StatusCode::OK, &json!({ "object": "list", "data": data }))
    });
    finish(&s, ROUTE_MODELS, started, r)
}

/// The subnet's text model, checked against the one a request names.
fn text_model(s: &Shared, asked: Option<&str>) -> Result<CompletionSpec, ApiError> {
    let spec = s.completions.ok_or_else(|| {
        ApiError::not_found(format!(
            "subnet `{}` serves no text completions; use /v1/tasks/{{name}}",
            s.subnet
        ))
    })?;
    match asked {
        Some(m) if m != spec.model => Err(ApiError {
            param: Some("model".into()),
            code: Some("model_not_found"),
            ..ApiError::not_found(format!(
                "no model `{m}`; this gateway serves `{}`",
                spec.model
            ))
        }),
        _ => Ok(spec),
    }
}

fn only_one(n: Option<u32>) -> Result<(), ApiError> {
    match n {
        None | Some(1) => Ok(()),
        Some(_) => Err(ApiError::invalid(
            "only one choice per request (n = 1)",
            Some("n".into()),
        )),
    }
}

/// A text request, whichever endpoint it came from.
struct TextQuery {
    prompt: String,
    limit: Option<u32>,
    stream: bool,
    /// A streamed answer ends with a chunk carrying the usage.
    include_usage: bool,
    chat: bool,
    spec: CompletionSpec,
}

async fn chat(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let r = async {
        let permit = admit(&s, &headers)?;
        let bytes = read_body(&s, body).await?;
        let req: ChatRequest = parse_body(&bytes)?;
        only_one(req.n)?;
        if req.messages.is_empty() {
            return Err(ApiError::invalid(
                "`messages` must hold at least one message",
                Some("messages".into()),
            ));
        }
        let spec = text_model(&s, req.model.as_deref())?;
        let q = TextQuery {
            prompt: req.prompt(),
            limit: req.limit(),
            stream: req.stream,
            include_usage: req.stream_options.is_some_and(|o| o.include_usage),
            chat: true,
            spec,
        };
        answer_text(&s, q, permit).await
    }
    .await;
    finish(&s, ROUTE_CHAT, started, r)
}

async fn completions(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let r = async {
        let permit = admit(&s, &headers)?;
        let bytes = read_body(&s, body).await?;
        let req: CompletionRequest = parse_body(&bytes)?;
        only_one(req.n)?;
        let prompt = match req.prompt {
            Prompt::One(p) => p,
            Prompt::Many(mut list) if list.len() == 1 => list.remove(0),
            Prompt::Many(_) => {
                return Err(ApiError::invalid(
                    "one prompt per request",
                    Some("prompt".into()),
                ));
            }
        };
        let spec = text_model(&s, req.model.as_deref())?;
        let q = TextQuery {
            prompt,
            limit: req.max_tokens,
            stream: req.stream,
            include_usage: req.stream_options.is_some_and(|o| o.include_usage),
            chat: false,
            spec,
        };
        answer_text(&s, q, permit).await
    }
    .await;
    finish(&s, ROUTE_COMPLETIONS, started, r)
}

/// A unique id for an answer, as OpenAI's (`chatcmpl-…`, `cmpl-…`).
fn answer_id(chat: bool) -> String {
    let mut raw = [0u8; 12];
    let _ = getrandom::getrandom(&mut raw);
    let prefix = if chat { "chatcmpl" } else { "cmpl" };
    format!("{prefix}-{}", hex::encode(raw))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn answer_text(s: &Arc<Shared>, q: TextQuery, permit: Permit) -> Result<Response, ApiError> {
    let task = (q.spec.request)(&q.prompt, q.limit);
    let route = if q.chat {
        ROUTE_CHAT
    } else {
        ROUTE_COMPLETIONS
    };
    if q.stream
        && let Some(stream_task) = q.spec.stream_task
        && let Some(endpoint) = s.endpoint(stream_task).cloned()
    {
        endpoint
            .check(&task)
            .map_err(|e| ApiError::invalid(e.to_string(), Some(e.field)))?;
        let (target, chunks) = open_stream(s, &endpoint, &task, route).await?;
        return Ok(stream_text(s, q, target, chunks, permit));
    }
    let endpoint = s
        .endpoint(q.spec.task)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("the subnet has no task `{}`", q.spec.task)))?;
    endpoint
        .check(&task)
        .map_err(|e| ApiError::invalid(e.to_string(), Some(e.field)))?;
    let text_of = q.spec.text;
    let answered = ask(s, &endpoint, &task, route, move |v| text_of(v).is_some()).await?;
    let text = (q.spec.text)(&answered.response).unwrap_or_default();
    let usage = Usage::of(&q.prompt, &text);
    let finish = finish_reason(&usage, q.limit);
    let model = q.spec.model;
    if q.stream {
        // The subnet's miners do not stream: the whole text comes as one chunk.
        let chunks = vec![text];
        let usage = q.include_usage.then_some(usage);
        return Ok(sse_response(
            sse_events(q.chat, model, chunks, finish, usage),
            &answered,
            permit,
        ));
    }
    let body = if q.chat {
        json!({
            "id": answer_id(true),
            "object": "chat.completion",
            "created": now_secs(),
            "model": model,
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": text },
                "finish_reason": finish,
                "logprobs": null,
            }],
            "usage": usage,
            "subforge": provenance(s, &answered),
        })
    } else {
        json!({
            "id": answer_id(false),
            "object": "text_completion",
            "created": now_secs(),
            "model": model,
            "choices": [{ "index": 0, "text": text, "finish_reason": finish, "logprobs": null }],
            "usage": usage,
            "subforge": provenance(s, &answered),
        })
    };
    drop(permit);
    let mut response = json_response(StatusCode::OK, &body);
    proof_headers(response.headers_mut(), &answered);
    Ok(response)
}

/// Where an answer came from, as the answer's `subforge` field.
fn provenance(s: &Shared, a: &Answered) -> Value {
    json!({
        "netuid": s.netuid.get(),
        "miner": { "uid": a.uid.0, "hotkey": a.hotkey.to_ss58() },
        "latency_ms": a.latency.as_secs_f64() * 1000.0,
        "signed": a.signed.is_some(),
        "chosen_from": a.among,
    })
}

/// The miner's identity, and its signed answer when it signed one.
fn proof_headers(h: &mut HeaderMap, a: &Answered) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::try_from(value) {
            h.insert(name, v);
        }
    };
    put(headers::MINER_UID, a.uid.0.to_string());
    put(headers::MINER_HOTKEY, a.hotkey.to_ss58());
    if let Some(signed) = &a.signed {
        signature_headers(h, &signed.claim);
        if signed.body.len() <= MAX_PROOF_BODY
            && let Ok(v) = HeaderValue::try_from(b64.encode(&signed.body))
        {
            h.insert(headers::MINER_BODY, v);
        }
    }
}

/// The trailers a streamed task's answer ends with, for a caller that sent `TE: trailers`.
const PROOF_TRAILERS: &str = "subforge-miner-signature, subforge-signed-message";

/// The miner's signature and the message it signed.
fn signature_headers(h: &mut HeaderMap, claim: &Claim) {
    let b64 = base64::engine::general_purpose::STANDARD;
    if let (Ok(sig), Ok(message)) = (
        HeaderValue::try_from(claim.signature.to_hex()),
        HeaderValue::try_from(b64.encode(&claim.message)),
    ) {
        h.insert(headers::MINER_SIGNATURE, sig);
        h.insert(headers::SIGNED_MESSAGE, message);
    }
}

/// A miner's usable answer.
struct Answered {
    uid: Uid,
    hotkey: Hotkey,
    response: Value,
    latency: Duration,
    signed: Option<SignedAnswer>,
    /// How many good answers it was chosen from.
    among: usize,
}

/// The miners to try, best first (never the gateway's own hotkey).
fn candidates(s: &Shared) -> Result<Vec<Target>, ApiError> {
    let ranked = {
        let m = s.metagraph.borrow();
        s.board.rank(&m, &s.me)
    };
    if ranked.is_empty() {
        return Err(ApiError::unavailable(
            "no miner of the subnet serves an axon",
        ));
    }
    Ok(ranked
        .into_iter()
        .map(|t| t.with_wire(s.config.wire))
        .collect())
}

/// The whole time a query may take.
fn deadline(s: &Shared, endpoint: &Arc<dyn TaskEndpoint>) -> Duration {
    s.config.timeout.unwrap_or_else(|| endpoint.timeout())
}

/// Asks the best miners, `k` at a time, until one gives an answer `valid` accepts or the
/// deadline passes. The first good answer wins, unless the task can pick the best of several
/// cheaply: then the round's other answers get [`super::GatewayConfig::best_of_wait`] more to
/// arrive, and the best of those in hand wins. Answers not waited for are dropped unread.
async fn ask(
    s: &Arc<Shared>,
    endpoint: &Arc<dyn TaskEndpoint>,
    task: &Value,
    route: &'static str,
    valid: impl Fn(&Value) -> bool,
) -> Result<Answered, ApiError> {
    let started = Instant::now();
    let budget = deadline(s, endpoint);
    let k = s.config.miners_per_query.max(1);
    let picks = endpoint.picks() && k > 1;
    let mut failures: Vec<String> = Vec::new();
    for (round, group) in candidates(s)?.chunks(k).enumerate() {
        let Some(left) = budget
            .checked_sub(started.elapsed())
            .filter(|d| !d.is_zero())
        else {
            break;
        };
        if round > 0 {
            s.metrics.record_retry(route);
        }
        let mut calls = JoinSet::new();
        for target in group.iter().cloned() {
            let (s, endpoint, task) = (s.clone(), endpoint.clone(), task.clone());
            calls.spawn(async move {
                let answer = endpoint.call(&s.dendrite, &target, &task, left).await;
                (target, answer)
            });
        }
        let mut good: Vec<Answered> = Vec::new();
        // Until the first good answer: the round's whole time; after it, the grace to pick.
        let mut until = started + budget;
        loop {
            let joined = match tokio::time::timeout_at(until.into(), calls.join_next()).await {
                Ok(Some(joined)) => joined,
                Ok(None) | Err(_) => break,
            };
            let Ok((target, answer)) = joined else {
                continue;
            };
            match answer
                .response
                .filter(|r| answer.status.is_success() && valid(r))
            {
                Some(response) => {
                    s.board.record(target.hotkey, Ok(answer.latency));
                    s.metrics
                        .record_miner(target.uid.0, MinerOutcome::Answered, answer.latency);
                    good.push(Answered {
                        uid: target.uid,
                        hotkey: target.hotkey,
                        response,
                        latency: answer.latency,
                        signed: answer.signed,
                        among: 1,
                    });
                    if !picks {
                        break;
                    }
                    if good.len() == 1 {
                        until = until.min(Instant::now() + s.config.best_of_wait);
                    }
                }
                None => {
                    let status = if answer.status.is_success() {
                        422
                    } else {
                        answer.status.0
                    };
                    s.board.record(target.hotkey, Err(()));
                    s.metrics.record_miner(
                        target.uid.0,
                        MinerOutcome::Failed(status),
                        answer.latency,
                    );
                    failures.push(format!("uid {}: {status} {}", target.uid, answer.message));
                }
            }
        }
        if !good.is_empty() {
            let among = good.len();
            let best = if among > 1 {
                let answers: Vec<&Value> = good.iter().map(|a| &a.response).collect();
                endpoint.pick(task, &answers).unwrap_or(0)
            } else {
                0
            };
            let mut chosen = good.swap_remove(best);
            chosen.among = among;
            return Ok(chosen);
        }
    }
    Err(no_answer(budget, &failures))
}

fn no_answer(budget: Duration, failures: &[String]) -> ApiError {
    let tried = if failures.is_empty() {
        "no miner could be asked".to_owned()
    } else {
        let shown: Vec<&str> = failures.iter().take(5).map(String::as_str).collect();
        format!(
            "{} miner(s) failed ({}{})",
            failures.len(),
            shown.join("; "),
            if failures.len() > shown.len() {
                "; ..."
            } else {
                ""
            }
        )
    };
    ApiError::unavailable(format!(
        "no miner answered within {:.1} s: {tried}",
        budget.as_secs_f64()
    ))
}

/// Opens a stream with the best miner that starts one before the deadline.
async fn open_stream(
    s: &Arc<Shared>,
    endpoint: &Arc<dyn TaskEndpoint>,
    task: &Value,
    route: &'static str,
) -> Result<(Target, FirstChunk), ApiError> {
    let started = Instant::now();
    let budget = deadline(s, endpoint);
    let mut failures = Vec::new();
    for (i, target) in candidates(s)?.into_iter().enumerate() {
        let Some(left) = budget
            .checked_sub(started.elapsed())
            .filter(|d| !d.is_zero())
        else {
            break;
        };
        if i > 0 {
            s.metrics.record_retry(route);
        }
        let asked = Instant::now();
        let opened = async {
            let mut stream = endpoint.stream(&s.dendrite, &target, task, left).await?;
            match stream.next().await {
                Some(Ok(first)) => Ok((first, stream)),
                Some(Err(e)) => Err(e),
                None => Err(crate::net::QueryError::new(
                    422,
                    "the miner ended the stream before any text",
                )),
            }
        };
        match tokio::time::timeout(left, opened).await {
            Ok(Ok((first, rest))) => {
                let latency = asked.elapsed();
                s.board.record(target.hotkey, Ok(latency));
                s.metrics
                    .record_miner(target.uid.0, MinerOutcome::Answered, latency);
                return Ok((target, FirstChunk { first, rest }));
            }
            Ok(Err(e)) => {
                s.board.record(target.hotkey, Err(()));
                s.metrics.record_miner(
                    target.uid.0,
                    MinerOutcome::Failed(e.status.0),
                    asked.elapsed(),
                );
                failures.push(format!("uid {}: {} {}", target.uid, e.status, e.message));
            }
            Err(_) => {
                s.board.record(target.hotkey, Err(()));
                s.metrics
                    .record_miner(target.uid.0, MinerOutcome::Failed(408), asked.elapsed());
                failures.push(format!(
                    "uid {}: 408 no text before the deadline",
                    target.uid
                ));
            }
        }
    }
    Err(no_answer(budget, &failures))
}

/// A stream whose first chunk has arrived.
struct FirstChunk {
    first: Bytes,
    rest: ChunkStream,
}

/// One server-sent event carrying `value`.
fn event(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

/// A chunk object of either API carrying `text`, or the final one with `finish`.
fn chunk_object(
    chat: bool,
    id: &str,
    model: &str,
    text: Option<&str>,
    finish: Option<&str>,
) -> Value {
    if chat {
        let delta = match text {
            Some(t) => json!({ "content": t }),
            None => json!({}),
        };
        json!({
            "id": id, "object": "chat.completion.chunk", "created": now_secs(), "model": model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish, "logprobs": null }],
        })
    } else {
        json!({
            "id": id, "object": "text_completion", "created": now_secs(), "model": model,
            "choices": [{ "index": 0, "text": text.unwrap_or(""), "finish_reason": finish, "logprobs": null }],
        })
    }
}

/// The events of a whole answer given at once.
fn sse_events(
    chat: bool,
    model: &'static str,
    chunks: Vec<String>,
    finish: &'static str,
    usage: Option<Usage>,
) -> Vec<Bytes> {
    let id = answer_id(chat);
    let mut out = Vec::new();
    if chat {
        let mut opening = chunk_object(true, &id, model, Some(""), None);
        opening["choices"][0]["delta"] = json!({ "role": "assistant", "content": "" });
        out.push(event(&opening));
    }
    for c in &chunks {
        out.push(event(&chunk_object(chat, &id, model, Some(c), None)));
    }
    out.push(event(&chunk_object(chat, &id, model, None, Some(finish))));
    if let Some(usage) = usage {
        out.push(event(&usage_chunk(chat, &id, model, usage)));
    }
    out.push(Bytes::from_static(b"data: [DONE]\n\n"));
    out
}

/// The chunk that closes a stream when the caller asked for the usage: no choices.
fn usage_chunk(chat: bool, id: &str, model: &str, usage: Usage) -> Value {
    let object = if chat {
        "chat.completion.chunk"
    } else {
        "text_completion"
    };
    json!({
        "id": id, "object": object, "created": now_secs(), "model": model,
        "choices": [], "usage": usage,
    })
}

fn sse_headers(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

fn sse_response(events: Vec<Bytes>, answered: &Answered, permit: Permit) -> Response {
    let stream = futures::stream::iter(events.into_iter().map(Ok::<_, Infallible>)).map(move |e| {
        let _held = &permit;
        e
    });
    let mut response = Response::new(Body::from_stream(stream));
    sse_headers(&mut response);
    proof_headers(response.headers_mut(), answered);
    response
}

/// Forwards a miner's streamed text as server-sent events, chunk by chunk as it arrives.
fn stream_text(
    s: &Arc<Shared>,
    q: TextQuery,
    target: Target,
    chunks: FirstChunk,
    permit: Permit,
) -> Response {
    let id = answer_id(q.chat);
    let model = q.spec.model;
    let chat = q.chat;
    let limit = q.limit;
    let prompt = q.prompt;
    let include_usage = q.include_usage;
    let s = s.clone();
    let uid = target.uid.0;
    let miner = target.hotkey;
    let stream = async_stream(move |tx: tokio::sync::mpsc::Sender<BodyItem>| async move {
        let _held = permit;
        let send = |b: Bytes| {
            let tx = tx.clone();
            async move { tx.send(Ok(b)).await.is_ok() }
        };
        if chat {
            let mut opening = chunk_object(true, &id, model, Some(""), None);
            opening["choices"][0]["delta"] = json!({ "role": "assistant", "content": "" });
            if !send(event(&opening)).await {
                return;
            }
        }
        let mut text = String::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut next: Option<Result<Bytes, QueryError>> = Some(Ok(chunks.first));
        let mut rest = chunks.rest;
        while let Some(item) = next.take() {
            match item {
                Ok(bytes) => {
                    pending.extend_from_slice(&bytes);
                    let piece = take_text(&mut pending);
                    if !piece.is_empty() {
                        text.push_str(&piece);
                        if !send(event(&chunk_object(chat, &id, model, Some(&piece), None))).await {
                            return;
                        }
                    }
                }
                Err(e) => {
                    s.metrics
                        .record_miner(uid, MinerOutcome::Failed(e.status.0), Duration::ZERO);
                    let error = json!({ "error": {
                        "message": format!("the miner's stream broke: {}", e.message),
                        "type": "server_error", "param": null, "code": "stream_broken",
                    }});
                    let _ = send(event(&error)).await;
                    return;
                }
            }
            next = rest.next().await;
        }
        // A character the miner left unfinished goes out as U+FFFD, not silently dropped.
        if !pending.is_empty() {
            let piece = String::from_utf8_lossy(&pending).into_owned();
            text.push_str(&piece);
            if !send(event(&chunk_object(chat, &id, model, Some(&piece), None))).await {
                return;
            }
        }
        let usage = Usage::of(&prompt, &text);
        let finish = finish_reason(&usage, limit);
        let mut last = chunk_object(chat, &id, model, None, Some(finish));
        last["subforge"] = stream_proof(&s, uid, miner, rest.signature());
        let _ = send(event(&last)).await;
        if include_usage {
            let _ = send(event(&usage_chunk(chat, &id, model, usage))).await;
        }
        let _ = send(Bytes::from_static(b"data: [DONE]\n\n")).await;
    });
    let mut response = Response::new(Body::from_stream(stream));
    sse_headers(&mut response);
    miner_headers(response.headers_mut(), &target);
    response
}

/// Where a stream came from, as its finishing chunk's `subforge` field: the miner, and, when
/// it signed the stream, its signature and the message signed (base64), whose last line is
/// the SHA-256 of the text streamed (see `verify_streamed_answer`).
fn stream_proof(s: &Shared, uid: u16, miner: Hotkey, signed: Option<&Claim>) -> Value {
    let mut proof = json!({
        "netuid": s.netuid.get(),
        "miner": { "uid": uid, "hotkey": miner.to_ss58() },
        "signed": signed.is_some(),
    });
    if let Some(claim) = signed {
        proof["signature"] = json!(claim.signature.to_hex());
        proof["signed_message"] =
            json!(base64::engine::general_purpose::STANDARD.encode(&claim.message));
    }
    proof
}

/// The headers naming the miner a stream comes from (its signature follows at the end).
fn miner_headers(h: &mut HeaderMap, target: &Target) {
    if let Ok(v) = HeaderValue::try_from(target.uid.0.to_string()) {
        h.insert(headers::MINER_UID, v);
    }
    if let Ok(v) = HeaderValue::try_from(target.hotkey.to_ss58()) {
        h.insert(headers::MINER_HOTKEY, v);
    }
}

/// What a producer task sends into a response body: bytes, or an error that aborts the body
/// (the client sees the transfer cut short, not a silently shorter answer).
type BodyItem = Result<Bytes, std::io::Error>;

/// As [`BodyItem`], for a body that may end with trailers.
type FrameItem = Result<Frame<Bytes>, std::io::Error>;

/// A body stream fed by a producer task: the task stops when the client goes away (its sends
/// fail), and the channel's small buffer keeps a slow client from buffering a whole answer.
fn async_stream<T, F, Fut>(produce: F) -> impl futures::Stream<Item = T>
where
    T: Send + 'static,
    F: FnOnce(tokio::sync::mpsc::Sender<T>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<T>(16);
    tokio::spawn(produce(tx));
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) })
}

/// Takes the text at the front of `pending` that is complete: invalid bytes become U+FFFD,
/// and only a character cut at the very end waits for the rest of its bytes.
fn take_text(pending: &mut Vec<u8>) -> String {
    let mut out = String::new();
    loop {
        match std::str::from_utf8(pending) {
            Ok(t) => {
                out.push_str(t);
                pending.clear();
                return out;
            }
            Err(e) => {
                let valid = e.valid_up_to();
                out.push_str(&String::from_utf8_lossy(&pending[..valid]));
                match e.error_len() {
                    Some(bad) => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        pending.drain(..valid + bad);
                    }
                    None => {
                        pending.drain(..valid);
                        return out;
                    }
                }
            }
        }
    }
}

async fn task(
    State(s): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let r = async {
        let permit = admit(&s, &headers)?;
        let endpoint = s.endpoint(&name).cloned().ok_or_else(|| {
            let known: Vec<String> = s.endpoints.iter().map(|e| e.schema().name).collect();
            ApiError::not_found(format!(
                "subnet `{}` has no task `{name}` (it has: {})",
                s.subnet,
                known.join(", ")
            ))
        })?;
        let bytes = read_body(&s, body).await?;
        let task: Value = parse_body(&bytes)?;
        endpoint
            .check(&task)
            .map_err(|e| ApiError::invalid(e.to_string(), Some(e.field)))?;
        if endpoint.streams() {
            let (target, chunks) = open_stream(&s, &endpoint, &task, ROUTE_TASKS).await?;
            let trailers = wire::response::accepts_trailers(&headers);
            let frames = async_stream(move |tx: tokio::sync::mpsc::Sender<FrameItem>| async move {
                let _held = permit;
                let mut next: Option<Result<Bytes, QueryError>> = Some(Ok(chunks.first));
                let mut rest = chunks.rest;
                while let Some(item) = next.take() {
                    let broke = item.is_err();
                    let item = item.map(Frame::data).map_err(|e| {
                        std::io::Error::other(format!("the miner's stream broke: {}", e.message))
                    });
                    if tx.send(item).await.is_err() || broke {
                        return;
                    }
                    next = rest.next().await;
                }
                // The miner's signature over the whole stream, for a caller that takes
                // trailers.
                if let (true, Some(claim)) = (trailers, rest.signature()) {
                    let mut h = HeaderMap::new();
                    signature_headers(&mut h, claim);
                    let _ = tx.send(Ok(Frame::trailers(h))).await;
                }
            });
            let mut response = Response::new(Body::new(StreamBody::new(frames)));
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            if trailers {
                h.insert(header::TRAILER, HeaderValue::from_static(PROOF_TRAILERS));
            }
            miner_headers(h, &target);
            return Ok(response);
        }
        let answered = ask(&s, &endpoint, &task, ROUTE_TASKS, |_| true).await?;
        drop(permit);
        let mut response = json_response(StatusCode::OK, &answered.response);
        proof_headers(response.headers_mut(), &answered);
        Ok(response)
    }
    .await;
    finish(&s, ROUTE_TASKS, started, r)
}

/// The OpenAPI 3.1 document of a gateway: the fixed routes, and one path per task with its
/// request and response schemas (JSON Schema, as the tasks export it).
pub(crate) fn openapi(subnet: &str, endpoints: &[Arc<dyn TaskEndpoint>], text: bool) -> Value {
    let mut schemas = serde_json::Map::new();
    let mut paths = serde_json::Map::new();
    let error = json!({ "$ref": "#/components/schemas/Error" });
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "properties": { "error": { "type": "object", "properties": {
                "message": { "type": "string" }, "type": { "type": "string" },
                "param": { "type": ["string", "null"] }, "code": { "type": ["string", "null"] },
            }}},
        }),
    );
    let errors = json!({
        "400": { "description": "the request is malformed; `param` names the field", "content": { "application/json": { "schema": error } } },
        "401": { "description": "no or unknown API key", "content": { "application/json": { "schema": error } } },
        "429": { "description": "the key's rate or concurrency limit; see `Retry-After`", "content": { "application/json": { "schema": error } } },
        "503": { "description": "no miner answered in time", "content": { "application/json": { "schema": error } } },
    });
    for e in endpoints {
        let schema = e.schema();
        let task_ref = hoist(&mut schemas, &format!("{}Task", schema.name), &schema.task);
        let answer_ref = hoist(
            &mut schemas,
            &format!("{}Response", schema.name),
            &schema.response,
        );
        let mut responses = errors.clone();
        responses["200"] = if e.streams() {
            json!({ "description": "the miner's answer, streamed as it is produced", "content": { "application/octet-stream": {} } })
        } else {
            json!({ "description": "the miner's answer", "content": { "application/json": { "schema": answer_ref } } })
        };
        paths.insert(
            format!("/v1/tasks/{}", schema.name),
            json!({ "post": {
                "summary": format!("Ask the subnet's miners: {}", schema.name),
                "requestBody": { "required": true, "content": { "application/json": { "schema": task_ref } } },
                "responses": responses,
                "security": [{ "bearer": [] }],
            }}),
        );
    }
    if text {
        for (path, summary) in [
            (
                ROUTE_CHAT,
                "OpenAI chat completions (`stream: true` for server-sent events)",
            ),
            (
                ROUTE_COMPLETIONS,
                "OpenAI completions (`stream: true` for server-sent events)",
            ),
        ] {
            let mut responses = errors.clone();
            responses["200"] =
                json!({ "description": "an OpenAI completion object, or server-sent chunks" });
            paths.insert(
                path.to_owned(),
                json!({ "post": {
                    "summary": summary,
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object" } } } },
                    "responses": responses,
                    "security": [{ "bearer": [] }],
                }}),
            );
        }
        paths.insert(
            ROUTE_MODELS.to_owned(),
            json!({ "get": { "summary": "The subnet's text model", "responses": { "200": { "description": "an OpenAI model list" } }, "security": [{ "bearer": [] }] } }),
        );
    }
    paths.insert("/health".into(), json!({ "get": { "summary": "Liveness, block and serving miners", "responses": { "200": { "description": "ok" } } } }));
    paths.insert("/metrics".into(), json!({ "get": { "summary": "Prometheus metrics", "responses": { "200": { "description": "text exposition format" } } } }));
    json!({
        "openapi": "3.1.0",
        "info": { "title": format!("Subforge gateway: subnet `{subnet}`"), "version": env!("CARGO_PKG_VERSION") },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
        },
    })
}

/// Puts a task's JSON Schema under `components.schemas.{name}`, moving its `$defs` there too
/// and pointing its references at their new home; returns a reference to it.
fn hoist(schemas: &mut serde_json::Map<String, Value>, name: &str, schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("$schema");
        if let Some(Value::Object(defs)) = obj.remove("$defs") {
            for (k, mut v) in defs {
                repoint(&mut v);
                schemas.insert(k, v);
            }
        }
    }
    repoint(&mut schema);
    schemas.insert(name.to_owned(), schema);
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn repoint(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "$ref"
                    && let Value::String(r) = child
                    && let Some(rest) = r.strip_prefix("#/$defs/")
                {
                    *r = format!("#/components/schemas/{rest}");
                } else {
                    repoint(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(repoint),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_schemas_move_into_components_with_their_references() {
        let mut schemas = serde_json::Map::new();
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "items": { "type": "array", "items": { "$ref": "#/$defs/Item" } },
            },
            "$defs": {
                "Item": { "type": "object", "properties": { "next": { "$ref": "#/$defs/Item" } } },
            },
        });
        let r = hoist(&mut schemas, "SortTask", &schema);
        assert_eq!(r, json!({ "$ref": "#/components/schemas/SortTask" }));
        let task = &schemas["SortTask"];
        assert!(task.get("$schema").is_none() && task.get("$defs").is_none());
        assert_eq!(
            task["properties"]["items"]["items"]["$ref"],
            "#/components/schemas/Item"
        );
        assert_eq!(
            schemas["Item"]["properties"]["next"]["$ref"],
            "#/components/schemas/Item"
        );
    }

    fn data(event: &Bytes) -> Value {
        let text = std::str::from_utf8(event).unwrap();
        let body = text
            .strip_prefix("data: ")
            .and_then(|t| t.strip_suffix("\n\n"))
            .unwrap();
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn a_whole_answer_streams_as_openai_chat_chunks() {
        let usage = Usage::of("the river", "runs on");
        let events = sse_events(true, "m", vec!["runs on".into()], "stop", Some(usage));
        assert_eq!(events.len(), 5);
        let (opening, text, finish, totals) = (
            data(&events[0]),
            data(&events[1]),
            data(&events[2]),
            data(&events[3]),
        );
        assert_eq!(
            opening["choices"][0]["delta"],
            json!({ "role": "assistant", "content": "" })
        );
        assert_eq!(text["choices"][0]["delta"], json!({ "content": "runs on" }));
        assert_eq!(text["choices"][0]["finish_reason"], Value::Null);
        assert_eq!(finish["choices"][0]["delta"], json!({}));
        assert_eq!(finish["choices"][0]["finish_reason"], "stop");
        assert_eq!(totals["choices"], json!([]));
        assert_eq!(totals["usage"]["total_tokens"], 4);
        for chunk in [&opening, &text, &finish, &totals] {
            assert_eq!(chunk["object"], "chat.completion.chunk");
            assert_eq!(chunk["id"], opening["id"]);
        }
        assert_eq!(&events[4][..], b"data: [DONE]\n\n");
    }

    #[test]
    fn stream_text_goes_out_in_whole_characters() {
        let mut pending = "añ".as_bytes()[..2].to_vec();
        assert_eq!(take_text(&mut pending), "a", "the cut `ñ` waits");
        assert_eq!(pending.len(), 1);
        pending.extend_from_slice(&"ñb".as_bytes()[1..]);
        assert_eq!(take_text(&mut pending), "ñb");
        assert!(pending.is_empty());
        // Bytes that can never be UTF-8 go out as U+FFFD at once: nothing piles up.
        let mut pending = vec![b'x', 0xff, 0xfe, b'y', 0xe2, 0x82];
        assert_eq!(take_text(&mut pending), "x\u{fffd}\u{fffd}y");
        assert_eq!(pending, [0xe2, 0x82], "a cut `€` waits");
    }

    #[test]
    fn a_whole_completion_streams_as_text_completion_chunks() {
        let events = sse_events(false, "m", vec!["runs".into()], "length", None);
        assert_eq!(events.len(), 3, "no role chunk, no usage chunk");
        let text = data(&events[0]);
        assert_eq!(text["object"], "text_completion");
        assert_eq!(text["choices"][0]["text"], "runs");
        assert_eq!(data(&events[1])["choices"][0]["finish_reason"], "length");
    }
}
