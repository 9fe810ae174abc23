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
/// is exact, and the 64-bit division then runs as a multiplication by a precomputed reciprocal
/// (the round-up method, exact for every 64-bit numerator). Anything else goes to the crate's
/// `checked_div`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Divider {
    divisor: I32F32,
    /// `y >> shift`, zero when the fast path does not apply.
    d: u64,
    shift: u32,
    /// Reciprocal and post-shift for `floor(n / d)`; `add` marks the 65-bit case.
    magic: u64,
    post: u32,
    add: bool,
}

impl Divider {
    #[inline]
    pub(crate) fn new(divisor: I32F32) -> Self {
        let y = divisor.to_bits();
        let mut out = Self {
            divisor,
            d: 0,
            shift: 0,
            magic: 0,
            post: 0,
            add: false,
        };
        if y > 0 {
            out.shift = y.trailing_zeros().min(32);
            let d = (y as u64) >> out.shift;
            out.d = d;
            let log = 63 - d.leading_zeros();
            if d.is_power_of_two() {
                // n >> log, written as the add-and-halve step with a zero reciprocal.
                out.add = true;
                out.post = log.saturating_sub(1);
            } else {
                // m = floor(2^(64+log) / d) + 1 fits in 64 bits when the remainder allows;
                // otherwise use 2^(65+log) / d and the add-and-halve step.
                let num = 1u128 << (64 + log);
                let proposed = (num / u128::from(d)) as u64;
                let rem = (num % u128::from(d)) as u64;
                let e = d - rem;
                out.post = log;
                if e < (1u64 << log) {
                    out.magic = proposed + 1;
                } else {
                    let twice = proposed.wrapping_add(proposed);
                    let twice_rem = rem.wrapping_add(rem);
                    let bump = u64::from(twice_rem >= d || twice_rem < rem);
                    out.magic = twice.wrapping_add(bump).wrapping_add(1);
                    out.add = true;
                }
            }
        }
        out
    }

    #[inline]
    pub(crate) fn div(&self, a: I32F32) -> I32F32 {
        let x = a.to_bits();
        // `x << (32 - shift)` fits 64 bits exactly when `x >> (32 + shift)` is zero.
        if self.d != 0 && x >= 0 && (x as u64).checked_shr(32 + self.shift).unwrap_or(0) == 0 {
            let q = self.div_u64((x as u64) << (32 - self.shift));
            if q <= i64::MAX as u64 {
                return I32F32::from_bits(q as i64);
            }
            return ZERO;
        }
        a.checked_div(self.divisor).unwrap_or(ZERO)
    }

    /// `a / divisor`, or `a` unchanged when the divisor is zero: how the chain normalises
    /// columns and rows (only where the sum is non-zero).
    #[inline]
    pub(crate) fn div_or_keep(&self, a: I32F32) -> I32F32 {
        if self.divisor == ZERO { a } else { self.div(a) }
    }

    /// `floor(n / d)`, without data-dependent branches (columns alternate between the two
    /// reciprocal forms, which a branch predictor cannot follow).
    #[inline]
    fn div_u64(&self, n: u64) -> u64 {
        let hi = ((u128::from(n) * u128::from(self.magic)) >> 64) as u64;
        let with_add = (((n - hi) >> 1) + hi) >> self.post;
        let plain = hi >> self.post;
        let q = if self.add { with_add } else { plain };
        if self.d == 1 { n } else { q }
    }
}

/// `a · b` floored, saturating: [`I32F32::saturating_mul`] in one native 64×64-bit product.
///
/// The crate forms `a · (b << 32)` in 128 bits and reports overflow when that product does not
/// fit; that is exactly when `a · b` leaves `[−2^95, 2^95)`, and otherwise the result is the
/// product shifted right by 32 (a floor).
#[inline]
pub fn mul(a: I32F32, b: I32F32) -> I32F32 {
    let p = i128::from(a.to_bits()) * i128::from(b.to_bits());
    if (-(1i128 << 95)..(1i128 << 95)).contains(&p) {
        I32F32::from_bits((p >> 32) as i64)
    } else if (a < ZERO) != (b < ZERO) {
        I32F32::min_value()
    } else {
        I32F32::max_value()
    }
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

/// [`exp_safe`] of every value, in place: several series at once, for speed.
///
/// The crate's series for `|x| <= 20` is `1 + x + Σ_{k=2}^{31} t_k` with
/// `t_k = trunc(floor(t_{k-1} · x) / k)`, on `|x|`, inverted (`1 / r`, truncated) for negative
/// `x`, and `x == 1` answered with the crate's constant for e. Within the clamp nothing can
/// overflow, so the series runs here in native integers; once every term is zero the rest add
/// nothing. `exp_safe_is_the_crate_series` checks this against the crate itself.
pub fn exp_safe_many(values: &mut [I32F32]) {
    const LANES: usize = 8;
    const LIMIT: i64 = 20 << 32;
    const ONE_BITS: i64 = 1 << 32;
    // The crate's 23-bit constant for e (`consts::E >> 103`), widened to 32 fractional bits.
    const E_BITS: i64 = 0x15B_F0A8 << 9;
    for chunk in values.chunks_mut(LANES) {
        let mut x = [0u64; LANES];
        let mut term = [0u64; LANES];
        let mut sum = [0u64; LANES];
        for (i, v) in chunk.iter().enumerate() {
            let b = v.to_bits().clamp(-LIMIT, LIMIT);
            x[i] = b.unsigned_abs();
            term[i] = x[i];
            sum[i] = x[i] + ONE_BITS as u64;
        }
        macro_rules! step {
            ($k:literal) => {
                let mut live = 0u64;
                for i in 0..LANES {
                    let t = ((u128::from(term[i]) * u128::from(x[i])) >> 32) as u64 / $k;
                    term[i] = t;
                    sum[i] += t;
                    live |= t;
                }
                if live == 0 {
                    break;
                }
            };
        }
        #[allow(clippy::never_loop)]
        loop {
            step!(2);
            step!(3);
            step!(4);
            step!(5);
            step!(6);
            step!(7);
            step!(8);
            step!(9);
            step!(10);
            step!(11);
            step!(12);
            step!(13);
            step!(14);
            step!(15);
            step!(16);
            step!(17);
            step!(18);
            step!(19);
            step!(20);
            step!(21);
            step!(22);
            step!(23);
            step!(24);
            step!(25);
            step!(26);
            step!(27);
            step!(28);
            step!(29);
            step!(30);
            step!(31);
            break;
        }
        for (i, v) in chunk.iter_mut().enumerate() {
            let b = v.to_bits().clamp(-LIMIT, LIMIT);
            let bits = if b == ONE_BITS {
                E_BITS
            } else if b < 0 {
                ((1u128 << 64) / u128::from(sum[i])) as i64
            } else {
                sum[i] as i64
            };
            *v = I32F32::from_bits(bits);
        }
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
            1 << 47,
            -(1 << 47),
            1 << 48,
            i64::MAX,
            i64::MIN,
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
            1 << 32,
            (1 << 32) - 1,
            1 << 31,
            i64::MAX,
            i64::MIN,
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
    fn u16_proportions_truncate() {
        assert_eq!(u16_proportion_to_fixed(65535), ONE);
        assert_eq!(u16_proportion_to_fixed(32767).to_bits(), 2_147_450_879);
    }
}
