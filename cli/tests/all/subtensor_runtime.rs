//! A real subtensor runtime (`node-subtensor` spec 293, executed by Chopsticks on 127.0.0.1):
//! `subforge miner` and `subforge validator` register, serve and set weights the chain
//! accepts, an epoch pays the better miner, and the Python SDK reads the same neurons.
//!
//! Chopsticks comes from the npm registry on first use (`scripts/subtensor/chopsticks.sh`,
//! cached under the target folder); blocks are made when a transaction arrives and, while the
//! neurons run, once a second by this test.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use serde_json::Value as Json;
use subforge_core::chain::AxonInfo;
use subforge_core::{Balance, Block, NetUid, Uid};
use subforge_sdk::chain::subtensor::Subtensor;
use subforge_sdk::chain::subtensor::Value;
use subforge_sdk::chain::{
    ChainError, ChainTarget, Hyperparameter, Reveal, Weights, WeightsOutcome,
};

use super::chain_support::*;
use super::cli_neuron::{Neuron, wallet};
use crate::python;

/// Longest the runtime may take to start (the first run installs Chopsticks).
const START_GUARD: Duration = Duration::from_secs(300);
/// Longest the neurons may take to get weights and an epoch on chain.
const RUN_GUARD: Duration = Duration::from_secs(240);

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .to_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/subtensor")
        .join(name)
}

/// A process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The runtime under Chopsticks, and a raw connection for its development methods.
struct Runtime {
    _process: Process,
    url: String,
    rpc: WsClient,
    cache: PathBuf,
}

impl Runtime {
    async fn start() -> Self {
        let cache = target_dir().join("chopsticks");
        let port = free_port();
        let log =
            std::fs::File::create(target_dir().join(format!("chopsticks-{port}.log"))).unwrap();
        let child = Command::new(script("chopsticks.sh"))
            .arg(&cache)
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("cannot run scripts/subtensor/chopsticks.sh");
        let process = Process(child);
        let url = format!("ws://127.0.0.1:{port}");
        let deadline = Instant::now() + START_GUARD;
        let rpc = loop {
            if let Ok(c) = WsClientBuilder::default().build(&url).await
                && c.request::<Json, _>("chain_getBlockHash", rpc_params![0])
                    .await
                    .is_ok()
            {
                break c;
            }
            assert!(
                Instant::now() < deadline,
                "the runtime did not start; see target/chopsticks-{port}.log"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        Self {
            _process: process,
            url,
            rpc,
            cache,
        }
    }

    /// `Instant` (a block per transaction) or `Manual` (only `new_blocks`).
    async fn block_mode(&self, mode: &str) {
        let _: Json = self
            .rpc
            .request("dev_setBlockBuildMode", rpc_params![mode])
            .await
            .unwrap();
    }

    /// Waits until `n` transactions wait in the pool.
    async fn wait_pending(&self, n: usize) {
        let deadline = Instant::now() + START_GUARD;
        loop {
            let pending: Vec<Json> = self
                .rpc
                .request("author_pendingExtrinsics", rpc_params![])
                .await
                .unwrap();
            if pending.len() >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} transactions pooled",
                pending.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn new_blocks(&self, count: u32) {
        let _: Json = self
            .rpc
            .request(
                "dev_newBlock",
                rpc_params![serde_json::json!({ "count": count })],
            )
            .await
            .unwrap();
    }
}

/// Makes a block every `every` until dropped (the runtime makes none by itself).
struct Ticker(Arc<AtomicBool>);

impl Ticker {
    fn start(url: String, every: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        tokio::spawn(async move {
            let Ok(rpc) = WsClientBuilder::default().build(&url).await else {
                return;
            };
            while !flag.load(Ordering::Relaxed) {
                let _ = rpc
                    .request::<Json, _>("dev_newBlock", rpc_params![serde_json::json!({})])
                    .await;
                tokio::time::sleep(every).await;
            }
        });
        Self(stop)
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What the Python SDK (bittensor 10.5, through the shim for its two RPC quirks) reads of the
/// subnet at one block: each neuron's uid, hotkey, axon, permit, and the validator's weights.
const PY_READ: &str = r#"
import json, os
import bittensor as bt
st = bt.Subtensor(network=os.environ["URL"])
netuid = int(os.environ["NETUID"])
block = st.get_current_block()
neurons = st.neurons_lite(netuid=netuid, block=block)
weights = {uid: row for uid, row in st.weights(netuid=netuid, block=block)}
print(json.dumps({
    "block": block,
    "neurons": [
        {"uid": n.uid, "hotkey": n.hotkey, "coldkey": n.coldkey, "ip": n.axon_info.ip,
         "port": n.axon_info.port, "permit": n.validator_permit}
        for n in neurons
    ],
    "weights": {str(uid): row for uid, row in weights.items()},
}))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miner_and_validator_run_on_a_real_subtensor_runtime() {
    let runtime = Runtime::start().await;
    let target: ChainTarget = runtime.url.parse().unwrap();
    // The URL is asked which protocol it speaks: a subtensor node, not a subforge node.
    let chain = subforge_sdk::chain::connect(&target).await.unwrap();
    let info = chain.info().await.unwrap();
    assert_eq!(info.spec_version, Some(293));
    assert_eq!(info.sudo, Some(alice().public()));
    let subtensor = Subtensor::builder()
        .endpoints([runtime.url.clone()])
        .connect()
        .await
        .unwrap();

    // The subnet, as its owner sets one up on a dev chain (//Alice is the sudo key).
    subtensor
        .submit_sudo(
            &alice(),
            "AdminUtils",
            "sudo_set_network_rate_limit",
            vec![Value::u128(0)],
        )
        .await
        .unwrap();
    let owner_hot = key("//Alice//validator");
    let netuid = chain
        .create_subnet(&alice(), &hot(&owner_hot))
        .await
        .unwrap();
    assert_eq!(netuid, NetUid(2), "netuids 0 and 1 exist at genesis");
    let founded = chain.current_block().await.unwrap();
    for (name, value) in [
        (Hyperparameter::MaxRegsPerBlock, 8),
        (Hyperparameter::WeightsSetRateLimit, 0),
        (Hyperparameter::ServingRateLimit, 0),
        (Hyperparameter::Tempo, 3),
    ] {
        chain
            .set_hyperparameter(&alice(), netuid, name, value)
            .await
            .unwrap();
    }
    assert_eq!(chain.hyperparameters(netuid).await.unwrap().tempo, 3);
    // Emission (and staking) start with the owner's start call, ten blocks after creation.
    assert_rule(
        chain
            .set_hyperparameter(&alice(), netuid, Hyperparameter::EmissionEnabled, 1)
            .await,
        "Dispatch",
    );
    runtime.new_blocks(10).await;
    chain
        .set_hyperparameter(&alice(), netuid, Hyperparameter::EmissionEnabled, 1)
        .await
        .unwrap();
    chain
        .add_stake(&alice(), &hot(&owner_hot), netuid, Balance::from_tao(100))
        .await
        .unwrap();

    // Typed errors, from the checks before sending and from the runtime itself.
    assert_rule(
        chain.register(&alice(), netuid, &hot(&owner_hot)).await,
        "HotkeyAlreadyRegistered",
    );
    let stranger = key("//Dave//stranger");
    let axon = AxonInfo::default();
    assert_rule(
        chain.serve_axon(&stranger, netuid, &axon).await,
        "NotRegistered",
    );
    assert_rule(
        chain
            .set_weights(&stranger, netuid, &Weights::new(vec![0], vec![1], 0))
            .await,
        "NotRegistered",
    );
    let poor = key("//Nobody");
    assert_rule(
        chain.register(&poor, netuid, &hot(&stranger)).await,
        "NotEnoughBalanceToRegister",
    );
    assert_rule(chain.metagraph(NetUid(77)).await, "SubnetNotExists");

    // Nonces come from the node's pool-aware count and are counted up locally: a transaction
    // sent while the account's previous one still waits in the pool takes the next nonce (no
    // "Priority is too low"). Blocks are made by hand here so that both wait in the pool
    // together, then land in one block.
    let eve = key("//Eve").public();
    let before = chain.balance(&eve).await.unwrap();
    runtime.block_mode("Manual").await;
    let first = {
        let chain = chain.clone();
        tokio::spawn(async move { chain.transfer(&alice(), &eve, Balance::from_tao(1)).await })
    };
    runtime.wait_pending(1).await;
    let second = {
        let chain = chain.clone();
        tokio::spawn(async move { chain.transfer(&alice(), &eve, Balance::from_tao(2)).await })
    };
    runtime.wait_pending(2).await;
    runtime.new_blocks(1).await;
    let (first, second) = (
        first.await.unwrap().unwrap(),
        second.await.unwrap().unwrap(),
    );
    runtime.block_mode("Instant").await;
    assert_eq!(
        first.block, second.block,
        "both waited in the pool for the same block"
    );
    assert_ne!(first.extrinsic, second.extrinsic);
    assert_eq!(
        chain.balance(&eve).await.unwrap(),
        before.saturating_add(Balance::from_tao(3))
    );

    // Wallets as btcli keeps them.
    let dir = tempfile::tempdir().unwrap();
    let wallets = dir.path().join("wallets");
    let good = key("//Bob//good");
    let junk = key("//Bob//junk");
    wallet(&wallets, "good", &bob(), &good);
    wallet(&wallets, "junk", &bob(), &junk);
    wallet(&wallets, "validator", &alice(), &owner_hot);
    let wallet_path = wallets.to_str().unwrap().to_owned();
    let netuid_text = netuid.to_string();

    let ticker = Ticker::start(runtime.url.clone(), Duration::from_millis(1000));
    // The chain refuses 127.0.0.1 as an axon address; the rest of 127/8 is loopback too.
    let miner = |name: &str, model: &str| {
        Neuron::spawn(&[
            "miner",
            "--subnet",
            "text",
            "--netuid",
            &netuid_text,
            "--chain",
            &runtime.url,
            "--wallet-path",
            &wallet_path,
            "--name",
            name,
            "--register",
            "--bind",
            "127.0.0.2:0",
            "--model",
            model,
        ])
    };
    let mut good_miner = miner("good", "ngram:5");
    good_miner.wait_for("serving at");
    let mut junk_miner = miner("junk", "junk");
    junk_miner.wait_for("serving at");

    let state_dir = dir.path().join("validator");
    let config = dir.path().join("validator.toml");
    std::fs::write(
        &config,
        format!(
            "subnet = \"text\"\nnetuid = {netuid}\nbase-path = {:?}\nseed = 1\n\
             timeout-ms = 5000\nmoving-average-alpha = 0.5\nscorer = \"native\"\n",
            state_dir.to_str().unwrap()
        ),
    )
    .unwrap();
    let mut validator = Neuron::spawn(&[
        "validator",
        "--config",
        config.to_str().unwrap(),
        "--chain",
        &runtime.url,
        "--wallet-path",
        &wallet_path,
        "--name",
        "validator",
    ]);
    validator.wait_for("Ctrl-C stops it");

    // The miners are registered and serve where they said; the validator's weights land and
    // an epoch pays the better miner.
    let m = chain.metagraph(netuid).await.unwrap();
    let uid_of = |hotkey: &subforge_core::identity::Keypair| m.uid_of(&hot(hotkey)).unwrap();
    let (good_uid, junk_uid, val_uid) = (uid_of(&good), uid_of(&junk), Uid(0));
    for u in [good_uid, junk_uid] {
        let a = &m.axons[u.index()];
        assert_eq!(a.ip.to_string(), "127.0.0.2", "uid {u}");
        assert_ne!(a.port, 0);
    }
    let deadline = Instant::now() + RUN_GUARD;
    let (m, weights) = loop {
        let m = chain.metagraph(netuid).await.unwrap();
        let weights = subtensor.weights(netuid).await.unwrap();
        if !weights[val_uid.index()].is_empty() && m.incentive[good_uid.index()].as_f64() > 0.0 {
            break (m, weights);
        }
        assert!(
            Instant::now() < deadline,
            "no weights or incentive yet at block {}: {weights:?}",
            m.block
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(m.incentive[good_uid.index()] > m.incentive[junk_uid.index()]);
    assert!(m.validator_permit[val_uid.index()]);
    assert!(m.dividends[val_uid.index()].as_f64() > 0.0);
    let row = &weights[val_uid.index()];
    let weight_of = |u: Uid| row.iter().find(|(d, _)| *d == u).map_or(0, |w| w.1);
    assert!(weight_of(good_uid) > weight_of(junk_uid), "{row:?}");

    // The Python SDK reads the same neurons and weights from the same chain.
    let shim_port = free_port();
    let _shim = Process(
        Command::new("node")
            .arg(script("rpc-shim.cjs"))
            .arg(shim_port.to_string())
            .arg(&runtime.url)
            .env("NODE_PATH", runtime.cache.join("node_modules"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let py = python::venv("bt10", &["bittensor==10.5.0"]);
    let out = python::run(
        &py,
        PY_READ,
        dir.path(),
        &[
            ("URL", &format!("ws://127.0.0.1:{shim_port}")),
            ("NETUID", &netuid.to_string()),
        ],
    );
    let seen: Json = serde_json::from_slice(&out.stdout).unwrap();
    // The same block, read by the subtensor client (a past block by now: the ticker runs).
    let block = Block(seen["block"].as_u64().unwrap());
    let m = chain
        .metagraph_with_weights(netuid, Some(block))
        .await
        .unwrap();
    assert_eq!(m.block, block);
    let neurons = seen["neurons"].as_array().unwrap();
    assert_eq!(neurons.len(), m.n());
    for n in neurons {
        let uid = Uid(u16::try_from(n["uid"].as_u64().unwrap()).unwrap());
        assert_eq!(n["hotkey"], m.hotkeys[uid.index()].to_ss58(), "uid {uid}");
        assert_eq!(n["coldkey"], m.coldkeys[uid.index()].to_ss58(), "uid {uid}");
        assert_eq!(n["ip"], m.axons[uid.index()].ip.to_string(), "uid {uid}");
        assert_eq!(n["port"], m.axons[uid.index()].port, "uid {uid}");
        assert_eq!(n["permit"], m.validator_permit[uid.index()], "uid {uid}");
    }
    let py_row: Vec<(u16, u16)> = serde_json::from_value(seen["weights"]["0"].clone()).unwrap();
    let ours: Vec<(u16, u16)> = m.weights[0].iter().map(|(u, w)| (u.0, *w)).collect();
    assert!(!ours.is_empty());
    assert_eq!(py_row, ours);

    // `wallet overview` finds where the miner's hotkey is registered on the real chain.
    let out = crate::run::ok(
        &crate::run::subforge()
            .args([
                "wallet",
                "overview",
                "--name",
                "good",
                "--json",
                "--chain",
                &runtime.url,
            ])
            .arg("--wallet-path")
            .arg(&wallets)
            .output()
            .unwrap(),
    );
    let overview: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(overview["neurons"][0]["netuid"], netuid.get());
    assert_eq!(overview["neurons"][0]["uid"], good_uid.0);
    assert_eq!(
        overview["neurons"][0]["axon"],
        format!("127.0.0.2:{}", m.axons[good_uid.index()].port)
    );

    for (neuron, last) in [
        (validator, "validator stopped; state saved"),
        (good_miner, "miner stopped"),
        (junk_miner, "miner stopped"),
    ] {
        let (ok, out, err) = neuron.stop("TERM");
        assert!(ok, "stdout {out:?}; stderr {err}");
        assert_eq!(out.last().map(String::as_str), Some(last), "{err}");
    }

    // The past, read at once: the subnet as it was founded (its owner alone), and weight
    // snapshots a tempo apart.
    let now = chain.metagraph_with_weights(netuid, None).await.unwrap();
    assert_eq!(now.weights, subtensor.weights(netuid).await.unwrap());
    assert!(!now.weights[val_uid.index()].is_empty());
    let then = chain.metagraph_at(netuid, founded).await.unwrap();
    assert_eq!((then.block, then.n()), (founded, 1));
    assert_eq!(then.hotkeys[0], hot(&owner_hot));
    assert!(matches!(
        chain.metagraph_at(netuid, Block(1)).await,
        Err(ChainError::SubnetNotExists { .. })
    ));
    assert!(matches!(
        chain.metagraph_at(netuid, Block(now.block.0 + 1_000)).await,
        Err(ChainError::UnknownBlock { .. })
    ));
    let started = chain.current_block().await.unwrap();
    let out = crate::run::ok(
        &crate::run::subforge()
            .args(["integrity", "--netuid", &netuid_text, "--epochs", "3"])
            .args(["--chain", &runtime.url])
            .output()
            .unwrap(),
    );
    let blocks: Vec<u64> = out
        .split_once("(blocks ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(list, _)| list.split(", ").map(|b| b.parse().unwrap()).collect())
        .unwrap_or_default();
    assert_eq!(blocks.len(), 3, "{out}");
    assert_eq!(
        [blocks[1] - blocks[0], blocks[2] - blocks[1]],
        [4, 4],
        "{out}"
    );
    assert!(blocks[0] < started.0, "read from the past, not live: {out}");
    let mut dashboard = Neuron::spawn(&[
        "dashboard",
        "--netuid",
        &netuid_text,
        "--chain",
        &runtime.url,
        "--bind",
        "127.0.0.1:0",
        "--backfill",
        "3",
    ]);
    let line = dashboard.wait_for("dashboard of subnet");
    let url = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .map(|w| format!("http://{}", w.trim_end_matches(';')))
        .unwrap();
    let deadline = Instant::now() + RUN_GUARD;
    let points = loop {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "10", &format!("{url}api/state")])
            .output()
            .unwrap();
        let state: Json = serde_json::from_slice(&out.stdout).unwrap_or(Json::Null);
        let blocks: Vec<u64> = state["points"]
            .as_array()
            .map(|p| p.iter().filter_map(|p| p["block"].as_u64()).collect())
            .unwrap_or_default();
        if blocks.len() >= 4 {
            break blocks;
        }
        assert!(Instant::now() < deadline, "{state}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(points[0] < started.0, "plotted from the past: {points:?}");
    assert_eq!([points[1] - points[0], points[2] - points[1]], [4, 4]);
    let (ok, _, err) = dashboard.stop("INT");
    assert!(ok, "{err}");

    // Blocks come from transactions alone again, so the commit below lands in the block after
    // the head it was computed against.
    drop(ticker);

    // With commit-reveal on, the chain decides: the same call now commits the weights under a
    // drand timelock, which the runtime accepts (this runtime takes its version-3 form), and
    // the outcome says the chain reveals them itself.
    chain
        .set_hyperparameter(
            &alice(),
            netuid,
            Hyperparameter::CommitRevealWeightsEnabled,
            1,
        )
        .await
        .unwrap();
    let weights = Weights::new(vec![good_uid.0, junk_uid.0], vec![65_535, 1_000], 0);
    match chain
        .set_weights(&owner_hot, netuid, &weights)
        .await
        .unwrap()
    {
        WeightsOutcome::Committed {
            reveal:
                Reveal::Automatic {
                    round,
                    expected_block,
                },
            inclusion,
        } => {
            assert!(
                expected_block > inclusion.block,
                "revealed after the commit"
            );
            assert!(round > 30_000_000, "a quicknet round of today: {round}");
        }
        other => panic!("commit-reveal is on, yet {other:?}"),
    }
}
