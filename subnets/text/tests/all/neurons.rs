//! The text subnet's miners and validators on a real embedded chain, with real axons on
//! loopback: WASM and native validators agree, a restarted validator resumes, and misbehaving
//! miners cost the validator nothing but their own score.

use std::net::SocketAddr;
use std::time::Duration;

use subforge_core::{StatusCode, Uid};
use subforge_sdk::chain::{Chain, Hyperparameter, Reveal};
use subforge_sdk::neuron::{Miner, MinerConfig, ValidatorConfig, WeightsAction};
use subforge_sdk::registry::{MinerSpec, ScorerChoice, SubnetKind};
use subforge_subnet_text::TextSubnet;

use super::chain_support::*;
use super::subnet_support::*;

fn weights_of(action: &Option<WeightsAction>) -> Option<(Vec<u16>, Vec<u16>)> {
    match action {
        Some(WeightsAction::Set(r)) => Some((r.uids.clone(), r.values.clone())),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasm_and_native_validators_agree_and_a_restarted_validator_resumes() {
    let (chain, shared, netuid) = chain_and_subnet().await;
    let miners = start_miners(
        &TextSubnet,
        &chain,
        &shared,
        netuid,
        &["ngram:5", "ngram:2", "junk"],
    )
    .await;
    let native_uid = register_validator(&chain, netuid, "//Charlie//native").await;
    let wasm_uid = register_validator(&chain, netuid, "//Charlie//wasm").await;
    // The epoch hands out validator permits.
    run_epoch(&chain, netuid).await;

    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut native = validator(
        &TextSubnet,
        &shared,
        netuid,
        "//Charlie//native",
        dirs[0].path(),
        ScorerChoice::Native,
    );
    let mut wasm = validator(
        &TextSubnet,
        &shared,
        netuid,
        "//Charlie//wasm",
        dirs[1].path(),
        ScorerChoice::Wasm(Vec::new()),
    );

    // In lockstep, with the same challenge seed, both see the same answers.
    let mut set = 0;
    for round in 0..3 {
        let a = native.step().await.unwrap();
        let b = wasm.step().await.unwrap();
        assert_eq!(a.step, round);
        assert_eq!(b.step, round);
        assert_eq!(a.queried.len(), miners.len(), "every miner is queried");
        let key = |q: &[(Uid, StatusCode, f64)]| {
            q.iter()
                .map(|&(u, s, x)| (u, s, x.to_bits()))
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&a.queried), key(&b.queried), "round {round}");
        assert!(a.queried.iter().all(|q| q.1.is_success()));
        assert_eq!(
            bits(native.state().scores.values()),
            bits(wasm.state().scores.values())
        );
        let (wa, wb) = (weights_of(&a.weights), weights_of(&b.weights));
        assert_eq!(wa, wb, "round {round}: both set the same weights");
        if wa.is_some() {
            set += 1;
        }
    }
    assert!(set >= 1, "weights were set at least once");

    // What the chain stored for both validators is the same row.
    let m = chain.metagraph(netuid).await.unwrap();
    let row = |uid: Uid| m.weights[uid.index()].clone();
    assert!(!row(native_uid).is_empty());
    assert_eq!(row(native_uid), row(wasm_uid));
    // The better model holds the larger weight; the junk miner none.
    let weight = |uid: Uid| {
        row(native_uid)
            .iter()
            .find(|(u, _)| *u == uid)
            .map_or(0, |w| w.1)
    };
    assert!(weight(miners[0].uid()) > weight(miners[2].uid()));
    assert_eq!(weight(miners[2].uid()), 0, "junk earns no weight");

    // A validator restarted from its base path resumes where it stopped.
    let saved = native.state().clone();
    assert_eq!(saved.step, 3);
    drop(native);
    let mut restarted = validator(
        &TextSubnet,
        &shared,
        netuid,
        "//Charlie//native",
        dirs[0].path(),
        ScorerChoice::Native,
    );
    assert_eq!(restarted.state(), &saved);
    let next = restarted.step().await.unwrap();
    assert_eq!(next.step, 3, "the step count continues");
    let b = wasm.step().await.unwrap();
    assert_eq!(
        bits(restarted.state().scores.values()),
        bits(wasm.state().scores.values()),
        "the restarted validator's averages carry on as if it never stopped"
    );
    assert_eq!(b.step, 3);

    for miner in miners {
        miner.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_commit_reveal_the_chain_takes_a_commit_and_the_validator_reveals_it() {
    let (chain, shared, netuid) = chain_and_subnet().await;
    let miners = start_miners(&TextSubnet, &chain, &shared, netuid, &["ngram:5", "junk"]).await;
    let me = register_validator(&chain, netuid, "//Charlie//native").await;
    run_epoch(&chain, netuid).await;
    sudo(&chain, netuid, Hyperparameter::Tempo, 4).await;
    sudo(
        &chain,
        netuid,
        Hyperparameter::CommitRevealWeightsEnabled,
        1,
    )
    .await;
    sudo(&chain, netuid, Hyperparameter::CommitRevealPeriod, 1).await;

    let dir = tempfile::tempdir().unwrap();
    let mut config = ValidatorConfig::new(netuid, dir.path());
    config.seed = Some(3);
    config.weights_interval = Some(1);
    config.timeout = Some(Duration::from_secs(10));
    let mut v = TextSubnet
        .validator(
            shared.clone(),
            key("//Charlie//native"),
            config,
            &ScorerChoice::Native,
        )
        .unwrap();

    let mut committed = None;
    let mut revealed = None;
    for _ in 0..40 {
        let report = tokio::time::timeout(STALL_GUARD, v.step())
            .await
            .unwrap()
            .unwrap();
        match report.weights {
            Some(WeightsAction::Committed { record, reveal }) => {
                assert!(committed.is_none(), "one commit until it is revealed");
                let Reveal::Manual(pending) = reveal else {
                    panic!("the local chain leaves the reveal to the validator: {reveal:?}")
                };
                assert_eq!(
                    (&pending.uids, &pending.values),
                    (&record.uids, &record.values)
                );
                // The commit shows nothing yet: the validator's row is still empty.
                let m = chain.metagraph(netuid).await.unwrap();
                assert!(
                    m.weights[me.index()].is_empty(),
                    "{:?}",
                    m.weights[me.index()]
                );
                assert!(v.state().pending_reveal.is_some(), "kept for the reveal");
                committed = Some(record);
            }
            Some(WeightsAction::Revealed(record)) => {
                revealed = Some(record);
                break;
            }
            Some(other) => panic!("commit-reveal is on, yet: {other:?}"),
            None => {
                chain.produce_block().unwrap();
            }
        }
    }
    let committed = committed.expect("the validator committed");
    let revealed = revealed.expect("the validator revealed within the reveal epoch");
    assert_eq!(
        (&revealed.uids, &revealed.values),
        (&committed.uids, &committed.values)
    );
    assert!(v.state().pending_reveal.is_none());
    let m = chain.metagraph(netuid).await.unwrap();
    let row: Vec<(u16, u16)> = m.weights[me.index()]
        .iter()
        .map(|(u, w)| (u.0, *w))
        .collect();
    let expected =
        subforge_core::weights::stored_weights(&revealed.uids, &revealed.values).unwrap();
    assert_eq!(row, expected, "the revealed weights are on chain");
    for miner in miners {
        miner.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_miners_score_zero_and_never_stall_the_validator() {
    let (chain, shared, netuid) = chain_and_subnet().await;
    let good = start_miners(&TextSubnet, &chain, &shared, netuid, &["ngram:4"]).await;
    let silent = fake_miner(
        &chain,
        netuid,
        "//Bob//silent",
        fake_axon(Misbehaviour::Silent).await,
    )
    .await;
    let malformed = fake_miner(
        &chain,
        netuid,
        "//Bob//malformed",
        fake_axon(Misbehaviour::Answers(r#"{"completion": [1, 2, oops"#)).await,
    )
    .await;
    let oversized = fake_miner(
        &chain,
        netuid,
        "//Bob//oversized",
        fake_axon(Misbehaviour::Oversized).await,
    )
    .await;
    // A miner that published its axon and went away: nothing listens on the port.
    let gone_addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let gone = fake_miner(&chain, netuid, "//Bob//gone", gone_addr).await;
    register_validator(&chain, netuid, "//Charlie//v").await;

    let dir = tempfile::tempdir().unwrap();
    let mut config = ValidatorConfig::new(netuid, dir.path());
    config.seed = Some(5);
    config.timeout = Some(Duration::from_secs(2));
    let mut v = TextSubnet
        .validator(
            shared.clone(),
            key("//Charlie//v"),
            config,
            &ScorerChoice::Native,
        )
        .unwrap();

    for _ in 0..2 {
        let report = tokio::time::timeout(STALL_GUARD, v.step())
            .await
            .expect("the validator stalled")
            .unwrap();
        assert_eq!(report.queried.len(), 5);
        for &(uid, status, score) in &report.queried {
            if uid == good[0].uid() {
                assert!(status.is_success());
                assert!(score > 0.0, "the honest miner scores");
            } else {
                assert!([silent, malformed, oversized, gone].contains(&uid), "{uid}");
                assert!(!status.is_success(), "uid {uid}: {status:?}");
                assert_eq!(score, 0.0, "uid {uid} scores zero");
            }
        }
        let status = |u: Uid| report.queried.iter().find(|q| q.0 == u).unwrap().1;
        assert_eq!(status(silent), StatusCode::TIMEOUT);
    }
    for uid in [silent, malformed, oversized, gone] {
        assert_eq!(v.state().scores.get(uid), Some(0.0));
    }
    assert!(v.state().scores.get(good[0].uid()).unwrap() > 0.0);
    for miner in good {
        miner.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miner_restarted_on_a_new_port_publishes_it_when_the_rate_limit_allows() {
    let (chain, shared, netuid) = chain_and_subnet().await;
    let first = start_miners(&TextSubnet, &chain, &shared, netuid, &["ngram:2"]).await;
    let uid = first[0].uid();
    let old_port = first[0].published().port;
    for miner in first {
        miner.shutdown().await;
    }
    let limit = chain
        .hyperparameters(netuid)
        .await
        .unwrap()
        .serving_rate_limit;
    assert!(limit > 1);

    // Started again at once on another port: it serves, but the chain keeps the old record
    // until `serving_rate_limit` blocks have passed.
    let mut config = MinerConfig::new(netuid);
    config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    let miner = Miner::new(shared.clone(), key("//Bob//miner0"), config);
    let again = TextSubnet
        .start_miner(miner, &MinerSpec::model("ngram:2"))
        .await
        .unwrap();
    let new_port = again.published().port;
    assert_ne!(new_port, old_port);
    let on_chain = |m: &subforge_core::Metagraph| m.axons[uid.index()].port;
    assert_eq!(on_chain(&chain.metagraph(netuid).await.unwrap()), old_port);

    let mut published = false;
    for _ in 0..limit + 20 {
        chain.produce_block().unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        if on_chain(&chain.metagraph(netuid).await.unwrap()) == new_port {
            published = true;
            break;
        }
    }
    assert!(published, "the new port was never published");
    again.shutdown().await;
}
