//! The subnets the epoch benchmarks run on.

use subforge_core::consensus::{EpochInput, EpochParams};
use subforge_core::{Balance, Block, Uid};

/// A subnet after a few epochs: `validators` validators (the first uids, varied stakes) each
/// weighting `per_validator` miners (every miner when that is `n`) with varied weights, in
/// ascending uid order, and bonds on the same miners from a previous epoch.
pub(crate) fn subnet(n: usize, validators: usize, per_validator: usize, yuma3: bool) -> EpochInput {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let params = EpochParams {
        tempo: 360,
        activity_cutoff: 5000,
        max_allowed_validators: validators as u16,
        yuma3,
        liquid_alpha: yuma3,
        bonds_penalty: if yuma3 { 0 } else { u16::MAX },
        ..EpochParams::default()
    };
    let stake = (0..n)
        .map(|i| {
            Balance::from_rao(if i < validators {
                1_000_000_000_000 + next() % 1_000_000_000_000
            } else {
                0
            })
        })
        .collect();
    let weights: Vec<Vec<(u16, u16)>> = (0..n)
        .map(|i| {
            if i < validators {
                // Every `step`-th miner, from an offset that varies by validator.
                let miners = n - validators;
                let step = miners.div_ceil(per_validator.min(miners)).max(1);
                (validators + i % step..n)
                    .step_by(step)
                    .map(|j| (j as u16, (next() % 65536) as u16))
                    .collect()
            } else {
                Vec::new()
            }
        })
        .collect();
    let bonds = weights
        .iter()
        .map(|row| {
            row.iter()
                .map(|&(j, _)| (j, (next() % 65536) as u16))
                .collect()
        })
        .collect();
    EpochInput {
        block: Block(10_000),
        params,
        stake,
        last_update: vec![Block(9_990); n],
        block_at_registration: vec![Block(100); n],
        owner: Some(Uid(0)),
        validator_permit: (0..n).map(|i| i < validators).collect(),
        weights,
        bonds,
        commit_reveal: Some(vec![None; n]),
        last_epoch_block: Block(9_640),
        emission: Balance::from_rao(360_000_000_000),
    }
}
