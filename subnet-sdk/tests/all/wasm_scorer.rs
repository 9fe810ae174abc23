//! Real guest modules built with the guest kit: native and WASM scores agree bit for bit, a
//! module for another task is refused, manifests set limits, and the compiled-module cache
//! reads back only what it wrote.

use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use subforge_core::chain::Uid;
use subforge_core::identity::{AccountId, Hotkey};
use subforge_core::{MinerResponse, Scorer, StatusCode, Task};
use subforge_example_wasm_scorer::{EditDistance, TextMatch, sample};
use subforge_sdk::wasm::{
    CacheOutcome, EngineConfig, Limits, ScoringEngine, WasmError, WasmScorer,
};

use crate::wasm_guest_build::guest_modules;

fn engine() -> &'static ScoringEngine {
    static ENGINE: OnceLock<ScoringEngine> = OnceLock::new();
    ENGINE.get_or_init(|| ScoringEngine::new(EngineConfig::default()).unwrap())
}

fn scorer() -> &'static WasmScorer<TextMatch> {
    static SCORER: OnceLock<WasmScorer<TextMatch>> = OnceLock::new();
    SCORER.get_or_init(|| WasmScorer::load(engine(), &guest_modules().scorer).unwrap())
}

fn bits(scores: &[f64]) -> Vec<u64> {
    scores.iter().map(|s| s.to_bits()).collect()
}

#[test]
fn native_and_wasm_scores_are_bit_identical() {
    let wasm = scorer();
    let mut nonzero = 0;
    for seed in 0..120u64 {
        let (task, reference, responses) =
            sample::challenge(seed, (seed % 33) as usize, (seed * 7 % 90) as usize);
        let native = EditDistance.score(&task, &reference, &responses).unwrap();
        let receipt = wasm
            .score_with_receipt(&task, &reference, &responses)
            .unwrap();
        assert_eq!(bits(&native), bits(&receipt.scores), "seed {seed}");
        nonzero += native.iter().filter(|s| **s > 0.0).count();
        // The same input costs the same fuel, every time.
        let again = wasm
            .score_with_receipt(&task, &reference, &responses)
            .unwrap();
        assert_eq!(again, receipt);
        assert_eq!(receipt.task, "TextMatch");
        assert_eq!(receipt.engine_hash, engine().hash());
    }
    // The inputs exercise the scorer, not just its zero case.
    assert!(nonzero > 500, "{nonzero}");
}

fn arbitrary_response() -> impl Strategy<Value = (Option<String>, u64, bool, u16)> {
    (
        proptest::option::weighted(0.85, "\\PC{0,40}"),
        0u64..100_000_000_000,
        any::<bool>(),
        prop_oneof![Just(200u16), Just(408), Just(500)],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn parity_holds_for_arbitrary_text(
        prompt in "\\PC{0,20}",
        reference in "\\PC{0,40}",
        answers in proptest::collection::vec(arbitrary_response(), 0..12),
    ) {
        let task = TextMatch { prompt };
        let responses: Vec<MinerResponse<TextMatch>> = answers
            .into_iter()
            .enumerate()
            .map(|(i, (payload, micros, verified, status))| MinerResponse {
                uid: Uid(i as u16),
                hotkey: Hotkey(AccountId([i as u8; 32])),
                status: StatusCode(status),
                message: format!("status {status}"),
                latency: Duration::from_micros(micros),
                payload: if status == 200 { payload } else { None },
                signature_verified: verified,
            })
            .collect();
        let native = EditDistance.score(&task, &reference, &responses).unwrap();
        let wasm = scorer().score(&task, &reference, &responses).unwrap();
        prop_assert_eq!(bits(&native), bits(&wasm));
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
struct OtherTask {
    prompt: String,
}

impl Task for OtherTask {
    const NAME: &'static str = "OtherTask";
    type Response = String;
    type Reference = String;
}

/// Same name as the example's task, different interface.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
struct TextMatchV2 {
    prompt: String,
    language: String,
}

impl Task for TextMatchV2 {
    const NAME: &'static str = "TextMatch";
    type Response = String;
    type Reference = String;
}

#[test]
fn a_module_for_another_task_is_refused() {
    let path = &guest_modules().scorer;
    match WasmScorer::<OtherTask>::load(engine(), path).unwrap_err() {
        WasmError::TaskMismatch { expected, found } => {
            assert_eq!(
                (expected.as_str(), found.as_str()),
                ("OtherTask", "TextMatch")
            );
        }
        other => panic!("{other:?}"),
    }
    match WasmScorer::<TextMatchV2>::load(engine(), path).unwrap_err() {
        WasmError::SchemaMismatch {
            task,
            expected,
            found,
        } => {
            assert_eq!(task, "TextMatch");
            assert_eq!(expected, hex::encode(TextMatchV2::schema().hash()));
            assert_eq!(found, hex::encode(TextMatch::schema().hash()));
        }
        other => panic!("{other:?}"),
    }
    let module = scorer().module();
    assert_eq!(module.schema(), &TextMatch::schema());
    assert_eq!(module.schema_hash().0, TextMatch::schema().hash());
}

#[test]
fn scorer_errors_surface_through_the_scorer_trait() {
    // Fuel for describing the task, not for scoring 32 long answers.
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("scorer.wasm");
    std::fs::copy(&guest_modules().scorer, &wasm).unwrap();
    let (task, reference, responses) = sample::challenge(1, 32, 400);
    let full = scorer()
        .score_with_receipt(&task, &reference, &responses)
        .unwrap();
    let fuel = full.fuel_used / 2;
    std::fs::write(
        dir.path().join("scorer.toml"),
        format!("[limits]\nfuel = {fuel}\n"),
    )
    .unwrap();
    let starved = WasmScorer::<TextMatch>::load(engine(), &wasm).unwrap();
    assert_eq!(starved.module().limits().fuel, fuel);
    match starved
        .score_with_receipt(&task, &reference, &responses)
        .unwrap_err()
    {
        WasmError::FuelExhausted { fuel_used } => assert_eq!(fuel_used, fuel),
        other => panic!("{other:?}"),
    }
    let err = starved.score(&task, &reference, &responses).unwrap_err();
    assert!(err.to_string().contains("FuelExhausted"), "{err}");

    // A manifest asking for more than the host allows is refused at load.
    std::fs::write(
        dir.path().join("scorer.toml"),
        "[limits]\nmemory_mib = 100000\n",
    )
    .unwrap();
    assert!(matches!(
        WasmScorer::<TextMatch>::load(engine(), &wasm).unwrap_err(),
        WasmError::LimitAboveCeiling {
            limit: "memory",
            ..
        }
    ));
    std::fs::write(
        dir.path().join("scorer.toml"),
        "[limits]\nfuel = \"lots\"\n",
    )
    .unwrap();
    assert!(matches!(
        WasmScorer::<TextMatch>::load(engine(), &wasm).unwrap_err(),
        WasmError::Manifest { .. }
    ));
}

fn cache_entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect()
}

#[test]
fn the_cache_reads_back_only_what_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let cached = || ScoringEngine::new(EngineConfig::default().cache_dir(dir.path())).unwrap();
    let path = &guest_modules().scorer;
    let (task, reference, responses) = sample::challenge(9, 8, 40);
    let expected = EditDistance.score(&task, &reference, &responses).unwrap();
    let load = |engine: &ScoringEngine| {
        let scorer = WasmScorer::<TextMatch>::load(engine, path).unwrap();
        let scores = scorer.score(&task, &reference, &responses).unwrap();
        assert_eq!(bits(&scores), bits(&expected));
        scorer.module().cache_outcome()
    };

    assert_eq!(load(&cached()), CacheOutcome::Miss);
    let entries = cache_entries(dir.path());
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert!(
        entry
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(&scorer().module().sha256().to_string())
    );
    assert_eq!(load(&cached()), CacheOutcome::Hit);
    let good = std::fs::read(entry).unwrap();

    // A flipped bit anywhere: detected, deleted, rebuilt.
    for at in [0, 20, 100, good.len() / 2, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        std::fs::write(entry, &bad).unwrap();
        assert_eq!(load(&cached()), CacheOutcome::Rebuilt, "flip at {at}");
        assert_eq!(std::fs::read(entry).unwrap().len(), good.len());
    }
    // Truncated, empty, garbage.
    for bad in [&good[..good.len() / 3], &[][..], &b"not a module"[..]] {
        std::fs::write(entry, bad).unwrap();
        assert_eq!(load(&cached()), CacheOutcome::Rebuilt);
    }
    // A valid entry written by another cache (another key) is not trusted either.
    let other = tempfile::tempdir().unwrap();
    let foreign = ScoringEngine::new(EngineConfig::default().cache_dir(other.path())).unwrap();
    assert_eq!(load(&foreign), CacheOutcome::Miss);
    std::fs::copy(&cache_entries(other.path())[0], entry).unwrap();
    assert_eq!(load(&cached()), CacheOutcome::Rebuilt);
    assert_eq!(load(&cached()), CacheOutcome::Hit);

    // Without a cache nothing is written.
    assert_eq!(
        WasmScorer::<TextMatch>::load(engine(), path)
            .unwrap()
            .module()
            .cache_outcome(),
        CacheOutcome::Disabled
    );
}

#[test]
fn limits_are_checked_against_the_ceilings() {
    let err = engine()
        .load(
            &std::fs::read(&guest_modules().empty).unwrap(),
            Limits {
                fuel: 10u64.pow(12),
                ..Limits::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(err, WasmError::LimitAboveCeiling { limit: "fuel", .. }),
        "{err:?}"
    );
}
