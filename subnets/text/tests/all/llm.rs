//! The LLM-backed miner against an OpenAI-compatible server on loopback: it sends what the
//! API expects, reads both API shapes, and turns every failure into a typed handler error.

use std::time::Duration;

use serde_json::Value;
use subforge_core::HandlerError;
use subforge_subnet_text::TextGeneration;
use subforge_subnet_text::llm::{LlmApi, LlmMiner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// What the server does with each request.
#[derive(Clone, Copy)]
enum Behaviour {
    Answer,
    Status500,
    BadJson,
    Stall,
    Huge,
}

/// Serves one request per connection; sends each request's path and JSON body to the test.
async fn server(behaviour: Behaviour) -> (String, mpsc::UnboundedReceiver<(String, Value)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, length) = loop {
                    let n = sock.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length: "))
                            .map_or(0, |v| v.trim().parse().unwrap());
                        break (i + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let n = sock.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let path = head.split_whitespace().nth(1).unwrap().to_owned();
                let body: Value =
                    serde_json::from_slice(&buf[head_end..head_end + length]).unwrap();
                let _ = tx.send((path.clone(), body));
                let (status, payload) = match behaviour {
                    Behaviour::Answer if path.ends_with("/chat/completions") => (
                        "200 OK",
                        r#"{"choices":[{"message":{"role":"assistant","content":" was founded by Bel in the year 400 and more words"}}]}"#.to_owned(),
                    ),
                    Behaviour::Answer => ("200 OK", r#"{"choices":[{"text":" was founded by Bel."}]}"#.to_owned()),
                    Behaviour::Status500 => ("500 Internal Server Error", r#"{"error":"model not loaded"}"#.to_owned()),
                    Behaviour::BadJson => ("200 OK", "not json".to_owned()),
                    Behaviour::Huge => ("200 OK", format!(r#"{{"choices":[{{"text":"{}"}}]}}"#, "a ".repeat(1 << 20))),
                    Behaviour::Stall => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{payload}",
                    payload.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    (base, rx)
}

fn task(max_words: u16) -> TextGeneration {
    TextGeneration {
        prompt: "The city of Arn".into(),
        max_words,
    }
}

#[tokio::test]
async fn completions_api_round_trip() {
    let (base, mut seen) = server(Behaviour::Answer).await;
    let miner = LlmMiner::new(&base, "tiny-model", LlmApi::Completions)
        .unwrap()
        .with_api_key("sk-test");
    let out = miner.complete(&task(16)).await.unwrap();
    assert_eq!(out.text, "was founded by Bel.");
    let (path, body) = seen.recv().await.unwrap();
    assert_eq!(path, "/v1/completions");
    assert_eq!(body["model"], "tiny-model");
    assert_eq!(body["prompt"], "The city of Arn");
    assert_eq!(body["temperature"], 0);
}

#[tokio::test]
async fn chat_api_round_trip_keeps_the_word_budget() {
    let (base, mut seen) = server(Behaviour::Answer).await;
    let miner = LlmMiner::new(&base, "chatty", LlmApi::Chat).unwrap();
    let out = miner.complete(&task(4)).await.unwrap();
    assert_eq!(out.text, "was founded by Bel");
    let (path, body) = seen.recv().await.unwrap();
    assert_eq!(path, "/v1/chat/completions");
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["content"], "The city of Arn");
}

#[tokio::test]
async fn failures_are_typed_errors() {
    let (base, _seen) = server(Behaviour::Status500).await;
    let err = LlmMiner::new(&base, "m", LlmApi::Completions)
        .unwrap()
        .complete(&task(8))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, HandlerError::Unavailable(m) if m.contains("500") && m.contains("model not loaded")),
        "{err}"
    );

    let (base, _seen) = server(Behaviour::BadJson).await;
    let err = LlmMiner::new(&base, "m", LlmApi::Completions)
        .unwrap()
        .complete(&task(8))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, HandlerError::Internal(m) if m.contains("bad JSON")),
        "{err}"
    );

    let (base, _seen) = server(Behaviour::Huge).await;
    let err = LlmMiner::new(&base, "m", LlmApi::Completions)
        .unwrap()
        .complete(&task(8))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, HandlerError::Unavailable(m) if m.contains("reading the answer failed")),
        "{err}"
    );

    let (base, _seen) = server(Behaviour::Stall).await;
    let miner = LlmMiner::new(&base, "m", LlmApi::Completions)
        .unwrap()
        .with_timeout(Duration::from_millis(200));
    let err = miner.complete(&task(8)).await.unwrap_err();
    assert!(
        matches!(&err, HandlerError::Unavailable(m) if m.contains("no answer within")),
        "{err}"
    );

    // Nothing listens here.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener);
    let err = LlmMiner::new(&dead, "m", LlmApi::Chat)
        .unwrap()
        .complete(&task(8))
        .await
        .unwrap_err();
    assert!(matches!(err, HandlerError::Unavailable(_)), "{err}");
}
