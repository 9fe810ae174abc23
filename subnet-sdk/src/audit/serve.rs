//! A validator's transcripts over HTTP: `GET /transcripts` (the steps kept, newest last),
//! `GET /transcripts/current` (the commitment of the step under way), `GET
//! /transcripts/{step}` (one transcript, as written).

use std::net::SocketAddr;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::transcript::{MAX_TRANSCRIPT_BYTES, TranscriptLog};

/// Serves `log` on `addr` until `shutdown` completes; returns the bound address at once and
/// the server's task.
pub async fn serve(
    log: TranscriptLog,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = axum::Router::new()
        .route("/transcripts", get(index))
        .route("/transcripts/current", get(current))
        .route("/transcripts/{step}", get(one))
        .with_state(log);
    let limits = crate::net::server::ServerLimits::small("transcripts");
    Ok((
        local,
        crate::net::server::serve_until(listener, app, limits, shutdown),
    ))
}

/// A JSON answer.
fn json_reply(status: StatusCode, value: &Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn index(State(log): State<TranscriptLog>) -> Response {
    let steps: Vec<_> = log
        .list()
        .into_iter()
        .map(|(step, _, bytes)| json!({"step": step, "bytes": bytes}))
        .collect();
    json_reply(StatusCode::OK, &json!({ "transcripts": steps }))
}

async fn current(State(log): State<TranscriptLog>) -> Response {
    match log.current() {
        Some(pending) => json_reply(StatusCode::OK, &json!(pending)),
        None => json_reply(
            StatusCode::NOT_FOUND,
            &json!({"error": "no step under way"}),
        ),
    }
}

async fn one(State(log): State<TranscriptLog>, Path(step): Path<String>) -> Response {
    let not_found = || {
        json_reply(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no transcript of step {step}")}),
        )
    };
    let Ok(n) = step.parse::<u64>() else {
        return not_found();
    };
    let path = log.dir().join(super::transcript::Transcript::file_name(n));
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if size == 0 || size > MAX_TRANSCRIPT_BYTES {
        return not_found();
    }
    match tokio::task::spawn_blocking(move || std::fs::read(path)).await {
        Ok(Ok(bytes)) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        _ => not_found(),
    }
}
