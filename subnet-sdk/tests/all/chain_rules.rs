//! The local chain's rules, one test per rule, named after it.

use subforge_core::chain::AxonInfo;
use subforge_core::consensus::block_emission;
use subforge_core::{Balance, Block, Coldkey, Hyperparameters, NetUid, Uid};
use subforge_sdk::chain::local::Event;
use subforge_sdk::chain::local::rules::{
    BURN_INCREASE_MULT_Q32, DEFAULT_TAKE, MIN_LOCK, OWNER_CUT, burn_decay_factor_q32,
};
use subforge_sdk::chain::{Chain, GenesisConfig, Hyperparameter, LocalChain, weights_commit_hash};

use super::chain_support::*;

#[tokio::test]
async fn dev_accounts_are_funded_and_alice_is_sudo() {
    let chain = instant();
    for uri in [
        "//Alice",
        "//Bob",
        "//Charlie",
        "//Dave",
        "//Eve",
        "//Ferdie",
    ] {
        let acc = chain.account(&key(uri).public()).await.unwrap();
        assert_eq!(acc.free, tao(1_000_000), "{uri}");
        assert_eq!(acc.nonce, 0);
    }
    let info = chain.info().await.unwrap();
    assert_eq!(info.total_issuance, tao(6_000_000));
    assert_eq!(info.sudo, Some(alice().public()));
    assert_eq!(info.best_block, Block(0));
    assert_eq!(info.block_emission, tao(1));
}

#[tokio::test]
async fn transfer_moves_free_balance() {
    let chain = instant();
    let dave = key("//Dave").public();
    chain.transfer(&bob(), &dave, tao(5)).await.unwrap();
    assert_eq!(
        chain.account(&bob().public()).await.unwrap().free,
        tao(999_995)
    );
    assert_eq!(chain.account(&dave).await.unwrap().free, tao(1_000_005));
    assert_rule(
        chain.transfer(&bob(), &dave, tao(2_000_000)).await,
        "InsufficientBalance",
    );
    assert_rule(
        chain.transfer(&bob(), &dave, Balance::ZERO).await,
        "ZeroAmount",
    );
}

#[tokio::test]
async fn transfer_overflow_is_refused() {
    let rich = key("//Rich");
    let genesis = GenesisConfig {
        balances: vec![(rich.public(), Balance::MAX), (bob().public(), tao(10))],
        sudo: None,
    };
    let chain = LocalChain::builder()
        .genesis(genesis)
        .instant()
        .open()
        .unwrap();
    assert_rule(
        chain.transfer(&bob(), &rich.public(), tao(1)).await,
        "ArithmeticOverflow",
    );
    assert_eq!(
        chain.account(&rich.public()).await.unwrap().free,
        Balance::MAX
    );
    assert_eq!(chain.account(&bob().public()).await.unwrap().free, tao(10));
}

#[tokio::test]
async fn subnet_creation_locks_the_lock_cost_which_doubles() {
    let chain = instant();
    assert_eq!(chain.info().await.unwrap().subnet_lock_cost, MIN_LOCK);
    let netuid = subnet(&chain).await;
    assert_eq!(netuid, NetUid(1));
    assert_eq!(
        chain.account(&alice().public()).await.unwrap().free,
        tao(1_000_000 - 1000)
    );
    let info = chain.subnet(netuid).await.unwrap();
    assert_eq!(info.locked, MIN_LOCK);
    assert_eq!(info.owner_coldkey, Coldkey(alice().public()));
    assert_eq!(info.n, 1, "the owner's hotkey takes uid 0");
    let m = chain.metagraph(netuid).await.unwrap();
    assert_eq!(m.hotkeys[0], hot(&key("//Alice//owner")));
    // The next lock is double, minus the decay over the blocks since.
    let next = chain.info().await.unwrap().subnet_lock_cost;
    let decay = MIN_LOCK.rao() / 100_800;
    assert_eq!(next.rao(), 2 * MIN_LOCK.rao() - decay);
    let poor = key("//Poor");
    chain
        .transfer(&bob(), &poor.public(), tao(10))
        .await
        .unwrap();
    assert_rule(
        chain.create_subnet(&poor, &hot(&key("//Poor//hot"))).await,
        "NotEnoughBalanceToCreateSubnet",
    );
}

#[tokio::test]
async fn new_subnet_takes_the_chain_defaults() {
    let chain = instant();
    let netuid = subnet(&chain).await;
    assert_eq!(
        chain.hyperparameters(netuid).await.unwrap(),
        Hyperparameters::default()
    );
    let info = chain.subnet(netuid).await.unwrap();
    assert_eq!(info.burn, tao(1));
    assert_eq!(info.tempo, 360);
    assert!(info.emission_enabled);
}

#[tokio::test]
async fn owner_sets_hyperparameters_within_the_owner_bounds() {
    let chain = instant();
    let netuid = subnet(&chain).await;
    // Alice is both owner and sudo here; Bob owns a second subnet.
    let bobs = chain
        .create_subnet(&bob(), &hot(&key("//Bob//owner")))
        .await
        .unwrap();
    let e = assert_rule(
        chain
            .set_hyperparameter(&bob(), bobs, Hyperparameter::Tempo, 100)
            .await,
        "HyperparameterOutOfBounds",
    );
    assert!(e.to_string().contains("[360, 50400]"), "{e}");
    chain
        .set_hyperparameter(&bob(), bobs, Hyperparameter::Tempo, 720)
        .await
        .unwrap();
    assert_eq!(chain.hyperparameters(bobs).await.unwrap().tempo, 720);
    assert_rule(
        chain
            .set_hyperparameter(&bob(), bobs, Hyperparameter::Kappa, 1)
            .await,
        "RootOnlyHyperparameter",
    );
    assert_rule(
        chain
            .set_hyperparameter(&bob(), netuid, Hyperparameter::Tempo, 720)
            .await,
        "NotSubnetOwner",
    );
    assert_rule(
        chain
            .set_hyperparameter(&bob(), bobs, Hyperparameter::BondsMovingAverage, 975_001)
            .await,
        "HyperparameterOutOfBounds",
    );
    assert_rule(
        chain
            .set_hyperparameter(&bob(), NetUid(99), Hyperparameter::Tempo, 720)
            .await,
        "SubnetNotExists",
    );
    // The sudo key may go outside the owner's bounds.
    sudo(&chain, bobs, Hyperparameter::Tempo, 10).await;
    sudo(&chain, bobs, Hyperparameter::Kappa, 40_000).await;
    let h = chain.hyperparameters(bobs).await.unwrap();
    assert_eq!((h.tempo, h.kappa), (10, 40_000));
}

#[tokio::test]
async fn registration_price_decays_with_a_half_life_of_360_blocks() {
    let chain = manual();
    let netuid = {
        let c = chain.clone();
        let t = tokio::spawn(async move { subnet(&c).await });
        produce_when(&chain, 1).await;
        t.await.unwrap()
    };
    assert_eq!(chain.subnet(netuid).await.unwrap().burn, tao(1));
    chain.produce_blocks(360).unwrap();
    let burn = chain.subnet(netuid).await.unwrap().burn.rao();
    // f^360 is at most one half, and the per-block flooring loses a few rao more.
    assert!((499_999_000..=500_000_000).contains(&burn), "{burn}");
    let f = burn_decay_factor_q32(360);
    let mut expected = 1_000_000_000u64;
    for _ in 0..360 {
        expected = ((u128::from(expected) * u128::from(f)) >> 32) as u64;
    }
    assert_eq!(burn, expected);
    // It never falls below min_burn (500,000 rao).
    chain.produce_blocks(360 * 12).unwrap();
    assert_eq!(
        chain.subnet(netuid).await.unwrap().burn,
        Balance::from_rao(500_000)
    );
}

#[tokio::test]
async fn registration_burns_the_price_and_multiplies_it_by_1_26() {
    let chain = instant();
    let netuid = subnet(&chain).await;
    let before = chain.subnet(netuid).await.unwrap().burn;
    let issuance = chain.info().await.unwrap().total_issuance;
    let bob_free = chain.account(&bob().public()).await.unwrap().free;
    // The register extrinsic's block decays the price once before charging it.
    let f = burn_decay_factor_q32(360);
    let charged = ((u128::from(before.rao()) * u128::from(f)) >> 32) as u64;
    let uid = register(&chain, &bob(), netuid, &key("//Bob//m1")).await;
    assert_eq!(uid, Uid(1));
    assert_eq!(
        chain.account(&bob().public()).await.unwrap().free.rao(),
        bob_free.rao() - charged
    );
    let after = chain.subnet(netuid).await.unwrap().burn.rao();
    assert_eq!(
        after,
        ((u128::from(charged) * u128::from(BURN_INCREASE_MULT_Q32)) >> 32) as u64
    );
    // The burn left the issuance; the block's emission entered it.
    let minted = block_emission(issuance.rao());
    assert_eq!(
        chain.info().await.unwrap().total_issuance.rao(),
        issuance.rao() + minted - charged
    );
}

#[tokio::test]
async fn registration_refuses_duplicates_foreign_hotkeys_and_the_poor() {
    let chain = instant();
    let netuid = subnet(&chain).await;
    let m1 = key("//Bob//m1");
    register(&chain, &bob(), netuid, &m1).await;
    assert_rule(
        chain.register(&bob(), netuid, &hot(&m1)).await,
        "HotkeyAlreadyRegistered",
    );
    let other = chain
        .create_subnet(&charlie(), &hot(&key("//Charlie//owner")))
        .await
        .unwrap();
    assert_rule(
        chain.register(&charlie(), other, &hot(&m1)).await,
        "NonAssociatedColdkey",
    );
    assert_rule(
        chain.register(&bob(), NetUid(77), &hot(&m1)).await,
        "SubnetNotExists",
    );
    let poor = key("//Poor");
    chain
        .transfer(&bob(), &poor.public(), Balance::from_rao(1000))
        .await
        .unwrap();
    assert_rule(
        chain.register(&poor, netuid, &hot(&key("//Poor//m"))).await,
        "NotEnoughBalanceToRegister",
    );
    sudo(&chain, netuid, Hyperparameter::RegistrationAllowed, 0).await;
    assert_rule(
        chain
            .register(&bob(), netuid, &hot(&key("//Bob//m2")))
            .await,
        "SubnetRegistrationDisabled",
    );
}

#[tokio::test]
async fn too_many_registrations_this_block() {
    let chain = manual();
    let c = chain.clone();
    let create = tokio::spawn(async move { subnet(&c).await });
    produce_when(&chain, 1).await;
    let netuid = create.await.unwrap();
    let c1 = chain.clone();
    let first =
        tokio::spawn(async move { c1.register(&bob(), netuid, &hot(&key("//Bob//a"))).await });
    let c2 = chain.clone();
    let second = tokio::spawn(async move {
        c2.register(&charlie(), netuid, &hot(&key("//Charlie//b")))
            .await
    });
    produce_when(&chain, 2).await;
    let results = [first.await.unwrap(), second.await.unwrap()];
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    let err = results.into_iter().find_map(Result::err).unwrap();
    assert_eq!(err.name(), "TooManyRegistrationsThisBlock");
}

#[tokio::test]
async fn full_subnet_prunes_the_lowest_emission_then_earliest_registration() {
    let chain = instant();
    let netuid = fast_subnet(&chain, 1000).await;
    sudo(&chain, netuid, Hyperparameter::MaxAllowedUids, 3).await;
    sudo(&chain, netuid, Hyperparameter::ImmunityPeriod, 0).await;
    let (a, b, c) = (key("//Bob//a"), key("//Bob//b"), key("//Bob//c"));
    let uid_a = register(&chain, &bob(), netuid, &a).await;
    register(&chain, &bob(), netuid, &b).await;
    // All emissions are zero: the earliest registration (a) goes.
    let receipt_events = {
        let uid = register(&chain, &bob(), netuid, &c).await;
        assert_eq!(uid, uid_a);
        let block = chain.current_block().await.unwrap();
        chain.block(block).await.unwrap().events
    };
    assert!(receipt_events.iter().any(|e| matches!(
        &e.event,
        Event::NeuronRegistered { replaced: Some(h), .. } if *h == hot(&a)
    )));
    let m = chain.metagraph(netuid).await.unwrap();
    assert_eq!(m.n(), 3);
    assert_eq!(m.hotkeys[uid_a.index()], hot(&c));
    assert!(m.uid_of(&hot(&a)).is_none());
}

#[tokio::test]
async fn owner_hotkey_is_never_pruned() {
    let chain = instant();
    let netuid = subnet(&chain).await;
    sudo(&chain, netuid, Hyperparameter::MaxAllowedUids, 1).await;
    assert_rule(
        chain.register(&bob(), netuid, &hot(&key("//Bob//x"))).await,
        "NoNeuronToPrune",
    );
}

/// A validator (the owner's uid 0, which always has a permit) weights `miner` fully, so after
/// an epoch `miner` has the highest emission.
async fn give_emission(chain: &LocalChain, netuid: NetUid, miner: Uid) {
    let owner = key("//Alice//owner");
    chain
        .add_stake(&alice(), &hot(&owner), netuid, tao(100))
        .await
        .unwrap();
    run_epoch(chain, netuid).await;
    set_weights_call(chain, &owner, netuid, &[miner], &[65535], 0)
        .await
        .unwrap();
    run_epoch(chain, netuid).await;
    assert!(!chain.metagraph(netuid).await.unwrap().emission[miner.index()].is_zero());
}

#[tokio::test]
async fn pruning_prefers_non_immune_uids() {
    let chain = instant();
    let netuid = fast_subnet(&chain, 5).await;
    sudo(&chain, netuid, Hyperparameter::MaxAllowedUids, 3).await;
    let (a, b, c) = (key("//Bob//a"), key("//Bob//b"), key("//Bob//c"));
    let uid_a = register(&chain, &bob(), netuid, &a).await;
    give_emission(&chain, netuid, uid_a).await;
    sudo(&chain, netuid, Hyperparameter::ImmunityPeriod, 3).await;
    let uid_b = register(&chain, &bob(), netuid, &b).await;
    // a has emission but is past immunity; b has none but is immune: a goes.
    assert_eq!(register(&chain, &bob(), netuid, &c).await, uid_a);
    let m = chain.metagraph(netuid).await.unwrap();
    assert_eq!(m.hotkeys[uid_b.index()], hot(&b));
}

#[tokio::test]
async fn replaced_slot_loses_its_weights_and_others_weights_on_it_are_zeroed() {
    let chain = instant();
    let netuid = fast_subnet(&chain, 5).await;
    sudo(&chain, netuid, Hyperparameter::MaxAllowedUids, 3).await;
    sudo(&chain, netuid, Hyperparameter::ImmunityPeriod, 0).await;
    let (a, b) = (key("//Bob//a"), key("//Bob//b"));
    let uid_a = register(&chain, &bob(), netuid, &a).await;
    let uid_b = register(&chain, &bob(), netuid, &b).await;
    give_emission(&chain, netuid, uid_b).await;
    let owner = key("//Alice//owner");
    set_weights_call(&chain, &owner, netuid, &[uid_a, uid_b], &[100, 200], 0)
        .await
        .unwrap();
    set_weights_call(&chain, &a, netuid, &[uid_a], &[1], 0)
        .await
        .unwrap();
    let uid = register(&chain, &bob(), netuid, &key("//Bob//c")).await;
    assert_eq!(uid, uid_a);
    let m = chain.metagraph(netuid).await.unwrap();
    assert_eq!(m.weights[uid_a.index()], vec![]);
    assert_eq!(m.bonds[uid_a.index()], vec![]);
    assert_eq!(m.weights[0], vec![(uid_a, 0), (uid_b, 65535)]);
    assert_eq!(m.block_at_registration[uid_a.index()], m.block);
    assert_eq!(m.last_update[uid_a.index()], m.block);
}

#[tokio::test]
async fn serve_axon_validates_the_record_and_rate_limits() {
    let chain = instant();
    let netuid = subnet(&chain).await;
    let m1 = key("//Bob//m1");
    let uid = register(&chain, &bob(), netuid, &m1).await;
    let axon = AxonInfo {
        ip: "127.0.0.1".parse().unwrap(),
        port: 8091,
        version: 7,
        ..AxonInfo::default()
    };
    chain.serve_axon(&m1, netuid, &axon).await.unwrap();
    let m = chain.metagraph(netuid).await.unwrap();
    assert_eq!(
        m.axons[uid.index()].socket_addr().to_string(),
        "127.0.0.1:8091"
    );
    assert_eq!(m.axons[uid.index()].version, 7);
    assert_rule(
        chain.serve_axon(&m1, netuid, &axon).await,
        "ServingRateLimitExceeded",
    );
    let stranger = key("//Bob//stranger");
    chain
        .transfer(&bob(), &stranger.public(), tao(1))
        .await
        .unwrap();
    assert_rule(
        chain.serve_axon(&stranger, netuid, &axon).await,
        "NotRegistered",
    );
    sudo(&chain, netuid, Hyperparameter::ServingRateLimit, 0).await;
    let zero_port = AxonInfo {
        port: 0,
        ..axon.clone()
    };
    assert_rule(
        chain.serve_axon(&m1, netuid, &zero_port).await,
        "InvalidPort",
    );
    let unspecified = AxonInfo {
        ip: "0.0.0.0".parse().unwrap(),
        ..axon.clone()
    };
    assert_rule(
        chain.serve_axon(&m1, netuid, &unspecified).await,
        "InvalidIpAddress",
    );
    let bad_type = subforge_sdk::chain::local::Call::ServeAxon {
        netuid,
        version: 1,
        ip: 1,
        port: 1,
        ip_type: 5,
        protocol: 4,
        placeholder1: 0,
        placeholder2: 0,
    };
    assert_rule(chain.sign_and_submit(&m1, bad_type).await, "InvalidIpType");
    let v6 = AxonInfo {
        ip: "2001:db8::1".parse().unwrap(),
        ..axon
    };
    chain.serve_axon(&m1, netuid, &v6).await.unwrap();
}

#[tokio::test]
async fn staking_moves_free_balance_into_stake_and_back() {
    let chain = instant();
    let netuid = subnet(&chain).await;
    let m1 = key("//Bob//m1");
    register(&chain, &bob(), netuid, &m1).await;
    let free = chain.account(&charlie().public()).await.unwrap().free;
    // Charlie delegates to Bob's hotkey.
    chain
        .add_stake(&charlie(), &hot(&m1), netuid, tao(10))
        .await
        .unwrap();
    assert_eq!(
        chain.account(&charlie().public()).await.unwrap().free,
        free.saturating_sub(tao(10))
    );
    let m = chain.metagraph(netuid).await.unwrap();
    assert_eq!(m.stake[1], tao(10));
    let stakes = chain.stakes(&Coldkey(charlie().public())).await.unwrap();
    assert_eq!(stakes.len(), 1);
    assert_eq!(stakes[0].stake, tao(10));
    chain
        .remove_stake(&charlie(), &hot(&m1), netuid, tao(4))
        .await
        .unwrap();
    assert_eq!(chain.metagraph(netuid).await.unwrap().stake[1], tao(6));
    assert_rule(
        chain
            .remove_stake(&charlie(), &hot(&m1), netuid, tao(7))
            .await,
        "NotEnoughStakeToWithdraw",
    );
    assert_rule(
        chain
            .add_stake(&charlie(), &hot(&m1), netuid, tao(5_000_000))
            .await,
        "NotEnoughBalanceToStake",
    );
    assert_rule(
        chain
            .add_stake(&charlie(), &hot(&m1), netuid, Balance::from_rao(10))
            .await,
        "StakeAmountTooLow",
    );
    assert_rule(
        chain
            .add_stake(&charlie(), &hot(&key("//Nobody")), netuid, tao(1))
            .await,
        "HotkeyNotExists",
    );
    assert_rule(
        chain
            .add_stake(&charlie(), &hot(&m1), NetUid(50), tao(1))
            .await,
        "SubnetNotExists",
    );
    assert_rule(
        chain
            .add_stake(&charlie(), &hot(&m1), netuid, Balance::ZERO)
            .await,
        "ZeroAmount",
    );
}

#[tokio::test]
async fn block_emission_is_shared_equally_among_subnets_with_emission_on() {
    let chain = instant();
    let one = subnet(&chain).await;
    let two = chain
        .create_subnet(&bob(), &hot(&key("//Bob//owner")))
        .await
        .unwrap();
    let pending = |n| {
        let c = chain.clone();
        async move { c.subnet(n).await.unwrap().pending_emission.rao() }
    };
    let (p1, p2) = (pending(one).await, pending(two).await);
    chain.produce_block().unwrap();
    let half = block_emission(chain.info().await.unwrap().total_issuance.rao() - 1_000_000_000) / 2;
    assert_eq!(pending(one).await - p1, half);
    assert_eq!(pending(two).await - p2, half);
    sudo(&chain, two, Hyperparameter::EmissionEnabled, 0).await;
    let (p1, p2) = (pending(one).await, pending(two).await);
    chain.produce_block().unwrap();
    assert_eq!(pending(one).await - p1, 1_000_000_000);
    assert_eq!(pending(two).await, p2);
}

#[tokio::test]
async fn total_issuance_is_tracked_so_halvings_happen() {
    let genesis = GenesisConfig {
        balances: vec![(alice().public(), tao(10_499_997))],
        sudo: Some(alice().public()),
    };
    let chain = LocalChain::builder()
        .genesis(genesis)
        .instant()
        .open()
        .unwrap();
    subnet(&chain).await;
    assert_eq!(chain.info().await.unwrap().block_emission, tao(1));
    chain.produce_blocks(3).unwrap();
    let info = chain.info().await.unwrap();
    assert_eq!(info.total_issuance, tao(10_500_000));
    assert_eq!(info.block_emission, Balance::from_rao(500_000_000));
    chain.produce_block().unwrap();
    assert_eq!(
        chain.info().await.unwrap().total_issuance.rao(),
        10_500_000_500_000_000
    );
}

/// Sums every balance the test knows of: free, stake, locks and pending emission.
async fn accounted(chain: &LocalChain, coldkeys: &[Coldkey]) -> u128 {
    let mut total = 0u128;
    for c in coldkeys {
        total += u128::from(chain.account(&c.0).await.unwrap().free.rao());
        for s in chain.stakes(c).await.unwrap() {
            total += u128::from(s.stake.rao());
        }
    }
    for s in chain.subnets().await.unwrap() {
        total += u128::from(s.locked.rao()) + u128::from(s.pending_emission.rao());
    }
    total
}

#[tokio::test]
async fn epoch_runs_at_tempo_and_pays_incentive_dividends_take_and_owner_cut_as_stake() {
    let chain = instant();
    let netuid = fast_subnet(&chain, 10).await;
    let validator = key("//Bob//validator");
    let miner = key("//Charlie//miner");
    let v = register(&chain, &bob(), netuid, &validator).await;
    let m = register(&chain, &charlie(), netuid, &miner).await;
    chain
        .add_stake(&bob(), &hot(&validator), netuid, tao(300))
        .await
        .unwrap();
    // Dave nominates the validator with a third of its stake.
    let dave = key("//Dave");
    chain
        .add_stake(&dave, &hot(&validator), netuid, tao(150))
        .await
        .unwrap();
    run_epoch(&chain, netuid).await;
    let mg = chain.metagraph(netuid).await.unwrap();
    assert!(mg.validator_permit[v.index()]);
    set_weights_call(&chain, &validator, netuid, &[m], &[1], 0)
        .await
        .unwrap();

    let before = chain.metagraph(netuid).await.unwrap();
    let dave = key("//Dave");
    let dave_before = chain.stakes(&Coldkey(dave.public())).await.unwrap()[0]
        .stake
        .rao();
    run_epoch(&chain, netuid).await;
    let head = chain.current_block().await.unwrap();
    let record = chain.block(head).await.unwrap();
    let (incentive, dividends, owner_cut) = record
        .events
        .iter()
        .find_map(|e| match &e.event {
            Event::EpochRun {
                netuid: n,
                incentive,
                dividends,
                owner_cut,
                ..
            } if *n == netuid => Some((*incentive, *dividends, *owner_cut)),
            _ => None,
        })
        .expect("an EpochRun event");
    assert!(!incentive.is_zero() && !dividends.is_zero() && !owner_cut.is_zero());
    let after = chain.metagraph(netuid).await.unwrap();
    assert_eq!(after.last_step, head);
    assert_eq!(after.incentive[m.index()].0, 65535);
    assert_eq!(after.dividends[v.index()].0, 65535);
    // The miner's incentive is staked to the miner's own coldkey.
    let charlie_stake: u64 = chain
        .stakes(&Coldkey(charlie().public()))
        .await
        .unwrap()
        .iter()
        .map(|s| s.stake.rao())
        .sum();
    assert_eq!(charlie_stake, incentive.rao());
    // The validator's dividends: 18% take to its owner, the rest to Bob and Dave pro rata.
    let take = dividends.rao() * u64::from(DEFAULT_TAKE) / 65535;
    let rest = dividends.rao() - take;
    let dave_part = (u128::from(rest) * u128::from(dave_before)
        / u128::from(before.stake[v.index()].rao())) as u64;
    let dave_stake = chain.stakes(&Coldkey(dave.public())).await.unwrap()[0]
        .stake
        .rao();
    assert_eq!(dave_stake, dave_before + dave_part);
    assert_eq!(
        after.stake[v.index()].rao(),
        before.stake[v.index()].rao() + dividends.rao()
    );
    // The owner cut (18% of each block's share) lands on the owner's hotkey.
    assert_eq!(
        after.stake[0].rao(),
        before.stake[0].rao() + owner_cut.rao()
    );
    assert_eq!(u64::from(OWNER_CUT), 11_796);
    // Nothing is created or lost: issuance is everything accounted for.
    let coldkeys: Vec<Coldkey> = [
        "//Alice",
        "//Bob",
        "//Charlie",
        "//Dave",
        "//Eve",
        "//Ferdie",
    ]
    .iter()
    .map(|u| Coldkey(key(u).public()))
    .collect();
    assert_eq!(
        accounted(&chain, &coldkeys).await,
        u128::from(chain.info().await.unwrap().total_issuance.rao())
    );
}

#[tokio::test]
async fn epochs_wait_for_the_tempo() {
    let chain = instant();
    let netuid = fast_subnet(&chain, 7).await;
    let start = chain.subnet(netuid).await.unwrap();
    run_epoch(&chain, netuid).await;
    let first = chain.subnet(netuid).await.unwrap().last_epoch_block;
    run_epoch(&chain, netuid).await;
    let second = chain.subnet(netuid).await.unwrap().last_epoch_block;
    assert_eq!(second.0 - first.0, 7);
    assert!(first.0 - start.last_epoch_block.0 <= 7);
}

#[tokio::test]
async fn weights_are_stored_max_upscaled_in_submission_order() {
    let chain = instant();
    let netuid = fast_subnet(&chain, 1000).await;
    let owner = key("//Alice//owner");
    let a = register(&chain, &bob(), netuid, &key("//Bob//a")).await;
    let b = register(&chain, &bob(), netuid, &key("//Bob//b")).await;
    chain
        .add_stake(&alice(), &hot(&owner), netuid, tao(1))
        .await
        .unwrap();
    // The owner's uid has no permit until the first epoch.
    assert_rule(
        set_weights_call(&chain, &owner, netuid, &[b, a], &[1, 2], 0).await,
        "NoValidatorPermit",
    );
    sudo(&chain, netuid, Hyperparameter::Tempo, 1).await;
    run_epoch(&chain, netuid).await;
    sudo(&chain, netuid, Hyperparameter::Tempo, 1000).await;
    set_weights_call(&chain, &owner, netuid, &[b, a], &[1, 2], 0)
        .await
        .unwrap();
    let m = chain.metagraph(netuid).await.unwrap();
    assert_eq!(m.weights[0], vec![(b, 32768), (a, 65535)]);
}

#[tokio::test]
async fn set_weights_checks_follow_the_chain() {
    let chain = instant();
    let netuid = fast_subnet(&chain, 1).await;
    let owner = key("//Alice//owner");
    let a_key = key("//Bob//a");
    let a = register(&chain, &bob(), netuid, &a_key).await;
    chain
        .add_stake(&alice(), &hot(&owner), netuid, tao(1))
        .await
        .unwrap();
    run_epoch(&chain, netuid).await;
    sudo(&chain, netuid, Hyperparameter::Tempo, 1000).await;
    let set = |k: subforge_core::identity::Keypair, uids: Vec<u16>, w: Vec<u16>, vk: u64| {
        let c = chain.clone();
        async move {
            let uids: Vec<Uid> = uids.into_iter().map(Uid).collect();
            set_weights_call(&c, &k, netuid, &uids, &w, vk).await
        }
    };
    assert_rule(
        set(owner.clone(), vec![1], vec![1, 2], 0).await,
        "WeightVecLengthMismatch",
    );
    assert_rule(
        set(owner.clone(), vec![1, 9], vec![1, 2], 0).await,
        "InvalidUid",
    );
    assert_rule(
        set(owner.clone(), vec![1, 1], vec![1, 2], 0).await,
        "DuplicateUids",
    );
    assert_rule(
        set(owner.clone(), vec![0, 1, 0], vec![1, 2, 3], 0).await,
        "TooManyWeights",
    );
    let stranger = key("//Bob//stranger");
    chain
        .transfer(&bob(), &stranger.public(), tao(1))
        .await
        .unwrap();
    assert_rule(set(stranger, vec![1], vec![1], 0).await, "NotRegistered");
    // A neuron without a permit may only weight itself.
    assert_rule(
        set(a_key.clone(), vec![0], vec![1], 0).await,
        "NoValidatorPermit",
    );
    set(a_key.clone(), vec![a.0], vec![1], 0).await.unwrap();
    sudo(&chain, netuid, Hyperparameter::MinAllowedWeights, 2).await;
    assert_rule(
        set(owner.clone(), vec![1], vec![1], 0).await,
        "WeightVecLengthIsLow",
    );
    set(owner.clone(), vec![0, 1], vec![1, 1], 0).await.unwrap();
    sudo(&chain, netuid, Hyperparameter::WeightsVersionKey, 5).await;
    assert_rule(
        set(owner.clone(), vec![0, 1], vec![1, 1], 4).await,
        "IncorrectWeightVersionKey",
    );
    set(owner.clone(), vec![0, 1], vec![1, 1], 5).await.unwrap();
    sudo(&chain, netuid, Hyperparameter::WeightsSetRateLimit, 100).await;
    assert_rule(
        set(owner.clone(), vec![0, 1], vec![1, 1], 5).await,
        "SettingWeightsTooFast",
    );
    assert_rule(
        set_weights_call(&chain, &owner, NetUid(42), &[Uid(0)], &[1], 0).await,
        "SubnetNotExists",
    );
    sudo(
        &chain,
        netuid,
        Hyperparameter::CommitRevealWeightsEnabled,
        1,
    )
    .await;
    assert_rule(
        set(owner, vec![0, 1], vec![1, 1], 5).await,
        "CommitRevealEnabled",
    );
}

#[tokio::test]
async fn commit_reveal_reveals_in_the_reveal_epoch_only() {
    let chain = instant();
    let netuid = fast_subnet(&chain, 1).await;
    sudo(
        &chain,
        netuid,
        Hyperparameter::CommitRevealWeightsEnabled,
        1,
    )
    .await;
    let owner = key("//Alice//owner");
    let a = register(&chain, &bob(), netuid, &key("//Bob//a")).await;
    chain
        .add_stake(&alice(), &hot(&owner), netuid, tao(1))
        .await
        .unwrap();
    run_epoch(&chain, netuid).await;
    sudo(&chain, netuid, Hyperparameter::Tempo, 20).await;
    let (uids, weights, salt) = (vec![a], vec![7u16], vec![1u16, 2, 3]);
    let hash = weights_commit_hash(&hot(&owner), netuid, &uids, &weights, &salt, 0);
    assert_rule(
        reveal_weights_call(&chain, &owner, netuid, &uids, &weights, &salt, 0).await,
        "NoWeightsCommitFound",
    );
    commit_weights_call(&chain, &owner, netuid, hash)
        .await
        .unwrap();
    assert_rule(
        reveal_weights_call(&chain, &owner, netuid, &uids, &weights, &salt, 0).await,
        "RevealTooEarly",
    );
    assert_rule(
        reveal_weights_call(&chain, &owner, netuid, &uids, &[8], &salt, 0).await,
        "InvalidRevealCommitHashNotMatch",
    );
    assert_rule(
        set_weights_call(&chain, &owner, netuid, &uids, &weights, 0).await,
        "CommitRevealEnabled",
    );
    run_epoch(&chain, netuid).await;
    reveal_weights_call(&chain, &owner, netuid, &uids, &weights, &salt, 0)
        .await
        .unwrap();
    assert_eq!(
        chain.metagraph(netuid).await.unwrap().weights[0],
        vec![(a, 65535)]
    );
}

#[tokio::test]
async fn unrevealed_commits_expire_after_the_reveal_period() {
    let chain = instant();
    let netuid = fast_subnet(&chain, 1).await;
    sudo(
        &chain,
        netuid,
        Hyperparameter::CommitRevealWeightsEnabled,
        1,
    )
    .await;
    let owner = key("//Alice//owner");
    let a = register(&chain, &bob(), netuid, &key("//Bob//a")).await;
    sudo(&chain, netuid, Hyperparameter::Tempo, 20).await;
    let hash = weights_commit_hash(&hot(&owner), netuid, &[a], &[1], &[9], 0);
    commit_weights_call(&chain, &owner, netuid, hash)
        .await
        .unwrap();
    run_epoch(&chain, netuid).await;
    run_epoch(&chain, netuid).await;
    let head = chain.current_block().await.unwrap();
    let events = chain.block(head).await.unwrap().events;
    assert!(events.iter().any(|e| matches!(
        &e.event,
        Event::CommitsExpired { count: 1, hotkey, .. } if *hotkey == hot(&owner)
    )));
    assert_rule(
        reveal_weights_call(&chain, &owner, netuid, &[a], &[1], &[9], 0).await,
        "NoWeightsCommitFound",
    );
}

#[tokio::test]
async fn commits_are_rate_limited_and_bounded() {
    let chain = instant();
    let netuid = fast_subnet(&chain, 1000).await;
    sudo(
        &chain,
        netuid,
        Hyperparameter::CommitRevealWeightsEnabled,
        1,
    )
    .await;
    let owner = key("//Alice//owner");
    for i in 0..10u8 {
        commit_weights_call(&chain, &owner, netuid, subforge_sdk::chain::H256([i; 32]))
            .await
            .unwrap();
    }
    assert_rule(
        commit_weights_call(&chain, &owner, netuid, subforge_sdk::chain::H256([99; 32])).await,
        "TooManyUnrevealedCommits",
    );
    sudo(&chain, netuid, Hyperparameter::WeightsSetRateLimit, 50).await;
    let other = chain
        .create_subnet(&bob(), &hot(&key("//Bob//owner")))
        .await
        .unwrap();
    sudo(&chain, other, Hyperparameter::WeightsSetRateLimit, 50).await;
    let bob_owner = key("//Bob//owner");
    commit_weights_call(
        &chain,
        &bob_owner,
        other,
        subforge_sdk::chain::H256([1; 32]),
    )
    .await
    .unwrap();
    assert_rule(
        commit_weights_call(
            &chain,
            &bob_owner,
            other,
            subforge_sdk::chain::H256([2; 32]),
        )
        .await,
        "CommittingWeightsTooFast",
    );
    sudo(&chain, other, Hyperparameter::CommitRevealWeightsEnabled, 0).await;
    assert_rule(
        commit_weights_call(
            &chain,
            &bob_owner,
            other,
            subforge_sdk::chain::H256([3; 32]),
        )
        .await,
        "CommitRevealDisabled",
    );
}
