//! Validator transcripts end to end: a validator on a real chain writes a signed transcript of
//! every step, an audit re-derives each one bit for bit, and a tampered score, a forged miner
//! answer or a broken signature are each named with their step and uid. The transcripts are
//! also served over HTTP.

use std::time::Duration;

use subforge_sdk::audit::{Finding, Transcript, TranscriptConfig, TranscriptLog, audit};
use subforge_sdk::neuron::ValidatorConfig;
use subforge_sdk::registry::{ScorerChoice, SubnetKind};
use subforge_sdk::wasm::{Limits, ScoringEngine};
use subforge_subnet_text::TextSubnet;
use subforge_subnet_text::subnet::SCORER_WASM;

use super::chain_support::*;
use super::subnet_support::*;

fn has(findings: &[Finding], wanted: impl Fn(&Finding) -> bool) -> bool {
    findings.iter().any(wanted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcripts_audit_bit_for_bit_and_tampering_is_named() {
    let (chain, shared, netuid) = chain_and_subnet().await;
    let miners = start_miners(
        &TextSubnet,
        &chain,
        &shared,
        netuid,
        &["ngram:5", "ngram:2", "junk"],
    )
    .await;
    register_validator(&chain, netuid, "//Charlie//audited").await;
    run_epoch(&chain, netuid).await;

    let state = tempfile::tempdir().unwrap();
    let dir = state.path().join("transcripts");
    let mut config = ValidatorConfig::new(netuid, state.path());
    config.seed = Some(3);
    config.timeout = Some(Duration::from_secs(5));
    // Weights at every step the chain allows, so kept transcripts hold some.
    config.weights_interval = Some(1);
    config.transcripts = Some(TranscriptConfig {
        keep: 3,
        ..TranscriptConfig::new(&dir)
    });
    let mut v = TextSubnet
        .validator(
            shared.clone(),
            key("//Charlie//audited"),
            config,
            &ScorerChoice::Native,
        )
        .unwrap();

    // The transcripts are served while the validator runs.
    let log = TranscriptLog::open(TranscriptConfig::new(&dir)).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (http, server) = subforge_sdk::audit::serve(log, "127.0.0.1:0".parse().unwrap(), async {
        let _ = stopped.await;
    })
    .await
    .unwrap();

    for _ in 0..5 {
        v.step().await.unwrap();
        // A block between steps, so weights fall due again.
        chain.produce_block().unwrap();
    }
    // Rotated: the newest three remain.
    let kept = subforge_sdk::audit::list(&dir);
    assert_eq!(kept.iter().map(|k| k.0).collect::<Vec<_>>(), [2, 3, 4]);

    let engine = ScoringEngine::shared().unwrap();
    let module = engine.load(SCORER_WASM, Limits::default()).unwrap();
    let mut with_weights = 0;
    let transcripts: Vec<Transcript> = kept
        .iter()
        .map(|(_, path, _)| Transcript::read(path).unwrap())
        .collect();
    for t in &transcripts {
        let report = audit(t, &module);
        assert!(report.agrees(), "{:?}", report.findings);
        assert_eq!(report.responses, 3);
        assert_eq!(report.signed, 3, "every Subforge miner signs its answer");
        assert_eq!(t.scorer.ran, "native");
        with_weights += usize::from(report.weights);
    }
    assert!(with_weights >= 1, "some step set weights");

    // A validator that inflates one miner's score, and signs what it wrote.
    let mut inflated = transcripts[0].clone();
    let junk = miners[2].uid();
    let at = inflated
        .responses
        .iter()
        .position(|r| r.response["uid"] == u64::from(junk.0))
        .unwrap();
    inflated.scores[at] = 0.9;
    inflated.sign(&key("//Charlie//audited"));
    let report = audit(&inflated, &module);
    assert!(
        has(
            &report.findings,
            |f| matches!(f, Finding::Score { uid, recorded, .. } if *uid == junk.0 && *recorded == 0.9)
        ),
        "{:?}",
        report.findings
    );
    assert!(!has(&report.findings, |f| matches!(
        f,
        Finding::ValidatorSignature
    )));

    // The same change without the validator's key breaks its signature.
    let mut unsigned = transcripts[0].clone();
    unsigned.scores[at] = 0.9;
    assert!(has(&audit(&unsigned, &module).findings, |f| matches!(
        f,
        Finding::ValidatorSignature
    )));

    // A forged answer: the junk miner's text replaced by the truth.
    let mut forged = transcripts[1].clone();
    let at = forged
        .responses
        .iter()
        .position(|r| r.response["uid"] == u64::from(junk.0))
        .unwrap();
    forged.responses[at].response["payload"]["text"] = forged.reference.value["text"].clone();
    forged.sign(&key("//Charlie//audited"));
    let report = audit(&forged, &module);
    assert!(
        has(
            &report.findings,
            |f| matches!(f, Finding::MinerSignature { uid, reason } if *uid == junk.0 && reason.contains("another answer"))
        ),
        "{:?}",
        report.findings
    );

    // A reference changed after the answers came in.
    let mut moved = transcripts[2].clone();
    moved.reference.value["text"] = "something else entirely".into();
    moved.sign(&key("//Charlie//audited"));
    assert!(has(&audit(&moved, &module).findings, |f| matches!(
        f,
        Finding::Reference
    )));

    // Averages that lost a uid.
    let mut short = transcripts[2].clone();
    short.averages.after.pop();
    short.sign(&key("//Charlie//audited"));
    assert!(has(&audit(&short, &module).findings, |f| matches!(
        f,
        Finding::AveragesLength { .. }
    )));

    // Over HTTP: the list, one transcript byte for byte, and 404s.
    let get = |path: String| async move {
        let out = tokio::process::Command::new("curl")
            .args([
                "-s",
                "-w",
                "\n%{http_code}",
                &format!("http://{http}{path}"),
            ])
            .output()
            .await
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (code.to_owned(), body.to_owned())
    };
    let (code, body) = get("/transcripts".into()).await;
    assert_eq!(code, "200");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["transcripts"].as_array().unwrap().len(), 3);
    let (code, body) = get("/transcripts/4".into()).await;
    assert_eq!(code, "200");
    assert_eq!(body.as_bytes(), std::fs::read(&kept[2].1).unwrap());
    assert_eq!(get("/transcripts/0".into()).await.0, "404");
    assert_eq!(get("/transcripts/x".into()).await.0, "404");
    assert_eq!(get("/transcripts/current".into()).await.0, "404");
    let _ = stop.send(());
    server.await.unwrap();
}
