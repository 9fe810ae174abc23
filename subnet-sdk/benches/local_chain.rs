//! LocalChain throughput: signed `set_weights` extrinsics applied and persisted per second, and
//! the time of a block that runs a 256-uid epoch. Figures go to docs/performance.md.
//!
//! `cargo bench -p subforge-sdk --bench local_chain`

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use subforge_core::identity::Keypair;
use subforge_core::{Balance, Hotkey, NetUid, Uid};
use subforge_sdk::chain::local::{Call, Extrinsic};
use subforge_sdk::chain::{Chain, Hyperparameter, LocalChain, LocalChainApi};

const UIDS: u16 = 256;
const VALIDATORS: u16 = 64;
const BATCH: usize = 10_000;

struct Net {
    chain: LocalChain,
    netuid: NetUid,
    validators: Vec<Keypair>,
    nonces: Vec<u64>,
    _dir: tempfile::TempDir,
}

fn sudo(
    rt: &tokio::runtime::Runtime,
    chain: &LocalChain,
    netuid: NetUid,
    h: Hyperparameter,
    v: i64,
) {
    let alice = Keypair::from_uri("//Alice").unwrap();
    rt.block_on(chain.set_hyperparameter(&alice, netuid, h, v))
        .unwrap();
}

/// A persisted chain with a full 256-uid subnet whose 64 validators hold permits.
fn network(rt: &tokio::runtime::Runtime, tempo: i64) -> Net {
    let dir = tempfile::tempdir().unwrap();
    let chain = LocalChain::builder()
        .path(dir.path())
        .instant()
        .open()
        .unwrap();
    let alice = Keypair::from_uri("//Alice").unwrap();
    let owner = Keypair::from_uri("//Alice//owner").unwrap();
    let netuid = rt
        .block_on(chain.create_subnet(&alice, &Hotkey(owner.public())))
        .unwrap();
    for (h, v) in [
        (Hyperparameter::Tempo, tempo),
        (Hyperparameter::WeightsSetRateLimit, 0),
        (Hyperparameter::CommitRevealWeightsEnabled, 0),
        (Hyperparameter::MaxRegsPerBlock, i64::from(UIDS)),
        (Hyperparameter::MaxAllowedValidators, i64::from(VALIDATORS)),
    ] {
        sudo(rt, &chain, netuid, h, v);
    }
    let bob = Keypair::from_uri("//Bob").unwrap();
    let hotkeys: Vec<Keypair> = (1..UIDS)
        .map(|i| Keypair::from_uri(&format!("//Bob//n{i}")).unwrap())
        .collect();
    let g = chain.genesis_hash();
    let mut nonce = rt.block_on(chain.next_nonce(&bob.public())).unwrap();
    let mut xts = Vec::new();
    for hk in &hotkeys {
        let call = Call::BurnedRegister {
            netuid,
            hotkey: Hotkey(hk.public()),
        };
        xts.push(Extrinsic::sign(&bob, nonce, call, &g));
        nonce += 1;
    }
    for hk in hotkeys.iter().take(usize::from(VALIDATORS)) {
        let call = Call::AddStake {
            hotkey: Hotkey(hk.public()),
            netuid,
            amount: Balance::from_tao(1000),
        };
        xts.push(Extrinsic::sign(&bob, nonce, call, &g));
        nonce += 1;
    }
    assert!(chain.submit_batch(xts).iter().all(Result::is_ok));
    let record = chain.produce_block().unwrap();
    assert!(record.outcomes.iter().all(Option::is_none), "setup failed");
    // Two epochs: the first hands out permits.
    let start = rt.block_on(chain.subnet(netuid)).unwrap().epoch_index;
    while rt.block_on(chain.subnet(netuid)).unwrap().epoch_index < start + 1 {
        chain.produce_block().unwrap();
    }
    let validators: Vec<Keypair> = hotkeys.into_iter().take(usize::from(VALIDATORS)).collect();
    let m = rt.block_on(chain.metagraph(netuid)).unwrap();
    assert_eq!(m.n(), usize::from(UIDS));
    assert!(
        m.validator_permit[1..=usize::from(VALIDATORS)]
            .iter()
            .all(|p| *p)
    );
    let nonces = validators
        .iter()
        .map(|v| rt.block_on(chain.next_nonce(&v.public())).unwrap())
        .collect();
    Net {
        chain,
        netuid,
        validators,
        nonces,
        _dir: dir,
    }
}

/// `n` signed set_weights, each weighting all 256 uids, spread over the validators.
fn sign_weights(net: &mut Net, n: usize) -> Vec<Extrinsic> {
    let g = net.chain.genesis_hash();
    let uids: Vec<Uid> = (0..UIDS).map(Uid).collect();
    (0..n)
        .map(|i| {
            let v = i % net.validators.len();
            let weights: Vec<u16> = (0..UIDS).map(|u| (u + i as u16) % 1000 + 1).collect();
            let call = Call::SetWeights {
                netuid: net.netuid,
                uids: uids.clone(),
                weights,
                version_key: 0,
            };
            let xt = Extrinsic::sign(&net.validators[v], net.nonces[v], call, &g);
            net.nonces[v] += 1;
            xt
        })
        .collect()
}

/// CPU seconds this process has used (user + system), from /proc: a figure that does not
/// depend on how busy the machine is.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat, 11 and 12 after the name; 100 ticks/s.
    (ticks(11) + ticks(12)) / 100.0
}

fn set_weights_throughput(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut net = network(&rt, 50_000);
    let mut group = c.benchmark_group("local_chain");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("set_weights_10k_signed_applied_persisted", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let xts = sign_weights(&mut net, BATCH);
                let cpu0 = cpu_seconds();
                let start = Instant::now();
                let accepted = net.chain.submit_batch(xts);
                let mid = start.elapsed();
                let cpu1 = cpu_seconds();
                let record = net.chain.produce_block().unwrap();
                total += start.elapsed();
                let cpu2 = cpu_seconds();
                if std::env::var_os("LOCAL_CHAIN_BENCH_SPLIT").is_some() {
                    eprintln!(
                        "submit {mid:?} (cpu {:.3} s), block {:?} (cpu {:.3} s)",
                        cpu1 - cpu0,
                        start.elapsed() - mid,
                        cpu2 - cpu1
                    );
                }
                assert!(accepted.iter().all(Result::is_ok));
                assert_eq!(record.extrinsics.len(), BATCH);
                assert!(record.outcomes.iter().all(Option::is_none));
            }
            total
        });
    });
    group.finish();
}

fn epoch_block(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tempo = 10;
    let mut net = network(&rt, tempo);
    // Every validator weights every uid, so the epoch has 64 full rows.
    let xts = sign_weights(&mut net, usize::from(VALIDATORS));
    assert!(net.chain.submit_batch(xts).iter().all(Result::is_ok));
    net.chain.produce_block().unwrap();
    let mut group = c.benchmark_group("local_chain");
    group.sample_size(20);
    group.bench_function("block_with_256_uid_epoch", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let info = rt.block_on(net.chain.subnet(net.netuid)).unwrap();
                let due = info.last_epoch_block.0 + tempo as u64;
                let head = net.chain.head().number.0;
                if due > head + 1 {
                    net.chain.produce_blocks(due - head - 1).unwrap();
                }
                let start = Instant::now();
                net.chain.produce_block().unwrap();
                total += start.elapsed();
                let after = rt.block_on(net.chain.subnet(net.netuid)).unwrap();
                assert_eq!(after.epoch_index, info.epoch_index + 1);
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, set_weights_throughput, epoch_block);
criterion_main!(benches);
