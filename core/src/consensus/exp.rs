//! The chain's `exp_safe` (and liquid alpha's `1 / (1 + exp_safe(x))`), bit for bit, many values
//! at a time.
//!
//! `substrate-fixed`'s `exp` on `I32F32`, for `|x| <= 20` (the chain clamps to that), is the
//! truncated Taylor series on `a = |x|` in raw bits:
//!
//! ```text
//! t_1 = a,   t_k = floor(floor(t_{k-1} · a / 2^32) / k) = floor(t_{k-1} · a / (k · 2^32)),
//! S = 2^32 + a + t_2 + … + t_31
//! ```
//!
//! giving `S` for `x >= 0` and `floor(2^64 / S)` for `x < 0` (the crate divides one by the
//! series), except that `x == 1` gives the crate's 23-bit constant for e. Within the clamp no
//! step overflows, so the crate's checked operations never fail and the series is all there is.
//!
//! Two evaluations of the same integers are here:
//!
//! - [`portable`]: the recurrence in native 64/128-bit integers, eight series interleaved.
//! - `fma` (x86-64 CPUs with AVX2 and FMA, chosen at run time): the same recurrence in `f64`
//!   lanes, each step made exact. For `a <= 12 · 2^32` every `t_k` and `S` stay below `2^50`, so
//!   they are exact `f64` integers; the product `t · a` is held exactly as `p + e`
//!   (`p = fl(t · a)`, `e = fma(t, a, −p)`); `c = floor(p / (k · 2^32))`, computed in floating
//!   point with the divisor's reciprocal shrunk a little, is the true quotient or one less; the
//!   remainder `p − c · k · 2^32 + e` is a small integer that one `fma` and one addition give
//!   exactly, and when it reaches the divisor `c` moves up to the exact `floor`. Divisions `floor(2^64 / d)` are corrected the same way. Lanes with `|x|`
//!   above 12 (only reachable with a steepness above 2400) go to the integer path.
//!
//! Both are checked against the crate itself and against each other in the tests below.

use super::fixed::I32F32;

/// The chain's clamp on `exp_safe`'s input, in raw bits.
const LIMIT: i64 = 20 << 32;
/// One, in raw bits.
const ONE_BITS: i64 = 1 << 32;
/// `exp(1)` as the crate returns it: its 23-bit constant for e (`consts::E >> 103`), widened to
/// 32 fractional bits.
const E_BITS: u64 = 0x15B_F0A8 << 9;

/// `exp_safe(x)` for every value, in place.
pub(crate) fn exp_many(values: &mut [I32F32]) {
    let mut bits: Vec<i64> = values.iter().map(|v| v.to_bits()).collect();
    run::<false>(&mut bits);
    for (v, b) in values.iter_mut().zip(bits) {
        *v = I32F32::from_bits(b);
    }
}

/// `1 / (1 + exp_safe(x))` for every value (raw `I32F32` bits), in place, with the chain's
/// truncating division: the sigmoid of liquid alpha.
pub(crate) fn logistic_many(values: &mut [i64]) {
    series::<true>(values);
}

fn run<const LOGISTIC: bool>(values: &mut [i64]) {
    let mut batch = Batch::default();
    for &v in values.iter() {
        batch.push(v);
    }
    batch.evaluate::<LOGISTIC>();
    for (k, v) in values.iter_mut().enumerate() {
        *v = batch.result_or_zero(k);
    }
}

/// A batch of inputs to the series: added one by one, evaluated together, read back in the
/// order added.
///
/// Series evaluated side by side run until the longest of them ends, and the length of a
/// series grows with `|x|`: evaluating the inputs grouped by size (a counting sort on `|x|` in
/// steps of 1/16) makes each group of lanes end together, about a third sooner on spread-out
/// inputs. The results are then put back in the order of the inputs, so that the caller reads
/// them one after another.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// The inputs (the first `count`), then their results; beyond `count`, room that
    /// [`Self::push_if`] writes into.
    inputs: Vec<i64>,
    count: usize,
    /// The inputs grouped by size, then their results.
    grouped: Vec<i64>,
    /// Where each input went in `grouped`.
    place: Vec<u32>,
}

/// Size classes: `|x| >> 28` for `|x| <= 20 · 2^32`.
const KEYS: usize = ((LIMIT as u64) >> 28) as usize + 1;

impl Batch {
    /// Empties the batch, with room for `room` inputs.
    pub(crate) fn clear(&mut self, room: usize) {
        self.count = 0;
        if self.inputs.len() < room {
            self.inputs.resize(room, 0);
        }
    }

    #[inline]
    fn key(x: i64) -> usize {
        (x.clamp(-LIMIT, LIMIT).unsigned_abs() >> 28) as usize
    }

    /// Adds an input.
    #[inline]
    pub(crate) fn push(&mut self, x: i64) {
        self.push_if(x, true);
    }

    /// Adds an input when `keep`; without a branch on `keep` (a coin toss for a predictor when
    /// it compares weights with consensus) while there is room.
    #[inline]
    pub(crate) fn push_if(&mut self, x: i64, keep: bool) {
        match self.inputs.get_mut(self.count) {
            Some(slot) => *slot = x,
            None => self.inputs.push(x),
        }
        self.count += usize::from(keep);
    }

    /// Evaluates every input: `exp_safe`, or the logistic with `LOGISTIC`.
    pub(crate) fn evaluate<const LOGISTIC: bool>(&mut self) {
        let len = self.count;
        let inputs = &mut self.inputs[..len];
        // Class sizes, counted in four tables in turn so that successive inputs of one class
        // do not wait on each other's count; then each class's start.
        let mut counts = [[0u32; KEYS]; 4];
        for (k, &x) in inputs.iter().enumerate() {
            counts[k & 3][Self::key(x)] += 1;
        }
        let mut starts = [0u32; KEYS];
        let mut at = 0u32;
        for (c, start) in starts.iter_mut().enumerate() {
            *start = at;
            at += counts[0][c] + counts[1][c] + counts[2][c] + counts[3][c];
        }
        self.grouped.resize(len, 0);
        self.place.resize(len, 0);
        for (&x, place) in inputs.iter().zip(self.place.iter_mut()) {
            let slot = &mut starts[Self::key(x)];
            self.grouped[*slot as usize] = x;
            *place = *slot;
            *slot += 1;
        }
        series::<LOGISTIC>(&mut self.grouped[..len]);
        for (x, &place) in inputs.iter_mut().zip(self.place.iter()) {
            *x = self.grouped[place as usize];
        }
    }

    /// The result for the `k`-th input added, or zero past the last one (so that a caller
    /// may read one ahead without a branch).
    #[inline]
    pub(crate) fn result_or_zero(&self, k: usize) -> i64 {
        if k < self.count { self.inputs[k] } else { 0 }
    }
}

fn series<const LOGISTIC: bool>(values: &mut [i64]) {
    #[cfg(target_arch = "x86_64")]
    if fma::available() {
        fma::run::<LOGISTIC>(values);
        return;
    }
    portable::run::<LOGISTIC>(values);
}

/// `floor(2^64 / d)` for `d >= 2`, in 64-bit arithmetic: `2^64 = q·d + r` gives
/// `2^64 − d = (q − 1)·d + r`.
#[inline]
fn floor_2_64_over(d: u64) -> u64 {
    d.wrapping_neg() / d + 1
}

/// The final step shared by both paths: from the series sum `s` of `|x|` to `exp_safe(x)`, or
/// to `1 / (1 + exp_safe(x))`.
#[inline]
fn finish<const LOGISTIC: bool>(clamped: i64, s: u64) -> u64 {
    let e = if clamped == ONE_BITS {
        E_BITS
    } else if clamped < 0 {
        // s >= 2^32, so this is floor(2^64 / s) without 128-bit division.
        floor_2_64_over(s)
    } else {
        s
    };
    if LOGISTIC {
        // e < 2^61 within the clamp, so 2^32 + e cannot overflow; the chain's
        // `1.saturating_div(1 + e)` is floor(2^64 / (2^32 + e)).
        floor_2_64_over(ONE_BITS as u64 + e)
    } else {
        e
    }
}

/// The series in native integers, eight at a time (the steps of different series overlap).
pub(crate) mod portable {
    use super::{LIMIT, ONE_BITS, finish};

    const LANES: usize = 8;

    pub(crate) fn run<const LOGISTIC: bool>(values: &mut [i64]) {
        for chunk in values.chunks_mut(LANES) {
            let mut x = [0u64; LANES];
            let mut term = [0u64; LANES];
            let mut sum = [0u64; LANES];
            for (i, v) in chunk.iter().enumerate() {
                x[i] = v.clamp(&-LIMIT, &LIMIT).unsigned_abs();
                term[i] = x[i];
                sum[i] = x[i] + ONE_BITS as u64;
            }
            // Once every term is zero the rest of the series adds nothing.
            for k in 2..=31u64 {
                let mut live = 0u64;
                for i in 0..LANES {
                    let t = ((u128::from(term[i]) * u128::from(x[i])) >> 32) as u64 / k;
                    term[i] = t;
                    sum[i] += t;
                    live |= t;
                }
                if live == 0 {
                    break;
                }
            }
            for (i, v) in chunk.iter_mut().enumerate() {
                *v = finish::<LOGISTIC>((*v).clamp(-LIMIT, LIMIT), sum[i]) as i64;
            }
        }
    }
}

/// The series in `f64` lanes with exact corrections, on CPUs with AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
pub(crate) mod fma {
    use super::{E_BITS, LIMIT, ONE_BITS, portable};

    /// Series evaluated together; four AVX2 vectors, so successive steps overlap.
    const LANES: usize = 16;
    /// The largest `|x|` (raw bits) taken here: every term and sum stays below `2^50`.
    pub(crate) const FAST_LIMIT: i64 = 12 << 32;
    const TWO_32: f64 = 4_294_967_296.0;
    const TWO_64: f64 = 18_446_744_073_709_551_616.0;

    /// Whether this CPU can run the floating-point path (cached by the standard library).
    pub(crate) fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }

    /// The floating-point path where every input is within [`FAST_LIMIT`]; chunks with larger
    /// inputs take the integer path. Panics if the CPU lacks AVX2 or FMA.
    // The crate's only unsafe code: calling the `#[target_feature]` function `lanes`, which is
    // sound only on a CPU with those features, checked at run time just before.
    #[allow(unsafe_code)]
    pub(crate) fn run<const LOGISTIC: bool>(values: &mut [i64]) {
        assert!(available(), "the CPU lacks AVX2 or FMA");
        for chunk in values.chunks_mut(LANES) {
            // The last chunk padded with zeros (exp(0) = 1 costs one step).
            let mut lanes_in = [0i64; LANES];
            lanes_in[..chunk.len()].copy_from_slice(chunk);
            // SAFETY: `available()` was asserted above, so the CPU supports the AVX2 and FMA
            // instructions `lanes` is compiled for.
            if unsafe { lanes::<LOGISTIC>(&mut lanes_in) } {
                chunk.copy_from_slice(&lanes_in[..chunk.len()]);
            } else {
                portable::run::<LOGISTIC>(chunk);
            }
        }
    }

    /// `k · 2^32` for each step `k` of the series.
    const DIVISORS: [f64; 32] = {
        let mut d = [0.0; 32];
        let mut k = 0;
        while k < 32 {
            d[k] = k as f64 * TWO_32;
            k += 1;
        }
        d
    };

    /// `1 / (k · 2^32)` shrunk by `2^-48`, so that the rounded quotient `p · inv` is never
    /// above the true one: with at most four roundings of `2^-53` each it stays within
    /// `[q(1 − 2^-47.6), q(1 − 2^-48 + 2^-50.9)]`, under `q` and, as `q < 2^47`, less than one
    /// below it.
    const SHRUNK_RECIPROCALS: [f64; 32] = {
        let mut r = [0.0; 32];
        let mut k = 1;
        while k < 32 {
            r[k] = (1.0 / DIVISORS[k]) * (1.0 - 1.0 / 281_474_976_710_656.0);
            k += 1;
        }
        r
    };

    /// `2^52` as `f64`: adding it to an integer below `2^52` puts the integer in the mantissa.
    const MAGIC: f64 = 4_503_599_627_370_496.0;

    /// `floor(n / d)` for the exact integers `n = 2^64` and `d` in `[2^32, 2^51)`: the rounded
    /// quotient is within one of it (its error is below 2^-20), and the remainder
    /// `2^64 − q·d`, an integer below `2^52` in size, comes out of one `fma` exactly.
    #[inline(always)]
    fn floor_2_64_over(d: f64) -> f64 {
        let q = (TWO_64 / d).floor();
        let r = (-q).mul_add(d, TWO_64);
        let q = if r < 0.0 { q - 1.0 } else { q };
        if r >= d { q + 1.0 } else { q }
    }

    /// `exp_safe` (or the logistic) of `LANES` raw inputs, in place; `false`, with the inputs
    /// untouched, when one is beyond [`FAST_LIMIT`] after the clamp.
    ///
    /// The series on `a = |x|` (an integer up to `12 · 2^32`), then the reciprocal for negative
    /// inputs, e's constant for `x == 1`, and the logistic if asked.
    #[target_feature(enable = "avx2,fma")]
    fn lanes<const LOGISTIC: bool>(values: &mut [i64; LANES]) -> bool {
        let mut a = [0.0f64; LANES];
        let mut negative = [false; LANES];
        let mut is_one = [false; LANES];
        let mut widest = 0u64;
        for i in 0..LANES {
            let b = values[i].clamp(-LIMIT, LIMIT);
            let abs = b.unsigned_abs();
            widest = widest.max(abs);
            // Exact for abs < 2^52.
            a[i] = f64::from_bits(abs | MAGIC.to_bits()) - MAGIC;
            negative[i] = b < 0;
            is_one[i] = b == ONE_BITS;
        }
        if widest > FAST_LIMIT as u64 {
            return false;
        }
        let mut t = a;
        let mut s = [0.0f64; LANES];
        for i in 0..LANES {
            s[i] = a[i] + TWO_32;
        }
        for k in 2..=31usize {
            let (d, inv) = (DIVISORS[k], SHRUNK_RECIPROCALS[k]);
            let mut live = false;
            for i in 0..LANES {
                // t · a = p + e exactly; p is a multiple of its ulp, so an integer.
                let p = t[i] * a[i];
                let e = t[i].mul_add(a[i], -p);
                // floor(t·a / d) or one less.
                let c = (p * inv).floor();
                // t·a − c·d, in [0, 2d): |p − c·d| < 2^53, so the fma is exact, and so is
                // adding e (|e| <= 2^29).
                let r = (-c).mul_add(d, p) + e;
                // A select rather than a branch, so the lanes stay in vectors.
                let c = if r >= d { c + 1.0 } else { c };
                t[i] = c;
                s[i] += c;
                live |= c != 0.0;
            }
            // Terms are non-negative, and once zero they stay zero.
            if !live {
                break;
            }
        }
        for i in 0..LANES {
            let reciprocal = floor_2_64_over(s[i]);
            let e = if negative[i] { reciprocal } else { s[i] };
            let e = if is_one[i] { E_BITS as f64 } else { e };
            let out = if LOGISTIC {
                floor_2_64_over(e + ONE_BITS as f64)
            } else {
                e
            };
            // Exact: `out` is an integer below 2^51.
            values[i] = ((out + MAGIC).to_bits() & ((1 << 52) - 1)) as i64;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The crate's own `exp`, clamped as the chain's `exp_safe` clamps it.
    fn crate_exp_safe(x: I32F32) -> I32F32 {
        let x = x.clamp(I32F32::from_num(-20), I32F32::from_num(20));
        match substrate_fixed::transcendental::exp::<I32F32, I32F32>(x) {
            Ok(v) => v,
            Err(()) if x <= I32F32::from_bits(0) => I32F32::from_bits(0),
            Err(()) => I32F32::max_value(),
        }
    }

    /// The chain's sigmoid: `1.saturating_div(1.saturating_add(exp_safe(x)))`.
    fn crate_logistic(x: I32F32) -> I32F32 {
        let one = I32F32::from_num(1);
        one.saturating_div(one.saturating_add(crate_exp_safe(x)))
    }

    /// Inputs that stress every branch: zero, ±1 ulp, ±1 (e's constant on one side), the
    /// clamp, the floating-point limit and its neighbours, a dense sweep of [−21, 21], and
    /// random raw values at every magnitude.
    fn inputs(random: usize) -> Vec<i64> {
        let mut v: Vec<i64> = vec![0, 1, -1, 2, -2, ONE_BITS, -ONE_BITS, ONE_BITS + 1];
        v.extend([
            ONE_BITS - 1,
            LIMIT,
            -LIMIT,
            LIMIT + 1,
            -LIMIT - 1,
            i64::MAX,
            i64::MIN,
        ]);
        for edge in [12i64 << 32, 5 << 32, 1 << 31] {
            for d in -3..=3 {
                v.extend([edge + d, -edge + d]);
            }
        }
        v.extend((-(21 << 12)..=(21 << 12)).map(|i: i64| i << 20));
        let mut seed = 0x1234_5678_9abc_def0u64;
        for i in 0..random {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // Raw values of every size, and many in the liquid-alpha range [−5, 5].
            let shift = if i % 2 == 0 {
                26
            } else {
                29 + (seed >> 58) as u32 % 35
            };
            v.push((seed as i64) >> shift.min(63));
        }
        v
    }

    fn fx(bits: i64) -> I32F32 {
        I32F32::from_bits(bits)
    }

    #[test]
    fn the_integer_path_is_the_crate_series() {
        let inputs = inputs(40_000);
        let mut exp = inputs.clone();
        portable::run::<false>(&mut exp);
        let mut logistic = inputs.clone();
        portable::run::<true>(&mut logistic);
        for ((&x, &e), &l) in inputs.iter().zip(&exp).zip(&logistic) {
            assert_eq!(fx(e), crate_exp_safe(fx(x)), "exp({x})");
            assert_eq!(fx(l), crate_logistic(fx(x)), "logistic({x})");
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_floating_point_path_is_the_crate_series() {
        if !fma::available() {
            return;
        }
        let inputs = inputs(40_000);
        let mut exp = inputs.clone();
        fma::run::<false>(&mut exp);
        let mut logistic = inputs.clone();
        fma::run::<true>(&mut logistic);
        for ((&x, &e), &l) in inputs.iter().zip(&exp).zip(&logistic) {
            assert_eq!(fx(e), crate_exp_safe(fx(x)), "exp({x})");
            assert_eq!(fx(l), crate_logistic(fx(x)), "logistic({x})");
        }
    }

    /// Millions of inputs in the floating-point range, against the integer path (itself checked
    /// against the crate above): every raw value in several windows and a random spread.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_two_paths_agree_across_the_floating_point_range() {
        if !fma::available() {
            return;
        }
        let mut inputs: Vec<i64> = Vec::new();
        for centre in [
            0i64,
            ONE_BITS,
            -ONE_BITS,
            5 << 32,
            -(5 << 32),
            fma::FAST_LIMIT,
            -fma::FAST_LIMIT,
        ] {
            inputs.extend(centre - 20_000..=centre + 20_000);
        }
        let mut seed = 0x0dd_ba11_cafe_f00du64;
        for _ in 0..2_000_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            inputs.push((seed % (2 * fma::FAST_LIMIT as u64 + 1)) as i64 - fma::FAST_LIMIT);
        }
        for logistic in [false, true] {
            let (mut fast, mut slow) = (inputs.clone(), inputs.clone());
            if logistic {
                fma::run::<true>(&mut fast);
                portable::run::<true>(&mut slow);
            } else {
                fma::run::<false>(&mut fast);
                portable::run::<false>(&mut slow);
            }
            for ((x, f), s) in inputs.iter().zip(&fast).zip(&slow) {
                assert_eq!(f, s, "x = {x} (logistic {logistic})");
            }
        }
    }

    /// Through the public entry points, which group the inputs by size first.
    #[test]
    fn grouped_inputs_are_the_crate_series() {
        let inputs = inputs(20_000);
        let mut exp: Vec<I32F32> = inputs.iter().map(|&x| fx(x)).collect();
        exp_many(&mut exp);
        let mut logistic = inputs.clone();
        run::<true>(&mut logistic);
        // A batch reused after clearing, with room for part of the inputs only, and inputs
        // left out (`push_if` with `false`) between the ones kept.
        let mut batch = Batch::default();
        batch.push(ONE_BITS);
        batch.push_if(7 << 32, false);
        batch.evaluate::<true>();
        assert_eq!(batch.result_or_zero(1), 0);
        batch.clear(inputs.len() / 2);
        for &x in &inputs {
            batch.push_if(x.wrapping_neg(), false);
            batch.push_if(x, true);
            batch.push_if(x ^ 0x5555, false);
        }
        batch.evaluate::<true>();
        for (k, &l) in logistic.iter().enumerate() {
            assert_eq!(batch.result_or_zero(k), l);
        }
        assert_eq!(batch.result_or_zero(logistic.len()), 0);
        for ((&x, e), &l) in inputs.iter().zip(&exp).zip(&logistic) {
            assert_eq!(*e, crate_exp_safe(fx(x)), "exp({x})");
            assert_eq!(fx(l), crate_logistic(fx(x)), "logistic({x})");
        }
    }

    #[test]
    fn constants() {
        let mut v = [fx(ONE_BITS), fx(0)];
        exp_many(&mut v);
        assert_eq!(v[0].to_bits(), 0x2_b7e1_5000);
        assert_eq!(v[1].to_bits(), ONE_BITS);
        assert_eq!(floor_2_64_over(3), u64::MAX / 3);
        assert_eq!(floor_2_64_over(1 << 32), 1 << 32);
    }
}
