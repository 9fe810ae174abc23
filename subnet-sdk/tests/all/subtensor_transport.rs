//! The Subtensor client's WebSocket transport over real sockets on 127.0.0.1, against a
//! recorded finney node (`subtensor_support`): it reconnects to a restarted node, rotates
//! endpoints and refuses one of another chain, shares one connection between every client of
//! the same endpoints and closes it with the last, never sends a transaction twice, keeps its
//! memory flat across resyncs, and follows runtime upgrades.

use std::future::Future;

use futures::StreamExt;
use subforge_core::identity::{AccountId, Keypair};
use subforge_core::{Balance, NetUid};
use subforge_sdk::chain::subtensor::Subtensor;
use subforge_sdk::chain::subtensor::replay::FINNEY_GENESIS;
use subforge_sdk::chain::{Chain, ChainError};

use crate::subtensor_support::{HANG_GUARD, Node, OnSubmit, RECORDING, metagraph_replay};

/// Neurons on subnet 1 in the recording.
const NEURONS: usize = 1024;

/// Runs a test body, failing it if it hangs.
async fn guarded<T>(body: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD * 3, body)
        .await
        .expect("the test hung")
}

async fn connect(endpoints: &[&Node]) -> Subtensor {
    Subtensor::builder()
        .endpoints(endpoints.iter().map(|n| n.url()))
        .connect()
        .await
        .unwrap()
}

/// A port nothing listens on (bound, then let go).
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// How many metagraphs a node served (one `get_neurons_lite` runtime call each): how a test
/// sees which node answered.
fn metagraph_reads(node: &Node) -> usize {
    node.requests("state_call/NeuronInfoRuntimeApi_get_neurons_lite")
}

#[tokio::test]
async fn a_restarted_node_is_reconnected_without_a_new_client() {
    guarded(async {
        let mut node = Node::metagraph().await;
        let chain = connect(&[&node]).await;
        let before = chain.metagraph(NetUid(1)).await.unwrap();
        assert_eq!(before.n(), NEURONS);
        assert_eq!((node.accepted(), node.open()), (1, 1));

        node.stop().await;
        let e = chain.metagraph(NetUid(1)).await.unwrap_err();
        assert!(e.is_transport(), "{e:?}");
        assert!(matches!(e, ChainError::Connection { .. }), "{e:?}");
        assert!(e.to_string().contains(&node.url()), "{e}");

        node.restart().await;
        let after = chain.metagraph(NetUid(1)).await.unwrap();
        assert_eq!(after, before);
        assert_eq!(node.accepted(), 2, "one new connection, by the same client");
        assert_eq!(metagraph_reads(&node), 2);
    })
    .await;
}

#[tokio::test]
async fn a_closed_endpoint_is_passed_over() {
    guarded(async {
        let node = Node::metagraph().await;
        let chain = Subtensor::builder()
            .endpoints([closed_port().await, node.url()])
            .connect()
            .await
            .unwrap();
        assert_eq!(chain.endpoint(), Some(node.url()));
        assert_eq!(chain.metagraph(NetUid(1)).await.unwrap().n(), NEURONS);
        assert_eq!(node.accepted(), 1);
    })
    .await;
}

#[tokio::test]
async fn losing_the_node_in_use_moves_to_the_next() {
    guarded(async {
        let mut first = Node::metagraph().await;
        let second = Node::metagraph().await;
        let chain = connect(&[&first, &second]).await;
        chain.metagraph(NetUid(1)).await.unwrap();
        assert_eq!((first.accepted(), second.accepted()), (1, 0));
        assert_eq!(second.total_requests(), 0);
        assert_eq!(chain.endpoint(), Some(first.url()));

        first.stop().await;
        assert_eq!(chain.metagraph(NetUid(1)).await.unwrap().n(), NEURONS);
        assert_eq!(second.accepted(), 1);
        assert_eq!(chain.endpoint(), Some(second.url()));
        assert_eq!(metagraph_reads(&first), 1);
        assert_eq!(metagraph_reads(&second), 1);
    })
    .await;
}

#[tokio::test]
async fn a_node_of_another_chain_is_refused() {
    guarded(async {
        let other_genesis = format!("0x{}", "ab".repeat(32));
        assert_ne!(other_genesis, FINNEY_GENESIS);
        let mut good = Node::metagraph().await;
        let other = Node::start(
            metagraph_replay().with_genesis(other_genesis.clone()),
            OnSubmit::DropConnection,
        )
        .await;
        let mut spare = Node::metagraph().await;
        let chain = connect(&[&good, &other, &spare]).await;
        chain.metagraph(NetUid(1)).await.unwrap();

        // The next endpoint in turn is of another chain: it is asked for block 0, refused, and
        // the one after it takes over.
        good.stop().await;
        assert_eq!(chain.metagraph(NetUid(1)).await.unwrap().n(), NEURONS);
        assert_eq!(other.accepted(), 1);
        assert_eq!(other.requests("chain_getBlockHash"), 1);
        assert_eq!(other.total_requests(), 1, "asked nothing but block 0");
        other.wait_open(0).await;
        assert_eq!(metagraph_reads(&spare), 1);

        // With the good nodes down, the error names the other chain's node and why.
        spare.stop().await;
        let e = chain.metagraph(NetUid(1)).await.unwrap_err();
        assert!(matches!(e, ChainError::Connection { .. }), "{e:?}");
        let message = e.to_string();
        assert!(
            message.contains(&format!(
                "{}: {} serves another chain",
                other.url(),
                other.url()
            )),
            "{message}"
        );
        assert!(message.contains(&other_genesis), "{message}");

        // Back up, a good node serves again; the other chain's node still answered nothing
        // but block 0.
        good.restart().await;
        assert_eq!(chain.metagraph(NetUid(1)).await.unwrap().n(), NEURONS);
        assert_eq!(metagraph_reads(&good), 2);
        assert_eq!(other.total_requests(), other.requests("chain_getBlockHash"));
        assert_eq!(metagraph_reads(&other), 0);
    })
    .await;
}

#[tokio::test]
async fn every_client_of_the_same_endpoints_shares_one_connection_closed_with_the_last() {
    guarded(async {
        let node = Node::metagraph().await;
        let endpoints = [&node];
        let clients: Vec<Subtensor> =
            futures::future::join_all((0..50).map(|_| connect(&endpoints))).await;
        let resyncs: Vec<usize> = futures::stream::iter(0..200)
            .map(|i| {
                let chain = &clients[i % clients.len()];
                async move { chain.metagraph(NetUid(1)).await.unwrap().n() }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        assert_eq!(resyncs, vec![NEURONS; 200]);
        assert_eq!(metagraph_reads(&node), 200);
        assert_eq!((node.accepted(), node.open()), (1, 1));

        drop(clients);
        node.wait_open(0).await;
        assert_eq!(node.accepted(), 1);
    })
    .await;
}

/// A transfer from //Alice to //Bob.
async fn transfer(chain: &Subtensor) -> Result<(), ChainError> {
    let alice = Keypair::from_uri("//Alice").unwrap();
    let bob: AccountId = Keypair::from_uri("//Bob").unwrap().public();
    chain
        .transfer(&alice, &bob, Balance::from_rao(1_000_000_000))
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_submission_whose_connection_drops_is_not_sent_again() {
    guarded(async {
        let node = Node::start(metagraph_replay(), OnSubmit::DropConnection).await;
        node.set_next_index(7);
        let chain = connect(&[&node]).await;

        let e = transfer(&chain).await.unwrap_err();
        assert!(matches!(e, ChainError::OutcomeUnknown { .. }), "{e:?}");
        assert_eq!(node.submissions().len(), 1, "sent once, not again");
        assert_eq!(node.requests("system_accountNextIndex"), 1);
        node.wait_open(0).await;
        assert_eq!(node.accepted(), 1, "no new connection to send it again on");

        // The next transaction asks the node for the nonce again rather than counting on.
        let e = transfer(&chain).await.unwrap_err();
        assert!(matches!(e, ChainError::OutcomeUnknown { .. }), "{e:?}");
        assert_eq!(node.requests("system_accountNextIndex"), 2);
        assert_eq!(node.submissions().len(), 2);
        assert_eq!(node.accepted(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_submission_whose_status_stream_ends_is_of_unknown_outcome() {
    guarded(async {
        let node = Node::start(metagraph_replay(), OnSubmit::EndSubscription).await;
        let chain = connect(&[&node]).await;

        let e = transfer(&chain).await.unwrap_err();
        assert!(matches!(e, ChainError::OutcomeUnknown { .. }), "{e:?}");
        assert_eq!(node.submissions().len(), 1);

        let e = transfer(&chain).await.unwrap_err();
        assert!(matches!(e, ChainError::OutcomeUnknown { .. }), "{e:?}");
        assert_eq!(node.submissions().len(), 2);
        assert_eq!(node.requests("system_accountNextIndex"), 2);
        assert_eq!(
            (node.accepted(), node.open()),
            (1, 1),
            "the connection stayed up"
        );
    })
    .await;
}

/// This process's resident memory, in KiB.
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn median(mut samples: Vec<u64>) -> u64 {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Set in the process the memory test measures in.
const MEASURE: &str = "SUBFORGE_TEST_MEASURE_RSS";

/// Growth allowed between the first and the last 50 resyncs: glibc's arenas and tokio's
/// buffers settle within a few MB; a leak of one metagraph per resync (about 1 MB of
/// answers and decoded neurons) would be ten times that by the end.
const RSS_BOUND_KIB: u64 = 4 * 1024;

#[tokio::test]
async fn resident_memory_stays_flat_across_resyncs() {
    if std::env::var_os(MEASURE).is_none() {
        // Measured in a process of its own, where no other test allocates.
        let out = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "subtensor_transport::resident_memory_stays_flat_across_resyncs",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(MEASURE, "1")
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(HANG_GUARD * 5, out)
            .await
            .expect("the measurement hung")
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        println!("{stdout}");
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("resident memory"), "{stdout}");
        return;
    }
    let node = Node::metagraph().await;
    let chain = connect(&[&node]).await;
    for _ in 0..20 {
        assert_eq!(chain.metagraph(NetUid(1)).await.unwrap().n(), NEURONS);
    }
    let warm = resident_kib();
    let mut samples = Vec::new();
    for _ in 0..300 {
        assert_eq!(chain.metagraph(NetUid(1)).await.unwrap().n(), NEURONS);
        samples.push(resident_kib());
    }
    let first = median(samples[..50].to_vec());
    let last = median(samples[250..].to_vec());
    let peak = samples.iter().copied().max().unwrap_or(0);
    println!(
        "resident memory: {warm} KiB after 20 resyncs; median {first} KiB over resyncs 21-70, \
         {last} KiB over 271-320; peak {peak} KiB"
    );
    assert!(
        last <= first + RSS_BOUND_KIB,
        "resident memory grew from {first} KiB to {last} KiB"
    );
    assert_eq!(metagraph_reads(&node), 320);
}

/// The runtime version the recording was made under.
fn recorded_spec_version() -> u32 {
    let all: serde_json::Value = serde_json::from_str(&RECORDING).unwrap();
    let (_, version) = all["metagraph"]["state_getRuntimeVersion"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    u32::try_from(version["result"]["specVersion"].as_u64().unwrap()).unwrap()
}

#[tokio::test]
async fn a_runtime_upgrade_is_picked_up_at_the_next_block() {
    guarded(async {
        let node = Node::metagraph().await;
        let chain = connect(&[&node]).await;
        let metadata = |node: &Node| node.requests("state_call/Metadata_metadata_at_version");
        let versions = |node: &Node| node.requests("state_call/Core_version");
        chain.metagraph(NetUid(1)).await.unwrap();
        chain.metagraph(NetUid(1)).await.unwrap();
        assert_eq!(metadata(&node), 1, "fetched at connect, then cached");
        let asked = versions(&node);

        node.replay().set_spec_version(recorded_spec_version() + 1);
        assert_eq!(chain.metagraph(NetUid(1)).await.unwrap().n(), NEURONS);
        assert_eq!(metadata(&node), 2, "the new runtime's metadata");
        assert_eq!(
            versions(&node),
            asked + 1,
            "one version check per block read"
        );
        assert_eq!(chain.metagraph(NetUid(1)).await.unwrap().n(), NEURONS);
        assert_eq!(metadata(&node), 2, "cached again");
    })
    .await;
}
