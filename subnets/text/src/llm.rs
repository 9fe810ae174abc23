//! A miner backed by any OpenAI-compatible HTTP endpoint (vLLM, llama.cpp's server, Ollama,
//! text-generation-inference, …), so real language models can mine the text subnet.
//!
//! The endpoint is the API's base URL, e.g. `http://127.0.0.1:8000/v1`. With
//! [`LlmApi::Completions`] the miner posts `{model, prompt, max_tokens, temperature: 0}` to
//! `/completions` and answers `choices[0].text`; with [`LlmApi::Chat`] it posts a system
//! instruction and the prompt as messages to `/chat/completions` and answers
//! `choices[0].message.content`. Only plain HTTP is spoken: put a local proxy in front of a
//! hosted HTTPS API.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use subforge_core::{Caller, HandlerError, MinerHandler};

use crate::ngram::{detokenize, tokenize};
use crate::task::{Completion, TextGeneration};

/// The largest answer read from the endpoint.
const MAX_ANSWER_BYTES: usize = 1 << 20;
/// Asked-for tokens per requested word: tokenizers split words.
const TOKENS_PER_WORD: u32 = 2;
const SYSTEM_PROMPT: &str =
    "Continue the user's text. Reply with the continuation only, without repeating the text.";

/// Which OpenAI-style API the endpoint offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LlmApi {
    /// `POST /completions` with a raw prompt: the natural fit for continuing text.
    #[default]
    Completions,
    /// `POST /chat/completions` with messages.
    Chat,
}

/// Why an endpoint could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The endpoint is not an `http://host[:port][/path]` URL.
    #[error("`{0}` is not an http:// endpoint URL (https is not spoken; use a local proxy)")]
    BadEndpoint(String),
}

/// A miner that forwards each task to an OpenAI-compatible endpoint.
#[derive(Debug, Clone)]
pub struct LlmMiner {
    base: String,
    model: String,
    api: LlmApi,
    api_key: Option<String>,
    timeout: Duration,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl LlmMiner {
    /// A miner posting to `endpoint` (e.g. `http://127.0.0.1:8000/v1`) with `model`.
    pub fn new(endpoint: &str, model: &str, api: LlmApi) -> Result<Self, LlmError> {
        let uri: hyper::Uri = endpoint
            .parse()
            .map_err(|_| LlmError::BadEndpoint(endpoint.to_owned()))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(LlmError::BadEndpoint(endpoint.to_owned()));
        }
        Ok(Self {
            base: endpoint.trim_end_matches('/').to_owned(),
            model: model.to_owned(),
            api,
            api_key: None,
            timeout: Duration::from_secs(30),
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    /// Sends `Authorization: Bearer <key>` with every request.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Gives up on the endpoint after `timeout` (default 30 s; the axon's deadline still rules).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn request_body(&self, task: &TextGeneration) -> (String, Value) {
        let max_tokens = u32::from(task.max_words)
            .saturating_mul(TOKENS_PER_WORD)
            .max(1);
        match self.api {
            LlmApi::Completions => (
                format!("{}/completions", self.base),
                json!({
                    "model": self.model,
                    "prompt": task.prompt,
                    "max_tokens": max_tokens,
                    "temperature": 0,
                }),
            ),
            LlmApi::Chat => (
                format!("{}/chat/completions", self.base),
                json!({
                    "model": self.model,
                    "messages": [
                        {"role": "system", "content": SYSTEM_PROMPT},
                        {"role": "user", "content": task.prompt},
                    ],
                    "max_tokens": max_tokens,
                    "temperature": 0,
                }),
            ),
        }
    }

    /// Asks the endpoint to continue `task`'s prompt.
    pub async fn complete(&self, task: &TextGeneration) -> Result<Completion, HandlerError> {
        let (url, body) = self.request_body(task);
        let mut request = Request::post(&url).header(CONTENT_TYPE, "application/json");
        if let Some(key) = &self.api_key {
            request = request.header(AUTHORIZATION, format!("Bearer {key}"));
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| HandlerError::Internal(format!("bad request to {url}: {e}")))?;
        let unavailable = |what: String| HandlerError::Unavailable(format!("{url}: {what}"));
        let response = tokio::time::timeout(self.timeout, self.client.request(request))
            .await
            .map_err(|_| unavailable(format!("no answer within {:?}", self.timeout)))?
            .map_err(|e| unavailable(e.to_string()))?;
        let status = response.status();
        let bytes = tokio::time::timeout(
            self.timeout,
            Limited::new(response.into_body(), MAX_ANSWER_BYTES).collect(),
        )
        .await
        .map_err(|_| unavailable("the answer did not finish in time".into()))?
        .map_err(|e| unavailable(format!("reading the answer failed: {e}")))?
        .to_bytes();
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            let snippet: String = text.chars().take(200).collect();
            return Err(unavailable(format!("HTTP {status}: {snippet}")));
        }
        let answer: Value = serde_json::from_slice(&bytes)
            .map_err(|e| HandlerError::Internal(format!("{url} answered with bad JSON: {e}")))?;
        let choice = &answer["choices"][0];
        let text = match self.api {
            LlmApi::Completions => choice["text"].as_str(),
            LlmApi::Chat => choice["message"]["content"].as_str(),
        }
        .ok_or_else(|| HandlerError::Internal(format!("{url} answered without choices[0] text")))?;
        // Keep within the word budget: words past it are ignored by validators anyway.
        let words = tokenize(text);
        let kept = &words[..words.len().min(usize::from(task.max_words))];
        Ok(Completion {
            text: detokenize(kept),
        })
    }
}

#[async_trait]
impl MinerHandler<TextGeneration> for LlmMiner {
    async fn forward(&self, task: TextGeneration, _: &Caller) -> Result<Completion, HandlerError> {
        self.complete(&task).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_http_urls() {
        assert!(LlmMiner::new("http://127.0.0.1:8000/v1", "m", LlmApi::Chat).is_ok());
        for bad in [
            "https://api.example.com/v1",
            "127.0.0.1:8000",
            "not a url",
            "",
        ] {
            assert!(
                matches!(
                    LlmMiner::new(bad, "m", LlmApi::Chat),
                    Err(LlmError::BadEndpoint(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn request_shapes() {
        let m = LlmMiner::new("http://h:1/v1/", "tiny", LlmApi::Completions).unwrap();
        let task = TextGeneration {
            prompt: "Once".into(),
            max_words: 8,
        };
        let (url, body) = m.request_body(&task);
        assert_eq!(url, "http://h:1/v1/completions");
        assert_eq!(body["prompt"], "Once");
        assert_eq!(body["max_tokens"], 16);
        let m = LlmMiner::new("http://h:1/v1", "tiny", LlmApi::Chat).unwrap();
        let (url, body) = m.request_body(&task);
        assert_eq!(url, "http://h:1/v1/chat/completions");
        assert_eq!(body["messages"][1]["content"], "Once");
    }
}
