//! What the networking tests share: a task like the Python SDK's `Dummy`, keys, a metagraph,
//! a raw HTTP client for malformed requests, and the Python peers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use subforge_core::identity::Keypair;
use subforge_core::{
    AxonInfo, Balance, Block, Caller, Coldkey, HandlerError, Hotkey, Hyperparameters, Metagraph,
    MinerHandler, NetUid, U16Proportion, Uid, async_trait,
};
use subforge_sdk::net::{Axon, AxonLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// The Python SDK's test synapse: `dummy_input: int`, `dummy_output: Optional[int]`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub(crate) struct Dummy {
    pub(crate) dummy_input: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub(crate) struct DummyOutput {
    pub(crate) dummy_output: Option<i64>,
}

impl subforge_core::Task for Dummy {
    const NAME: &'static str = "Dummy";
    const TIMEOUT: Duration = Duration::from_secs(5);
    const HASH_FIELDS: &'static [&'static str] = &["dummy_input"];
    type Response = DummyOutput;
    type Reference = i64;
}

pub(crate) const MEMBER: &str = "//Alice";
pub(crate) const MINER: &str = "//Bob";
pub(crate) const STRANGER: &str = "//Eve";

pub(crate) fn key(uri: &str) -> Keypair {
    Keypair::from_uri(uri).unwrap()
}

pub(crate) fn hotkey(uri: &str) -> Hotkey {
    Hotkey(key(uri).public())
}

/// Counts handler futures that were dropped before finishing.
#[derive(Debug, Default, Clone)]
pub(crate) struct Drops(pub(crate) Arc<AtomicUsize>);

struct DropFlag(Arc<AtomicUsize>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Doubles its input; a negative input never finishes (until dropped); 1000 sleeps 800 ms.
#[derive(Debug, Default, Clone)]
pub(crate) struct Doubler {
    pub(crate) dropped: Drops,
}

#[async_trait]
impl MinerHandler<Dummy> for Doubler {
    async fn forward(&self, task: Dummy, _: &Caller) -> Result<DummyOutput, HandlerError> {
        if task.dummy_input < 0 {
            let _flag = DropFlag(Arc::clone(&self.dropped.0));
            std::future::pending::<()>().await;
        }
        if task.dummy_input == 1000 {
            tokio::time::sleep(Duration::from_millis(800)).await;
        }
        Ok(DummyOutput {
            dummy_output: Some(task.dummy_input * 2),
        })
    }
}

/// A metagraph in which `members` hold uids 0.. with 1000 TAO each.
pub(crate) fn metagraph(members: &[Hotkey]) -> Metagraph {
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

/// Our axon on 127.0.0.1, port 0, serving `Dummy` with the miner's key; the member is
/// registered, the stranger is not.
pub(crate) async fn dummy_axon(limits: AxonLimits) -> (Axon, Doubler) {
    let handler = Doubler::default();
    let (_tx, rx) = watch::channel(metagraph(&[hotkey(MEMBER), hotkey(MINER)]));
    let axon = Axon::builder(key(MINER))
        .metagraph(rx)
        .limits(limits)
        .serve::<Dummy, _>(handler.clone())
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (axon, handler)
}

/// A parsed HTTP response from [`raw`].
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) head: String,
    pub(crate) body: Vec<u8>,
}

impl RawResponse {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub(crate) fn message(&self) -> String {
        self.json()["message"].as_str().unwrap_or("").to_owned()
    }
}

/// Sends raw bytes (one request, connection closed after) and reads the answer; `None` if
/// the server closed without answering.
pub(crate) async fn raw(addr: SocketAddr, request: &[u8]) -> Option<RawResponse> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.ok()?;
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), async {
        let mut chunk = [0u8; 8192];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if let Some(resp) = parse(&buf) {
                return Some(resp);
            }
        }
        parse(&buf)
    })
    .await;
    read.ok().flatten()
}

fn parse(buf: &[u8]) -> Option<RawResponse> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let body = buf.get(end + 4..end + 4 + len)?.to_vec();
    Some(RawResponse { status, head, body })
}

/// A request with the given extra header lines and body.
pub(crate) fn request(path: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Signed Synapse headers for `body` (which must be the encoded Dummy) to `axon`.
pub(crate) fn synapse_headers(
    signer: &Keypair,
    axon: &Hotkey,
    task: &Dummy,
    timeout: Duration,
    nonce: u64,
    uuid: &str,
) -> (Vec<(String, String)>, bytes::Bytes) {
    use subforge_sdk::net::wire::legacy;
    let enc = legacy::encode(task, timeout).unwrap();
    let mut h = http::HeaderMap::new();
    legacy::sign(
        &mut h,
        &enc,
        "Dummy",
        signer,
        uuid,
        nonce,
        axon,
        "127.0.0.1:8091".parse().unwrap(),
    );
    h.insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    let pairs = h
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    (pairs, enc.body)
}

pub(crate) fn as_refs(h: &[(String, String)]) -> Vec<(&str, String)> {
    h.iter().map(|(k, v)| (k.as_str(), v.clone())).collect()
}

/// The interpreter of a venv with `package` installed by `scripts/pyenv.sh` under the
/// target directory (created on first use; .ci/run creates them beforehand).
pub(crate) fn python(venv: &str, package: &str) -> PathBuf {
    crate::python::venv(venv, &[package])
}

pub(crate) fn peer_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/all/py/peer.py")
}

/// A scratch HOME for the Python SDK (it writes logs and wallets there).
pub(crate) fn scratch_home() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("py-home");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the peer in `mode` with `config` on stdin; returns its JSON output.
pub(crate) async fn run_peer(
    python: &std::path::Path,
    mode: &str,
    config: serde_json::Value,
) -> serde_json::Value {
    crate::python::run_peer_at(python, &peer_script(), &scratch_home(), mode, config).await
}

/// A free port on 127.0.0.1 for a Python axon (which refuses port 0).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Python 10.x axon serving `Dummy` (doubling) with `uri`'s key; stops when dropped.
pub(crate) struct PythonAxon {
    _child: tokio::process::Child,
    pub(crate) addr: SocketAddr,
    pub(crate) hotkey: Hotkey,
}

impl PythonAxon {
    pub(crate) async fn start(python: &PathBuf, uri: &str) -> Self {
        let port = free_port();
        let mut child = tokio::process::Command::new(python)
            .arg(peer_script())
            .arg("axon10")
            .env("HOME", scratch_home())
            .env("BT_NO_PARSE_CLI_ARGS", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{}\n", serde_json::json!({"uri": uri, "port": port})).as_bytes())
            .await
            .unwrap();
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(60),
            tokio::io::AsyncBufReadExt::read_line(&mut stdout, &mut line),
        )
        .await
        .expect("python axon did not start")
        .unwrap();
        let info: serde_json::Value = serde_json::from_str(&line).unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        // uvicorn starts in a background thread: wait until it accepts.
        for _ in 0..200 {
            if TcpStream::connect(addr).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Self {
            _child: child,
            addr,
            hotkey: Hotkey::from_ss58(info["hotkey"].as_str().unwrap()).unwrap(),
        }
    }
}
