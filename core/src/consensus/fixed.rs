//! Fixed-point helpers with the chain's exact rounding.
//!
//! Every operation here is the one the chain's epoch uses, so results agree to the bit:
//! multiplication floors ([`I32F32::saturating_mul`]), division truncates and a division by
//! zero gives zero ([`div`]), additions of proportions are exact integer additions.

pub use substrate_fixed::types::{I32F32, I64F64, I96F32};

/// Zero.
pub(crate) const ZERO: I32F32 = I32F32::from_bits(0);

/// `a / b` truncated toward zero, or zero when `b` is zero or the quotient overflows: the
/// chain's `safe_div`, on which every normalisation relies.
#[inline]
pub fn div(a: I32F32, b: I32F32) -> I32F32 {
    let (x, y) = (a.to_bits(), b.to_bits());
    // Both non-negative: floor((x << 32) / y) in native 64-bit division; when y has trailing
    // zero bits, dividing numerator and divisor by that power of two first is exact.
    if x >= 0 && y > 0 {
        let s = y.trailing_zeros().min(32);
        let num = (x as u128) << (32 - s);
        if num <= u128::from(u64::MAX) {
            let q = (num as u64) / ((y as u64) >> s);
            return I32F32::from_bits(i64::try_from(q).unwrap_or(0));
        }
    }
    a.checked_div(b).unwrap_or(ZERO)
}

/// Division by one fixed divisor, many times over (normalising a vector, a row, a column),
/// with exactly [`div`]'s results.
///
/// For a non-negative dividend `x` and positive divisor `y` the quotient is
/// `floor((x << 32) / y)`; dividing numerator and divisor by `y`'s trailing power of two first
/// is exact, and the 64-bit division `floor(n / d)` then runs as a multiplication by a
/// precomputed reciprocal (Granlund and Montgomery's method for unsigned division by an
/// invariant integer, exact for every 64-bit `n`). Anything else goes to the crate's
/// `checked_div`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Divider {
    divisor: I32F32,
    /// Dividends `x` with `0 <= x < limit` take the fast path: there `x << (32 − shift)` fits
    /// 64 bits and the quotient is below `2^63`, so no check is left for the division itself.
    /// Zero when the divisor is not positive.
    limit: u64,
    /// `d = y >> shift`.
    shift: u32,
    /// `floor(n / d) = (t + ((n − t) >> sh1)) >> sh2` with `t = (magic · n) >> 64`.
    magic: u64,
    sh1: u32,
    sh2: u32,
}

impl Divider {
    #[inline]
    pub(crate) fn new(divisor: I32F32) -> Self {
        let y = divisor.to_bits();
        let mut out = Self {
            divisor,
            limit: 0,
            shift: 0,
            magic: 0,
            sh1: 0,
            sh2: 0,
        };
        if y > 0 {
            out.shift = y.trailing_zeros().min(32);
            // x < 2^(32 + shift) keeps the shifted dividend in 64 bits; x < y · 2^31 keeps the
            // quotient x · 2^32 / y below 2^63 (the crate's overflow, which gives zero).
            let fits = 1u128 << (32 + out.shift);
            let below = (y as u128) << 31;
            out.limit = fits.min(below).min(1u128 << 63) as u64;
            (out.magic, out.sh1, out.sh2) = reciprocal((y as u64) >> out.shift);
        }
        out
    }

    #[inline]
    pub(crate) fn div(&self, a: I32F32) -> I32F32 {
        I32F32::from_bits(self.div_bits(a.to_bits()))
    }

    /// [`Self::div`] on raw bits.
    #[inline]
    pub(crate) fn div_bits(&self, x: i64) -> i64 {
        // A negative x is a huge u64, never below the limit.
        if (x as u64) < self.limit {
            return self.div_u64((x as u64) << (32 - self.shift)) as i64;
        }
        I32F32::from_bits(x)
            .checked_div(self.divisor)
            .unwrap_or(ZERO)
            .to_bits()
    }

    /// `x / divisor` on raw bits, or `x` unchanged when the divisor is zero: how the chain
    /// normalises columns (only where the sum is non-zero).
    #[inline]
    pub(crate) fn div_or_keep_bits(&self, x: i64) -> i64 {
        if (x as u64) < self.limit {
            self.div_u64((x as u64) << (32 - self.shift)) as i64
        } else if self.divisor == ZERO {
            x
        } else {
            self.div_bits(x)
        }
    }

    /// `floor(n / d)`.
    #[inline]
    fn div_u64(&self, n: u64) -> u64 {
        divide(n, self.magic, self.sh1, self.sh2)
    }
}

/// The reciprocal of `d >= 1` for [`divide`]: with `l = ceil(log2 d)`,
/// `magic = floor(2^64 · (2^l − d) / d) + 1` (below `2^64`, as `2^(l−1) < d <= 2^l`),
/// `sh1 = min(l, 1)`, `sh2 = max(l − 1, 0)`. For `d = 1` that is `(1, 0, 0)`.
fn reciprocal(d: u64) -> (u64, u32, u32) {
    let l = 64 - (d - 1).leading_zeros();
    let num = (1u128 << 64) * ((1u128 << l) - u128::from(d));
    (
        (num / u128::from(d) + 1) as u64,
        l.min(1),
        l.saturating_sub(1),
    )
}

/// `floor(n / d)` from `d`'s [`reciprocal`], for every 64-bit `n`: one high multiplication, a
/// subtraction, an addition and two shifts.
#[inline]
fn divide(n: u64, magic: u64, sh1: u32, sh2: u32) -> u64 {
    let t = ((u128::from(n) * u128::from(magic)) >> 64) as u64;
    (t + ((n - t) >> sh1)) >> sh2
}

/// `a · b` floored, saturating: [`I32F32::saturating_mul`] in one native 64×64-bit product.
///
/// The crate forms `a · (b << 32)` in 128 bits and reports overflow when that product does not
/// fit; that is exactly when `a · b` leaves `[−2^95, 2^95)`, and otherwise the result is the
/// product shifted right by 32 (a floor).
#[inline]
pub fn mul(a: I32F32, b: I32F32) -> I32F32 {
    I32F32::from_bits(mul_bits(a.to_bits(), b.to_bits()))
}

/// [`mul`] on raw bits. Put the operand more likely to be in `(−1, 1]` first.
#[inline]
pub(crate) fn mul_bits(x: i64, y: i64) -> i64 {
    let p = i128::from(x) * i128::from(y);
    // With x in (−1, 1] (raw (−2^32, 2^32]) the product is inside [−2^95, 2^95) whatever y is:
    // the common case in the epoch (rates, stakes, proportions), decided by one comparison.
    if x > -(1 << 32) && x <= 1 << 32 {
        return (p >> 32) as i64;
    }
    if (-(1i128 << 95)..(1i128 << 95)).contains(&p) {
        (p >> 32) as i64
    } else if (x < 0) != (y < 0) {
        i64::MIN
    } else {
        i64::MAX
    }
}

/// [`mul_bits`] where `x` is known to lie in `(−1, 1]` (raw `(−2^32, 2^32]`): then the product
/// is inside the crate's range whatever `y` is, and the result is the floored product.
#[inline]
pub(crate) fn mul_unit(x: i64, y: i64) -> i64 {
    debug_assert!(x > -(1 << 32) && x <= 1 << 32, "{x} is not within (-1, 1]");
    ((i128::from(x) * i128::from(y)) >> 32) as i64
}

/// [`mul_unit`] for non-negative operands, in one unsigned 64×64-bit product.
#[inline]
pub(crate) fn mul_unit_positive(x: i64, y: i64) -> i64 {
    debug_assert!((0..=1 << 32).contains(&x) && y >= 0, "{x} · {y}");
    ((u128::from(x as u64) * u128::from(y as u64)) >> 32) as i64
}

/// Whether every value is in `(−1, 1]`, so [`mul_unit`] may take it as first operand.
pub(crate) fn all_unit(values: &[i64]) -> bool {
    values.iter().all(|&x| x > -(1 << 32) && x <= 1 << 32)
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
    x.saturating_mul(from_u16(u16::MAX))
        .saturating_to_num::<u16>()
}

/// [`fixed_proportion_to_u16`] on raw bits: `v · 65535` is exact in 128 bits, and the crate's
/// saturation to the `I32F32` range and then to `u16` is a clamp of its integer part.
#[inline]
pub(crate) fn proportion_bits_to_u16(v: i64) -> u16 {
    ((i128::from(v) * 65535) >> 32).clamp(0, 65535) as u16
}

/// Normalises in place so the values sum to one; a zero sum leaves the values unchanged.
pub(crate) fn normalize(values: &mut [I32F32]) {
    let total = sum(values.iter().copied());
    if total == ZERO {
        return;
    }
    let d = Divider::new(total);
    for v in values.iter_mut() {
        *v = d.div(*v);
    }
}

/// `exp(x)` as the chain's `exp_safe`: the input clamped to `[-20, 20]`, then the
/// `substrate-fixed` Taylor series (`transcendental::exp`), bit for bit.
pub fn exp_safe(x: I32F32) -> I32F32 {
    let mut v = [x];
    exp_safe_many(&mut v);
    v[0]
}

/// [`exp_safe`] of every value, in place: the crate's series, bit for bit, many at a time.
pub fn exp_safe_many(values: &mut [I32F32]) {
    super::exp::exp_many(values);
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

    const ONE: I32F32 = I32F32::from_bits(1 << 32);

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
        assert_eq!(
            u16_max_upscale(&[16383, 32767, 49149, 65535]),
            [16383, 32767, 49149, 65535]
        );
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

    /// The crate's own `exp`, clamped as the chain's `exp_safe` clamps it.
    fn crate_exp_safe(x: I32F32) -> I32F32 {
        let x = x.clamp(I32F32::from_num(-20), I32F32::from_num(20));
        match substrate_fixed::transcendental::exp::<I32F32, I32F32>(x) {
            Ok(v) => v,
            Err(()) if x <= ZERO => ZERO,
            Err(()) => I32F32::max_value(),
        }
    }

    #[test]
    fn exp_safe_is_the_crate_series() {
        let mut inputs: Vec<I32F32> = (-2200..=2200)
            .map(|i| I32F32::from_bits(i64::from(i) << 28))
            .collect();
        inputs.extend([-1, 0, 1, 2].map(I32F32::from_bits));
        inputs.extend([
            ONE,
            -ONE,
            ONE + I32F32::from_bits(1),
            ONE - I32F32::from_bits(1),
        ]);
        inputs.extend([
            I32F32::max_value(),
            I32F32::min_value(),
            from_u16(21),
            -from_u16(21),
        ]);
        let mut seed = 0x1234_5678_9abc_def0u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            inputs.push(I32F32::from_bits((seed as i64) >> 26));
        }
        let mut fast = inputs.clone();
        exp_safe_many(&mut fast);
        for (x, got) in inputs.iter().zip(&fast) {
            assert_eq!(*got, crate_exp_safe(*x), "exp({x})");
        }
    }

    #[test]
    fn fast_multiplication_is_the_crate_multiplication() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let specials = [
            0i64,
            1,
            -1,
            1 << 32,
            -(1 << 32),
            (1 << 32) + 1,
            (1 << 32) - 1,
            -(1 << 32) + 1,
            -(1 << 32) - 1,
            1 << 47,
            -(1 << 47),
            1 << 48,
            i64::MAX,
            i64::MAX - 1,
            i64::MIN,
            i64::MIN + 1,
        ];
        for _ in 0..200_000 {
            let a = (next() as i64) >> (next() % 64);
            let b = (next() as i64) >> (next() % 64);
            let (fa, fb) = (I32F32::from_bits(a), I32F32::from_bits(b));
            assert_eq!(mul(fa, fb), fa.saturating_mul(fb), "{a} * {b}");
        }
        for a in specials {
            for b in specials {
                let (fa, fb) = (I32F32::from_bits(a), I32F32::from_bits(b));
                assert_eq!(mul(fa, fb), fa.saturating_mul(fb), "{a} * {b}");
            }
        }
    }

    #[test]
    fn fast_division_is_the_crate_division() {
        let mut seed = 0x0fed_cba9_8765_4321u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let specials = [
            0i64,
            1,
            -1,
            2,
            3,
            1 << 32,
            (1 << 32) - 1,
            (1 << 32) + 1,
            -(1 << 32),
            1 << 31,
            (1 << 31) - 1,
            1 << 40,
            (1 << 40) + 1,
            (1 << 62) + 3,
            i64::MAX,
            i64::MAX - 1,
            i64::MIN,
            i64::MIN + 1,
            65535 << 32,
        ];
        for _ in 0..200_000 {
            let shift_a = next() % 64;
            let shift_b = next() % 64;
            let a = (next() as i64) >> shift_a;
            let b = (next() as i64) >> shift_b;
            for (a, b) in [(a, b), (a.abs(), b.abs()), (a.abs() >> 20, b.abs() >> 5)] {
                let (fa, fb) = (I32F32::from_bits(a), I32F32::from_bits(b));
                assert_eq!(div(fa, fb), fa.checked_div(fb).unwrap_or(ZERO), "{a} / {b}");
                assert_eq!(Divider::new(fb).div(fa), div(fa, fb), "{a} / {b}");
                let keep = if b == 0 { fa } else { div(fa, fb) };
                assert_eq!(
                    Divider::new(fb).div_or_keep_bits(a),
                    keep.to_bits(),
                    "{a} / {b}"
                );
            }
        }
        for a in specials {
            for b in specials {
                let (fa, fb) = (I32F32::from_bits(a), I32F32::from_bits(b));
                assert_eq!(div(fa, fb), fa.checked_div(fb).unwrap_or(ZERO), "{a} / {b}");
                assert_eq!(Divider::new(fb).div(fa), div(fa, fb), "{a} / {b}");
            }
        }
    }

    #[test]
    fn proportions_to_u16_on_bits_are_the_crate_conversion() {
        let mut seed = 0x0bad_5eed_u64;
        let mut values = vec![
            0i64,
            1,
            -1,
            1 << 32,
            (1 << 32) - 1,
            i64::MAX,
            i64::MIN,
            65536 << 32,
        ];
        for _ in 0..100_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            values.push((seed as i64) >> (seed % 64));
        }
        for v in values {
            let x = I32F32::from_bits(v);
            assert_eq!(proportion_bits_to_u16(v), fixed_proportion_to_u16(x), "{v}");
        }
    }

    #[test]
    fn reciprocal_division_is_integer_division() {
        let mut seed = 0x1357_9bdf_2468_ace0u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut divisors: Vec<u64> = vec![1, 2, 3, 5, 7, 641, u64::MAX, u64::MAX - 1, 1 << 63];
        for k in 1..64 {
            divisors.extend([(1u64 << k) - 1, (1 << k) + 1, 1 << k]);
        }
        for _ in 0..2_000 {
            divisors.push(next() >> (next() % 64));
        }
        for d in divisors.into_iter().filter(|&d| d > 0) {
            let (magic, sh1, sh2) = reciprocal(d);
            let mut ns = vec![
                0u64,
                1,
                d - 1,
                d,
                d.saturating_add(1),
                u64::MAX,
                u64::MAX - 1,
            ];
            ns.extend([u64::MAX / d * d, (u64::MAX / d * d).wrapping_sub(1)]);
            for _ in 0..200 {
                ns.push(next() >> (next() % 64));
            }
            for n in ns {
                assert_eq!(divide(n, magic, sh1, sh2), n / d, "{n} / {d}");
            }
        }
    }

    #[test]
    fn u16_proportions_truncate() {
        assert_eq!(u16_proportion_to_fixed(65535), ONE);
        assert_eq!(u16_proportion_to_fixed(32767).to_bits(), 2_147_450_879);
    }
}
