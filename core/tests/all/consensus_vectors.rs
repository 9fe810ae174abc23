//! The chain's own test vectors (spec/yuma.md §6), run as scenarios through the same code as
//! `subforge epoch simulate`. The scenario files live in docs/consensus/.

use subforge_core::consensus::scenario::{
    EpochReport, Event, Scenario, ScenarioHyperparameters, SetWeights, simulate,
};
use subforge_core::consensus::{EpochOutput, block_emission};

const V1: &str = include_str!("../../../docs/consensus/v1-ten-self-weights.json");
const V2: &str = include_str!("../../../docs/consensus/v2-bonds-classic.json");
const V4_NO_WEIGHTS: &str =
    include_str!("../../../docs/consensus/v4-two-validators-no-weights.json");
const V4_SHORT_PERMITS: &str = include_str!("../../../docs/consensus/v4-short-permit-vector.json");
const V4_TWO_SERVERS: &str = include_str!("../../../docs/consensus/v4-two-servers.json");
const V4_SPLIT: &str = include_str!("../../../docs/consensus/v4-split-weights.json");
const V4_TOP_K: &str = include_str!("../../../docs/consensus/v4-top-k-permits.json");
const V5_FIRST: &str = include_str!("../../../docs/consensus/v5-kappa-moves-first.json");
const V5_SECOND: &str = include_str!("../../../docs/consensus/v5-kappa-moves-second.json");
const V5_SWITCH: &str = include_str!("../../../docs/consensus/v5-one-epoch-switch.json");
const V5_NO_LIQUID: &str = include_str!("../../../docs/consensus/v5-liquid-alpha-disabled.json");
const V5_STABLE: &str = include_str!("../../../docs/consensus/v5-stable-miner.json");

fn rao(v: &[subforge_core::Balance]) -> Vec<u64> {
    v.iter().map(|b| b.rao()).collect()
}

fn emission(out: &EpochOutput) -> Vec<u64> {
    rao(&out.emission)
}

/// The bond `validator` holds on `miner`, as stored (0 when absent).
fn bond(out: &EpochOutput, validator: usize, miner: u16) -> u16 {
    out.bonds[validator]
        .iter()
        .find(|(j, _)| *j == miner)
        .map_or(0, |(_, b)| *b)
}

#[test]
fn v1_self_weights_only_fall_back_to_stake() {
    let reports = simulate(V1).unwrap();
    let out = &reports[0].output;
    assert_eq!(emission(out), vec![99_999_999; 10]);
    assert_eq!(out.incentive, vec![0; 10]);
    assert_eq!(out.dividends, vec![0; 10]);
    assert_eq!(out.consensus, vec![0; 10]);
}

#[test]
fn v2_classic_bonds_over_eight_epochs() {
    let r = simulate(V2).unwrap();
    let by_block = |b: u64| -> &EpochOutput { &r.iter().find(|x| x.block == b).unwrap().output };
    // Epoch A: permits from stake, emission by stake (fallback).
    assert_eq!(
        by_block(1).validator_permit,
        [true, true, true, true, false, false, false, false]
    );
    assert_eq!(
        emission(by_block(1)),
        [99999999, 199999999, 299999999, 399999999, 0, 0, 0, 0]
    );
    // Stored bonds: (block, column, val0..val3).
    let bonds = [
        (2, 4, [16383, 32767, 49151, 65535]),
        (3, 4, [14582, 32767, 49151, 65535]),
        (4, 4, [12603, 28321, 49151, 65535]),
        (5, 7, [12602, 28320, 49150, 65535]),
        (6, 7, [10951, 24609, 49150, 65535]),
        (7, 7, [9559, 21482, 49150, 65535]),
        (8, 7, [8376, 18824, 49150, 65535]),
    ];
    for (block, col, want) in bonds {
        let got: Vec<u16> = (0..4).map(|v| bond(by_block(block), v, col)).collect();
        assert_eq!(
            got, want,
            "bonds on uid {col} after the epoch at block {block}"
        );
    }
    let emissions: [(u64, [u64; 8]); 7] = [
        (
            2,
            [
                49999998, 99999999, 150000000, 200000001, 49998779, 100000610, 149996337, 200004272,
            ],
        ),
        (
            3,
            [
                44998351, 101110561, 151667215, 202223870, 49998779, 100000610, 149996337,
                200004272,
            ],
        ),
        (5, [99999999, 199999999, 299999999, 399999999, 0, 0, 0, 0]),
        (
            6,
            [36443733, 81898628, 163565493, 218092144, 0, 0, 0, 500000000],
        ),
        (
            7,
            [32799427, 73706612, 168638129, 224855830, 0, 0, 0, 500000000],
        ),
        (
            8,
            [29518068, 66336137, 173203134, 230942659, 0, 0, 0, 500000000],
        ),
        (
            9,
            [26565175, 59701871, 177311856, 236421095, 0, 0, 0, 500000000],
        ),
    ];
    for (block, want) in emissions {
        assert_eq!(emission(by_block(block)), want, "emission at block {block}");
    }
    assert_eq!(by_block(2).dividends[..4], [6553, 13106, 19660, 26214]);
    assert_eq!(by_block(3).dividends[..4], [5897, 13252, 19879, 26505]);
    assert_eq!(by_block(6).dividends[..4], [4776, 10734, 21438, 28585]);
}

/// V3: 512 uids, 64 validators weighting all 448 servers equally, three epochs, for every
/// order of uids and with or without server self-weights.
fn v3_scenario(validators: &[u16], servers: &[u16], server_self: bool) -> Scenario {
    let n = validators.len() + servers.len();
    let stake_per_validator = 328_125_000_000_000u64;
    let mut stake = vec![0u64; n];
    for &v in validators {
        stake[usize::from(v)] = stake_per_validator;
    }
    let mut events = vec![epoch_at(1)];
    for &v in validators {
        events.push(weights_at(
            1,
            v,
            servers.to_vec(),
            vec![u16::MAX / 512; servers.len()],
        ));
    }
    if server_self {
        for &s in servers {
            events.push(weights_at(1, s, vec![s], vec![u16::MAX]));
        }
    }
    events.extend([epoch_at(1), epoch_at(1), epoch_at(1)]);
    Scenario {
        n,
        hyperparameters: ScenarioHyperparameters {
            tempo: u16::MAX - 1,
            max_allowed_validators: validators.len() as u16,
            yuma3: false,
            ..ScenarioHyperparameters::default()
        },
        stake,
        registered_at: vec![0; n],
        last_update: None,
        validator_permit: None,
        owner: None,
        events,
    }
}

fn epoch_at(block: u64) -> Event {
    Event {
        block,
        epoch: Some(1_000_000_000),
        set_weights: None,
        register: None,
        set_stake: None,
    }
}

fn weights_at(block: u64, uid: u16, uids: Vec<u16>, weights: Vec<u16>) -> Event {
    Event {
        block,
        epoch: None,
        set_weights: Some(SetWeights { uid, uids, weights }),
        register: None,
        set_stake: None,
    }
}

/// A fixed pseudo-random permutation (xorshift Fisher-Yates), for the "random interleaving".
fn shuffled(n: u16, mut seed: u64) -> Vec<u16> {
    let mut v: Vec<u16> = (0..n).collect();
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    v
}

#[test]
fn v3_512_uids_in_any_order() {
    let blockwise: (Vec<u16>, Vec<u16>) = ((0..64).collect(), (64..512).collect());
    let regular: (Vec<u16>, Vec<u16>) = (0..512).partition(|i| i % 8 == 0);
    let perm = shuffled(512, 0x5eed);
    let random = (perm[..64].to_vec(), perm[64..].to_vec());
    for (validators, servers) in [blockwise, regular, random] {
        for server_self in [false, true] {
            let reports = v3_scenario(&validators, &servers, server_self)
                .run()
                .unwrap();
            let out = &reports.last().unwrap().output;
            for &v in &validators {
                let v = usize::from(v);
                assert_eq!(out.dividends[v], 1023);
                assert_eq!(out.emission[v].rao(), 7_812_500);
                assert_eq!(out.consensus[v], 0);
                assert_eq!(out.incentive[v], 0);
                assert_eq!(bond(out, v, servers[0]), 65535);
                assert_eq!(bond(out, v, validators[0]), 0);
            }
            for &s in &servers {
                let s = usize::from(s);
                assert_eq!(out.consensus[s], 146);
                assert_eq!(out.incentive[s], 146);
                assert_eq!(out.dividends[s], 0);
                assert_eq!(out.emission[s].rao(), 1_116_071);
                assert!(out.bonds[s].is_empty());
            }
        }
    }
}

fn single(text: &str) -> EpochOutput {
    let mut r = simulate(text).unwrap();
    assert_eq!(r.len(), 1);
    r.remove(0).output
}

#[test]
fn v4_direct_state() {
    assert_eq!(emission(&single(V4_NO_WEIGHTS)), [500_000_000, 500_000_000]);
    assert_eq!(
        rao(&single(V4_SHORT_PERMITS).validator_emission),
        [1_000_000_000, 0]
    );

    let out = single(V4_TWO_SERVERS);
    assert_eq!(out.consensus, [0, 0, 0, 65535, 0]);
    assert_eq!(out.validator_trust, [65535, 0, 65535, 0, 0]);
    assert_eq!(out.dividends, [32767, 0, 32767, 0, 0]);
    assert_eq!(
        emission(&out),
        [250_000_000, 0, 250_000_000, 500_000_000, 0]
    );
    assert_eq!(rao(&out.server_emission), [0, 0, 0, 500_000_000, 0]);
    assert_eq!(
        rao(&out.validator_emission),
        [250_000_000, 0, 250_000_000, 0, 0]
    );

    let out = single(V4_SPLIT);
    assert_eq!(out.dividends[..3], [16383, 16383, 32767]);
    assert_eq!(
        emission(&out),
        [
            125_000_000,
            125_000_000,
            250_000_000,
            250_000_000,
            250_000_000
        ]
    );
    assert_eq!(out.consensus[3..], [32767, 32767]);

    assert_eq!(single(V4_TOP_K).validator_permit, [true, false]);
}

/// Dividends of validators A, B, C after each step, to 1e-3.
fn assert_dividends(reports: &[EpochReport], want: &[[f64; 3]]) {
    // The first report is the setup epoch; steps follow.
    assert_eq!(reports.len(), want.len() + 1);
    for (step, (r, w)) in reports[1..].iter().zip(want).enumerate() {
        for (v, want) in w.iter().enumerate() {
            let got = f64::from(r.output.dividends[v]) / 65535.0;
            assert!(
                (got - want).abs() <= 1e-3,
                "epoch {step} validator {v}: dividends {got}, want {want}"
            );
        }
    }
}

#[test]
fn v5_yuma3_kappa_moves_first() {
    let r = simulate(V5_FIRST).unwrap();
    assert_dividends(
        &r,
        &[
            [0.8, 0.1, 0.1],
            [1.0, 0.0, 0.0],
            [0.9382, 0.0618, 0.0],
            [0.8819, 0.0773, 0.0407],
            [0.8564, 0.0844, 0.0592],
            [0.8418, 0.0884, 0.0697],
        ],
    );
    // The liquid-alpha bond after the first step: 0.1013.
    let b = f64::from(bond(&r[1].output, 0, 3)) / 65535.0;
    assert!((b - 0.1013).abs() < 1e-3, "{b}");
}

#[test]
fn v5_yuma3_kappa_moves_second() {
    assert_dividends(
        &simulate(V5_SECOND).unwrap(),
        &[
            [0.8, 0.1, 0.1],
            [0.8446, 0.0498, 0.1056],
            [0.6868, 0.3132, 0.0],
            [0.7421, 0.2090, 0.0489],
            [0.7625, 0.1706, 0.0669],
            [0.7730, 0.1508, 0.0762],
        ],
    );
}

#[test]
fn v5_yuma3_one_epoch_switch() {
    assert_dividends(
        &simulate(V5_SWITCH).unwrap(),
        &[
            [0.33, 0.33, 0.34],
            [0.33, 0.33, 0.34],
            [0.3782, 0.3782, 0.2436],
            [0.3628, 0.3628, 0.2745],
            [0.3541, 0.3541, 0.2917],
            [0.3487, 0.3487, 0.3026],
        ],
    );
}

#[test]
fn v5_yuma3_stable_miner() {
    assert_dividends(
        &simulate(V5_STABLE).unwrap(),
        &[
            [0.8, 0.1, 0.1],
            [0.8226, 0.0745, 0.1028],
            [0.7750, 0.1685, 0.0565],
            [0.7864, 0.1372, 0.0764],
            [0.7912, 0.1241, 0.0847],
            [0.7937, 0.1173, 0.0890],
        ],
    );
}

#[test]
fn v5_yuma3_without_liquid_alpha_is_exact() {
    let r = simulate(V5_NO_LIQUID).unwrap();
    assert_dividends(
        &r,
        &[
            [0.33, 0.33, 0.34],
            [0.33, 0.33, 0.34],
            [0.3734, 0.3734, 0.2532],
            [0.3611, 0.3611, 0.2779],
            [0.3541, 0.3541, 0.2919],
            [0.3495, 0.3495, 0.3009],
        ],
    );
    assert_eq!(
        emission(&r[0].output),
        [329999999, 329999999, 339999999, 0, 0]
    );
    let a_on_s1: Vec<u16> = r[1..].iter().map(|x| bond(&x.output, 0, 3)).collect();
    assert_eq!(a_on_s1, [1638, 3235, 4792, 6310, 7790, 9233]);
    assert_eq!(
        (bond(&r[3].output, 2, 3), bond(&r[3].output, 2, 4)),
        (3154, 1638)
    );
    assert_eq!(
        (bond(&r[6].output, 2, 3), bond(&r[6].output, 2, 4)),
        (7715, 1518)
    );
    assert_eq!(r[1].output.dividends[..3], [21626, 21626, 22281]);
    assert_eq!(r[3].output.dividends[..3], [24470, 24470, 16593]);
    assert_eq!(r[6].output.dividends[..3], [22907, 22907, 19720]);
    assert_eq!(
        emission(&r[3].output),
        [186700830, 186700830, 126598338, 500000000, 0]
    );
}

#[test]
fn v6_liquid_alpha_with_equal_bounds_is_the_fixed_rate() {
    // low = high = 6553 (≈ 0.1) against the constant rate of bonds_moving_average 900000.
    let mut liquid = Scenario::from_json(V5_SWITCH).unwrap();
    liquid.hyperparameters.alpha_low = 6553;
    liquid.hyperparameters.alpha_high = 6553;
    let mut fixed = Scenario::from_json(V5_SWITCH).unwrap();
    fixed.hyperparameters.liquid_alpha = false;
    fixed.hyperparameters.bonds_moving_average = 900_000;
    for (a, b) in liquid
        .run()
        .unwrap()
        .iter()
        .zip(fixed.run().unwrap().iter())
    {
        for v in 0..3 {
            for s in [3, 4] {
                let (x, y) = (bond(&a.output, v, s), bond(&b.output, v, s));
                assert!(
                    x.abs_diff(y) <= 66,
                    "block {} bond {v}->{s}: {x} vs {y}",
                    a.block
                );
            }
        }
    }
}

#[test]
fn block_emission_halves_at_each_threshold() {
    const TAO: u64 = 1_000_000_000;
    assert_eq!(block_emission(0), TAO);
    // Issuance 21M·(1 − 2^−k) TAO starts the k-th halving.
    for k in 1..=10u32 {
        let threshold = 21_000_000 * TAO - ((21_000_000 * TAO) >> k);
        assert_eq!(
            block_emission(threshold - 1),
            TAO >> (k - 1),
            "just before halving {k}"
        );
        assert_eq!(block_emission(threshold), TAO >> k, "at halving {k}");
        assert_eq!(
            block_emission(threshold + 1),
            TAO >> k,
            "just after halving {k}"
        );
    }
    assert_eq!(block_emission(10_500_000 * TAO), 500_000_000);
    assert_eq!(block_emission(15_750_000 * TAO), 250_000_000);
    assert_eq!(block_emission(18_375_000 * TAO), 125_000_000);
    assert_eq!(block_emission(19_687_500 * TAO), 62_500_000);
    assert_eq!(block_emission(20_343_750 * TAO), 31_250_000);
    assert_eq!(block_emission(21_000_000 * TAO - 1), 0);
    assert_eq!(block_emission(21_000_000 * TAO), 0);
    assert_eq!(block_emission(u64::MAX), 0);
}
