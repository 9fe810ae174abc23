//! What the gateway costs, measured side by side in one run on loopback: the same text task
//! asked of the same miner directly with a dendrite, and through the gateway over HTTP.
//! Figures go to `docs/performance.md`.
//!
//! ```sh
//! cargo run --release -p subforge-subnet-text --example gateway_bench
//! cargo run --release -p subforge-subnet-text --example gateway_bench -- --rounds 10 --per-round 500 --concurrency 32 --seconds 2
//! ```
//!
//! A localnet with one n-gram miner (and one validator, whose hotkey the gateway signs with;
//! blocks every 2 s, so the validator's own queries are rare). Latency: `rounds` alternating
//! slices of `per-round` sequential requests, direct then gateway, so both see the same
//! machine. Throughput: `concurrency` workers for `seconds`, direct then gateway, alternating,
//! twice each. The gateway asks one miner per query (`--miners-per-query 1`), so both paths do
//! the same miner work; what differs is the gateway's HTTP hop, routing, admission and JSON.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use subforge_sdk::gateway::limits::KeyLimits;
use subforge_sdk::gateway::{self, GatewayConfig};
use subforge_sdk::localnet::{Localnet, LocalnetConfig};
use subforge_sdk::net::{Dendrite, Target};
use subforge_sdk::registry::{MinerSpec, Registry};
use subforge_subnet_text::{TextGeneration, TextSubnet};

const TIMEOUT: Duration = Duration::from_secs(5);

struct Args {
    rounds: usize,
    per_round: usize,
    concurrency: usize,
    seconds: f64,
}

const USAGE: &str = "gateway_bench [--rounds N] [--per-round N] [--concurrency N] [--seconds S]";

/// Stops with a one-line error and the usage, as a command-line tool should.
fn usage_error(message: &str) -> ! {
    eprintln!("error: {message}\nusage: {USAGE}");
    std::process::exit(2);
}

/// The value after `flag`, parsed.
fn flag_value<V: std::str::FromStr>(flag: &str, value: Option<String>) -> V {
    let Some(text) = value else {
        usage_error(&format!("{flag} needs a value"));
    };
    text.parse()
        .unwrap_or_else(|_| usage_error(&format!("{flag} {text}: not a number")))
}

fn args() -> Args {
    let mut a = Args {
        rounds: 10,
        per_round: 300,
        concurrency: 32,
        seconds: 2.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--rounds" => a.rounds = flag_value(&flag, it.next()),
            "--per-round" => a.per_round = flag_value(&flag, it.next()),
            "--concurrency" => a.concurrency = flag_value(&flag, it.next()),
            "--seconds" => a.seconds = flag_value(&flag, it.next()),
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => usage_error(&format!("unknown flag {other}")),
        }
    }
    a
}

/// The two ways of asking the miner.
#[derive(Clone)]
struct Paths {
    dendrite: Arc<Dendrite>,
    target: Target,
    http: Client<HttpConnector, Full<Bytes>>,
    url: String,
}

const PROMPT: &str = "The river Seithe";

impl Paths {
    async fn direct(&self) {
        let task = TextGeneration {
            prompt: PROMPT.into(),
            max_words: 8,
        };
        let r = self.dendrite.call(&self.target, &task, TIMEOUT).await;
        assert!(r.status.is_success(), "{}: {}", r.status, r.message);
    }

    async fn gateway(&self) {
        let body = format!(r#"{{"prompt":"{PROMPT}","max_words":8}}"#);
        let req = hyper::Request::post(&self.url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let res = self.http.request(req).await.unwrap();
        let status = res.status();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert!(status.is_success(), "{status}: {body:?}");
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn throughput(paths: &Paths, gateway: bool, workers: usize, seconds: f64) -> f64 {
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let p = paths.clone();
        set.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < end {
                if gateway {
                    p.gateway().await;
                } else {
                    p.direct().await;
                }
                n += 1;
            }
            n
        });
    }
    let started = Instant::now();
    let mut total = 0;
    while let Some(n) = set.join_next().await {
        total += n.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let a = args();
    let registry = Registry::new().with(&TextSubnet);
    let mut config = LocalnetConfig::new(&TextSubnet, 1, 1);
    config.miners = vec![MinerSpec::model("ngram:6")];
    config.tempo = 1000;
    config.block_time = Duration::from_secs(2);
    let net = Localnet::start(&registry, &config, |_| {}).await.unwrap();
    let hotkey = net.validator_hotkey(0).unwrap().clone();
    let chain: Arc<dyn subforge_sdk::chain::Chain> = Arc::new(net.chain().clone());
    let metagraph = chain.metagraph(net.netuid()).await.unwrap();
    let target = Target::serving(&metagraph)
        .into_iter()
        .next()
        .expect("the miner serves");
    let running = gateway::serve(
        &TextSubnet,
        chain,
        net.netuid(),
        hotkey.clone(),
        GatewayConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            miners_per_query: 1,
            limits: KeyLimits {
                requests_per_second: 0.0,
                burst: 1,
                max_concurrent: u32::MAX,
            },
            ..GatewayConfig::default()
        },
    )
    .await
    .unwrap();
    let paths = Paths {
        dendrite: Arc::new(Dendrite::new(hotkey)),
        target,
        http: Client::builder(TokioExecutor::new()).build_http(),
        url: format!("http://{}/v1/tasks/TextGeneration", running.local_addr()),
    };

    // Warm both paths: connections open, the gateway has seen the miner.
    for _ in 0..200 {
        paths.direct().await;
        paths.gateway().await;
    }

    let (mut direct, mut through) = (Vec::new(), Vec::new());
    for _ in 0..a.rounds {
        for _ in 0..a.per_round {
            let t = Instant::now();
            paths.direct().await;
            direct.push(t.elapsed());
        }
        for _ in 0..a.per_round {
            let t = Instant::now();
            paths.gateway().await;
            through.push(t.elapsed());
        }
    }
    direct.sort_unstable();
    through.sort_unstable();
    let (d50, g50) = (percentile(&direct, 0.5), percentile(&through, 0.5));
    let (d99, g99) = (percentile(&direct, 0.99), percentile(&through, 0.99));
    println!(
        "latency, {} sequential requests each, {} alternating rounds:",
        direct.len(),
        a.rounds
    );
    println!(
        "  direct dendrite   p50 {:>8.1} µs  p99 {:>8.1} µs",
        micros(d50),
        micros(d99)
    );
    println!(
        "  through gateway   p50 {:>8.1} µs  p99 {:>8.1} µs",
        micros(g50),
        micros(g99)
    );
    println!(
        "  added by gateway  p50 {:>8.1} µs  p99 {:>8.1} µs",
        micros(g50) - micros(d50),
        micros(g99) - micros(d99)
    );

    let mut direct_rps = Vec::new();
    let mut gateway_rps = Vec::new();
    for _ in 0..2 {
        direct_rps.push(throughput(&paths, false, a.concurrency, a.seconds).await);
        gateway_rps.push(throughput(&paths, true, a.concurrency, a.seconds).await);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "throughput, {} concurrent workers, 2 × {} s slices each:",
        a.concurrency, a.seconds
    );
    println!(
        "  direct dendrite   {:>8.0} req/s  ({:.0}, {:.0})",
        mean(&direct_rps),
        direct_rps[0],
        direct_rps[1]
    );
    println!(
        "  through gateway   {:>8.0} req/s  ({:.0}, {:.0})",
        mean(&gateway_rps),
        gateway_rps[0],
        gateway_rps[1]
    );

    running.shutdown().await;
    net.shutdown().await.unwrap();
}
