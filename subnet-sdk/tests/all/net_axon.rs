//! Our axon on its own: every convention, limits, deadlines and bad input.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use proptest::prelude::*;
use sha2::{Digest, Sha256};
use subforge_core::{Caller, HandlerError, MinerHandler, Task, Uid, async_trait};
use subforge_sdk::net::nonce::now_ns;
use subforge_sdk::net::wire::response;
use subforge_sdk::net::{Axon, AxonLimits, Dendrite, Target, Wire};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, watch};

use crate::net_support::*;

fn target(axon: &Axon) -> Target {
    Target::new(Uid(1), axon.hotkey(), axon.local_addr())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_convention_gets_a_signed_answer() {
    let (axon, _) = dummy_axon(AxonLimits::default()).await;
    let d = Dendrite::new(key(MEMBER));
    for wire in [Wire::Synapse, Wire::BtAuth, Wire::Epistula] {
        let r = d
            .call(
                &target(&axon).with_wire(wire),
                &Dummy { dummy_input: 4 },
                Duration::from_secs(5),
            )
            .await;
        assert_eq!((r.status.0, r.message.as_str()), (200, "Success"), "{wire}");
        assert_eq!(
            r.payload,
            Some(DummyOutput {
                dummy_output: Some(8)
            }),
            "{wire}"
        );
        assert!(r.signature_verified, "{wire}");
    }
    // The signature covers the exact body and names the axon.
    let (h, body) = synapse_headers(
        &key(MEMBER),
        &axon.hotkey(),
        &Dummy { dummy_input: 1 },
        Duration::from_secs(5),
        now_ns(),
        "u1",
    );
    let r = raw(axon.local_addr(), &request("/Dummy", &as_refs(&h), &body))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(
        r.head
            .contains(&format!("{}: {}", response::SIGNED_BY, axon.hotkey())),
        "{}",
        r.head
    );
    assert_eq!(r.json()["dummy_output"], 2);
    assert_eq!(r.json()["axon"]["status_message"], "Success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reveals_nothing_and_unknown_tasks_need_a_signature() {
    let (axon, _) = dummy_axon(AxonLimits::default()).await;
    let health = raw(
        axon.local_addr(),
        b"GET /_health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    assert_eq!(
        (health.status, health.body.as_slice()),
        (200, &br#"{"status":"ok"}"#[..])
    );
    let unsigned = raw(axon.local_addr(), &request("/Nope", &[], b"{}"))
        .await
        .unwrap();
    assert_eq!(unsigned.status, 401);
    assert!(!String::from_utf8_lossy(&unsigned.body).contains("Dummy"));
    let (h, body) = synapse_headers(
        &key(MEMBER),
        &axon.hotkey(),
        &Dummy { dummy_input: 1 },
        Duration::from_secs(5),
        now_ns(),
        "u2",
    );
    let r = raw(axon.local_addr(), &request("/Nope", &as_refs(&h), &body))
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.message()),
        (404, "Synapse name 'Nope' not found.".to_owned())
    );
    let get = raw(
        axon.local_addr(),
        b"GET /Dummy HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    assert_eq!(get.status, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_drops_the_handler() {
    let (axon, handler) = dummy_axon(AxonLimits::default()).await;
    let r = Dendrite::new(key(MEMBER))
        .call(
            &target(&axon),
            &Dummy { dummy_input: -1 },
            Duration::from_secs(2),
        )
        .await;
    assert_eq!(
        (r.status.0, r.message.as_str()),
        (408, "Response timeout after: 2.0s")
    );
    assert_eq!(handler.dropped.0.load(Ordering::SeqCst), 1);
}

/// Records the caller the handler saw.
#[derive(Default, Clone)]
struct Recorder(Arc<Mutex<Vec<Caller>>>);

#[async_trait]
impl MinerHandler<Dummy> for Recorder {
    async fn forward(&self, task: Dummy, caller: &Caller) -> Result<DummyOutput, HandlerError> {
        self.0.lock().await.push(caller.clone());
        if task.dummy_input == 7 {
            return Err(HandlerError::Unavailable("model loading".into()));
        }
        Ok(DummyOutput { dummy_output: None })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_see_the_verified_caller_from_the_latest_metagraph() {
    let rec = Recorder::default();
    let (tx, rx) = watch::channel(metagraph(&[hotkey(MINER)]));
    let axon = Axon::builder(key(MINER))
        .metagraph(rx)
        .serve::<Dummy, _>(rec.clone())
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let d = Dendrite::new(key(MEMBER));
    let t = Duration::from_secs(5);
    assert_eq!(
        d.call(&target(&axon), &Dummy { dummy_input: 1 }, t)
            .await
            .status
            .0,
        403
    );
    // Registered at the next block: served, with the uid and stake of that metagraph.
    tx.send(metagraph(&[hotkey(MINER), hotkey(MEMBER)]))
        .unwrap();
    assert_eq!(
        d.call(&target(&axon), &Dummy { dummy_input: 1 }, t)
            .await
            .status
            .0,
        200
    );
    let seen = rec.0.lock().await.clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].hotkey, seen[0].uid),
        (hotkey(MEMBER), Some(Uid(1)))
    );
    assert_eq!(seen[0].stake, subforge_core::Balance::from_tao(1000));
    assert_eq!(seen[0].ip, Some("127.0.0.1".parse().unwrap()));
    let r = d.call(&target(&axon), &Dummy { dummy_input: 7 }, t).await;
    assert_eq!(
        (r.status.0, r.message.as_str()),
        (503, "Service unavailable: model loading")
    );
}

fn small_limits() -> AxonLimits {
    AxonLimits {
        max_body_bytes: 1024,
        max_header_bytes: 8192,
        ..AxonLimits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_its_status() {
    let (axon, _) = dummy_axon(small_limits()).await;
    let addr = axon.local_addr();
    let me = axon.hotkey();
    let signed = |nonce: u64, uuid: &str| {
        synapse_headers(
            &key(MEMBER),
            &me,
            &Dummy { dummy_input: 1 },
            Duration::from_secs(2),
            nonce,
            uuid,
        )
    };
    let with = |h: &[(String, String)], name: &str, value: Option<&str>| {
        let mut h: Vec<(String, String)> = h.iter().filter(|(k, _)| k != name).cloned().collect();
        if let Some(v) = value {
            h.push((name.to_owned(), v.to_owned()));
        }
        h
    };
    let send = |h: Vec<(String, String)>, body: Vec<u8>| async move {
        raw(addr, &request("/Dummy", &as_refs(&h), &body))
            .await
            .unwrap()
    };

    let (h, body) = signed(now_ns(), "a");
    let r = send(
        with(&h, "bt_header_dendrite_signature", None),
        body.to_vec(),
    )
    .await;
    assert_eq!(
        (r.status, r.message()),
        (401, "Not Verified with error: Missing Signature".into())
    );
    let r = send(with(&h, "bt_header_dendrite_nonce", None), body.to_vec()).await;
    assert_eq!(
        (r.status, r.message()),
        (401, "Not Verified with error: Missing Nonce".into())
    );

    let mut dup = h.clone();
    dup.push((
        "bt_header_dendrite_signature".into(),
        format!("0x{}", "00".repeat(64)),
    ));
    let r = send(dup, body.to_vec()).await;
    assert_eq!(r.status, 400);
    assert!(r.message().contains("appears 2 times"), "{}", r.message());

    let r = send(
        with(&h, "bt_header_dendrite_signature", Some("0x1234")),
        body.to_vec(),
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(
        r.message()
            .contains("expected 0x and 128 hex digits, got 4"),
        "{}",
        r.message()
    );

    let r = send(with(&h, "content-type", Some("text/plain")), body.to_vec()).await;
    assert_eq!(r.status, 415);

    let r = send(with(&h, "timeout", Some("soon")), body.to_vec()).await;
    assert_eq!(r.status, 400);

    // Non-UTF-8 bytes in a header value.
    let mut req = request("/Dummy", &as_refs(&h), &body);
    let at = req
        .windows(25)
        .position(|w| w == b"bt_header_dendrite_uuid: ")
        .unwrap()
        + 25;
    req[at] = 0xff;
    let r = raw(addr, &req).await.unwrap();
    assert_eq!(r.status, 400);

    // Far-future nonce, and an ancient one with an old version claimed.
    let (h2, body2) = signed(now_ns() + 3_600_000_000_000, "b");
    let r = send(h2, body2.to_vec()).await;
    assert_eq!(r.status, 401);
    assert!(
        r.message().contains("too far in the future"),
        "{}",
        r.message()
    );
    let (h3, body3) = signed(5, "c");
    let r = send(
        with(&h3, "bt_header_dendrite_version", Some("100")),
        body3.to_vec(),
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(
        r.message().contains("Nonce is too old: acceptable delta"),
        "{}",
        r.message()
    );

    // A replay.
    let (h4, body4) = signed(now_ns(), "d");
    assert_eq!(send(h4.clone(), body4.to_vec()).await.status, 200);
    let r = send(h4, body4.to_vec()).await;
    assert_eq!(
        (r.status, r.message()),
        (
            401,
            "Not Verified with error: Nonce is too old, a newer one was last processed".into()
        )
    );

    // Body not JSON (the hash needs it), and JSON that is not the task.
    let (h5, _) = signed(now_ns(), "e");
    assert_eq!(send(h5, b"{not json".to_vec()).await.status, 400);

    // Oversized by Content-Length, and oversized while streaming in chunks.
    let (h6, _) = signed(now_ns(), "f");
    let r = send(h6.clone(), vec![b' '; 2048]).await;
    assert_eq!(r.status, 413);
    let mut chunked =
        "POST /Dummy HTTP/1.1\r\nhost: x\r\nconnection: close\r\ntransfer-encoding: chunked\r\n"
            .to_owned();
    for (k, v) in &h6 {
        chunked.push_str(&format!("{k}: {v}\r\n"));
    }
    chunked.push_str("\r\n");
    for _ in 0..4 {
        chunked.push_str(&format!("200\r\n{}\r\n", " ".repeat(512)));
    }
    chunked.push_str("0\r\n\r\n");
    assert_eq!(raw(addr, chunked.as_bytes()).await.unwrap().status, 413);

    // A head larger than the limit.
    let big = request("/Dummy", &[("x-padding", "a".repeat(16 * 1024))], b"{}");
    assert_eq!(raw(addr, &big).await.unwrap().status, 431);

    // A truncated body: the caller stops sending and closes its side.
    let (h7, body7) = signed(now_ns(), "g");
    let mut req = request("/Dummy", &as_refs(&h7), &body7);
    req.truncate(req.len() - 5);
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&req).await.unwrap();
    s.shutdown().await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 400") || out.is_empty(), "{text}");

    // Headers of two conventions at once.
    let r = send(with(&h, "x-bittensor-version", Some("1")), body.to_vec()).await;
    assert_eq!(r.status, 400);

    // Still serving.
    let ok = Dendrite::new(key(MEMBER))
        .call(
            &target(&axon),
            &Dummy { dummy_input: 2 },
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(ok.status.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_is_bounded_per_ip_per_hotkey_and_overall() {
    let t = Duration::from_secs(5);
    let slow = Dummy { dummy_input: 1000 };
    for (limits, want) in [
        (
            AxonLimits {
                per_ip_in_flight: 2,
                ..AxonLimits::default()
            },
            429,
        ),
        (
            AxonLimits {
                per_hotkey_in_flight: 2,
                ..AxonLimits::default()
            },
            429,
        ),
        (
            AxonLimits {
                max_in_flight: 2,
                ..AxonLimits::default()
            },
            503,
        ),
    ] {
        let (axon, _) = dummy_axon(limits).await;
        let d = Dendrite::new(key(MEMBER));
        let rs = d.query(&vec![target(&axon); 3], &slow, t).await;
        let mut codes: Vec<u16> = rs.iter().map(|r| r.status.0).collect();
        codes.sort_unstable();
        assert_eq!(codes, vec![200, 200, want]);
        // Slots come back once the requests finish.
        assert_eq!(
            d.call(&target(&axon), &Dummy { dummy_input: 1 }, t)
                .await
                .status
                .0,
            200
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_dropped_and_others_still_served() {
    let limits = AxonLimits {
        header_read_timeout: Duration::from_millis(800),
        ..AxonLimits::default()
    };
    let (axon, _) = dummy_axon(limits).await;
    // Two thousand, or as many as this process's file-descriptor limit leaves room for
    // (each connection costs one descriptor on each side).
    let count = open_files_limit()
        .saturating_sub(200)
        .div_euclid(2)
        .min(2000);
    let before = resident_bytes();
    let mut idle = Vec::new();
    for _ in 0..count {
        idle.push(TcpStream::connect(axon.local_addr()).await.unwrap());
    }
    // Let the axon accept them all, then check what they cost (both ends live here).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let grown = resident_bytes().saturating_sub(before);
    eprintln!(
        "{count} silent connections: resident memory grew by {} KiB",
        grown / 1024
    );
    assert!(
        grown < count * 64 * 1024,
        "{grown} bytes for {count} connections"
    );
    let r = Dendrite::new(key(MEMBER))
        .call(
            &target(&axon),
            &Dummy { dummy_input: 3 },
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(r.status.0, 200, "{}", r.message);
    // Every silent connection is closed by the server once the header timeout passes.
    for s in &mut idle {
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await;
        assert!(
            matches!(n, Ok(Ok(_)) | Ok(Err(_))),
            "a silent connection stayed open"
        );
    }

    // Past the connection cap, new connections are closed at once.
    let (capped, _) = dummy_axon(AxonLimits {
        max_connections: 20,
        ..AxonLimits::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(TcpStream::connect(capped.local_addr()).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(capped.local_addr()).await.unwrap();
    let mut buf = [0u8; 8];
    let n = tokio::time::timeout(Duration::from_secs(5), extra.read(&mut buf)).await;
    assert!(matches!(n, Ok(Ok(0)) | Ok(Err(_))), "{n:?}");
}

/// This process's resident memory, from `/proc/self/statm` (Linux; 4 KiB pages).
fn resident_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<usize>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|line| line.starts_with("Max open files"))
                .and_then(|line| line.split_whitespace().nth(3).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(1024)
}

/// Streams "one", "two", "three", waiting for the test's go-ahead after the first chunk.
struct Streamer(Arc<tokio::sync::Notify>, Drops);

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
struct Story {
    forever: bool,
    fail: bool,
}

impl Task for Story {
    const NAME: &'static str = "Story";
    type Response = ();
    type Reference = ();
}

#[async_trait]
impl subforge_sdk::net::StreamHandler<Story> for Streamer {
    async fn stream(
        &self,
        task: Story,
        _: &Caller,
        sink: subforge_sdk::net::ChunkSink,
    ) -> Result<(), HandlerError> {
        let _flag = DropOnExit(self.1.clone());
        sink.send("one\n")
            .await
            .map_err(|e| HandlerError::Internal(e.to_string()))?;
        if task.forever {
            std::future::pending::<()>().await;
        }
        if task.fail {
            return Err(HandlerError::Internal("the model broke".to_owned()));
        }
        self.0.notified().await;
        sink.send("two\n")
            .await
            .map_err(|e| HandlerError::Internal(e.to_string()))?;
        sink.send("three\n")
            .await
            .map_err(|e| HandlerError::Internal(e.to_string()))?;
        Ok(())
    }
}

struct DropOnExit(Drops);
impl Drop for DropOnExit {
    fn drop(&mut self) {
        self.0.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_arrive_chunk_by_chunk_and_end_at_the_deadline() {
    let go = Arc::new(tokio::sync::Notify::new());
    let drops = Drops::default();
    let (_tx, rx) = watch::channel(metagraph(&[hotkey(MEMBER)]));
    let axon = Axon::builder(key(MINER))
        .metagraph(rx)
        .stream::<Story, _>(Streamer(Arc::clone(&go), drops.clone()))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let d = Dendrite::new(key(MEMBER));
    let mut s = d
        .stream(
            &target(&axon),
            &Story {
                forever: false,
                fail: false,
            },
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    // The first chunk arrives while the handler still waits to produce the second.
    assert_eq!(&s.next().await.unwrap().unwrap()[..], b"one\n");
    assert!(s.signature().is_none(), "signed only at the end");
    go.notify_one();
    let mut rest = Vec::new();
    while let Some(chunk) = s.next().await {
        rest.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(rest, b"two\nthree\n");
    // The miner signed the whole stream, for this caller: the message ends with the SHA-256
    // of every byte, and the signature checks.
    let claim = s.signature().expect("a finished stream is signed").clone();
    assert_eq!(claim.signer, key(MINER).public());
    let message = String::from_utf8(claim.message.clone()).unwrap();
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines[0], "subforge-response/1");
    assert_eq!(lines[1], hotkey(MINER).to_ss58());
    assert_eq!(lines[2], hotkey(MEMBER).to_ss58());
    assert_eq!(lines[4], hex::encode(Sha256::digest(b"one\ntwo\nthree\n")));
    assert!(claim.verify());

    // A handler that fails after its first chunk ends the stream unsigned.
    let mut s = d
        .stream(
            &target(&axon),
            &Story {
                forever: false,
                fail: true,
            },
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(&s.next().await.unwrap().unwrap()[..], b"one\n");
    assert!(s.next().await.is_none());
    assert!(s.signature().is_none());

    let mut s = d
        .stream(
            &target(&axon),
            &Story {
                forever: true,
                fail: false,
            },
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert_eq!(&s.next().await.unwrap().unwrap()[..], b"one\n");
    // The axon ends the stream at the deadline, unsigned, and drops the handler.
    let end = s.next().await;
    assert!(end.is_none() || end.unwrap().is_err());
    assert!(s.signature().is_none());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(drops.0.load(Ordering::SeqCst), 3);

    // Refusals come before the stream as ordinary errors.
    let stranger = Dendrite::new(key(STRANGER));
    let e = stranger
        .stream(
            &target(&axon),
            &Story {
                forever: false,
                fail: false,
            },
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status.0, 403);
}

const HEADER_NAMES: &[&str] = &[
    "bt_header_dendrite_hotkey",
    "bt_header_dendrite_nonce",
    "bt_header_dendrite_signature",
    "bt_header_dendrite_uuid",
    "computed_body_hash",
    "timeout",
    "content-type",
    "x-bittensor-version",
    "x-bittensor-hotkey",
    "x-bittensor-nonce",
    "x-bittensor-signature",
    "x-bittensor-receiver",
    "epistula-version",
    "epistula-timestamp",
    "epistula-uuid",
    "epistula-signed-by",
    "epistula-signed-for",
    "epistula-request-signature",
];

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,80}",
        Just(hotkey(MEMBER).to_ss58()),
        Just(format!("0x{}", "ab".repeat(64))),
        Just("1".to_owned()),
        Just("2".to_owned()),
        Just(now_ns().to_string()),
        Just("application/json".to_owned()),
        "[0-9]{1,25}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Whatever headers and body arrive, the axon answers with a refusal, never success
    /// without a valid signature, never a server error, and keeps serving.
    #[test]
    fn raw_requests_never_break_the_axon(
        headers in proptest::collection::vec((proptest::sample::select(HEADER_NAMES), header_value()), 0..10),
        body in proptest::collection::vec(any::<u8>(), 0..300),
        path in prop_oneof![Just("/Dummy".to_owned()), Just("/".to_owned()), "/[A-Za-z_/]{0,20}"],
    ) {
        let rt = runtime();
        let (addr, _) = rt.block_on(shared_axon());
        let owned: Vec<(&str, String)> = headers.iter().map(|(k, v)| (*k, v.clone())).collect();
        let r = rt.block_on(raw(addr, &request(&path, &owned, &body)));
        let r = r.expect("the axon answered");
        prop_assert!(
            [400, 401, 404, 405, 408, 413, 415, 429, 431].contains(&r.status),
            "status {} for {:?}", r.status, headers
        );
        let health = rt.block_on(raw(addr, b"GET /_health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"));
        prop_assert_eq!(health.map(|h| h.status), Some(200));
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

async fn shared_axon() -> (std::net::SocketAddr, ()) {
    static AXON: tokio::sync::OnceCell<Axon> = tokio::sync::OnceCell::const_new();
    let axon = AXON
        .get_or_init(|| async {
            dummy_axon(AxonLimits {
                max_timeout: Duration::from_secs(2),
                ..small_limits()
            })
            .await
            .0
        })
        .await;
    (axon.local_addr(), ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_close_after_the_header_timeout() {
    let limits = AxonLimits {
        header_read_timeout: Duration::from_millis(500),
        ..AxonLimits::default()
    };
    let (axon, _) = dummy_axon(limits).await;
    let mut s = TcpStream::connect(axon.local_addr()).await.unwrap();
    s.write_all(b"GET /_health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // Kept alive, then closed once it has been idle past the timeout.
    let closed = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "{closed:?}");
}
