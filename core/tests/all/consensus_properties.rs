//! Invariants of the epoch over random subnets: emission is conserved up to rounding, uid
//! numbering does not matter, results are deterministic, and a cabal below kappa cannot lift
//! its own miners' consensus.

use proptest::prelude::*;
use subforge_core::consensus::fixed::{div, fixed_proportion_to_u16, from_u16};
use subforge_core::consensus::scenario::{
    Event, Register, Scenario, ScenarioHyperparameters, SetStake, SetWeights, simulate,
};
use subforge_core::consensus::{EpochInput, EpochOutput, EpochParams, epoch};
use subforge_core::{Balance, Block, Uid};

/// A random subnet state: sorted sparse rows (as the SDK submits them), random permits,
/// activity, registrations, bonds and settings.
fn subnet() -> impl Strategy<Value = EpochInput> {
    (2usize..20).prop_flat_map(|n| {
        let rows = prop::collection::vec(
            prop::collection::btree_map(0..n as u16, any::<u16>(), 0..n),
            n,
        );
        let bonds = prop::collection::vec(
            prop::collection::btree_map(0..n as u16, any::<u16>(), 0..n),
            n,
        );
        (
            prop::collection::vec(prop_oneof![Just(0u64), 1u64..10_000_000], n),
            rows,
            bonds,
            prop::collection::vec(any::<bool>(), n),
            prop::collection::vec(0u64..40, n),
            prop::collection::vec(0u64..40, n),
            params(n),
            prop::option::of(0..n as u16),
            1_000u64..20_000_000_000,
        )
            .prop_map(
                move |(
                    stake,
                    rows,
                    bonds,
                    permits,
                    last_update,
                    registered,
                    params,
                    owner,
                    emission,
                )| {
                    EpochInput {
                        block: Block(40),
                        params,
                        stake: stake.into_iter().map(Balance::from_rao).collect(),
                        last_update: last_update.into_iter().map(Block).collect(),
                        block_at_registration: registered.into_iter().map(Block).collect(),
                        owner: owner.map(Uid),
                        validator_permit: permits,
                        weights: rows.into_iter().map(|r| r.into_iter().collect()).collect(),
                        bonds: bonds.into_iter().map(|r| r.into_iter().collect()).collect(),
                        commit_reveal: None,
                        last_epoch_block: Block(0),
                        emission: Balance::from_rao(emission),
                    }
                },
            )
    })
}

fn params(n: usize) -> impl Strategy<Value = EpochParams> {
    (
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(0u16), Just(u16::MAX), any::<u16>()],
        prop_oneof![Just(32_767u16), any::<u16>()],
        prop_oneof![Just(900_000u64), Just(975_000u64), 0u64..=1_000_000],
        1..=n as u16 + 2,
        1u16..20,
        (1_638u16..=u16::MAX, 1_638u16..=u16::MAX),
        prop_oneof![Just(1_000i16), any::<i16>()],
    )
        .prop_map(
            |(yuma3, liquid, penalty, kappa, bma, max_validators, tempo, (a, b), steep)| {
                EpochParams {
                    tempo,
                    activity_cutoff: 30,
                    kappa,
                    max_allowed_validators: max_validators,
                    bonds_penalty: penalty,
                    bonds_moving_average: bma,
                    yuma3,
                    liquid_alpha: liquid,
                    alpha_low: a.min(b),
                    alpha_high: a.max(b),
                    alpha_sigmoid_steepness: steep,
                    stake_threshold: 0,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn emission_never_exceeds_what_was_given(input in subnet()) {
        let out = epoch(&input).unwrap();
        let given = input.emission.rao();
        let n = input.stake.len() as u64;
        let total: u64 = out.emission.iter().map(|b| b.rao()).sum();
        let split: u64 = out
            .server_emission
            .iter()
            .chain(&out.validator_emission)
            .map(|b| b.rao())
            .sum();
        prop_assert!(total <= given, "{total} > {given}");
        prop_assert!(split <= given, "{split} > {given}");
        // Each uid's share is truncated (twice at most, from stake) and its amount floored.
        let slack = n * (2 * given.div_ceil(1 << 32) + 1) + 1;
        if input.stake.iter().any(|s| s.rao() > 0) {
            prop_assert!(given - total <= slack, "short by {} (slack {slack})", given - total);
            prop_assert!(given - split <= slack, "split short by {} (slack {slack})", given - split);
        }
    }

    #[test]
    fn the_same_input_gives_the_same_bits(input in subnet()) {
        let a = epoch(&input).unwrap();
        let copy: EpochInput = serde_json::from_str(&serde_json::to_string(&input).unwrap()).unwrap();
        prop_assert_eq!(&copy, &input);
        prop_assert_eq!(a, epoch(&copy).unwrap());
    }

    #[test]
    fn uid_numbering_does_not_matter(
        input in subnet().prop_filter("distinct non-zero stakes", distinct_stakes),
        seed in any::<u64>(),
    ) {
        let n = input.stake.len();
        let perm = permutation(n, seed);
        let moved = permute(&input, &perm);
        let a = epoch(&input).unwrap();
        let b = epoch(&moved).unwrap();
        for i in 0..n {
            let k = perm[i];
            prop_assert_eq!(a.incentive[i], b.incentive[k]);
            prop_assert_eq!(a.dividends[i], b.dividends[k]);
            prop_assert_eq!(a.consensus[i], b.consensus[k]);
            prop_assert_eq!(a.validator_trust[i], b.validator_trust[k]);
            prop_assert_eq!(a.stake_weight[i], b.stake_weight[k]);
            prop_assert_eq!(a.active[i], b.active[k]);
            prop_assert_eq!(a.validator_permit[i], b.validator_permit[k]);
            prop_assert_eq!(a.emission[i], b.emission[k]);
            prop_assert_eq!(a.server_emission[i], b.server_emission[k]);
            prop_assert_eq!(a.validator_emission[i], b.validator_emission[k]);
            let mut want: Vec<(u16, u16)> =
                a.bonds[i].iter().map(|&(j, v)| (perm[usize::from(j)] as u16, v)).collect();
            want.sort_unstable();
            let mut got = b.bonds[k].clone();
            got.sort_unstable();
            prop_assert_eq!(want, got);
        }
    }

    #[test]
    fn a_cabal_below_kappa_cannot_lift_its_miners(
        honest in prop::collection::vec(1_000u64..1_000_000, 2..6),
        cabal_share in 1u64..45,
        cabal_size in 1usize..4,
        honest_miners in 1usize..5,
        cabal_miners in 1usize..4,
        honest_weights in prop::collection::vec(any::<u16>(), 64),
        cabal_weights in prop::collection::vec(1u16.., 16),
        give_cabal_miners in any::<bool>(),
    ) {
        let h_total: u64 = honest.iter().sum();
        // The cabal holds `cabal_share` % of all stake, below kappa (≈ 50 %).
        let c_total = h_total * cabal_share / (100 - cabal_share);
        let cabal_stake: Vec<u64> = (0..cabal_size).map(|_| (c_total / cabal_size as u64).max(1)).collect();
        let v = honest.len() + cabal_size;
        let n = v + honest_miners + cabal_miners;
        let hm: Vec<u16> = (v..v + honest_miners).map(|x| x as u16).collect();
        let cm: Vec<u16> = (v + honest_miners..n).map(|x| x as u16).collect();
        let mut hw = honest_weights.into_iter().cycle();
        let mut weights = vec![Vec::new(); n];
        for row in weights.iter_mut().take(honest.len()) {
            let targets: Vec<u16> = if give_cabal_miners {
                hm.iter().chain(&cm).copied().collect()
            } else {
                hm.clone()
            };
            *row = targets.into_iter().map(|j| (j, hw.next().unwrap_or(1))).collect();
        }
        let mut cw = cabal_weights.into_iter().cycle();
        for row in weights.iter_mut().skip(honest.len()).take(cabal_size) {
            *row = cm.iter().map(|&j| (j, cw.next().unwrap_or(1))).collect();
        }
        let stake: Vec<Balance> = honest
            .iter()
            .chain(&cabal_stake)
            .copied()
            .chain(std::iter::repeat_n(0, n - v))
            .map(Balance::from_rao)
            .collect();
        let input = EpochInput {
            block: Block(10),
            params: EpochParams {
                max_allowed_validators: v as u16,
                activity_cutoff: 100,
                ..EpochParams::default()
            },
            stake,
            last_update: vec![Block(5); n],
            block_at_registration: vec![Block(1); n],
            owner: None,
            validator_permit: (0..n).map(|i| i < v).collect(),
            weights: weights.clone(),
            bonds: vec![Vec::new(); n],
            commit_reveal: None,
            last_epoch_block: Block(0),
            emission: Balance::from_rao(1_000_000_000),
        };
        let out = epoch(&input).unwrap();
        for &j in &cm {
            // The most any honest validator gives miner j, as the epoch normalises it.
            let honest_max = weights[..honest.len()]
                .iter()
                .map(|row| {
                    let total = row.iter().fold(from_u16(0), |a, &(_, w)| a + from_u16(w));
                    row.iter()
                        .find(|&&(k, _)| k == j)
                        .map_or(0, |&(_, w)| fixed_proportion_to_u16(div(from_u16(w), total)))
                })
                .max()
                .unwrap_or(0);
            let j = usize::from(j);
            prop_assert!(
                out.consensus[j] <= honest_max,
                "miner {j}: consensus {} above the honest maximum {honest_max}",
                out.consensus[j]
            );
            if !give_cabal_miners {
                prop_assert_eq!(out.consensus[j], 0);
                prop_assert_eq!(out.incentive[j], 0);
                prop_assert_eq!(out.server_emission[j].rao(), 0);
            }
        }
    }
}

fn distinct_stakes(input: &EpochInput) -> bool {
    let mut s: Vec<u64> = input
        .stake
        .iter()
        .map(|b| b.rao())
        .filter(|&r| r > 0)
        .collect();
    let len = s.len();
    s.sort_unstable();
    s.dedup();
    s.len() == len
}

/// `perm[old] = new`.
fn permutation(n: usize, mut seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    v
}

/// The same subnet with uid `i` renumbered `perm[i]`; rows stay sorted by uid.
fn permute(input: &EpochInput, perm: &[usize]) -> EpochInput {
    let n = perm.len();
    let mut out = input.clone();
    fn place<T: Copy>(perm: &[usize], dst: &mut [T], src: &[T]) {
        for (i, &k) in perm.iter().enumerate() {
            dst[k] = src[i];
        }
    }
    place(perm, &mut out.stake, &input.stake);
    place(perm, &mut out.last_update, &input.last_update);
    place(
        perm,
        &mut out.block_at_registration,
        &input.block_at_registration,
    );
    place(perm, &mut out.validator_permit, &input.validator_permit);
    out.owner = input.owner.map(|o| Uid(perm[o.index()] as u16));
    let rows = |m: &Vec<Vec<(u16, u16)>>| -> Vec<Vec<(u16, u16)>> {
        let mut r = vec![Vec::new(); n];
        for (i, row) in m.iter().enumerate() {
            let mut moved: Vec<(u16, u16)> = row
                .iter()
                .map(|&(j, w)| (perm[usize::from(j)] as u16, w))
                .collect();
            moved.sort_unstable();
            r[perm[i]] = moved;
        }
        r
    };
    out.weights = rows(&input.weights);
    out.bonds = rows(&input.bonds);
    out
}

#[test]
fn a_cabal_alone_gets_nothing_for_its_miners() {
    // Honest 60 % weights uid 3 only; the 40 % cabal weights its miner uid 4 only.
    let input = EpochInput {
        block: Block(10),
        params: EpochParams {
            activity_cutoff: 100,
            ..EpochParams::default()
        },
        stake: [600, 400, 0, 0, 0].map(Balance::from_rao).to_vec(),
        last_update: vec![Block(5); 5],
        block_at_registration: vec![Block(1); 5],
        owner: None,
        validator_permit: vec![true, true, false, false, false],
        weights: vec![vec![(3, 65535)], vec![(4, 65535)], vec![], vec![], vec![]],
        bonds: vec![vec![]; 5],
        commit_reveal: None,
        last_epoch_block: Block(0),
        emission: Balance::from_rao(1_000_000_000),
    };
    let out: EpochOutput = epoch(&input).unwrap();
    assert_eq!(out.consensus[4], 0);
    assert_eq!(out.incentive[4], 0);
    assert_eq!(out.incentive[3], 65535);
    assert_eq!(out.validator_trust[..2], [65535, 0]);
    assert_eq!(out.dividends[1], 0);
}

/// A random event history over `n` uids: weights (zeros and any order allowed), stake
/// changes, re-registrations and epochs, in block order.
fn history(n: usize) -> impl Strategy<Value = Vec<Event>> {
    let uid = 0..n as u16;
    let action = prop_oneof![
        3 => (uid.clone(), prop::collection::btree_map(0..n as u16, any::<u16>(), 0..n))
            .prop_flat_map(|(who, row)| {
                let pairs: Vec<(u16, u16)> = row.into_iter().collect();
                Just(pairs).prop_shuffle().prop_map(move |p| {
                    let (uids, weights) = p.into_iter().unzip();
                    (Some(SetWeights { uid: who, uids, weights }), None, None, None)
                })
            }),
        1 => (uid.clone(), 0u64..1_000_000)
            .prop_map(|(who, stake)| (None, Some(SetStake { uid: who, stake }), None, None)),
        1 => uid.prop_map(|who| (None, None, Some(Register { uid: who }), None)),
        2 => (0u64..5_000_000_000).prop_map(|e| (None, None, None, Some(e))),
    ];
    prop::collection::vec((0u64..3, action), 1..30).prop_map(|steps| {
        let mut block = 1;
        steps
            .into_iter()
            .map(|(gap, (set_weights, set_stake, register, epoch))| {
                block += gap;
                Event {
                    block,
                    epoch,
                    set_weights,
                    register,
                    set_stake,
                }
            })
            .collect()
    })
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (2usize..10).prop_flat_map(|n| {
        (
            prop::collection::vec(0u64..1_000_000, n),
            prop::collection::vec(0u64..2, n),
            history(n),
            any::<bool>(),
            any::<bool>(),
            prop_oneof![Just(0u16), Just(u16::MAX), any::<u16>()],
            1u16..4,
            prop::option::of(0..n as u16),
        )
            .prop_map(
                move |(stake, registered_at, events, yuma3, liquid, penalty, tempo, owner)| {
                    Scenario {
                        n,
                        hyperparameters: ScenarioHyperparameters {
                            tempo,
                            yuma3,
                            liquid_alpha: liquid,
                            bonds_penalty: penalty,
                            max_allowed_validators: 3,
                            ..ScenarioHyperparameters::default()
                        },
                        stake,
                        registered_at,
                        last_update: None,
                        validator_permit: None,
                        owner,
                        events,
                    }
                },
            )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_histories_replay_and_conserve_emission(s in scenario()) {
        let text = serde_json::to_string(&s).unwrap();
        let reports = simulate(&text).unwrap();
        let epochs: Vec<&Event> = s.events.iter().filter(|e| e.epoch.is_some()).collect();
        prop_assert_eq!(reports.len(), epochs.len());
        for (r, e) in reports.iter().zip(epochs) {
            let given = e.epoch.unwrap_or(0);
            let total: u64 = r.output.emission.iter().map(|b| b.rao()).sum();
            prop_assert!(total <= given);
            prop_assert_eq!(r.block, e.block);
            // Permitted validators only hold bonds; every bond points at a uid.
            for (i, row) in r.output.bonds.iter().enumerate() {
                prop_assert!(row.is_empty() || r.output.validator_permit[i]);
                prop_assert!(row.iter().all(|&(j, _)| usize::from(j) < s.n));
            }
        }
        // Replaying twice gives the same bits.
        prop_assert_eq!(reports, s.run().unwrap());
    }
}
