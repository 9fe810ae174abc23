//! Our dendrite on its own: fan-out under one deadline, hostile answers, connection reuse.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use subforge_core::Uid;
use subforge_sdk::net::wire::response;
use subforge_sdk::net::{AxonLimits, Dendrite, DendriteConfig, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::net_support::*;

/// A plain HTTP server answering every request with `status` and `body`; counts connections.
async fn canned(status: u16, body: &'static [u8]) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let svc = hyper::service::service_fn(move |_req| async move {
                let mut r = http::Response::new(Full::new(Bytes::from_static(body)));
                *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
                Ok::<_, Infallible>(r)
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), svc));
        }
    });
    (addr, accepted)
}

/// Accepts and then does `behaviour` with the raw socket.
async fn rogue(garbage: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                if garbage {
                    let _ = stream.write_all(b"\x00\x01 not http at all\r\n\r\n").await;
                } else {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_turns_every_failure_into_a_status_within_the_deadline() {
    let (axon, _) = dummy_axon(AxonLimits::default()).await;
    let (malformed, _) = canned(200, b"{\"dummy_output\": \"not a number\"").await;
    static BIG: [u8; 2 << 20] = [b' '; 2 << 20];
    let (oversized, _) = canned(200, &BIG).await;
    let (teapot, _) = canned(418, b"{\"message\": \"short and stout\"}").await;
    let slow = rogue(false).await;
    let garbage = rogue(true).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let miner = hotkey(MINER);
    let targets: Vec<Target> = [
        axon.local_addr(),
        malformed,
        oversized,
        teapot,
        slow,
        garbage,
        closed,
    ]
    .iter()
    .enumerate()
    .map(|(i, a)| Target::new(Uid(u16::try_from(i).unwrap()), miner, *a))
    .collect();
    let d = Dendrite::with_config(
        key(MEMBER),
        DendriteConfig {
            max_response_bytes: 1 << 20,
            ..DendriteConfig::default()
        },
    );
    let timeout = Duration::from_secs(1);
    let started = Instant::now();
    let rs = d.query(&targets, &Dummy { dummy_input: 6 }, timeout).await;
    // The deadline bound itself, with generous room for a loaded machine.
    assert!(
        started.elapsed() < timeout + Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    let got: Vec<(u16, u16)> = rs.iter().map(|r| (r.uid.0, r.status.0)).collect();
    assert_eq!(
        got,
        vec![
            (0, 200),
            (1, 422),
            (2, 422),
            (3, 418),
            (4, 408),
            (5, 503),
            (6, 503)
        ]
    );
    assert_eq!(
        rs[0].payload,
        Some(DummyOutput {
            dummy_output: Some(12)
        })
    );
    assert!(rs[0].signature_verified);
    assert!(
        rs[1].message.starts_with("Failed to parse response"),
        "{}",
        rs[1].message
    );
    assert!(
        rs[2].message.contains("larger than 1048576 bytes"),
        "{}",
        rs[2].message
    );
    assert_eq!(rs[3].message, "short and stout");
    assert_eq!(rs[4].message, "Request timeout after 1.0 seconds");
    assert!(
        rs[6].message.starts_with("Service unavailable at"),
        "{}",
        rs[6].message
    );
    assert!(
        rs.iter()
            .all(|r| r.latency <= timeout + Duration::from_millis(500))
    );
    assert!(
        rs[1..]
            .iter()
            .all(|r| r.payload.is_none() && !r.signature_verified)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_reused() {
    let (addr, accepted) = canned(200, b"{\"dummy_output\": 1}").await;
    let d = Dendrite::new(key(MEMBER));
    let t = Target::new(Uid(0), hotkey(MINER), addr);
    for _ in 0..20 {
        let r = d
            .call(&t, &Dummy { dummy_input: 1 }, Duration::from_secs(5))
            .await;
        assert_eq!(
            r.payload,
            Some(DummyOutput {
                dummy_output: Some(1)
            })
        );
        // An unsigned answer from a server that is not a Subforge axon.
        assert!(!r.signature_verified);
    }
    // A connection goes back to the pool a moment after its answer is read, so a call
    // right behind it may open a second one on a busy machine; never one per call.
    let opened = accepted.load(Ordering::SeqCst);
    assert!(
        (1..=3).contains(&opened),
        "{opened} connections for 20 calls"
    );
}

/// A server that answers 200 with a well-formed Subforge response signature by the miner's
/// key, but over another message.
async fn forger() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let forged = key(MINER).sign(b"an answer to some other request").to_hex();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let forged = forged.clone();
            let svc = hyper::service::service_fn(move |_req| {
                let forged = forged.clone();
                async move {
                    let r = http::Response::builder()
                        .header(response::SIGNED_BY, hotkey(MINER).to_ss58())
                        .header(response::SIGNATURE, forged)
                        .body(Full::new(Bytes::from_static(b"{\"dummy_output\": 12}")))
                        .unwrap();
                    Ok::<_, Infallible>(r)
                }
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), svc));
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_answer_signature_fails_alone_among_good_ones() {
    let mut axons = Vec::new();
    for _ in 0..6 {
        axons.push(dummy_axon(AxonLimits::default()).await.0);
    }
    let mut addrs: Vec<SocketAddr> = axons.iter().map(|a| a.local_addr()).collect();
    addrs.insert(3, forger().await);
    let targets: Vec<Target> = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| Target::new(Uid(u16::try_from(i).unwrap()), hotkey(MINER), *a))
        .collect();
    let d = Dendrite::new(key(MEMBER));
    // Signed with prepared nonces, which our axons check like any other signature.
    d.signer().fill();
    // Answers that arrive together are checked as one batch; whichever way they group, the
    // forgery is refused and every genuine answer is accepted.
    for _ in 0..5 {
        let rs = d
            .query(&targets, &Dummy { dummy_input: 6 }, Duration::from_secs(5))
            .await;
        for r in &rs {
            assert_eq!(r.status.0, 200, "uid {}: {}", r.uid, r.message);
            assert_eq!(
                r.payload,
                Some(DummyOutput {
                    dummy_output: Some(12)
                })
            );
            assert_eq!(r.signature_verified, r.uid != Uid(3), "uid {}", r.uid);
        }
    }
}
