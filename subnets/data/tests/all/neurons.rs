//! The data subnet's miners and validators on a real embedded chain, with real axons on
//! loopback: native and WASM validators score every step bit for bit alike, the better model
//! scores more, and misbehaving miners score nothing.

use std::collections::BTreeMap;

use subforge_core::Uid;
use subforge_subnet_data::DataSubnet;

use super::subnet_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_and_wasm_validators_agree_and_the_better_model_scores_more() {
    let (chain, shared, netuid) = chain_and_subnet().await;
    let miners = start_miners(
        &DataSubnet,
        &chain,
        &shared,
        netuid,
        &["linear", "knn", "junk"],
    )
    .await;
    let [linear, knn, junk] = [0, 1, 2].map(|i| miners[i].uid());
    // One prediction (NaN, as little-endian f32 bytes) where 32 are asked for.
    let nan = fake_miner(
        &chain,
        netuid,
        "//Bob//nan",
        fake_axon(Misbehaviour::Answers(r#"{"values":"AADAfw=="}"#)).await,
    )
    .await;
    let garbled = fake_miner(
        &chain,
        netuid,
        "//Bob//garbled",
        fake_axon(Misbehaviour::Answers(r#"{"values":"not base64!"}"#)).await,
    )
    .await;
    let oversized = fake_miner(
        &chain,
        netuid,
        "//Bob//oversized",
        fake_axon(Misbehaviour::Oversized).await,
    )
    .await;
    let (mut native, mut wasm, _dirs) = validator_pair(&DataSubnet, &chain, &shared, netuid).await;

    let mut totals: BTreeMap<Uid, f64> = BTreeMap::new();
    for report in lockstep(&mut native, &mut wasm, 4).await {
        assert_eq!(report.task, "TabularRegression");
        assert_eq!(report.queried.len(), 6, "every serving miner");
        for &(uid, status, score) in &report.queried {
            if [nan, garbled, oversized].contains(&uid) {
                assert_eq!(score, 0.0, "uid {uid}");
            }
            if [garbled, oversized].contains(&uid) {
                assert!(!status.is_success(), "uid {uid}: {status:?}");
            }
            if [linear, knn, junk].contains(&uid) {
                assert!(status.is_success(), "uid {uid}: {status:?}");
            }
            *totals.entry(uid).or_default() += score;
        }
    }
    assert!(
        totals[&linear] > totals[&knn] && totals[&knn] > totals[&junk],
        "{totals:?}"
    );
    assert_eq!(totals[&junk], 0.0, "noise earns nothing");
    for m in miners {
        m.shutdown().await;
    }
}
