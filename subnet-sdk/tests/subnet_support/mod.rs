//! Test support for subnet crates: a subnet's miners and validators on an instant embedded
//! chain with real axons on loopback, and fake miners that misbehave on the wire. Included by
//! the subnets' integration tests with `#[path]`, beside `chain_support.rs`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use subforge_core::{AxonInfo, Balance, NetUid, Uid};
use subforge_sdk::chain::{Chain, LocalChain};
use subforge_sdk::neuron::{Miner, MinerConfig, RunningMiner, ValidatorConfig};
use subforge_sdk::registry::{MinerSpec, ScorerChoice, SubnetKind, ValidatorRunner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::chain_support::*;

/// A validator step must end within its query timeout plus this; longer means it stalled.
pub(crate) const STALL_GUARD: Duration = Duration::from_secs(30);

/// A dev chain where every extrinsic makes a block, with a fast subnet.
pub(crate) async fn chain_and_subnet() -> (LocalChain, Arc<dyn Chain>, NetUid) {
    let chain = LocalChain::builder().dev().instant().open().unwrap();
    let netuid = fast_subnet(&chain, 20).await;
    let shared: Arc<dyn Chain> = Arc::new(chain.clone());
    (chain, shared, netuid)
}

/// Registers and starts one miner of `kind` per model, paid by `//Bob`, serving on 127.0.0.1.
pub(crate) async fn start_miners(
    kind: &dyn SubnetKind,
    chain: &LocalChain,
    shared: &Arc<dyn Chain>,
    netuid: NetUid,
    models: &[&str],
) -> Vec<RunningMiner> {
    let mut out = Vec::new();
    for (i, m) in models.iter().enumerate() {
        let hotkey = key(&format!("//Bob//miner{i}"));
        register(chain, &bob(), netuid, &hotkey).await;
        let mut config = MinerConfig::new(netuid);
        config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        let miner = Miner::new(shared.clone(), hotkey, config);
        out.push(
            kind.start_miner(miner, &MinerSpec::model(*m))
                .await
                .unwrap(),
        );
    }
    out
}

/// Registers a validator hotkey paid by `//Charlie` and stakes 100 TAO on it.
pub(crate) async fn register_validator(chain: &LocalChain, netuid: NetUid, uri: &str) -> Uid {
    let hotkey = key(uri);
    let uid = register(chain, &charlie(), netuid, &hotkey).await;
    chain
        .add_stake(&charlie(), &hot(&hotkey), netuid, Balance::from_tao(100))
        .await
        .unwrap();
    uid
}

/// How long the validators of [`validator`] wait for answers.
pub(crate) const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// A validator of `kind` with a fixed challenge seed and a [`QUERY_TIMEOUT`], keeping its
/// state in `dir`.
pub(crate) fn validator(
    kind: &dyn SubnetKind,
    shared: &Arc<dyn Chain>,
    netuid: NetUid,
    uri: &str,
    dir: &std::path::Path,
    scoring: ScorerChoice,
) -> Box<dyn ValidatorRunner> {
    let mut config = ValidatorConfig::new(netuid, dir);
    config.seed = Some(11);
    config.moving_average_alpha = 0.5;
    config.timeout = Some(QUERY_TIMEOUT);
    kind.validator(shared.clone(), key(uri), config, &scoring)
        .unwrap()
}

/// How a fake axon misbehaves.
#[derive(Clone, Debug)]
pub(crate) enum Misbehaviour {
    /// Reads the request and never answers.
    Silent,
    /// Answers 200 with this body, whatever was asked.
    Answers(&'static str),
    /// Answers 200 with a body far past the dendrite's cap.
    Oversized,
}

/// A fake axon on 127.0.0.1 that misbehaves as told; its tasks stop with the runtime.
pub(crate) async fn fake_axon(how: Misbehaviour) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let how = how.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 << 10];
                let _ = socket.read(&mut buf).await;
                match how {
                    Misbehaviour::Silent => {
                        tokio::time::sleep(Duration::from_secs(600)).await;
                    }
                    Misbehaviour::Answers(body) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                            body.len()
                        );
                        let _ = socket.write_all(head.as_bytes()).await;
                        let _ = socket.write_all(body.as_bytes()).await;
                    }
                    Misbehaviour::Oversized => {
                        let len: usize = 256 << 20;
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n{{\"x\": \""
                        );
                        let _ = socket.write_all(head.as_bytes()).await;
                        let chunk = vec![b'a'; 1 << 20];
                        for _ in 0..256 {
                            if socket.write_all(&chunk).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

/// Registers `uri` and publishes `addr` as its axon.
pub(crate) async fn fake_miner(
    chain: &LocalChain,
    netuid: NetUid,
    uri: &str,
    addr: SocketAddr,
) -> Uid {
    let hotkey = key(uri);
    let uid = register(chain, &bob(), netuid, &hotkey).await;
    let axon = AxonInfo {
        ip: addr.ip(),
        port: addr.port(),
        ..AxonInfo::default()
    };
    chain.serve_axon(&hotkey, netuid, &axon).await.unwrap();
    uid
}

/// The bit patterns of `scores`, for exact comparisons.
pub(crate) fn bits(scores: &[f64]) -> Vec<u64> {
    scores.iter().map(|x| x.to_bits()).collect()
}

/// Runs the Python peer (`subnet-sdk/tests/all/py/peer.py`) in `mode` with `python`, `config`
/// on stdin; returns the JSON it prints last.
pub(crate) async fn run_python_peer(
    python: &std::path::Path,
    mode: &str,
    config: serde_json::Value,
) -> serde_json::Value {
    let script = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../subnet-sdk/tests/all/py/peer.py"
    ));
    let home = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("py-home");
    std::fs::create_dir_all(&home).unwrap();
    super::python::run_peer_at(python, script, &home, mode, config).await
}

/// Steps a native and a WASM validator of the same seed `steps` times in lockstep: each step
/// both ask the same task of the same miners, get the same outcomes, and score them bit for
/// bit alike. Returns the native validator's reports.
pub(crate) async fn lockstep(
    native: &mut Box<dyn ValidatorRunner>,
    wasm: &mut Box<dyn ValidatorRunner>,
    steps: usize,
) -> Vec<subforge_sdk::neuron::StepReport> {
    let mut reports = Vec::with_capacity(steps);
    for _ in 0..steps {
        let a = tokio::time::timeout(STALL_GUARD, native.step())
            .await
            .expect("the native validator stalled")
            .unwrap();
        let b = tokio::time::timeout(STALL_GUARD, wasm.step())
            .await
            .expect("the WASM validator stalled")
            .unwrap();
        assert_eq!(a.task, b.task, "step {}", a.step);
        let seen = |r: &subforge_sdk::neuron::StepReport| {
            r.queried
                .iter()
                .map(|&(uid, status, score)| (uid, status, score.to_bits()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            seen(&a),
            seen(&b),
            "step {}: native and WASM differ",
            a.step
        );
        reports.push(a);
    }
    reports
}

/// Runs a small localnet of `kind` with one miner of each of `models` (best, middle, junk)
/// and a native and a WASM validator for five epochs, and checks the books: the better model
/// earns more, junk earns nothing, and every rao minted is paid out or pending.
pub(crate) async fn graded_localnet(kind: &'static dyn SubnetKind, models: [&str; 3]) {
    use subforge_sdk::localnet::{Localnet, LocalnetConfig, ReportRow, Role};

    let registry = subforge_sdk::registry::Registry::new().with(kind);
    let mut config = LocalnetConfig::new(kind, 3, 2);
    config.miners = models.iter().map(|m| MinerSpec::model(*m)).collect();
    config.tempo = 10;
    config.block_time = Duration::from_millis(60);
    config.seed = Some(2);
    let mut net = Localnet::start(&registry, &config, |_| {}).await.unwrap();
    net.run_epochs(5, |_| {}).await.unwrap();
    let report = net.report().await.unwrap();
    net.shutdown().await.unwrap();

    let miner = |model: &str| -> &ReportRow {
        report
            .rows
            .iter()
            .find(|r| r.role == Role::Miner(model.to_owned()))
            .unwrap_or_else(|| panic!("no {model} miner in {:?}", report.rows))
    };
    let [best, middle, junk] = models.map(miner);
    assert!(best.earned > middle.earned, "{best:?} vs {middle:?}");
    assert!(middle.earned > junk.earned, "{middle:?} vs {junk:?}");
    assert!(junk.earned.is_zero(), "{junk:?}");
    assert!(
        report.verdict.ends_with("earned nothing"),
        "{}",
        report.verdict
    );
    assert_eq!(report.distributed, report.minted);
}

/// A response of `uid` carrying `payload` (a timeout when `None`), for scorer tests.
pub(crate) fn response<T: subforge_core::Task>(
    uid: u16,
    payload: Option<T::Response>,
) -> subforge_core::MinerResponse<T> {
    subforge_core::MinerResponse {
        uid: Uid(uid),
        hotkey: subforge_core::Hotkey(subforge_core::AccountId([uid as u8; 32])),
        status: if payload.is_some() {
            subforge_core::StatusCode::SUCCESS
        } else {
            subforge_core::StatusCode::TIMEOUT
        },
        message: String::new(),
        latency: Duration::from_micros(u64::from(uid) * 41),
        payload,
        signature_verified: true,
    }
}

/// Two validators of `kind` with 100 TAO each and permits, one scoring natively
/// (`//Charlie//native`) and one in WASM (`//Charlie//wasm`), with the same challenge seed;
/// their state folders live as long as the returned guard.
pub(crate) async fn validator_pair(
    kind: &dyn SubnetKind,
    chain: &LocalChain,
    shared: &Arc<dyn Chain>,
    netuid: NetUid,
) -> (
    Box<dyn ValidatorRunner>,
    Box<dyn ValidatorRunner>,
    [tempfile::TempDir; 2],
) {
    register_validator(chain, netuid, "//Charlie//native").await;
    register_validator(chain, netuid, "//Charlie//wasm").await;
    // The epoch hands out validator permits.
    run_epoch(chain, netuid).await;
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let native = validator(
        kind,
        shared,
        netuid,
        "//Charlie//native",
        dirs[0].path(),
        ScorerChoice::Native,
    );
    let wasm = validator(
        kind,
        shared,
        netuid,
        "//Charlie//wasm",
        dirs[1].path(),
        ScorerChoice::Wasm(Vec::new()),
    );
    (native, wasm, dirs)
}
