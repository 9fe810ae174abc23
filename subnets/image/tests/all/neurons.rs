//! The image subnet's miners and validators on a real embedded chain, with real axons on
//! loopback: both tasks are asked in their shares, native and WASM validators score every step
//! bit for bit alike, better models score more, and misbehaving miners score nothing.

use std::collections::BTreeMap;

use subforge_core::Uid;
use subforge_subnet_image::ImageSubnet;

use super::subnet_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_tasks_are_scored_alike_natively_and_in_wasm_and_quality_pays() {
    let (chain, shared, netuid) = chain_and_subnet().await;
    let miners = start_miners(
        &ImageSubnet,
        &chain,
        &shared,
        netuid,
        &["softmax", "centroid", "junk"],
    )
    .await;
    let [softmax, centroid, junk] = [0, 1, 2].map(|i| miners[i].uid());
    // Well-formed answers of the wrong shape: 17 labels for 16 images, a 3-byte image.
    let misshapen = fake_miner(
        &chain,
        netuid,
        "//Bob//misshapen",
        fake_axon(Misbehaviour::Answers(
            r#"{"labels":[0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6],"image":"AAAA"}"#,
        ))
        .await,
    )
    .await;
    // Bytes that are not base64, labels that are not bytes.
    let garbled = fake_miner(
        &chain,
        netuid,
        "//Bob//garbled",
        fake_axon(Misbehaviour::Answers(
            r#"{"labels":[300],"image":"@@ not base64 @@"}"#,
        ))
        .await,
    )
    .await;
    let silent = fake_miner(
        &chain,
        netuid,
        "//Bob//silent",
        fake_axon(Misbehaviour::Silent).await,
    )
    .await;
    let (mut native, mut wasm, _dirs) = validator_pair(&ImageSubnet, &chain, &shared, netuid).await;

    let mut tasks = Vec::new();
    // Per task, each uid's summed score.
    let mut totals: BTreeMap<&str, BTreeMap<Uid, f64>> = BTreeMap::new();
    for report in lockstep(&mut native, &mut wasm, 4).await {
        assert_eq!(report.queried.len(), 6, "every serving miner");
        for &(uid, status, score) in &report.queried {
            if [misshapen, garbled, silent].contains(&uid) {
                assert_eq!(score, 0.0, "uid {uid} in {}", report.task);
            }
            if [garbled, silent].contains(&uid) {
                assert!(!status.is_success(), "uid {uid}: {status:?}");
            }
            if [softmax, centroid, junk].contains(&uid) {
                assert!(status.is_success(), "uid {uid}: {status:?}");
            }
            *totals
                .entry(report.task)
                .or_default()
                .entry(uid)
                .or_default() += score;
        }
        tasks.push(report.task);
    }
    // Three recognition steps, then one restoration.
    assert_eq!(
        tasks,
        [
            "DigitRecognition",
            "DigitRecognition",
            "DigitRecognition",
            "DigitDenoising"
        ]
    );
    for (task, total) in &totals {
        assert!(
            total[&softmax] > total[&centroid] && total[&centroid] > total[&junk],
            "{task}: {total:?}"
        );
        assert_eq!(total[&junk], 0.0, "{task}: guessing earns nothing");
    }
    for m in miners {
        m.shutdown().await;
    }
}
