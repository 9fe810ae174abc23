//! The gateway on a localnet of text miners, called by real clients: the official `openai`
//! Python package from PyPI and `curl`. Non-streaming and streaming answers, a bad key, a
//! key over its limit, a miner down (retried on another), every miner down.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use subforge_core::{Hotkey, Uid};
use subforge_sdk::gateway::limits::{ApiKeys, KeyLimits};
use subforge_sdk::gateway::{self, GatewayConfig, RunningGateway, verify_answer};
use subforge_sdk::localnet::{Localnet, LocalnetConfig};
use subforge_sdk::registry::Registry;
use subforge_subnet_text::TextSubnet;

use super::python;

const KEY: &str = "sk-subforge-test-key-0001";
const OPENAI: &str = "openai==3.63.0";

/// A response as `curl` saw it.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Runs `curl` on `url` with `args`; the status, headers and body it got.
fn curl(url: &str, args: &[&str]) -> Reply {
    let out = run_curl(url, &[&["-i"], args].concat());
    let text = String::from_utf8(out.stdout).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// Runs `curl` on `url` with `args`, keeping the body's exact bytes apart from the header
/// block (and any trailers, which curl writes after the headers).
fn curl_split(url: &str, dir: &Path, args: &[&str]) -> (String, Vec<u8>) {
    let (head, body) = (dir.join("curl-head.txt"), dir.join("curl-body.bin"));
    let files = ["-D", head.to_str().unwrap(), "-o", body.to_str().unwrap()];
    run_curl(url, &[&files[..], args].concat());
    (
        std::fs::read_to_string(head).unwrap(),
        std::fs::read(body).unwrap(),
    )
}

/// Runs `curl -sS --max-time 30 ARGS URL`, which must succeed.
fn run_curl(url: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "30"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl is installed");
    assert!(
        out.status.success(),
        "curl {url} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn post(url: &str, key: Option<&str>, body: &str) -> Reply {
    let auth = key.map(|k| format!("Authorization: Bearer {k}"));
    let mut args = vec![
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        body,
    ];
    if let Some(a) = &auth {
        args.extend(["-H", a.as_str()]);
    }
    curl(url, &args)
}

/// The value of counter line `name{labels}` in a Prometheus exposition, 0 if absent.
fn counter(metrics: &str, name_and_labels: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn gateway(net: &Localnet, config: GatewayConfig) -> RunningGateway {
    let chain: std::sync::Arc<dyn subforge_sdk::chain::Chain> =
        std::sync::Arc::new(net.chain().clone());
    let hotkey = net.validator_hotkey(0).unwrap().clone();
    gateway::serve(&TextSubnet, chain, net.netuid(), hotkey, config)
        .await
        .unwrap()
}

fn keyed(dir: &Path) -> ApiKeys {
    let file = dir.join("keys");
    std::fs::write(&file, format!("# the test's key\nalice {KEY}\n")).unwrap();
    ApiKeys::from_file(&file).unwrap()
}

/// What the Python client does; prints one JSON object of what it saw.
const OPENAI_SCRIPT: &str = r#"
import json, os, openai
base, key = os.environ["BASE"], os.environ["KEY"]
client = openai.OpenAI(api_key=key, base_url=base, max_retries=0)
out = {}
out["models"] = [m.id for m in client.models.list()]
r = client.chat.completions.create(
    model="subforge-text",
    messages=[{"role": "system", "content": "Continue the passage."},
              {"role": "user", "content": "The river Seithe"}],
    max_tokens=8)
out["chat"] = {"text": r.choices[0].message.content, "role": r.choices[0].message.role,
               "finish": r.choices[0].finish_reason, "usage": r.usage.model_dump(),
               "object": r.object, "miner": r.subforge["miner"]}
chunks = list(client.chat.completions.create(
    model="subforge-text", messages=[{"role": "user", "content": "The old road"}],
    max_tokens=6, stream=True, stream_options={"include_usage": True}))
out["chat_stream"] = {
    "deltas": [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content],
    "roles": [c.choices[0].delta.role for c in chunks if c.choices and c.choices[0].delta.role],
    "finish": [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason],
    "usage": [c.usage.model_dump() for c in chunks if c.usage],
    "ids": sorted({c.id for c in chunks}),
    "proofs": [c.subforge for c in chunks if getattr(c, "subforge", None)],
}
r = client.completions.create(model="subforge-text", prompt="The harbour", max_tokens=5)
out["completion"] = {"text": r.choices[0].text, "finish": r.choices[0].finish_reason,
                     "usage": r.usage.model_dump()}
chunks = list(client.completions.create(model="subforge-text", prompt="The harbour",
                                        max_tokens=5, stream=True))
out["completion_stream"] = {"texts": [c.choices[0].text for c in chunks],
                            "finish": chunks[-1].choices[0].finish_reason}
def error(call):
    try:
        call()
    except openai.APIStatusError as e:
        return {"class": type(e).__name__, "status": e.status_code, "param": e.param,
                "type": e.type, "code": e.code}
    return None
out["bad_key"] = error(lambda: openai.OpenAI(api_key="sk-not-a-key-of-this-gateway",
    base_url=base, max_retries=0).models.list())
out["malformed"] = error(lambda: client.chat.completions.create(
    model="subforge-text", messages="not a list"))
out["no_messages"] = error(lambda: client.chat.completions.create(model="subforge-text", messages=[]))
out["unknown_model"] = error(lambda: client.chat.completions.create(
    model="gpt-4o", messages=[{"role": "user", "content": "hi"}]))
out["two_choices"] = error(lambda: client.chat.completions.create(
    model="subforge-text", messages=[{"role": "user", "content": "hi"}], n=2))
print(json.dumps(out))
"#;

/// Only the errors: what the client sees when the gateway refuses or has no miner.
const OPENAI_ERROR_SCRIPT: &str = r#"
import json, os, openai
client = openai.OpenAI(api_key=os.environ["KEY"], base_url=os.environ["BASE"], max_retries=0)
try:
    r = client.chat.completions.create(model="subforge-text",
                                       messages=[{"role": "user", "content": "The river"}])
    print(json.dumps({"ok": r.choices[0].message.content}))
except openai.APIStatusError as e:
    print(json.dumps({"class": type(e).__name__, "status": e.status_code, "code": e.code,
                      "message": e.message,
                      "retry_after": e.response.headers.get("retry-after")}))
"#;

fn openai_run(python: &Path, home: &Path, script: &str, base: &str, key: &str) -> Value {
    let out = python::run(python, script, home, &[("BASE", base), ("KEY", key)]);
    let text = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_clients_call_text_miners_through_the_gateway() {
    let python = python::venv("openai", &[OPENAI]);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let registry = Registry::new().with(&TextSubnet);
    let mut config = LocalnetConfig::new(&TextSubnet, 3, 1);
    // No epoch runs during the test: every miner's incentive stays 0, so the gateway ranks
    // miners it has not seen by uid alone.
    config.tempo = 1000;
    config.block_time = Duration::from_millis(100);
    let mut net = Localnet::start(&registry, &config, |_| {}).await.unwrap();
    let me = Hotkey(net.validator_hotkey(0).unwrap().public());

    // A miner goes down before anyone asked: the lowest uid, which a fresh gateway asking
    // one miner at a time tries first.
    let down: Uid = net.miners().iter().map(|m| m.uid()).min().unwrap();
    assert!(net.stop_miner(down).await);

    let keyed_gateway = gateway(
        &net,
        GatewayConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            miners_per_query: 1,
            keys: keyed(home),
            limits: KeyLimits {
                requests_per_second: 0.0,
                burst: 1,
                max_concurrent: 64,
            },
            max_body_bytes: 4096,
            ..GatewayConfig::default()
        },
    )
    .await;
    let base = format!("http://{}", keyed_gateway.local_addr());

    // The task endpoint, the first call: the downed miner fails, another answers.
    let task = post(
        &format!("{base}/v1/tasks/TextGeneration"),
        Some(KEY),
        r#"{"prompt":"The river Seithe","max_words":6}"#,
    );
    assert_eq!(task.status, 200, "{}", task.body);
    let uid: u16 = task.header("subforge-miner-uid").unwrap().parse().unwrap();
    assert_ne!(Uid(uid), down);
    assert!(task.json()["text"].as_str().is_some_and(|t| !t.is_empty()));
    let proof = verify_answer(|name| task.header(name)).unwrap();
    assert_eq!(proof.caller, me, "the miner answered the gateway's hotkey");
    assert_eq!(
        proof.miner.to_ss58(),
        task.header("subforge-miner-hotkey").unwrap()
    );
    // The signed raw answer is the synapse the miner sent, holding the text we got.
    let signed: Value = serde_json::from_slice(&proof.body).unwrap();
    assert_eq!(signed["text"], task.json()["text"]);
    // A proof does not survive tampering with the answer it covers.
    let forged = base64_of(br#"{"text":"something else"}"#);
    let tampered = verify_answer(|name| {
        if name == gateway::headers::MINER_BODY {
            Some(forged.as_str())
        } else {
            task.header(name)
        }
    });
    assert!(matches!(tampered, Err(gateway::ProofError::Message(_))));

    let metrics = curl(&format!("{base}/metrics"), &[]);
    assert_eq!(metrics.status, 200);
    assert_eq!(
        counter(
            &metrics.body,
            r#"subforge_gateway_retries_total{route="/v1/tasks"}"#
        ),
        1.0,
        "{}",
        metrics.body
    );
    assert!(
        metrics.body.contains(&format!("uid=\"{}\"", down.0)),
        "the failed miner's outcome is recorded: {}",
        metrics.body
    );

    // The OpenAI client: models, chat and text completions, streamed and not, and its errors.
    let seen = openai_run(&python, home, OPENAI_SCRIPT, &format!("{base}/v1"), KEY);
    assert_eq!(seen["models"], serde_json::json!(["subforge-text"]));
    let chat = &seen["chat"];
    assert_eq!(chat["object"], "chat.completion");
    assert_eq!(chat["role"], "assistant");
    let text = chat["text"].as_str().unwrap();
    assert!(!text.is_empty());
    let words = text.split_whitespace().count() as u64;
    assert!(words <= 8, "{text}");
    assert_eq!(chat["usage"]["completion_tokens"], words);
    // Both messages make the prompt: 3 + 3 words.
    assert_eq!(chat["usage"]["prompt_tokens"], 6);
    assert_eq!(chat["finish"], if words == 8 { "length" } else { "stop" });
    assert_ne!(chat["miner"]["uid"], down.0);

    let stream = &seen["chat_stream"];
    let deltas: Vec<&str> = stream["deltas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    // Word by word, as the miner produced them.
    assert!((1..=6).contains(&deltas.len()), "{stream}");
    assert!(deltas[1..].iter().all(|d| d.starts_with(' ')), "{stream}");
    assert_eq!(stream["roles"], serde_json::json!(["assistant"]));
    assert_eq!(stream["finish"].as_array().unwrap().len(), 1);
    assert_eq!(
        stream["ids"].as_array().unwrap().len(),
        1,
        "one id per stream"
    );
    assert_eq!(
        stream["usage"][0]["completion_tokens"],
        deltas.len() as u64,
        "{stream}"
    );
    // The finishing chunk proves the stream: the miner signed every byte of the text.
    let proofs = stream["proofs"].as_array().unwrap();
    assert_eq!(proofs.len(), 1, "{stream}");
    assert_eq!(proofs[0]["signed"], true);
    let proven = gateway::verify_streamed_answer(&proofs[0], &deltas.concat()).unwrap();
    assert_eq!(proven.caller, me);
    assert_eq!(proven.miner.to_ss58(), proofs[0]["miner"]["hotkey"]);
    assert!(matches!(
        gateway::verify_streamed_answer(&proofs[0], &format!("{} and more", deltas.concat())),
        Err(gateway::ProofError::Message(_))
    ));

    let completion = &seen["completion"];
    assert!(
        completion["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty() && t.split_whitespace().count() <= 5)
    );
    assert_eq!(completion["usage"]["prompt_tokens"], 2);
    let texts = seen["completion_stream"]["texts"].as_array().unwrap();
    assert!(texts.len() >= 2, "{texts:?}");
    assert!(["stop", "length"].contains(&seen["completion_stream"]["finish"].as_str().unwrap()));

    assert_eq!(seen["bad_key"]["class"], "AuthenticationError");
    assert_eq!(seen["bad_key"]["status"], 401);
    assert_eq!(seen["malformed"]["class"], "BadRequestError");
    assert_eq!(seen["malformed"]["param"], "messages");
    assert_eq!(seen["malformed"]["type"], "invalid_request_error");
    assert_eq!(seen["no_messages"]["param"], "messages");
    assert_eq!(seen["unknown_model"]["class"], "NotFoundError");
    assert_eq!(seen["unknown_model"]["param"], "model");
    assert_eq!(seen["unknown_model"]["code"], "model_not_found");
    assert_eq!(seen["two_choices"]["param"], "n");

    // curl: the same API by hand.
    let chat = post(
        &format!("{base}/v1/chat/completions"),
        Some(KEY),
        r#"{"model":"subforge-text","messages":[{"role":"user","content":"The road"}],"max_tokens":4}"#,
    );
    assert_eq!(chat.status, 200, "{}", chat.body);
    assert_eq!(chat.header("content-type"), Some("application/json"));
    let body = chat.json();
    let proof = verify_answer(|name| chat.header(name)).unwrap();
    let signed: Value = serde_json::from_slice(&proof.body).unwrap();
    assert_eq!(
        signed["text"], body["choices"][0]["message"]["content"],
        "the proof covers the text the client got"
    );
    assert_eq!(body["subforge"]["signed"], true);

    let streamed = curl(
        &format!("{base}/v1/chat/completions"),
        &[
            "-N",
            "-H",
            &format!("Authorization: Bearer {KEY}"),
            "--data-binary",
            r#"{"messages":[{"role":"user","content":"The road"}],"stream":true,"max_tokens":5}"#,
        ],
    );
    assert_eq!(streamed.status, 200);
    assert_eq!(streamed.header("content-type"), Some("text/event-stream"));
    let events: Vec<&str> = streamed
        .body
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .collect();
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    assert!(events.iter().all(|e| e.starts_with("data: ")));
    let finish: Value =
        serde_json::from_str(events[events.len() - 2].strip_prefix("data: ").unwrap()).unwrap();
    assert!(finish["choices"][0]["finish_reason"].is_string());
    let text: String = events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e.strip_prefix("data: ")?).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert!(!text.is_empty());
    let proven = gateway::verify_streamed_answer(&finish["subforge"], &text).unwrap();
    assert_eq!(proven.caller, me);

    let unauthorized = post(
        &format!("{base}/v1/chat/completions"),
        None,
        r#"{"messages":[]}"#,
    );
    assert_eq!(unauthorized.status, 401);
    assert_eq!(unauthorized.json()["error"]["type"], "authentication_error");
    let big = format!(r#"{{"prompt":"{}","max_words":4}}"#, "word ".repeat(2000));
    let too_big = post(&format!("{base}/v1/tasks/TextGeneration"), Some(KEY), &big);
    assert_eq!(too_big.status, 413, "{}", too_big.body);
    let bad_field = post(
        &format!("{base}/v1/tasks/TextGeneration"),
        Some(KEY),
        r#"{"prompt":"x","max_words":-1}"#,
    );
    assert_eq!(bad_field.status, 400);
    assert_eq!(bad_field.json()["error"]["param"], "max_words");
    // A streamed task through the task route: the miner's raw text, naming the miner.
    let raw = post(
        &format!("{base}/v1/tasks/TextGenerationStream"),
        Some(KEY),
        r#"{"prompt":"The river","max_words":5}"#,
    );
    assert_eq!(raw.status, 200, "{}", raw.body);
    assert_eq!(raw.header("content-type"), Some("application/octet-stream"));
    assert!(
        (1..=5).contains(&raw.body.split_whitespace().count()),
        "{}",
        raw.body
    );
    assert!(raw.header("subforge-miner-uid").is_some());
    assert!(
        raw.header("trailer").is_none(),
        "no trailers unless asked for"
    );
    // Asked with `TE: trailers`, the same stream ends with the miner's signature over it.
    let (head, body) = curl_split(
        &format!("{base}/v1/tasks/TextGenerationStream"),
        home,
        &[
            "-H",
            "TE: trailers",
            "-H",
            &format!("Authorization: Bearer {KEY}"),
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            r#"{"prompt":"The river","max_words":5}"#,
        ],
    );
    let field = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    assert!(field("trailer").is_some(), "{head}");
    let proven =
        gateway::verify_streamed_task(field, &body).unwrap_or_else(|e| panic!("{e}: {head}"));
    assert_eq!(proven.caller, me);
    assert_eq!(
        proven.miner.to_ss58(),
        field("subforge-miner-hotkey").unwrap()
    );
    let no_task = post(&format!("{base}/v1/tasks/Nope"), Some(KEY), "{}");
    assert_eq!(no_task.status, 404);

    let openapi = curl(&format!("{base}/openapi.json"), &[]).json();
    assert_eq!(openapi["openapi"], "3.1.0");
    let paths = openapi["paths"].as_object().unwrap();
    for path in [
        "/v1/tasks/TextGeneration",
        "/v1/tasks/TextGenerationStream",
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/models",
        "/health",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    let task_schema = &openapi["components"]["schemas"]["TextGenerationTask"];
    assert_eq!(task_schema["properties"]["max_words"]["type"], "integer");
    assert!(
        !openapi.to_string().contains("#/$defs/"),
        "every reference points into components"
    );
    let health = curl(&format!("{base}/health"), &[]).json();
    assert_eq!(health["status"], "ok");
    assert_eq!(
        health["serving_miners"], 3,
        "the downed miner's axon is still on chain"
    );

    // A second gateway: anyone may call, one request per 100 s, the best of every miner.
    let limited = gateway(
        &net,
        GatewayConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            miners_per_query: 3,
            best_of_wait: Duration::from_secs(5),
            limits: KeyLimits {
                requests_per_second: 0.01,
                burst: 1,
                max_concurrent: 4,
            },
            ..GatewayConfig::default()
        },
    )
    .await;
    let limited_base = format!("http://{}", limited.local_addr());
    let first = post(
        &format!("{limited_base}/v1/tasks/TextGeneration"),
        None,
        r#"{"prompt":"The river","max_words":6}"#,
    );
    assert_eq!(first.status, 200, "{}", first.body);
    let over = openai_run(
        &python,
        home,
        OPENAI_ERROR_SCRIPT,
        &format!("{limited_base}/v1"),
        "any-key-will-do",
    );
    assert_eq!(over["class"], "RateLimitError");
    assert_eq!(over["status"], 429);
    let retry_after: u64 = over["retry_after"].as_str().unwrap().parse().unwrap();
    assert!((90..=100).contains(&retry_after), "{over}");
    let over = post(
        &format!("{limited_base}/v1/tasks/TextGeneration"),
        None,
        r#"{"prompt":"The river","max_words":6}"#,
    );
    assert_eq!(over.status, 429);
    assert!(over.header("retry-after").is_some());
    // The pick: a chat through this gateway waited for both live miners and chose one.
    // (The limit is spent; a third gateway without one asks.)
    let picking = gateway(
        &net,
        GatewayConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            miners_per_query: 3,
            best_of_wait: Duration::from_secs(5),
            ..GatewayConfig::default()
        },
    )
    .await;
    let picked = post(
        &format!("http://{}/v1/chat/completions", picking.local_addr()),
        None,
        r#"{"messages":[{"role":"user","content":"The river"}]}"#,
    );
    assert_eq!(picked.status, 200, "{}", picked.body);
    assert_eq!(picked.json()["subforge"]["chosen_from"], 2);

    // Every miner down: a clear 503, at once.
    net.shutdown().await.unwrap();
    let down_all = openai_run(
        &python,
        home,
        OPENAI_ERROR_SCRIPT,
        &format!("{base}/v1"),
        KEY,
    );
    assert_eq!(down_all["class"], "InternalServerError");
    assert_eq!(down_all["status"], 503);
    let down_all = post(
        &format!("{base}/v1/tasks/TextGeneration"),
        Some(KEY),
        r#"{"prompt":"The river","max_words":6}"#,
    );
    assert_eq!(down_all.status, 503);
    assert!(
        down_all.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("3 miner(s) failed"),
        "{}",
        down_all.body
    );

    keyed_gateway.shutdown().await;
    limited.shutdown().await;
    picking.shutdown().await;
}

fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
