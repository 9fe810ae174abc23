//! The full epoch at subnet sizes the chain runs: 256 uids with 64 validators weighting every
//! miner, 1024 uids, and 4096 uids with 256 validators; classic Yuma and Yuma3 with liquid
//! alpha. Run with `cargo bench -p subforge-core --bench epoch`.

#![allow(clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use subforge_core::consensus::{EpochInput, EpochParams, epoch};
use subforge_core::{Balance, Block, Uid};

/// A subnet after a few epochs: `validators` validators (the first uids, varied stakes) each
/// weighting every miner with varied weights, and bonds from a previous epoch.
fn subnet(n: usize, validators: usize, yuma3: bool) -> EpochInput {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let params = EpochParams {
        tempo: 360,
        activity_cutoff: 5000,
        max_allowed_validators: validators as u16,
        yuma3,
        liquid_alpha: yuma3,
        bonds_penalty: if yuma3 { 0 } else { u16::MAX },
        ..EpochParams::default()
    };
    let stake = (0..n)
        .map(|i| {
            Balance::from_rao(if i < validators {
                1_000_000_000_000 + next() % 1_000_000_000_000
            } else {
                0
            })
        })
        .collect();
    let weights: Vec<Vec<(u16, u16)>> = (0..n)
        .map(|i| {
            if i < validators {
                (validators..n)
                    .map(|j| (j as u16, (next() % 65536) as u16))
                    .collect()
            } else {
                Vec::new()
            }
        })
        .collect();
    let bonds = weights
        .iter()
        .map(|row| {
            row.iter()
                .map(|&(j, _)| (j, (next() % 65536) as u16))
                .collect()
        })
        .collect();
    EpochInput {
        block: Block(10_000),
        params,
        stake,
        last_update: vec![Block(9_990); n],
        block_at_registration: vec![Block(100); n],
        owner: Some(Uid(0)),
        validator_permit: (0..n).map(|i| i < validators).collect(),
        weights,
        bonds,
        commit_reveal: Some(vec![None; n]),
        last_epoch_block: Block(9_640),
        emission: Balance::from_rao(360_000_000_000),
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("epoch");
    group.sample_size(20);
    for (n, validators) in [(256, 64), (1024, 64), (4096, 256)] {
        for (name, yuma3) in [("classic", false), ("yuma3-liquid", true)] {
            let input = subnet(n, validators, yuma3);
            epoch(&input).expect("valid input");
            group.bench_with_input(
                BenchmarkId::new(name, format!("{n}uids-{validators}vals")),
                &input,
                |b, input| b.iter(|| epoch(input)),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
