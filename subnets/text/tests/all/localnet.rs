//! A small localnet end to end: the embedded chain with fast blocks, graded miners and two
//! validators (one native, one WASM), several tempos, then the books.

use std::path::Path;
use std::time::Duration;

use subforge_core::Balance;
use subforge_sdk::localnet::{Localnet, LocalnetConfig, Report, ReportRow, Role};
use subforge_sdk::neuron::ValidatorState;
use subforge_sdk::registry::{Registry, ScorerChoice};
use subforge_subnet_text::TextSubnet;

fn config(base: &Path) -> LocalnetConfig {
    let mut c = LocalnetConfig::new(&TextSubnet, 3, 2);
    c.tempo = 10;
    c.block_time = Duration::from_millis(60);
    c.seed = Some(3);
    c.base_path = Some(base.to_owned());
    c
}

fn miner<'a>(report: &'a Report, model: &str) -> &'a ReportRow {
    report
        .rows
        .iter()
        .find(|r| r.role == Role::Miner(model.to_owned()))
        .unwrap_or_else(|| panic!("no {model} miner in {:?}", report.rows))
}

fn saved_step(base: &Path, validator: usize) -> u64 {
    let path = ValidatorState::path(
        &base
            .join("validators")
            .join(format!("validator{validator}")),
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let state: ValidatorState = serde_json::from_str(&text).unwrap();
    state.step
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_localnet_pays_better_miners_more_and_every_rao_is_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new().with(&TextSubnet);
    let config = config(dir.path());
    assert_eq!(
        config.validators,
        [ScorerChoice::Native, ScorerChoice::Wasm(Vec::new())]
    );

    let mut net = Localnet::start(&registry, &config, |_| {}).await.unwrap();
    net.run_epochs(6, |_| {}).await.unwrap();
    let report = net.report().await.unwrap();
    net.shutdown().await.unwrap();

    let (best, middle, junk) = (
        miner(&report, "ngram:6"),
        miner(&report, "ngram:1"),
        miner(&report, "junk"),
    );
    assert!(best.incentive > junk.incentive, "{best:?} vs {junk:?}");
    assert!(middle.incentive > junk.incentive, "{middle:?} vs {junk:?}");
    assert!(best.earned > junk.earned);
    assert!(middle.earned > junk.earned);
    assert!(
        report.verdict.starts_with("the best miner (uid"),
        "{}",
        report.verdict
    );
    // Both validators earned dividends: the WASM one's weights counted as much as the native
    // one's.
    let validators: Vec<&ReportRow> = report
        .rows
        .iter()
        .filter(|r| matches!(r.role, Role::Validator(_)))
        .collect();
    assert_eq!(validators.len(), 2);
    for v in &validators {
        assert!(v.dividends > 0.0, "{v:?}");
        assert!(v.validator_trust > 0.0, "{v:?}");
    }
    // What the schedule minted went to the neurons' stake or is still pending for the next
    // epoch; nothing is created or lost.
    assert!(report.minted > Balance::ZERO);
    assert_eq!(report.distributed, report.minted);

    // Restarting on the same base path resumes the chain, the subnet and the validators.
    let steps_before = [saved_step(dir.path(), 0), saved_step(dir.path(), 1)];
    assert!(steps_before.iter().all(|&s| s >= 10), "{steps_before:?}");
    // Slower blocks now: a validator steps at most once a block, so one that started afresh
    // could not pass `blocks run + 1` steps, while a resumed one passes its old count at its
    // first step.
    let mut again = config.clone();
    again.block_time = Duration::from_millis(300);
    let mut lines = Vec::new();
    let net = Localnet::start(&registry, &again, |l| lines.push(l.to_owned()))
        .await
        .unwrap();
    assert!(
        lines.iter().any(|l| l.starts_with("resuming subnet 1")),
        "{lines:?}"
    );
    assert_eq!(net.netuid(), report.netuid);
    assert!(net.chain().head().number >= report.block);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let steps_after = loop {
        let steps = [saved_step(dir.path(), 0), saved_step(dir.path(), 1)];
        if steps.iter().zip(&steps_before).all(|(a, b)| a > b) {
            break steps;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "validators stuck at steps {steps:?} (before the restart: {steps_before:?})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let blocks = net.blocks_run();
    net.shutdown().await.unwrap();
    for (i, after) in steps_after.into_iter().enumerate() {
        assert!(
            after > blocks + 1,
            "validator {i}: step {after} after {blocks} blocks cannot be told from a fresh start"
        );
    }
}
