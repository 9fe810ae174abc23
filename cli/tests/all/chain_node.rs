//! `subforge node` over JSON-RPC: NodeClient, bad input, separate processes, and durability
//! under SIGKILL.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use subforge_core::{Balance, Block, NetUid, Uid};
use subforge_sdk::chain::local::{Call, Extrinsic, Receipt};
use subforge_sdk::chain::node::serve;
use subforge_sdk::chain::{
    Chain, ChainError, GenesisConfig, LocalChain, LocalChainApi, NodeClient, Weights,
};

use super::chain_support::*;
use crate::run;

/// A node on a free port serving an in-process chain with `block_ms` blocks.
async fn in_process_node(block_ms: u64) -> (subforge_sdk::chain::node::RunningNode, NodeClient) {
    let chain = LocalChain::builder()
        .block_time(Duration::from_millis(block_ms))
        .open()
        .unwrap();
    let node = serve(chain, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = NodeClient::connect(&node.ws_url()).await.unwrap();
    (node, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_client_reconnects_to_a_restarted_node_of_the_same_chain() {
    // One chain, served by one server and then by another on the same address: to the client
    // that is a node restart.
    let chain = LocalChain::builder().manual().open().unwrap();
    let node = serve(chain.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = node.addr();
    let client = NodeClient::connect(&node.ws_url()).await.unwrap();
    let genesis = client.info().await.unwrap().genesis_hash;
    let mut headers = client.block_headers().await.unwrap();

    // The node goes away: calls fail with a connection error and the block stream ends.
    node.stop();
    node.stopped().await;
    assert!(
        matches!(client.info().await, Err(ChainError::Connection { .. })),
        "a call to a stopped node"
    );
    assert!(
        tokio::time::timeout(Duration::from_secs(10), headers.next())
            .await
            .unwrap()
            .is_none()
    );

    // The same chain is back on the same address: the next call reconnects, and a new block
    // stream follows it.
    let node = serve(chain, addr).await.unwrap();
    assert_eq!(client.info().await.unwrap().genesis_hash, genesis);
    let mut headers = client.block_headers().await.unwrap();
    node.chain().produce_block().unwrap();
    let header = tokio::time::timeout(Duration::from_secs(10), headers.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(header.number, Block(1));
    node.stop();
    node.stopped().await;

    // Another chain on that address is refused, and says so.
    let other = LocalChain::builder()
        .in_memory()
        .genesis(GenesisConfig {
            balances: vec![(key("//Eve").public(), Balance::from_tao(1))],
            sudo: None,
        })
        .manual()
        .open()
        .unwrap();
    assert_ne!(other.genesis_hash(), genesis);
    let node = serve(other, addr).await.unwrap();
    match client.info().await {
        Err(ChainError::Connection { message }) => {
            assert!(message.contains("another chain"), "{message}");
        }
        other => panic!("connected to another chain: {other:?}"),
    }
    node.stop();
}

/// POSTs raw bytes to the node's HTTP endpoint; returns the status line and body.
fn http_post(addr: std::net::SocketAddr, body: &[u8]) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (and close) before reading an oversized body.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text.lines().next().unwrap_or_default().to_owned();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

fn rpc_error_code(body: &str) -> i64 {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    v["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no error: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_client_implements_the_chain() {
    let (node, client) = in_process_node(25).await;
    assert_eq!(client.genesis_hash(), node.chain().genesis_hash());
    let netuid = client
        .create_subnet(&alice(), &hot(&key("//Alice//owner")))
        .await
        .unwrap();
    let m1 = key("//Bob//m1");
    let uid = client.register(&bob(), netuid, &hot(&m1)).await.unwrap();
    assert_eq!(uid, Uid(1));
    let via_rpc = client.metagraph(netuid).await.unwrap();
    let direct = node.chain().metagraph(netuid).await.unwrap();
    assert_eq!(via_rpc.hotkeys, direct.hotkeys);
    assert_eq!(
        client.hyperparameters(netuid).await.unwrap(),
        direct.hyperparameters
    );
    assert_eq!(client.subnets().await.unwrap().len(), 1);
    // Typed errors cross the wire as the same variant.
    assert_rule(
        client.register(&bob(), netuid, &hot(&m1)).await,
        "HotkeyAlreadyRegistered",
    );
    assert_rule(client.metagraph(NetUid(9)).await, "SubnetNotExists");
    let mut headers = client.block_headers().await.unwrap();
    let h1 = headers.next().await.unwrap();
    let h2 = headers.next().await.unwrap();
    assert_eq!(h2.number.0, h1.number.0 + 1);
    let record = client.block(h1.number).await.unwrap();
    assert_eq!(record.header.block_ref(), h1);
    assert_eq!(
        client.block(h2.number).await.unwrap().header.parent_hash,
        h1.hash
    );
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_typed_errors_and_changes_nothing() {
    let (node, client) = in_process_node(25).await;
    let addr = node.addr();
    let netuid = client
        .create_subnet(&alice(), &hot(&key("//Alice//owner")))
        .await
        .unwrap();
    let bob_before = client.account(&bob().public()).await.unwrap();

    // Malformed JSON, unknown methods, bad params.
    let (_, body) = http_post(addr, b"{not json");
    assert_eq!(rpc_error_code(&body), -32700);
    let (_, body) = http_post(
        addr,
        br#"{"jsonrpc":"2.0","id":1,"method":"chain_nope","params":[]}"#,
    );
    assert_eq!(rpc_error_code(&body), -32601);
    let (_, body) = http_post(
        addr,
        br#"{"jsonrpc":"2.0","id":1,"method":"chain_metagraph","params":["x"]}"#,
    );
    assert_eq!(rpc_error_code(&body), -32602);
    let (_, body) = http_post(
        addr,
        br#"{"jsonrpc":"2.0","id":1,"method":"chain_getAccount","params":["5notanaddress"]}"#,
    );
    assert_eq!(rpc_error_code(&body), -32602);
    // Malformed extrinsics.
    for hex in ["\"0xzz\"", "\"0x00\"", "42"] {
        let req = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"chain_submitExtrinsic","params":[{hex}]}}"#
        );
        let (_, body) = http_post(addr, req.as_bytes());
        let code = rpc_error_code(&body);
        assert!(code == 1010 || code == -32602, "{hex}: {body}");
    }
    // An oversized request is refused without being read whole.
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"chain_submitExtrinsic","params":["0x{}"]}}"#,
        "00".repeat(2 * 1024 * 1024)
    );
    let (status, _) = http_post(addr, huge.as_bytes());
    assert!(status.contains("413"), "{status}");

    // Bad signatures, wrong nonces, overflowing amounts, unknown uids.
    let g = client.genesis_hash();
    let mut forged = Extrinsic::sign(
        &bob(),
        bob_before.nonce,
        Call::Transfer {
            dest: charlie().public(),
            amount: tao(1),
        },
        &g,
    );
    forged.signature = subforge_core::Signature([1; 64]);
    assert_rule(client.submit(forged).await, "BadSignature");
    let stale = Extrinsic::sign(
        &bob(),
        bob_before.nonce + 3,
        Call::Transfer {
            dest: charlie().public(),
            amount: tao(1),
        },
        &g,
    );
    assert_rule(client.submit(stale).await, "FutureNonce");
    assert_rule(
        client
            .transfer(&bob(), &charlie().public(), Balance::MAX)
            .await,
        "InsufficientBalance",
    );
    assert_rule(
        client
            .add_stake(&bob(), &hot(&key("//Alice//owner")), netuid, Balance::MAX)
            .await,
        "NotEnoughBalanceToStake",
    );
    let owner = key("//Alice//owner");
    sudo_rpc(&client, netuid).await;
    assert_rule(
        client
            .set_weights(&owner, netuid, &Weights::new(vec![200], vec![1], 0))
            .await,
        "InvalidUid",
    );
    // Refused or failed, nothing of Bob's moved, and the node still answers.
    let bob_after = client.account(&bob().public()).await.unwrap();
    assert_eq!(bob_after.free, bob_before.free);
    assert_eq!(client.subnets().await.unwrap().len(), 1);
    assert!(client.current_block().await.unwrap() > Block(0));
    node.stop();
}

/// Turns commit-reveal off and lets the owner's uid weight (via the sudo key).
async fn sudo_rpc(client: &NodeClient, netuid: NetUid) {
    use subforge_sdk::chain::Hyperparameter as H;
    for (name, value) in [
        (H::CommitRevealWeightsEnabled, 0),
        (H::WeightsSetRateLimit, 0),
    ] {
        client
            .set_hyperparameter(&alice(), netuid, name, value)
            .await
            .unwrap();
    }
}

// ---- separate processes ------------------------------------------------------------------

pub(crate) struct NodeProcess {
    child: Child,
    pub(crate) url: String,
}

impl NodeProcess {
    /// `subforge node --dev` on a free port, keeping its chain in `dir`.
    pub(crate) fn start(dir: &Path, block_ms: u64) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_subforge"))
            .args(["node", "--dev", "--rpc-port", "0", "--block-time-ms"])
            .arg(block_ms.to_string())
            .arg("--base-path")
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let Some(Ok(line)) = lines.next() else {
                let mut err = String::new();
                let _ = child.stderr.take().unwrap().read_to_string(&mut err);
                panic!("the node exited early: {err}");
            };
            if let Some(rest) = line.strip_prefix("listening on ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep draining stdout so the node never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, url }
    }

    fn kill(mut self) {
        // SIGKILL on Unix: no chance to flush or clean up.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(args: &[&str]) -> String {
    run::ok(&run::subforge().args(args).output().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_see_the_same_metagraph_at_the_same_block() {
    let dir = tempfile::tempdir().unwrap();
    // Build some state, then serve it with blocks far apart so every reader sees one block.
    {
        let chain = LocalChain::builder()
            .path(dir.path())
            .instant()
            .open()
            .unwrap();
        let netuid = subnet(&chain).await;
        register(&chain, &bob(), netuid, &key("//Bob//m1")).await;
        register(&chain, &charlie(), netuid, &key("//Charlie//m2")).await;
    }
    let node = NodeProcess::start(dir.path(), 3_600_000);
    let a = cli(&["metagraph", "--netuid", "1", "--json", "--chain", &node.url]);
    let b = cli(&["metagraph", "--netuid", "1", "--json", "--chain", &node.url]);
    assert_eq!(a, b);
    let parsed: subforge_core::Metagraph = serde_json::from_str(&a).unwrap();
    assert_eq!(parsed.n(), 3);
    let client = NodeClient::connect(&node.url).await.unwrap();
    assert_eq!(client.metagraph(NetUid(1)).await.unwrap(), parsed);
    node.kill();
}

/// A tiny deterministic generator for kill moments.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_no_committed_block_or_extrinsic() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x5eed_u64;
    let mut seen: Vec<Receipt> = Vec::new();
    let mut best = Block(0);
    for round in 0..20 {
        let node = NodeProcess::start(dir.path(), 15);
        let client = NodeClient::connect(&node.url).await.unwrap();
        // Reopening resumed at (or after) everything seen before the kill.
        let head = client.current_block().await.unwrap();
        assert!(head >= best, "round {round}: head {head} < {best}");
        for r in &seen {
            let got = client.receipt(r.extrinsic).await.unwrap();
            assert_eq!(got.as_ref(), Some(r), "round {round}: lost {}", r.extrinsic);
        }
        let submitters: Vec<_> = ["//Bob", "//Charlie", "//Dave"]
            .into_iter()
            .map(|uri| {
                let client = client.clone();
                let payer = key(uri);
                tokio::spawn(async move {
                    let mut receipts = Vec::new();
                    let eve = key("//Eve").public();
                    let pay = Call::Transfer {
                        dest: eve,
                        amount: Balance::from_rao(1),
                    };
                    while let Ok(r) = client.sign_and_submit(&payer, pay.clone()).await {
                        receipts.push(r);
                    }
                    receipts
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50 + next(&mut seed) % 250)).await;
        node.kill();
        for submitter in submitters {
            let receipts = submitter.await.unwrap();
            for r in &receipts {
                best = best.max(r.block);
            }
            seen.extend(receipts);
        }
    }
    assert!(
        seen.len() >= 20,
        "only {} extrinsics went through",
        seen.len()
    );
    // The last restart: the whole digest chain links, block by block.
    let node = NodeProcess::start(dir.path(), 3_600_000);
    let client = NodeClient::connect(&node.url).await.unwrap();
    let head = client.current_block().await.unwrap();
    let mut parent = client.block(Block(0)).await.unwrap().hash;
    for n in 1..=head.0 {
        let b = client.block(Block(n)).await.unwrap();
        assert_eq!(b.header.parent_hash, parent, "block {n}");
        parent = b.hash;
    }
    let info = client.info().await.unwrap();
    assert_eq!(info.best_hash, parent);
    // Every transfer seen is counted in its payer's nonce.
    let mut nonces = 0;
    for uri in ["//Bob", "//Charlie", "//Dave"] {
        nonces += client.account(&key(uri).public()).await.unwrap().nonce;
    }
    assert!(nonces >= seen.len() as u64);
    node.kill();
}

#[test]
fn node_refuses_a_folder_without_a_chain_unless_dev() {
    let dir = tempfile::tempdir().unwrap();
    let out = run::subforge()
        .args(["node", "--base-path"])
        .arg(dir.path())
        .output()
        .unwrap();
    run::fails_with(&out, "--dev");
}
