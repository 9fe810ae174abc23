//! The Subtensor client's own costs, with no network: one metagraph resync of a recorded
//! 1024-neuron finney subnet (decoding and building the metagraph from the node's answers),
//! and one drand timelock weights commit of 256 uids. Figures go to docs/performance.md.
//!
//! `cargo bench -p subforge-sdk --bench subtensor`

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use subforge_core::NetUid;
use subforge_sdk::chain::Chain;
use subforge_sdk::chain::subtensor::Subtensor;
use subforge_sdk::chain::subtensor::replay::Replay;
use subforge_sdk::chain::subtensor::timelock::{self, DrandNetwork, WeightsPayload};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/subtensor")
            .join(name),
    )
    .unwrap()
}

fn metagraph_resync(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let recording = String::from_utf8(data("recorded-rpc.json")).unwrap();
    let replay =
        Replay::from_recording(&recording, "metagraph", data("finney-v16-spec393.scale")).unwrap();
    let chain = rt
        .block_on(Subtensor::builder().connect_with(replay))
        .unwrap();
    assert_eq!(rt.block_on(chain.metagraph(NetUid(1))).unwrap().n(), 1024);
    c.bench_function("subtensor_metagraph_resync_1024_neurons", |b| {
        b.iter(|| rt.block_on(chain.metagraph(NetUid(1))).unwrap());
    });
}

fn timelock_commit(c: &mut Criterion) {
    let payload = WeightsPayload {
        hotkey: [7; 32],
        uids: (0..256).collect(),
        values: (0..256).map(|i| 65_535 - i).collect(),
        version_key: 1,
    };
    let network = DrandNetwork::QUICKNET;
    c.bench_function("subtensor_timelock_commit_256_uids", |b| {
        b.iter(|| {
            timelock::encrypt_weights(&payload, 30_668_812, &network, &mut rand_core::OsRng)
                .unwrap()
        });
    });
}

criterion_group!(benches, metagraph_resync, timelock_commit);
criterion_main!(benches);
