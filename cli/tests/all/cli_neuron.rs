//! `subforge localnet`, `subforge miner` and `subforge validator` as processes: Ctrl-C and
//! SIGTERM stop them cleanly, miners and validators in separate processes share a
//! `subforge node`, and bad setups get one clear line.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use subforge_core::identity::Keypair;
use subforge_core::{Balance, Metagraph, Uid};
use subforge_sdk::chain::{Chain, Hyperparameter, LocalChain, NodeClient};
use subforge_sdk::neuron::ValidatorState;
use subforge_sdk::wallet::Wallet;

use super::chain_node::NodeProcess;
use super::chain_support::*;
use crate::run;

/// Longest a process may take to print what a step waits for, or to stop; past it, it hung.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// A `subforge` process whose stdout lines arrive on a channel.
pub(crate) struct Neuron {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Neuron {
    pub(crate) fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_subforge"))
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `needle`; panics with the process's output if it exits or
    /// takes too long.
    pub(crate) fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            match self.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(_) => {
                    let _ = self.child.kill();
                    let mut err = String::new();
                    let _ = self.child.stderr.take().unwrap().read_to_string(&mut err);
                    panic!(
                        "no line with `{needle}`; stdout: {:?}; stderr: {err}",
                        self.seen
                    );
                }
            }
        }
    }

    /// Sends `signal` (`INT`, `TERM`) and waits for the exit; returns stdout seen and stderr.
    pub(crate) fn stop(mut self, signal: &str) -> (bool, Vec<String>, String) {
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let deadline = Instant::now() + HANG_GUARD;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "still running after SIG{signal}: {:?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        self.seen.extend(self.lines.try_iter());
        // The reader thread may still hold the last lines.
        std::thread::sleep(Duration::from_millis(100));
        self.seen.extend(self.lines.try_iter());
        let mut err = String::new();
        let _ = self.child.stderr.take().unwrap().read_to_string(&mut err);
        (status.success(), std::mem::take(&mut self.seen), err)
    }
}

impl Drop for Neuron {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn ctrl_c_stops_a_running_localnet_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_str().unwrap();
    // A port just released, for the localnet's gateway.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    let mut net = Neuron::spawn(&[
        "localnet",
        "--miners",
        "2",
        "--validators",
        "2",
        "--tempos",
        "1",
        "--tempo",
        "5",
        "--block-time-ms",
        "50",
        "--base-path",
        base,
        "--keep-running",
        "--gateway",
        &port,
    ]);
    let line = net.wait_for("gateway at");
    assert!(
        line.contains(&format!("http://127.0.0.1:{port}/v1")),
        "{line}"
    );
    // The gateway answers while the localnet runs.
    let models = Command::new("curl")
        .args(["-sS", "--max-time", "30"])
        .arg(format!("http://127.0.0.1:{port}/v1/models"))
        .output()
        .unwrap();
    let models: serde_json::Value = serde_json::from_slice(&models.stdout).unwrap();
    assert_eq!(models["data"][0]["id"], "subforge-text");
    net.wait_for("verdict:");
    net.wait_for("still running");
    let (ok, out, err) = net.stop("INT");
    assert!(ok, "exit status; stdout {out:?}; stderr {err}");
    assert_eq!(out.last().map(String::as_str), Some("stopped cleanly"));
    assert!(!err.contains("panicked"), "{err}");
    // Each validator saved its state on the way out (how many steps it made before the signal
    // depends on the machine's load, so only the saving is checked).
    for i in 0..2 {
        let path = ValidatorState::path(&dir.path().join(format!("validators/validator{i}")));
        let state: ValidatorState =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(state.netuid, subforge_core::NetUid(1), "validator {i}");
    }
}

/// Writes `hotkey` (and a plaintext coldkey) as wallet `name` under `dir`.
pub(crate) fn wallet(dir: &Path, name: &str, coldkey: &Keypair, hotkey: &Keypair) {
    let w = Wallet::new(dir, name, "default").unwrap();
    w.set_coldkey(coldkey, None, false).unwrap();
    w.set_hotkey(hotkey, None, false).unwrap();
}

fn row(m: &Metagraph, uid: Uid) -> &[(Uid, u16)] {
    &m.weights[uid.index()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miners_and_a_validator_in_separate_processes_share_a_node() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(&dir.path().join("chain"), 100);
    let client = NodeClient::connect(&node.url).await.unwrap();

    // The subnet, its neurons and their wallets, set up over JSON-RPC.
    let netuid = client
        .create_subnet(&alice(), &hot(&key("//Alice//owner")))
        .await
        .unwrap();
    for (name, value) in [
        (Hyperparameter::Tempo, 10),
        (Hyperparameter::WeightsSetRateLimit, 0),
        (Hyperparameter::CommitRevealWeightsEnabled, 0),
    ] {
        client
            .set_hyperparameter(&alice(), netuid, name, value)
            .await
            .unwrap();
    }
    let wallets = dir.path().join("wallets");
    let good = key("//Bob//good");
    let junk = key("//Bob//junk");
    let val = key("//Charlie//validator");
    let good_uid = client.register(&bob(), netuid, &hot(&good)).await.unwrap();
    let junk_uid = client.register(&bob(), netuid, &hot(&junk)).await.unwrap();
    let val_uid = client
        .register(&charlie(), netuid, &hot(&val))
        .await
        .unwrap();
    client
        .add_stake(&charlie(), &hot(&val), netuid, Balance::from_tao(100))
        .await
        .unwrap();
    wallet(&wallets, "good", &bob(), &good);
    wallet(&wallets, "junk", &bob(), &junk);
    wallet(&wallets, "validator", &charlie(), &val);

    let wallet_path = wallets.to_str().unwrap();
    let common = |name: &'static str| {
        vec![
            "--subnet".to_owned(),
            "text".to_owned(),
            "--netuid".to_owned(),
            netuid.to_string(),
            "--chain".to_owned(),
            node.url.clone(),
            "--wallet-path".to_owned(),
            wallet_path.to_owned(),
            "--name".to_owned(),
            name.to_owned(),
        ]
    };
    let spawn = |cmd: &str, name: &'static str, extra: &[&str]| {
        let mut args = vec![cmd.to_owned()];
        args.extend(common(name));
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        Neuron::spawn(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let miner_flags = |model: &'static str| ["--bind", "127.0.0.1:0", "--model", model];
    let mut good_miner = spawn("miner", "good", &miner_flags("ngram:5"));
    let mut junk_miner = spawn("miner", "junk", &miner_flags("junk"));
    good_miner.wait_for("serving at");
    junk_miner.wait_for("serving at");
    // The validator takes its settings from a TOML file, the chain and wallet from flags.
    let state_dir = dir.path().join("validator");
    let transcripts = dir.path().join("transcripts");
    let config = dir.path().join("validator.toml");
    std::fs::write(
        &config,
        format!(
            "subnet = \"text\"\nnetuid = {netuid}\nbase-path = {:?}\nseed = 1\n\
             timeout-ms = 5000\nmoving-average-alpha = 0.5\nscorer = \"wasm\"\n\
             transcripts = {:?}\ntranscripts-http = \"127.0.0.1:0\"\n",
            state_dir.to_str().unwrap(),
            transcripts.to_str().unwrap(),
        ),
    )
    .unwrap();
    let mut validator = Neuron::spawn(&[
        "validator",
        "--config",
        config.to_str().unwrap(),
        "--chain",
        &node.url,
        "--wallet-path",
        wallet_path,
        "--name",
        "validator",
    ]);
    let started = validator.wait_for("Ctrl-C stops it");
    assert!(
        started.contains("with the subnet's WASM module")
            && started.contains("validator on netuid 1"),
        "{started}"
    );
    let served = validator.wait_for("transcripts served at");
    let transcripts_url = served
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {served}"))
        .to_owned();

    // Weights reach the chain and an epoch pays the better miner.
    let deadline = Instant::now() + HANG_GUARD;
    let m = loop {
        let m = client.metagraph(netuid).await.unwrap();
        let weighted = !row(&m, val_uid).is_empty();
        if weighted && m.incentive[good_uid.index()].as_f64() > 0.0 {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "no weights or incentive yet: {:?}",
            m.weights
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(m.incentive[good_uid.index()] > m.incentive[junk_uid.index()]);
    assert!(m.dividends[val_uid.index()].as_f64() > 0.0);

    // The validator's transcripts, served over HTTP, pass an audit.
    let listing = Command::new("curl")
        .args(["-sS", "--max-time", "30", &transcripts_url])
        .output()
        .unwrap();
    let listing: serde_json::Value = serde_json::from_slice(&listing.stdout).unwrap();
    assert!(
        !listing["transcripts"].as_array().unwrap().is_empty(),
        "{listing}"
    );
    let audit = run::subforge()
        .arg("audit")
        .arg(&transcripts)
        .output()
        .unwrap();
    let report = run::ok(&audit);
    assert!(
        report.lines().all(|l| l.contains("agrees bit for bit")),
        "{report}"
    );

    // A gateway beside the validator, signing with its hotkey, serves the miners over HTTP.
    let keys = dir.path().join("gateway-keys");
    std::fs::write(&keys, "app sk-app-0123456789abcdef\n").unwrap();
    let mut gateway = spawn(
        "gateway",
        "validator",
        &[
            "--bind",
            "127.0.0.1:0",
            "--keys-file",
            keys.to_str().unwrap(),
        ],
    );
    let line = gateway.wait_for("OpenAI base URL");
    let base = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://").filter(|a| a.contains(':')))
        .unwrap_or_else(|| panic!("no address in {line}"))
        .to_owned();
    assert!(line.contains("API keys required"), "{line}");
    let answer = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "30",
            "-H",
            "Authorization: Bearer sk-app-0123456789abcdef",
        ])
        .args([
            "--data-binary",
            r#"{"messages":[{"role":"user","content":"The river"}]}"#,
        ])
        .arg(format!("http://{base}/v1/chat/completions"))
        .output()
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&answer.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&answer.stdout)));
    assert!(
        answer["choices"][0]["message"]["content"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{answer}"
    );
    let miner = answer["subforge"]["miner"]["uid"].as_u64().unwrap();
    assert!(
        [good_uid.0, junk_uid.0].contains(&(miner as u16)),
        "{answer}"
    );

    for (neuron, last) in [
        (gateway, "gateway stopped"),
        (validator, "validator stopped; state saved"),
        (good_miner, "miner stopped"),
        (junk_miner, "miner stopped"),
    ] {
        let (ok, out, err) = neuron.stop("TERM");
        assert!(ok, "stdout {out:?}; stderr {err}");
        assert_eq!(out.last().map(String::as_str), Some(last), "{err}");
    }
    let state: ValidatorState =
        serde_json::from_str(&std::fs::read_to_string(ValidatorState::path(&state_dir)).unwrap())
            .unwrap();
    assert!(state.last_weights.is_some());
    assert_eq!(state.netuid, netuid);
    // The compiled scorer was cached beside the state, for the next start.
    let cached = std::fs::read_dir(state_dir.join(subforge_sdk::registry::WASM_CACHE_DIR))
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.path().extension().is_some_and(|x| x == "cwasm"));
    assert!(cached, "no compiled module in the validator's cache");
}

/// Runs `subforge ARGS`, expecting failure; returns stderr.
fn fails(args: &[&str]) -> String {
    fails_with_env(args, &[])
}

/// Runs `subforge ARGS` with extra environment variables, expecting failure; returns stderr.
fn fails_with_env(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run::subforge()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    run::fails_with(&out, "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_setups_get_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let wallets = dir.path().join("wallets");
    let stranger = key("//Dave//stranger");
    wallet(&wallets, "stranger", &key("//Dave"), &stranger);
    // A chain folder with a subnet on which the stranger holds no uid.
    let chain_dir = dir.path().join("chain");
    {
        let chain = LocalChain::builder()
            .path(&chain_dir)
            .dev()
            .instant()
            .open()
            .unwrap();
        subnet(&chain).await;
    }
    let local = format!("local:{}", chain_dir.display());
    let wp = wallets.to_str().unwrap();
    // Nothing listens on a port just released.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("ws://{}", l.local_addr().unwrap())
    };
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let base = |cmd: &'static str, name: &'static str, chain: &str| -> Vec<String> {
        let mut v: Vec<String> = [
            cmd,
            "--subnet",
            "text",
            "--netuid",
            "1",
            "--wallet-path",
            wp,
            "--name",
            name,
            "--chain",
            chain,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        match cmd {
            "miner" => v.extend(["--bind".to_owned(), "127.0.0.1:0".to_owned()]),
            _ => v.extend(["--base-path".to_owned(), state.to_owned()]),
        }
        v
    };
    let run = |args: Vec<String>| fails(&args.iter().map(String::as_str).collect::<Vec<_>>());

    for cmd in ["miner", "validator"] {
        let err = run(base(cmd, "nobody", &local));
        assert!(err.contains("nobody"), "{cmd}, missing wallet: {err}");

        let err = run(base(cmd, "stranger", &closed));
        assert!(
            err.contains("cannot reach the chain"),
            "{cmd}, unreachable chain: {err}"
        );

        let err = run(base(cmd, "stranger", &local));
        assert!(
            err.contains(&format!(
                "hotkey {} is not registered on netuid 1",
                hot(&stranger)
            )),
            "{cmd}, unregistered: {err}"
        );
    }
    for cmd in ["miner", "validator"] {
        let mut args = base(cmd, "stranger", &local);
        args[4] = "9".into();
        let err = run(args);
        assert!(err.contains("subnet 9 does not exist"), "{cmd}: {err}");
    }
    let mut args = base("miner", "stranger", &local);
    args[2] = "imaginary".into();
    let err = run(args);
    assert!(err.contains("no subnet `imaginary`"), "{err}");

    // Miner settings belong to the subnet: undeclared ones, bad values and bad models are
    // refused before anything binds or touches the chain (the chain here is unreachable).
    let miner = |extra: &[&str]| {
        let mut args = base("miner", "stranger", &closed);
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        run(args)
    };
    let err = miner(&["--set", "temperature=2"]);
    assert!(
        err.contains("unknown miner setting `temperature`") && err.contains("llm-endpoint"),
        "{err}"
    );
    let err = miner(&["--set", "no-equals-sign"]);
    assert!(err.contains("NAME=VALUE"), "{err}");
    let err = miner(&["--model", "ngram:9"]);
    assert!(err.contains("ngram:N with N from 1 to 8"), "{err}");
    let err = miner(&["--model", "gpt"]);
    assert!(err.contains("unknown miner model `gpt`"), "{err}");
    let config = dir.path().join("miner.toml");
    std::fs::write(&config, "[options]\nllm-api = \"telepathy\"\n").unwrap();
    let err = miner(&[
        "--model",
        "llm",
        "--set",
        "llm-endpoint=http://127.0.0.1:1/v1",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(
        err.contains("miner setting `llm-api=telepathy`: use completions or chat"),
        "{err}"
    );

    // Settings from a file: unknown keys are refused; flags beat the environment, which beats
    // the file.
    let file = dir.path().join("validator.toml");
    std::fs::write(&file, "subnet = \"text\"\nnetuid = 9\nsample-sise = 4\n").unwrap();
    let with_file = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "validator",
            "--config",
            file.to_str().unwrap(),
            "--wallet-path",
            wp,
            "--name",
            "stranger",
            "--chain",
            &local,
            "--base-path",
            state,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    };
    let err = run(with_file(&[]));
    assert!(err.contains("sample-sise"), "{err}");
    std::fs::write(&file, "subnet = \"text\"\nnetuid = 9\nsample-size = 4\n").unwrap();
    let err = run(with_file(&[]));
    assert!(err.contains("subnet 9 does not exist"), "file: {err}");
    let args = with_file(&[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let err = fails_with_env(&args, &[("SUBFORGE_NETUID", "1")]);
    assert!(
        err.contains("is not registered on netuid 1"),
        "environment: {err}"
    );
    let args = with_file(&["--netuid", "8"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let err = fails_with_env(&args, &[("SUBFORGE_NETUID", "1")]);
    assert!(err.contains("subnet 8 does not exist"), "flag: {err}");

    // The gateway: an open API only on loopback, keys that parse, limits that make sense, a
    // subnet that exists.
    let gateway = |extra: &[&str]| -> String {
        let netuid = if extra.contains(&"--netuid") {
            &[][..]
        } else {
            &["--netuid", "1"][..]
        };
        let mut v = vec![
            "gateway",
            "--subnet",
            "text",
            "--wallet-path",
            wp,
            "--name",
            "stranger",
            "--chain",
            &local,
        ];
        v.extend(netuid);
        v.extend(extra);
        fails(&v)
    };
    let err = gateway(&["--bind", "0.0.0.0:0"]);
    assert!(
        err.contains("other hosts could call without a key"),
        "{err}"
    );
    let keys = dir.path().join("keys");
    std::fs::write(&keys, "alice sk-long-enough-key-1\nbob short\n").unwrap();
    let err = gateway(&["--keys-file", keys.to_str().unwrap()]);
    assert!(err.contains("line 2"), "{err}");
    assert!(
        !err.contains("short") && !err.contains("sk-long"),
        "keys stay secret: {err}"
    );
    let err = gateway(&["--keys-file", "/nonexistent/keys"]);
    assert!(err.contains("/nonexistent/keys"), "{err}");
    let err = gateway(&["--rps=-1"]);
    assert!(err.contains("-1"), "{err}");
    let err = gateway(&["--bind", "127.0.0.1:0", "--netuid", "9"]);
    assert!(err.contains("cannot follow subnet 9"), "{err}");

    // The dashboard, integrity and audit commands: a subnet that exists, counts that make
    // sense, files that are there.
    let err = fails(&[
        "dashboard",
        "--netuid",
        "9",
        "--chain",
        &local,
        "--bind",
        "127.0.0.1:0",
    ]);
    assert!(err.contains("cannot follow subnet 9"), "{err}");
    let err = fails(&[
        "dashboard",
        "--netuid",
        "1",
        "--history",
        "0",
        "--chain",
        &local,
    ]);
    assert!(err.contains("--history 0"), "{err}");
    let err = fails(&[
        "integrity",
        "--netuid",
        "1",
        "--epochs",
        "0",
        "--chain",
        &local,
    ]);
    assert!(err.contains("--epochs 0"), "{err}");
    let err = fails(&["integrity", "--netuid", "1", "--chain", &closed]);
    assert!(err.contains("cannot reach the chain"), "{err}");
    let err = fails(&["audit", "/nonexistent/step-000000000001.json"]);
    assert!(err.contains("/nonexistent/step-000000000001.json"), "{err}");
    let err = fails(&["audit", dir.path().to_str().unwrap()]);
    assert!(err.contains("holds no transcripts"), "{err}");
}

/// Runs a one-tempo localnet; returns its stderr.
fn localnet_stderr(extra: &[&str], env: &[(&str, &str)]) -> String {
    let out = run::subforge()
        .args(extra)
        .args([
            "localnet",
            "--miners",
            "2",
            "--validators",
            "1",
            "--tempos",
            "1",
            "--tempo",
            "3",
            "--block-time-ms",
            "50",
            "--json",
        ])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    // With --json, stdout is the report alone.
    let report: serde_json::Value = serde_json::from_str(&run::ok(&out)).unwrap();
    assert!(report["rows"].is_array());
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn logs_are_quiet_by_default_and_json_on_request() {
    // The localnet's own default: warnings only.
    let quiet = localnet_stderr(&[], &[]);
    assert!(!quiet.contains("INFO"), "{quiet}");

    // RUST_LOG and --log-format json: one JSON object per line, each with its level and message.
    let json = localnet_stderr(&["--log-format", "json"], &[("RUST_LOG", "info")]);
    let events: Vec<serde_json::Value> = json
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("epoch "))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(!events.is_empty());
    for e in &events {
        assert!(
            e["level"].is_string() && e["fields"]["message"].is_string(),
            "{e}"
        );
    }
    assert!(
        events
            .iter()
            .any(|e| e["fields"]["message"] == "miner serving"),
        "{json}"
    );
    // Requests are not logged one by one at `info`: two miners answered a query every block,
    // yet the events are the start-up, weights and shutdown ones.
    assert!(
        events
            .iter()
            .all(|e| !e["fields"]["message"].as_str().unwrap().contains("request")),
        "{json}"
    );
}

/// Each subnet's miner models and settings are listed where a miner operator looks.
#[test]
fn miner_models_and_settings_are_listed() {
    let help = run::ok(&run::subforge().args(["miner", "--help"]).output().unwrap());
    for needle in [
        "Subnet `text`:",
        "--model ngram:4:",
        "--set llm-endpoint=URL:",
        "--set llm-api-key-env=VAR:",
    ] {
        assert!(help.contains(needle), "{needle} in:\n{help}");
    }
    let kinds = run::ok(
        &run::subforge()
            .args(["subnet", "kinds", "--json"])
            .output()
            .unwrap(),
    );
    let kinds: serde_json::Value = serde_json::from_str(&kinds).unwrap();
    let text = kinds
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "text")
        .unwrap();
    assert_eq!(
        text["tasks"],
        serde_json::json!(["TextGeneration", "TextGenerationStream"])
    );
    assert!(
        text["miner_options"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("llm-model")),
        "{text}"
    );
}

/// A localnet's validators write transcripts; `subforge audit` re-derives every one, and names
/// the one a validator altered.
#[test]
fn localnet_transcripts_pass_an_audit_and_tampering_fails_it() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("net");
    run::ok(
        &run::subforge()
            .args([
                "localnet", "--subnet", "image", "--tempos", "3", "--tempo", "10",
            ])
            .args([
                "--block-time-ms",
                "100",
                "--seed",
                "2",
                "--json",
                "--transcripts",
            ])
            .arg("--base-path")
            .arg(&base)
            .output()
            .unwrap(),
    );
    let folders: Vec<std::path::PathBuf> = (0..2)
        .map(|i| base.join(format!("validators/validator{i}/transcripts")))
        .collect();
    let out = run::ok(
        &run::subforge()
            .arg("audit")
            .args(&folders)
            .output()
            .unwrap(),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() >= 4, "{out}");
    assert!(
        lines
            .iter()
            .all(|l| l.ends_with(")") && l.contains("agrees bit for bit")),
        "{out}"
    );
    assert!(
        out.contains("DigitRecognition") && out.contains("DigitDenoising"),
        "{out}"
    );

    // One score changed in one file: that transcript, and only it, fails.
    let file = std::fs::read_dir(&folders[1])
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json") && p.file_name().unwrap() != "current.json"
        })
        .min()
        .unwrap();
    let mut t: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    t["scores"][0] = serde_json::json!(0.123);
    std::fs::write(&file, serde_json::to_vec(&t).unwrap()).unwrap();
    let out = run::subforge()
        .arg("audit")
        .arg(&folders[1])
        .output()
        .unwrap();
    let err = run::fails_with(&out, "do not follow from their own data");
    assert!(err.contains("1 of"), "{err}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let bad: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("DOES NOT AGREE"))
        .collect();
    assert_eq!(bad.len(), 1, "{stdout}");
    assert!(
        bad[0].contains("the validator's signature does not check"),
        "{stdout}"
    );
    assert!(bad[0].contains("score 0.123 recorded"), "{stdout}");

    // Not a transcript, or a newer version: one line, nothing checked.
    std::fs::write(&file, b"{\"version\": 9}").unwrap();
    let out = run::subforge().arg("audit").arg(&file).output().unwrap();
    run::fails_with(&out, "transcript version 9");
}

/// `subforge integrity` against a running localnet: two miners running the same model answer
/// alike across hotkeys, and a validator with a third of the stake cannot lift the junk miner.
#[test]
fn integrity_names_alike_miners_and_a_cabal_below_kappa() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("net");
    let port = free_port();
    let mut net = image_localnet(&base, "--rpc-port", &port);
    net.wait_for("chain served at");
    net.wait_for("still running");
    // uids: 0 owner, 1 softmax, 2 and 3 centroid, 4 junk, 5 and 6 validators (6 staked half
    // as much as 5).
    let out = run::ok(
        &run::subforge()
            .args(["integrity", "--netuid", "1", "--epochs", "3", "--json"])
            .args(["--chain", &format!("ws://127.0.0.1:{port}")])
            .arg("--transcripts")
            .arg(base.join("validators/validator0/transcripts"))
            .args(["--cabal", "6", "--favoured", "4"])
            .output()
            .unwrap(),
    );
    let (ok, _, err) = net.stop("INT");
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let alike: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f["kind"] == "alike_answers")
        .collect();
    assert_eq!(alike.len(), 1, "{out}");
    assert_eq!(alike[0]["uids"], serde_json::json!([2, 3]), "{out}");
    assert_eq!(alike[0]["rule"], "exact", "{out}");
    let cabal = findings.iter().find(|f| f["kind"] == "cabal").unwrap();
    assert_eq!(cabal["below_kappa"], true, "{cabal}");
    assert_eq!(cabal["miners"][0]["uid"], 4, "{cabal}");
    assert_eq!(cabal["miners"][0]["incentive_pushed"], 0.0, "{cabal}");
}

/// A port just released on 127.0.0.1.
pub(crate) fn free_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port().to_string()
}

/// An image localnet kept running, its validators writing transcripts under `base`, serving
/// what `flag` (`--rpc-port`, `--dashboard`) asks on `port`.
pub(crate) fn image_localnet(base: &Path, flag: &str, port: &str) -> Neuron {
    Neuron::spawn(&[
        "localnet",
        "--subnet",
        "image",
        "--tempos",
        "2",
        "--tempo",
        "5",
        "--block-time-ms",
        "100",
        "--seed",
        "1",
        "--transcripts",
        "--base-path",
        base.to_str().unwrap(),
        "--keep-running",
        flag,
        port,
    ])
}
