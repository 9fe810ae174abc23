//! Side-by-side benchmark on loopback: our axon and a Python `bittensor==10.5.0` axon under
//! the same number of concurrent signed Synapse requests, then one dendrite fanning out to
//! 256 axons. Figures go to `docs/performance.md`.
//!
//! ```sh
//! cargo run --release -p subforge-sdk --example axon_bench
//! cargo run --release -p subforge-sdk --example axon_bench -- --concurrency 32 --seconds 10 --skip-python
//! ```
//!
//! The Python axon runs from the venv `scripts/pyenv.sh` makes under
//! `$CARGO_TARGET_DIR/pyenv/bt10` (created on first use).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use subforge_core::identity::Keypair;
use subforge_core::{
    AxonInfo, Balance, Block, Caller, Coldkey, HandlerError, Hotkey, Hyperparameters, Metagraph,
    MinerHandler, NetUid, Task, U16Proportion, Uid, async_trait,
};
use subforge_sdk::net::{Axon, AxonLimits, Dendrite, Target};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::watch;

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
struct Dummy {
    dummy_input: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
struct DummyOutput {
    dummy_output: Option<i64>,
    /// How long our handler actually took (its sleep overshoots by up to a timer tick); the
    /// Python axon leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    handler_micros: Option<u64>,
    /// When our handler started, in microseconds since the Unix epoch (the fan-out's axons
    /// run on the same machine, so this places each miner's work on the dendrite's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started_micros: Option<u64>,
}

impl Task for Dummy {
    const NAME: &'static str = "Dummy";
    const HASH_FIELDS: &'static [&'static str] = &["dummy_input"];
    type Response = DummyOutput;
    type Reference = ();
}

/// Doubles the input after sleeping `delay`.
struct Doubler(Duration);

#[async_trait]
impl MinerHandler<Dummy> for Doubler {
    async fn forward(&self, task: Dummy, _: &Caller) -> Result<DummyOutput, HandlerError> {
        let start = Instant::now();
        let started_micros = unix_micros();
        if !self.0.is_zero() {
            tokio::time::sleep(self.0).await;
        }
        Ok(DummyOutput {
            dummy_output: Some(task.dummy_input * 2),
            handler_micros: u64::try_from(start.elapsed().as_micros()).ok(),
            started_micros: Some(started_micros),
        })
    }
}

struct Args {
    concurrency: usize,
    seconds: f64,
    skip_python: bool,
    per_worker: usize,
    slices: usize,
    fanout: usize,
    rounds: u32,
    delay: Duration,
}

const USAGE: &str = "usage: axon_bench [--concurrency N] [--seconds S] [--slices N] \
[--per-worker N] [--fanout N] [--rounds N] [--delay-ms N] [--skip-python]

  --concurrency N  connections driving each axon (64)
  --seconds S      throughput measurement time, shared by both axons (10)
  --slices N       alternating slices the time is cut into (5)
  --per-worker N   requests signed ahead per connection and slice (400)
  --fanout N       axons the dendrite fans out to (256)
  --rounds N       fan-out rounds measured per handler profile (20)
  --delay-ms N     the slowest handler's time in the fan-out (50)
  --skip-python    measure our axon only";

fn args() -> Args {
    let mut a = Args {
        concurrency: 64,
        seconds: 10.0,
        skip_python: false,
        per_worker: 400,
        slices: 5,
        fanout: 256,
        rounds: 20,
        delay: Duration::from_millis(50),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let flag = argv[i].as_str();
        let value = argv.get(i + 1).map_or("", String::as_str);
        match flag {
            "--concurrency" => a.concurrency = number(flag, value),
            "--seconds" => a.seconds = number(flag, value),
            "--per-worker" => a.per_worker = number(flag, value),
            "--slices" => a.slices = number::<usize>(flag, value).max(1),
            "--fanout" => a.fanout = number::<usize>(flag, value).max(1),
            "--rounds" => a.rounds = number::<u32>(flag, value).max(1),
            "--delay-ms" => a.delay = Duration::from_millis(number(flag, value)),
            "--skip-python" => {
                a.skip_python = true;
                i += 1;
                continue;
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => usage_error(&format!("unknown argument {other}")),
        }
        i += 2;
    }
    a
}

/// The value of `flag`, or the usage and exit code 2.
fn number<T: std::str::FromStr>(flag: &str, value: &str) -> T {
    value
        .parse()
        .unwrap_or_else(|_| usage_error(&format!("{flag} needs a number, got `{value}`")))
}

fn usage_error(message: &str) -> ! {
    eprintln!("{message}\n\n{USAGE}");
    std::process::exit(2);
}

fn metagraph(members: &[Hotkey]) -> Metagraph {
    let mut m = Metagraph::empty(NetUid(1), Block(1), Hyperparameters::default());
    for (i, hk) in members.iter().enumerate() {
        m.uids.push(Uid(u16::try_from(i).unwrap()));
        m.hotkeys.push(*hk);
        m.coldkeys.push(Coldkey(*hk.account()));
        m.stake.push(Balance::from_tao(1000));
        m.consensus.push(U16Proportion::ZERO);
        m.validator_trust.push(U16Proportion::ZERO);
        m.incentive.push(U16Proportion::ZERO);
        m.dividends.push(U16Proportion::ZERO);
        m.emission.push(Balance::ZERO);
        m.active.push(true);
        m.last_update.push(Block(0));
        m.validator_permit.push(true);
        m.block_at_registration.push(Block(0));
        m.axons.push(AxonInfo::default());
    }
    m
}

#[derive(Default)]
struct Figures {
    ok: usize,
    failed: usize,
    rps: f64,
    p50: Duration,
    p99: Duration,
    latencies: Vec<Duration>,
    seconds: f64,
}

impl Figures {
    fn from_run(mut latencies: Vec<Duration>, failed: usize, seconds: f64) -> Self {
        latencies.sort_unstable();
        let pct = |p: f64| {
            latencies
                .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        Self {
            ok: latencies.len(),
            failed,
            rps: latencies.len() as f64 / seconds.max(f64::MIN_POSITIVE),
            p50: pct(0.50),
            p99: pct(0.99),
            seconds,
            latencies,
        }
    }

    fn merge(self, other: Self) -> Self {
        let mut latencies = self.latencies;
        latencies.extend(other.latencies);
        Self::from_run(
            latencies,
            self.failed + other.failed,
            self.seconds + other.seconds,
        )
    }
}

/// `concurrency` workers, each with its own dendrite UUID (so a Python axon's per-dendrite
/// nonce order holds) and `per_worker` requests signed beforehand, so that during the
/// measurement the load generator only sends and the server gets the machine. Every answer
/// must be 200. Runs until the time is up or the requests are spent.
async fn drive(
    addr: SocketAddr,
    axon: Hotkey,
    concurrency: usize,
    per_worker: usize,
    seconds: f64,
) -> Figures {
    use http_body_util::{BodyExt, Full};
    use subforge_sdk::net::wire::legacy;

    let signer = Keypair::from_uri("//Alice").unwrap();
    // A 60 s timeout widens the nonce window (4 s + timeout) past signing and sending.
    let timeout = Duration::from_secs(60);
    let base = subforge_sdk::net::nonce::now_ns();
    let mut batches = Vec::new();
    for w in 0..concurrency {
        let uuid = format!("00000000-0000-1000-8000-{w:012}");
        let mut batch = Vec::with_capacity(per_worker);
        for i in 0..per_worker {
            let task = Dummy {
                dummy_input: i64::try_from(i).unwrap(),
            };
            let enc = legacy::encode(&task, timeout).unwrap();
            let mut h = http::HeaderMap::new();
            legacy::sign(
                &mut h,
                &enc,
                "Dummy",
                &signer,
                &uuid,
                base + (i * concurrency + w) as u64,
                &axon,
                addr,
            );
            h.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            batch.push((h, enc.body));
        }
        batches.push(batch);
    }
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_max_idle_per_host(concurrency)
        .build_http::<Full<bytes::Bytes>>();
    let uri: http::Uri = format!("http://{addr}/Dummy").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut workers = Vec::new();
    for batch in batches {
        let client = client.clone();
        let uri = uri.clone();
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failed = 0usize;
            for (headers, body) in batch {
                if Instant::now() >= deadline {
                    break;
                }
                let mut req = http::Request::post(uri.clone())
                    .body(Full::new(body))
                    .unwrap();
                *req.headers_mut() = headers;
                let t = Instant::now();
                let ok = match client.request(req).await {
                    Ok(resp) => {
                        let status = resp.status();
                        resp.into_body().collect().await.is_ok() && status == http::StatusCode::OK
                    }
                    Err(_) => false,
                };
                if ok {
                    lat.push(t.elapsed());
                } else {
                    failed += 1;
                }
            }
            (lat, failed)
        }));
    }
    let mut lat = Vec::new();
    let mut failed = 0;
    for w in workers {
        let (l, f) = w.await.unwrap();
        lat.extend(l);
        failed += f;
    }
    Figures::from_run(lat, failed, start.elapsed().as_secs_f64())
}

fn print(name: &str, f: &Figures) {
    println!(
        "{name:<22} {:>9.1} req/s   p50 {:>8.2} ms   p99 {:>8.2} ms   ({} ok, {} failed)",
        f.rps,
        f.p50.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3,
        f.ok,
        f.failed
    );
}

fn python() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let dir = PathBuf::from(target).join("pyenv/bt10");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/pyenv.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(&dir)
        .arg("bittensor==10.5.0")
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "scripts/pyenv.sh failed");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

async fn python_axon() -> (tokio::process::Child, SocketAddr, Hotkey) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = std::env::temp_dir().join("subforge-bench-home");
    std::fs::create_dir_all(&home).unwrap();
    let mut child = tokio::process::Command::new(python())
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/all/py/peer.py"))
        .arg("axon10")
        .env("HOME", home)
        .env("BT_NO_PARSE_CLI_ARGS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let cfg = serde_json::json!({"uri": "//Bob", "port": port});
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(format!("{cfg}\n").as_bytes())
        .await
        .unwrap();
    let mut line = String::new();
    tokio::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .await
        .unwrap();
    let info: serde_json::Value = serde_json::from_str(&line).unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    (
        child,
        addr,
        Hotkey::from_ss58(info["hotkey"].as_str().unwrap()).unwrap(),
    )
}

async fn our_axon(delay: Duration, limits: AxonLimits) -> Axon {
    let member = Hotkey(Keypair::from_uri("//Alice").unwrap().public());
    let (_tx, rx) = watch::channel(metagraph(&[member]));
    Axon::builder(Keypair::from_uri("//Bob").unwrap())
        .metagraph(rx)
        .limits(limits)
        .serve::<Dummy, _>(Doubler(delay))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// Runs our axon in this process until stdin closes (the bench starts itself this way, so
/// that, like the Python axon, the server has its own process and runtime).
async fn serve_ours(count: usize, delay: Duration, spread: bool) {
    let mut axons = Vec::new();
    for i in 0..count {
        // Spread: miner i takes delay·(i+1)/count, so answers arrive over the whole window.
        let d = if spread {
            delay * (i as u32 + 1) / count as u32
        } else {
            delay
        };
        axons.push(our_axon(d, bench_limits()).await);
    }
    let info: Vec<_> = axons
        .iter()
        .map(|a| serde_json::json!({"addr": a.local_addr().to_string(), "hotkey": a.hotkey().to_ss58()}))
        .collect();
    println!("{}", serde_json::Value::from(info));
    // Blocks one blocking-pool thread until the parent closes our stdin (or dies).
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut sink);
    })
    .await;
}

fn bench_limits() -> AxonLimits {
    AxonLimits {
        per_hotkey_in_flight: 4096,
        per_ip_in_flight: 4096,
        max_in_flight: 8192,
        ..AxonLimits::default()
    }
}

async fn our_axon_process(
    count: usize,
    delay: Duration,
    spread: bool,
) -> (tokio::process::Child, Vec<(SocketAddr, Hotkey)>) {
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .arg("--serve-ours")
        .arg(count.to_string())
        .arg(delay.as_millis().to_string())
        .arg(if spread { "spread" } else { "same" })
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut line = String::new();
    tokio::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .await
        .unwrap();
    let info: Vec<serde_json::Value> = serde_json::from_str(&line).unwrap();
    let axons = info
        .iter()
        .map(|a| {
            (
                a["addr"].as_str().unwrap().parse().unwrap(),
                Hotkey::from_ss58(a["hotkey"].as_str().unwrap()).unwrap(),
            )
        })
        .collect();
    (child, axons)
}

#[tokio::main]
async fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--serve-ours") {
        let count = argv[2].parse().unwrap();
        let delay = Duration::from_millis(argv[3].parse().unwrap());
        return serve_ours(count, delay, argv[4] == "spread").await;
    }
    let a = args();
    println!(
        "== axon throughput: {} concurrent signed Synapse requests, {} s each in {} alternating slices, loopback",
        a.concurrency, a.seconds, a.slices
    );
    let (ours, axons) = our_axon_process(1, Duration::ZERO, false).await;
    let (addr, hotkey) = axons[0];
    let _ = drive(addr, hotkey, a.concurrency, 50, 1.0).await; // warm up
    let python = if a.skip_python {
        None
    } else {
        let (child, addr, hotkey) = python_axon().await;
        let _ = drive(addr, hotkey, a.concurrency, 2, 1.0).await; // warm up
        Some((child, addr, hotkey))
    };
    // Alternate short slices so that both axons see the same machine, however busy.
    let slice = a.seconds / a.slices as f64;
    let mut rust = Figures::default();
    let mut py = Figures::default();
    for _ in 0..a.slices {
        rust = rust.merge(drive(addr, hotkey, a.concurrency, a.per_worker, slice).await);
        if let Some((_, paddr, phk)) = &python {
            py = py.merge(drive(*paddr, *phk, a.concurrency, 60, slice).await);
        }
    }
    print("subforge axon", &rust);
    drop(ours);
    if python.is_some() {
        print("python axon 10.5.0", &py);
        println!(
            "throughput ratio       {:.0}x",
            rust.rps / py.rps.max(f64::MIN_POSITIVE)
        );
    }
    drop(python);

    for spread in [false, true] {
        fan_out(&a, spread).await;
    }
}

/// One dendrite querying `a.fanout` axons (in another process) 20 times; prints what the
/// fan-out adds to the slowest miner's time (wall time minus the longest time a handler
/// measured for itself), next to a single-axon query.
async fn fan_out(a: &Args, spread: bool) {
    println!(
        "== dendrite fan-out: {} axons in another process, handlers sleep {} {} ms",
        a.fanout,
        if spread { "from 0 to" } else { "exactly" },
        a.delay.as_millis()
    );
    let (_fleet, axons) = our_axon_process(a.fanout, a.delay, spread).await;
    let targets: Vec<Target> = axons
        .iter()
        .enumerate()
        .map(|(i, (addr, hk))| Target::new(Uid(u16::try_from(i).unwrap()), *hk, *addr))
        .collect();
    let d = Dendrite::new(Keypair::from_uri("//Alice").unwrap());
    let task = Dummy { dummy_input: 1 };
    // First round opens the connections; the pool keeps them for the rounds measured.
    let _ = d.query(&targets, &task, Duration::from_secs(10)).await;
    let mut over = Vec::new();
    let mut nominal = Vec::new();
    let mut single = Vec::new();
    let mut cpu = Duration::ZERO;
    let mut to_last_start = Vec::new();
    let mut after_last_end = Vec::new();
    let last = targets.len() - 1;
    for _ in 0..a.rounds {
        let t = Instant::now();
        let began = unix_micros();
        let cpu_before = process_cpu();
        let rs = d.query(&targets, &task, Duration::from_secs(10)).await;
        let wall = t.elapsed();
        let ended = unix_micros();
        let (first_half, second_half) = phases(&rs, began, ended);
        to_last_start.push(first_half);
        after_last_end.push(second_half);
        cpu += process_cpu().saturating_sub(cpu_before);
        assert!(
            rs.iter()
                .all(|r| r.status.is_success() && r.signature_verified)
        );
        nominal.push(wall.saturating_sub(a.delay));
        over.push(wall.saturating_sub(slowest_handler(&rs)));
        // The slowest miner alone, for reference.
        let t = Instant::now();
        let r = d
            .query(&targets[last..], &task, Duration::from_secs(10))
            .await;
        assert!(r[0].status.is_success());
        single.push(t.elapsed().saturating_sub(slowest_handler(&r)));
    }
    over.sort_unstable();
    nominal.sort_unstable();
    single.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "fan-out to {:<4}         added {:>6.2} ms median, {:>6.2} ms worst of {} rounds",
        a.fanout,
        ms(over[over.len() / 2]),
        ms(over[over.len() - 1]),
        over.len()
    );
    println!(
        "  (wall time − {} ms:    {:>6.2} ms median, {:>6.2} ms worst; includes the handlers' timer overshoot)",
        a.delay.as_millis(),
        ms(nominal[nominal.len() / 2]),
        ms(nominal[nominal.len() - 1]),
    );
    to_last_start.sort_unstable();
    after_last_end.sort_unstable();
    println!(
        "  (the last handler started {:.2} ms after the query began; the query returned {:.2} ms after the last handler ended; medians)",
        ms(to_last_start[to_last_start.len() / 2]),
        ms(after_last_end[after_last_end.len() / 2]),
    );
    println!(
        "slowest axon alone      added {:>6.2} ms median, {:>6.2} ms worst",
        ms(single[single.len() / 2]),
        ms(single[single.len() - 1])
    );
    println!(
        "dendrite CPU time       {:>6.2} ms per fan-out (signing, HTTP, response checks)",
        ms(cpu / a.rounds)
    );
}

/// Microseconds since the Unix epoch.
fn unix_micros() -> u64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
}

/// How long after the query began the last handler started, and how long after the last
/// handler ended the query returned: the request half and the answer half of what a
/// fan-out adds.
fn phases(
    responses: &[subforge_core::MinerResponse<Dummy>],
    began: u64,
    ended: u64,
) -> (Duration, Duration) {
    let mut last_start = began;
    let mut last_end = began;
    for p in responses.iter().filter_map(|r| r.payload.as_ref()) {
        if let (Some(start), Some(took)) = (p.started_micros, p.handler_micros) {
            last_start = last_start.max(start);
            last_end = last_end.max(start + took);
        }
    }
    (
        Duration::from_micros(last_start.saturating_sub(began)),
        Duration::from_micros(ended.saturating_sub(last_end)),
    )
}

/// The longest time any handler reported for itself.
fn slowest_handler(responses: &[subforge_core::MinerResponse<Dummy>]) -> Duration {
    responses
        .iter()
        .filter_map(|r| r.payload.as_ref()?.handler_micros)
        .max()
        .map_or(Duration::ZERO, Duration::from_micros)
}

/// CPU time (user + system) this process has used, from `/proc/self/stat` (Linux).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or(vec![], |(_, rest)| rest.split(' ').collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the command name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}
