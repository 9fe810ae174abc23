//! The block emission schedule: 1 TAO per block, halving each time the issuance covers half of
//! what remains of the 21M cap, nothing once the cap is reached.

use substrate_fixed::transcendental::log2;

use super::fixed::I96F32;

/// The hard cap on TAO, in rao (21M TAO).
pub const TOTAL_SUPPLY_RAO: u64 = 21_000_000_000_000_000;

/// Rao minted per block before any halving (1 TAO).
const INITIAL_BLOCK_EMISSION: u64 = 1_000_000_000;

/// Rao minted in a block when `total_issuance` rao exist, as the chain's
/// `get_block_emission_for_issuance` computes it.
///
/// `floor(1e9 / 2^floor(log2(1 / (1 − issuance / 21e15))))` in `I96F32`: halvings at 10.5M,
/// 15.75M, 18.375M, ... TAO; zero from 21M TAO on (and where the chain's arithmetic fails).
pub fn block_emission(total_issuance: u64) -> u64 {
    let one = I96F32::from_num(1);
    let issuance = I96F32::saturating_from_num(total_issuance);
    if issuance >= I96F32::saturating_from_num(TOTAL_SUPPLY_RAO) {
        return 0;
    }
    let cap = I96F32::from_num(2).saturating_mul(I96F32::saturating_from_num(TOTAL_SUPPLY_RAO / 2));
    let residual = issuance
        .checked_div(cap)
        .and_then(|ratio| one.checked_sub(ratio))
        .and_then(|rest| one.checked_div(rest))
        .and_then(|x| log2::<I96F32, I96F32>(x).ok());
    let Some(residual) = residual else {
        return 0;
    };
    let halvings = residual.floor().saturating_to_num::<u64>();
    let mut multiplier = one;
    for _ in 0..halvings {
        multiplier = multiplier.saturating_mul(I96F32::from_num(2));
    }
    let share = one.checked_div(multiplier).unwrap_or(I96F32::from_num(0));
    share
        .saturating_mul(I96F32::saturating_from_num(INITIAL_BLOCK_EMISSION))
        .saturating_to_num::<u64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAO: u64 = 1_000_000_000;

    #[test]
    fn one_tao_per_block_at_genesis() {
        assert_eq!(block_emission(0), TAO);
        assert_eq!(block_emission(10_000_000 * TAO), TAO);
    }

    #[test]
    fn nothing_at_or_past_the_cap() {
        assert_eq!(block_emission(TOTAL_SUPPLY_RAO), 0);
        assert_eq!(block_emission(u64::MAX), 0);
    }
}
