//! What sandboxed scoring costs: one call (instantiate, pass the input, run, read the reply) of
//! a scorer that does no work, with 1 and with 256 small responses; and a real scorer (edit
//! distance) natively and as WASM. Figures in `docs/performance.md`.
//!
//! `cargo bench -p subforge-sdk --bench wasm_scoring`

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/all/wasm_guest_build.rs"]
mod wasm_guest_build;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use subforge_core::chain::Uid;
use subforge_core::identity::{AccountId, Hotkey};
use subforge_core::{MinerResponse, ScoreError, Scorer, StatusCode};
use subforge_example_wasm_scorer::{EditDistance, TextMatch, sample};
use subforge_sdk::wasm::{EngineConfig, ScoringEngine, WasmScorer};
use wasm_guest_build::guest_modules;

/// `n` answered responses of eight characters each.
fn small(n: usize) -> (TextMatch, String, Vec<MinerResponse<TextMatch>>) {
    let responses = (0..n)
        .map(|i| MinerResponse {
            uid: Uid(i as u16),
            hotkey: Hotkey(AccountId([i as u8; 32])),
            status: StatusCode::SUCCESS,
            message: "Success".into(),
            latency: Duration::from_micros(15_000 + i as u64),
            payload: Some(format!("answer{:02}", i % 100)),
            signature_verified: true,
        })
        .collect();
    let task = TextMatch {
        prompt: "say it".into(),
    };
    (task, "answer00".into(), responses)
}

/// The native counterpart of the empty module.
struct Empty;

impl Scorer<TextMatch> for Empty {
    fn score(
        &self,
        _: &TextMatch,
        _: &String,
        responses: &[MinerResponse<TextMatch>],
    ) -> Result<Vec<f64>, ScoreError> {
        Ok(vec![0.0; responses.len()])
    }
}

fn calls(c: &mut Criterion) {
    let engine = ScoringEngine::new(EngineConfig::default()).unwrap();
    let empty = WasmScorer::<TextMatch>::load(&engine, &guest_modules().empty).unwrap();
    let mut group = c.benchmark_group("wasm_call");
    for n in [1, 256] {
        let (task, reference, responses) = small(n);
        group.bench_function(format!("empty_native/{n}"), |b| {
            b.iter(|| {
                Empty
                    .score(black_box(&task), &reference, &responses)
                    .unwrap()
            });
        });
        group.bench_function(format!("empty_wasm/{n}"), |b| {
            b.iter(|| {
                empty
                    .score(black_box(&task), &reference, &responses)
                    .unwrap()
            });
        });
    }
    group.finish();

    let scorer = WasmScorer::<TextMatch>::load(&engine, &guest_modules().scorer).unwrap();
    let mut group = c.benchmark_group("edit_distance");
    group.sample_size(30);
    // 16 answers of 300 characters: a text subnet's challenge.
    let (task, reference, responses) = sample::challenge(42, 16, 300);
    assert_eq!(
        EditDistance.score(&task, &reference, &responses).unwrap(),
        scorer.score(&task, &reference, &responses).unwrap()
    );
    group.bench_function("native/16x300", |b| {
        b.iter(|| {
            EditDistance
                .score(black_box(&task), &reference, &responses)
                .unwrap()
        });
    });
    group.bench_function("wasm/16x300", |b| {
        b.iter(|| {
            scorer
                .score(black_box(&task), &reference, &responses)
                .unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, calls);
criterion_main!(benches);
