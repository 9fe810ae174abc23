//! The shapes of the OpenAI API the gateway speaks: requests it reads, answers and stream
//! chunks it writes, and its error object.
//!
//! Requests are read leniently, as OpenAI's own servers do: fields the gateway has no use for
//! (`temperature`, `top_p`, `user`, ...) are accepted and ignored; a field it uses, with the
//! wrong type, is a 400 naming that field.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /v1/chat/completions`.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatRequest {
    #[serde(default)]
    pub(crate) model: Option<String>,
    pub(crate) messages: Vec<ChatMessage>,
    #[serde(default)]
    pub(crate) stream: bool,
    #[serde(default)]
    pub(crate) max_tokens: Option<u32>,
    #[serde(default)]
    pub(crate) max_completion_tokens: Option<u32>,
    #[serde(default)]
    pub(crate) n: Option<u32>,
    #[serde(default)]
    pub(crate) stream_options: Option<StreamOptions>,
}

/// `stream_options`: whether a stream ends with a chunk carrying the usage.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct StreamOptions {
    #[serde(default)]
    pub(crate) include_usage: bool,
}

/// One message of a conversation.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatMessage {
    #[allow(dead_code)]
    pub(crate) role: String,
    #[serde(default)]
    pub(crate) content: Option<Content>,
}

/// A message's content: text, or parts of which the text ones count.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Content {
    Text(String),
    Parts(Vec<Part>),
}

/// One part of a message's content.
#[derive(Debug, Deserialize)]
pub(crate) struct Part {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) text: Option<String>,
}

impl ChatRequest {
    /// The conversation as one prompt: the text of every message, in order, one per line.
    pub(crate) fn prompt(&self) -> String {
        let mut lines = Vec::new();
        for m in &self.messages {
            match &m.content {
                Some(Content::Text(t)) => lines.push(t.as_str()),
                Some(Content::Parts(parts)) => lines.extend(
                    parts
                        .iter()
                        .filter(|p| p.kind == "text")
                        .filter_map(|p| p.text.as_deref()),
                ),
                None => {}
            }
        }
        lines.join("\n")
    }

    /// The length limit the caller gave, under either name.
    pub(crate) fn limit(&self) -> Option<u32> {
        self.max_completion_tokens.or(self.max_tokens)
    }
}

/// `POST /v1/completions`.
#[derive(Debug, Deserialize)]
pub(crate) struct CompletionRequest {
    #[serde(default)]
    pub(crate) model: Option<String>,
    pub(crate) prompt: Prompt,
    #[serde(default)]
    pub(crate) stream: bool,
    #[serde(default)]
    pub(crate) max_tokens: Option<u32>,
    #[serde(default)]
    pub(crate) n: Option<u32>,
    #[serde(default)]
    pub(crate) stream_options: Option<StreamOptions>,
}

/// A completion's prompt: one string, or a list holding one.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Prompt {
    One(String),
    Many(Vec<String>),
}

/// Token counts: whitespace-separated words, the unit the text subnet counts in.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Usage {
    pub(crate) prompt_tokens: u32,
    pub(crate) completion_tokens: u32,
    pub(crate) total_tokens: u32,
}

impl Usage {
    pub(crate) fn of(prompt: &str, completion: &str) -> Self {
        let count = |s: &str| u32::try_from(s.split_whitespace().count()).unwrap_or(u32::MAX);
        let (p, c) = (count(prompt), count(completion));
        Self {
            prompt_tokens: p,
            completion_tokens: c,
            total_tokens: p.saturating_add(c),
        }
    }
}

/// Why generation stopped: the limit was reached, or the miner ended.
pub(crate) fn finish_reason(usage: &Usage, limit: Option<u32>) -> &'static str {
    match limit {
        Some(l) if usage.completion_tokens >= l => "length",
        _ => "stop",
    }
}

/// An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`, with a
/// `Retry-After` header when waiting helps.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    pub(crate) kind: &'static str,
    pub(crate) param: Option<String>,
    pub(crate) code: Option<&'static str>,
    pub(crate) retry_after: Option<u64>,
}

impl ApiError {
    /// A request the gateway cannot read; `param` names the field at fault.
    pub(crate) fn invalid(message: impl Into<String>, param: Option<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error",
            param,
            code: None,
            retry_after: None,
        }
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
            kind: "authentication_error",
            param: None,
            code: Some("invalid_api_key"),
            retry_after: None,
        }
    }

    pub(crate) fn rate_limited(message: impl Into<String>, retry_after: u64) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: message.into(),
            kind: "rate_limit_error",
            param: None,
            code: Some("rate_limit_exceeded"),
            retry_after: Some(retry_after),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
            kind: "invalid_request_error",
            param: None,
            code: Some("not_found"),
            retry_after: None,
        }
    }

    pub(crate) fn too_large(limit: usize) -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!("the request body is larger than {limit} bytes"),
            kind: "invalid_request_error",
            param: None,
            code: Some("request_too_large"),
            retry_after: None,
        }
    }

    /// No miner gave a usable answer in time.
    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
            kind: "server_error",
            param: None,
            code: Some("no_miner_answered"),
            retry_after: Some(1),
        }
    }

    /// The JSON body.
    pub(crate) fn body(&self) -> Value {
        serde_json::json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body().to_string(),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Reads a JSON request body as `T`; a malformed one is a 400 naming the field at fault.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let param = (!path.is_empty() && path != ".").then_some(path);
        let message = match &param {
            Some(p) => format!("invalid `{p}`: {inner}"),
            None => format!("the request body is not valid JSON for this endpoint: {inner}"),
        };
        ApiError::invalid(message, param)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_requests_read_leniently_and_name_the_bad_field() {
        let r: ChatRequest = parse_body(
            br#"{"model":"m","messages":[{"role":"system","content":"Be brief."},
                {"role":"user","content":[{"type":"text","text":"The river"},{"type":"image_url"}]}],
                "temperature":0.3,"max_tokens":7}"#,
        )
        .unwrap();
        assert_eq!(r.prompt(), "Be brief.\nThe river");
        assert_eq!(r.limit(), Some(7));
        let e = parse_body::<ChatRequest>(br#"{"messages":[],"max_tokens":"many"}"#).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("max_tokens"));
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e = parse_body::<ChatRequest>(br#"{"model":"m"}"#).unwrap_err();
        assert!(e.message.contains("messages"), "{}", e.message);
        let e = parse_body::<ChatRequest>(b"not json").unwrap_err();
        assert_eq!(e.param, None);
        assert_eq!(
            e.body()["error"]["type"],
            Value::from("invalid_request_error")
        );
    }

    #[test]
    fn usage_counts_words_and_the_limit_decides_the_finish() {
        let u = Usage::of("one two three", "four five");
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens, u.total_tokens),
            (3, 2, 5)
        );
        assert_eq!(finish_reason(&u, Some(2)), "length");
        assert_eq!(finish_reason(&u, Some(3)), "stop");
        assert_eq!(finish_reason(&u, None), "stop");
    }

    #[test]
    fn errors_carry_retry_after() {
        let r = ApiError::rate_limited("slow down", 3).into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "3");
        let r = ApiError::invalid("bad", Some("prompt".into())).into_response();
        assert!(r.headers().get(header::RETRY_AFTER).is_none());
    }
}
