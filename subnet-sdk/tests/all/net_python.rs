//! Interop with the real Python SDK from PyPI: bittensor 10.5.0 (Synapse protocol) and
//! 11.3.0 (`btauth/1`), each in its own venv made by `scripts/pyenv.sh`. Cases are batched
//! into few Python processes because importing the SDK takes a second or two.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use subforge_core::Uid;
use subforge_sdk::net::nonce::now_ns;
use subforge_sdk::net::pyrepr::{PyValue, body_hash};
use subforge_sdk::net::wire::{btauth, epistula};
use subforge_sdk::net::{AxonLimits, Dendrite, Target, Wire};

use crate::net_support::*;

const BT10: (&str, &str) = ("bt10", "bittensor==10.5.0");
const BT11: (&str, &str) = ("bt11", "bittensor==11.3.0");

/// Streams `words` words, one chunk each (as the Python peer's `Tale` does).
struct Teller;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
struct Tale {
    words: u8,
}

impl subforge_core::Task for Tale {
    const NAME: &'static str = "Tale";
    type Response = ();
    type Reference = ();
}

#[subforge_core::async_trait]
impl subforge_sdk::net::StreamHandler<Tale> for Teller {
    async fn stream(
        &self,
        task: Tale,
        _: &subforge_core::Caller,
        sink: subforge_sdk::net::ChunkSink,
    ) -> Result<(), subforge_core::HandlerError> {
        for i in 0..task.words {
            sink.send(format!("word{i} "))
                .await
                .map_err(|e| subforge_core::HandlerError::Internal(e.to_string()))?;
        }
        Ok(())
    }
}

/// The Python SDK's `StreamingSynapse` reads our axon's stream as it reads a Python axon's:
/// the raw chunks and the outcome in headers, with no trailers it did not ask for. Our own
/// dendrite, asking, gets the stream signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_dendrite_reads_our_stream() {
    let py = python(BT10.0, BT10.1);
    let (_tx, rx) = tokio::sync::watch::channel(metagraph(&[hotkey(MEMBER), hotkey(MINER)]));
    let axon = subforge_sdk::net::Axon::builder(key(MINER))
        .metagraph(rx)
        .stream::<Tale, _>(Teller)
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let out = run_peer(
        &py,
        "stream10",
        json!({
            "addr": axon.local_addr().to_string(),
            "axon_hotkey": axon.hotkey().to_ss58(),
            "member_uri": MEMBER,
            "words": 3,
        }),
    )
    .await;
    assert_eq!(out["text"], "word0 word1 word2 ", "{out}");
    assert_eq!(out["content_type"], "text/event-stream", "{out}");
    assert_eq!(out["trailer"], serde_json::Value::Null, "{out}");
    // The outcome travels in headers, as a Python axon sends it: without them the Python
    // dendrite would take a good stream for a failed one.
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(out["message"], "Success", "{out}");

    let d = Dendrite::new(key(MEMBER));
    let target = Target::new(Uid(1), axon.hotkey(), axon.local_addr());
    let (text, signed) = read_tale(&d, &target).await;
    assert_eq!(text, b"word0 word1 word2 ");
    assert!(signed);
}

/// Reads a three-word `Tale` from `target` to its end: the bytes, and whether the stream
/// ended with a valid signature.
async fn read_tale(d: &Dendrite, target: &Target) -> (Vec<u8>, bool) {
    let mut s = d
        .stream(target, &Tale { words: 3 }, Duration::from_secs(5))
        .await
        .unwrap();
    let mut text = Vec::new();
    while let Some(chunk) = s.next().await {
        text.extend_from_slice(&chunk.unwrap());
    }
    (text, s.signature().is_some_and(|c| c.verify()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_dendrite_against_our_axon() {
    let py = python(BT10.0, BT10.1);
    let (axon, handler) = dummy_axon(AxonLimits::default()).await;
    let out = run_peer(
        &py,
        "dendrite10",
        json!({
            "addr": axon.local_addr().to_string(),
            "axon_hotkey": axon.hotkey().to_ss58(),
            "member_uri": MEMBER,
            "stranger_uri": STRANGER,
        }),
    )
    .await;

    assert_eq!(
        out["success"],
        json!({"status": 200, "message": "Success", "output": 42})
    );
    assert_eq!(
        out["again"],
        json!({"status": 200, "message": "Success", "output": 10})
    );
    assert_eq!(out["bad_signature"]["status"], 401);
    let msg = out["bad_signature"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Not Verified with error: Signature mismatch with "),
        "{msg}"
    );
    assert_eq!(
        out["blacklisted"],
        json!({
            "status": 403,
            "message": format!("Forbidden. Key is blacklisted: hotkey {} is not registered.", hotkey(STRANGER)),
            "output": null,
        })
    );
    assert_eq!(out["unknown"]["status"], 404);
    assert_eq!(
        out["unknown"]["message"],
        "Synapse name 'Unknown' not found."
    );
    assert_eq!(
        out["timeout"],
        json!({"status": 408, "message": "Response timeout after: 4.0s", "output": null})
    );
    // The handler that overran was dropped, not left running.
    assert_eq!(handler.dropped.0.load(Ordering::SeqCst), 1);
    assert_eq!(out["body_hash"]["status"], 401);
    let msg = out["body_hash"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Not Verified with error: Hash mismatch between header body hash "),
        "{msg}"
    );
    assert_eq!(
        out["unsigned"],
        json!({
            "status": 401,
            "message": "Not Verified with error: No SS58 formatted address or public key provided."
        })
    );
    axon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_dendrite_against_a_python_axon() {
    let py = python(BT10.0, BT10.1);
    let axon = PythonAxon::start(&py, MINER).await;
    assert_eq!(axon.hotkey, hotkey(MINER));
    let dendrite = Dendrite::new(key(MEMBER));
    // Every nonce prepared, so the Python axon checks signatures made with prepared nonces.
    dendrite.signer().fill();
    let target = Target::new(Uid(1), axon.hotkey, axon.addr);
    let r = dendrite
        .call(&target, &Dummy { dummy_input: 21 }, Duration::from_secs(5))
        .await;
    assert_eq!((r.status.0, r.message.as_str()), (200, "Success"));
    assert_eq!(
        r.payload,
        Some(DummyOutput {
            dummy_output: Some(42)
        })
    );
    // Python axons do not sign their answers.
    assert!(!r.signature_verified);
    // Its streams arrive chunk by chunk, unsigned (it ignores `TE: trailers`).
    let (text, signed) = read_tale(&dendrite, &target).await;
    assert_eq!(text, b"word0 word1 word2 ");
    assert!(!signed);
    // Concurrent requests to one Python axon may arrive out of nonce order; it refuses
    // those (its nonce rule is monotonic per dendrite), so each either succeeds or says so.
    let many = dendrite
        .query(
            &vec![target.clone(); 3],
            &Dummy { dummy_input: 2 },
            Duration::from_secs(5),
        )
        .await;
    assert!(many.iter().any(|r| r.ok()
        == Some(&DummyOutput {
            dummy_output: Some(4)
        })));
    for r in &many {
        assert!(
            r.status.0 == 200
                || r.message
                    == "Not Verified with error: Nonce is too old, a newer one was last processed",
            "{} {}",
            r.status,
            r.message
        );
    }

    // Its nonce rules, driven with requests signed by our Synapse signer.
    let member = key(MEMBER);
    let t = Duration::from_secs(5);
    let task = Dummy { dummy_input: 3 };
    let send = |nonce: u64, uuid: &str, extra: Option<(&str, String)>| {
        let (mut h, body) = synapse_headers(&member, &axon.hotkey, &task, t, nonce, uuid);
        if let Some((k, v)) = extra {
            h.retain(|(name, _)| name != k);
            h.push((k.to_owned(), v));
        }
        let addr = axon.addr;
        async move {
            raw(addr, &request("/Dummy", &as_refs(&h), &body))
                .await
                .unwrap()
        }
    };
    let old = send(now_ns() - 20_000_000_000, "uuid-old", None).await;
    assert_eq!(old.status, 401);
    assert!(
        old.message().starts_with(
            "Not Verified with error: Nonce is too old: acceptable delta is 9.00 seconds"
        ),
        "{}",
        old.message()
    );
    let nonce = now_ns();
    assert_eq!(send(nonce, "uuid-replay", None).await.status, 200);
    let replay = send(nonce, "uuid-replay", None).await;
    assert_eq!(replay.status, 401);
    assert_eq!(
        replay.message(),
        "Not Verified with error: Nonce is too old, a newer one was last processed"
    );
    // Python has no bound on future nonces, and claiming an old version skips its window.
    assert_eq!(
        send(now_ns() + 3_600_000_000_000, "uuid-future", None)
            .await
            .status,
        200
    );
    let downgrade = send(
        5,
        "uuid-downgrade",
        Some(("bt_header_dendrite_version", "100".into())),
    )
    .await;
    assert_eq!(downgrade.status, 200);
    // Signed for another axon's hotkey: the Python axon substitutes its own and refuses.
    let (h, body) = synapse_headers(&member, &hotkey(STRANGER), &task, t, now_ns(), "uuid-other");
    let other = raw(axon.addr, &request("/Dummy", &as_refs(&h), &body))
        .await
        .unwrap();
    assert_eq!(other.status, 401);
    assert!(
        other.message().contains("Signature mismatch"),
        "{}",
        other.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_str_rendering_matches_ours() {
    let py = python(BT10.0, BT10.1);
    let values = [
        "21",
        "-7",
        "1.0",
        "2.5",
        "1e16",
        "1.5e-7",
        "0.0001",
        "123456789.125",
        "1e22",
        "true",
        "null",
        "\"plain text\"",
        "[1.0, 2.5]",
        r#"{"a": 1, "b": [1, 2]}"#,
        r#"{"z": {"y": null, "x": [true, false]}, "a": "it's"}"#,
        r#"["it's", "say \"hi\"", "both ' \"", "back\\slash"]"#,
        r#"["tab\there", "nl\n", "\u0001\u001f\u007f", "é€😀", "\u00a0\u00ad\u200b\u2028", "\ue000\ufeff"]"#,
        r#"[[], {}, [[]], {"": ""}]"#,
    ];
    let out = run_peer(&py, "pyrepr", json!({ "values": values })).await;
    for (i, text) in values.iter().enumerate() {
        let ours = PyValue::from_json(text.as_bytes()).unwrap();
        assert_eq!(
            out[i]["str"].as_str().unwrap(),
            ours.py_str(),
            "str() of {text}"
        );
        let field = PyValue::Dict(vec![("f".to_owned(), ours)]);
        assert_eq!(
            out[i]["hash"].as_str().unwrap(),
            body_hash(&field, &["f"]),
            "hash of {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epistula_by_the_spec_rules_both_ways() {
    let py = python(BT10.0, BT10.1);
    let (axon, _) = dummy_axon(AxonLimits::default()).await;
    let member = key(MEMBER);
    let body = br#"{"dummy_input":3}"#;
    let mut h = http::HeaderMap::new();
    epistula::sign(
        &mut h,
        &member,
        body,
        "123e4567-e89b-42d3-a456-426614174000",
        now_ns() / 1_000_000,
        &axon.hotkey(),
    );
    let headers: serde_json::Map<_, _> = h
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap())))
        .collect();
    let mut tampered = headers.clone();
    tampered.insert("epistula-timestamp".into(), json!("1"));
    let out = run_peer(
        &py,
        "epistula",
        json!({
            "addr": axon.local_addr().to_string(),
            "axon_hotkey": axon.hotkey().to_ss58(),
            "member_uri": MEMBER,
            "requests": [
                {"headers": headers, "body": std::str::from_utf8(body).unwrap()},
                {"headers": tampered, "body": std::str::from_utf8(body).unwrap()},
            ],
        }),
    )
    .await;
    assert_eq!(out["checked"], json!([true, false]));
    let sent = &out["sent"];
    assert_eq!(sent["success"], json!([200, {"dummy_output": 8}]));
    for case in ["replay", "stale", "unbound", "other_receiver"] {
        assert_eq!(sent[case][0], 401, "{case}: {}", sent[case]);
    }
    assert!(
        sent["stale"][1]["message"]
            .as_str()
            .unwrap()
            .contains("Nonce is too old")
    );
    axon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn btauth_with_python_11_both_ways() {
    let py = python(BT11.0, BT11.1);
    let (axon, _) = dummy_axon(AxonLimits::default()).await;
    let member = key(MEMBER);
    let me = axon.hotkey();
    let signed = |body: &str, signed_body: &str, receiver: &subforge_core::Hotkey| {
        let mut h = http::HeaderMap::new();
        btauth::sign(
            &mut h,
            &member,
            "POST",
            "/Dummy?x=1",
            signed_body.as_bytes(),
            now_ns(),
            receiver,
        );
        let headers: serde_json::Map<_, _> = h
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap())))
            .collect();
        json!({"method": "POST", "path": "/Dummy?x=1", "body": body, "headers": headers})
    };
    let requests = json!([
        signed("{\"dummy_input\":1}", "{\"dummy_input\":1}", &me),
        signed("{\"dummy_input\":2}", "{\"dummy_input\":1}", &me),
        signed("{}", "{}", &hotkey(STRANGER)),
    ]);
    let out = run_peer(
        &py,
        "btauth11",
        json!({
            "addr": axon.local_addr().to_string(),
            "axon_hotkey": me.to_ss58(),
            "member_uri": MEMBER,
            "requests": requests,
        }),
    )
    .await;
    assert_eq!(
        out["verified"],
        json!([hotkey(MEMBER).to_ss58(), "BadSignature", "WrongReceiver"])
    );
    let sent = &out["sent"];
    assert_eq!(sent["success"], json!([200, {"dummy_output": 16}]));
    for case in ["replay", "wrong_receiver", "unbound", "stale", "future"] {
        assert_eq!(sent[case][0], 401, "{case}: {}", sent[case]);
    }
    assert!(
        sent["future"][1]["message"]
            .as_str()
            .unwrap()
            .contains("future")
    );

    // And our dendrite speaking btauth/1 to our axon gets a signed answer.
    let d = Dendrite::new(key(MEMBER));
    let t = Target::new(Uid(1), me, axon.local_addr()).with_wire(Wire::BtAuth);
    let r = d
        .call(&t, &Dummy { dummy_input: 5 }, Duration::from_secs(5))
        .await;
    assert_eq!(r.status.0, 200, "{}", r.message);
    assert!(r.signature_verified);
    axon.shutdown().await;
}
