//! Fixed-point helpers with the chain's exact rounding.
//!
//! Every operation here is the one the chain's epoch uses, so results agree to the bit:
//! multiplication floors ([`I32F32::saturating_mul`]), division truncates and a division by
//! zero gives zero ([`div`]), additions of proportions are exact integer additions.

pub use substrate_fixed::types::{I32F32, I64F64, I96F32};

/// Zero.
pub(crate) const ZERO: I32F32 = I32F32::from_bits(0);
/// One.
pub(crate) const ONE: I32F32 = I32F32::from_bits(1 << 32);

/// `a / b` truncated toward zero, or zero when `b` is zero or the quotient overflows: the
/// chain's `safe_div`, on which every normalisation relies.
pub fn div(a: I32F32, b: I32F32) -> I32F32 {
    a.checked_div(b).unwrap_or(ZERO)
}

/// [`div`] for [`I64F64`].
pub fn div64(a: I64F64, b: I64F64) -> I64F64 {
    a.checked_div(b).unwrap_or(I64F64::from_bits(0))
}

/// Sum as the chain computes it with `Iterator::sum`: plain integer addition (wrapping, as the
/// chain's release build does; proportions never come near the bound).
pub(crate) fn sum(values: impl IntoIterator<Item = I32F32>) -> I32F32 {
    I32F32::from_bits(
        values
            .into_iter()
            .fold(0i64, |acc, v| acc.wrapping_add(v.to_bits())),
    )
}

/// An integer (such as a stored `u16` weight) as an exact fixed-point value.
pub fn from_u16(v: u16) -> I32F32 {
    I32F32::from_bits(i64::from(v) << 32)
}

/// A stored `u16` proportion as a fixed-point value in `[0, 1]`: `v / 65535`, truncated.
pub fn u16_proportion_to_fixed(v: u16) -> I32F32 {
    div(from_u16(v), from_u16(u16::MAX))
}

/// A proportion in `[0, 1]` as the chain stores it: `floor(floor(x · 65535))`, saturating.
///
/// `fixed_proportion_to_u16(0.55) == 36044`.
pub fn fixed_proportion_to_u16(x: I32F32) -> u16 {
    x.saturating_mul(from_u16(u16::MAX)).saturating_to_num::<u16>()
}

/// Normalises in place so the values sum to one; a zero sum leaves the values unchanged.
pub(crate) fn normalize(values: &mut [I32F32]) {
    let total = sum(values.iter().copied());
    if total == ZERO {
        return;
    }
    for v in values.iter_mut() {
        *v = div(*v, total);
    }
}

/// `exp(x)` as the chain's `exp_safe`: the input clamped to `[-20, 20]`, then the
/// `substrate-fixed` Taylor series; on overflow zero for `x <= 0`, the largest value otherwise.
pub fn exp_safe(x: I32F32) -> I32F32 {
    let lo = I32F32::from_bits(-20i64 << 32);
    let hi = I32F32::from_bits(20i64 << 32);
    let x = if x < lo {
        lo
    } else if hi < x {
        hi
    } else {
        x
    };
    match substrate_fixed::transcendental::exp::<I32F32, I32F32>(x) {
        Ok(v) => v,
        Err(()) if x <= ZERO => ZERO,
        Err(()) => I32F32::max_value(),
    }
}

/// Scales so the largest value becomes 65535 and rounds, as the chain stores submitted
/// weights (`vec_max_upscale_to_u16`).
///
/// With maximum `m`: all zero gives `e · 65535`; `m > 32768` gives `round(e · (65535 / m))`;
/// otherwise `round(e · 65535 / m)`, rounding half away from zero.
pub fn vec_max_upscale_to_u16(values: &[I32F32]) -> Vec<u16> {
    let u16_max = from_u16(u16::MAX);
    let threshold = I32F32::from_bits(32768i64 << 32);
    let Some(&max) = values.iter().max() else {
        return Vec::new();
    };
    if max == ZERO {
        return values
            .iter()
            .map(|e| e.saturating_mul(u16_max).saturating_to_num::<u16>())
            .collect();
    }
    if max > threshold {
        let scale = div(u16_max, max);
        return values
            .iter()
            .map(|e| e.saturating_mul(scale).round().saturating_to_num::<u16>())
            .collect();
    }
    values
        .iter()
        .map(|e| {
            div(e.saturating_mul(u16_max), max)
                .round()
                .saturating_to_num::<u16>()
        })
        .collect()
}

/// [`vec_max_upscale_to_u16`] over integer inputs: what the chain stores from `set_weights`.
pub fn u16_max_upscale(values: &[u16]) -> Vec<u16> {
    let fixed: Vec<I32F32> = values.iter().map(|&v| from_u16(v)).collect();
    vec_max_upscale_to_u16(&fixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> I32F32 {
        I32F32::from_num(x)
    }

    #[test]
    fn proportion_to_u16_floors() {
        assert_eq!(fixed_proportion_to_u16(f(0.55)), 36044);
        assert_eq!(fixed_proportion_to_u16(ONE), 65535);
        assert_eq!(fixed_proportion_to_u16(f(-0.5)), 0);
        assert_eq!(fixed_proportion_to_u16(f(2.0)), 65535);
    }

    #[test]
    fn division_by_zero_is_zero_and_division_truncates() {
        assert_eq!(div(ONE, ZERO), ZERO);
        // 1/3 truncated: 0x55555555 raw.
        assert_eq!(div(ONE, from_u16(3)).to_bits(), 0x5555_5555);
        assert_eq!(div(-ONE, from_u16(3)).to_bits(), -0x5555_5555);
    }

    #[test]
    fn multiplication_floors() {
        let tiny = I32F32::from_bits(1);
        assert_eq!(tiny.saturating_mul(f(0.5)).to_bits(), 0);
        assert_eq!((-tiny).saturating_mul(f(0.5)).to_bits(), -1);
    }

    #[test]
    fn max_upscale_vectors_from_the_chain() {
        let v: Vec<I32F32> = [0.0, 0.5, 1.0, 1.5, 2.0, 32768.0].map(f).to_vec();
        assert_eq!(vec_max_upscale_to_u16(&v), [0, 1, 2, 3, 4, 65535]);
        let v: Vec<I32F32> = [0.0, 0.5, 1.0, 1.5, 2.0, 32768.0, 32769.0].map(f).to_vec();
        assert_eq!(vec_max_upscale_to_u16(&v), [0, 1, 2, 3, 4, 65533, 65535]);
        let v: Vec<I32F32> = [
            0.000001, 0.000006, 0.000007, 0.0001, 0.001, 0.01, 0.1, 0.2, 0.3, 0.4,
        ]
        .map(f)
        .to_vec();
        assert_eq!(
            vec_max_upscale_to_u16(&v),
            [0, 1, 1, 16, 164, 1638, 16384, 32768, 49151, 65535]
        );
        assert_eq!(vec_max_upscale_to_u16(&[ZERO, ZERO]), [0, 0]);
        assert!(vec_max_upscale_to_u16(&[]).is_empty());
        assert_eq!(u16_max_upscale(&[16383, 32767, 49149, 65535]), [16383, 32767, 49149, 65535]);
        assert_eq!(u16_max_upscale(&[1, 2]), [32768, 65535]);
    }

    #[test]
    fn exp_matches_the_series_and_clamps() {
        assert_eq!(exp_safe(ZERO), ONE);
        // exp(1) is the crate's 23-bit constant for e, widened: 0x15BF0A8 << 9.
        assert_eq!(exp_safe(ONE).to_bits(), 0x2_b7e1_5000);
        let e2 = exp_safe(from_u16(2)).to_num::<f64>();
        assert!((e2 - 2f64.exp()).abs() < 1e-6, "{e2}");
        let em5 = exp_safe(-from_u16(5)).to_num::<f64>();
        assert!((em5 - (-5f64).exp()).abs() < 1e-6, "{em5}");
        // Clamped at ±20.
        assert_eq!(exp_safe(from_u16(100)), exp_safe(from_u16(20)));
        assert_eq!(exp_safe(-from_u16(100)), exp_safe(-from_u16(20)));
    }

    #[test]
    fn u16_proportions_truncate() {
        assert_eq!(u16_proportion_to_fixed(65535), ONE);
        assert_eq!(u16_proportion_to_fixed(32767).to_bits(), 2_147_450_879);
    }
}
