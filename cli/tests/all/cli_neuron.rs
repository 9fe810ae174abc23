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
    ]);
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
    let config = dir.path().join("validator.toml");
    std::fs::write(
        &config,
        format!(
            "subnet = \"text\"\nnetuid = {netuid}\nbase-path = {:?}\nseed = 1\n\
             timeout-ms = 5000\nmoving-average-alpha = 0.5\nscorer = \"wasm\"\n",
            state_dir.to_str().unwrap()
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

    for (neuron, last) in [
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
