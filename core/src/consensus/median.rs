//! The stake-weighted median that sets consensus, as the chain computes it: a quickselect with
//! the middle element as pivot, so the result is the same on every machine.

use super::fixed::{I32F32, ZERO, div, normalize, sum};
use super::sparse::Matrix;

/// Stake-weighted median of `score` over the indices in `partition` (`weighted_median`).
///
/// Returns the largest score `v` such that the stake scoring at least `v` exceeds the
/// `minority` edge, searched inside the stake interval `[lo, hi]`. Scores equal to the pivot
/// are left out of both halves, as the chain does.
pub fn weighted_median(
    stake: &[I32F32],
    score: &[I32F32],
    partition: &[usize],
    minority: I32F32,
    lo: I32F32,
    hi: I32F32,
) -> I32F32 {
    if stake.len() != score.len() {
        return ZERO;
    }
    let at = |v: &[I32F32], i: usize| v.get(i).copied().unwrap_or(ZERO).to_bits();
    let mut scratch = Scratch::default();
    scratch
        .current
        .extend(partition.iter().map(|&i| (at(score, i), at(stake, i))));
    let plain = plain_sums(scratch.current.iter().map(|&(_, st)| st));
    I32F32::from_bits(median_in(
        &mut scratch,
        plain,
        minority.to_bits(),
        lo.to_bits(),
        hi.to_bits(),
    ))
}

/// Buffers reused from column to column: `(score, stake)` pairs (raw bits) in partition
/// order, and the two halves of the next split. The halves are as long as the partition, so a
/// split writes every element to both and keeps it in the one it belongs to (no branch on the
/// comparison, which a predictor cannot follow).
#[derive(Debug, Default)]
struct Scratch {
    current: Vec<(i64, i64)>,
    lower: Vec<(i64, i64)>,
    upper: Vec<(i64, i64)>,
}

/// The chain's quickselect on the partition held in `scratch.current`: the middle element is
/// the pivot, elements equal to it are set aside, the halves keep their order. Stakes and
/// sums saturate, as the chain's `saturating_add` does.
///
/// `plain` says that every stake is non-negative and their total fits 64 bits: then no partial
/// sum can saturate and the halves' stakes are plain sums ([`plain_sums`]).
fn median_in(scratch: &mut Scratch, plain: bool, minority: i64, mut lo: i64, mut hi: i64) -> i64 {
    let Scratch {
        current,
        lower,
        upper,
    } = scratch;
    let limit = current.len();
    lower.resize(limit, (0, 0));
    upper.resize(limit, (0, 0));
    let mut len = limit;
    let mut iterations = 0usize;
    loop {
        if len == 0 {
            return 0;
        }
        if len == 1 {
            return current[0].0;
        }
        let pivot = current[len / 2].0;
        let part = &current[..len];
        let (n_lower, n_upper, lo_stake, hi_stake) = if plain {
            split_plain(part, pivot, lower, upper)
        } else {
            split_saturating(part, pivot, lower, upper)
        };
        if minority < lo.saturating_add(lo_stake) && n_lower > 0 {
            std::mem::swap(current, lower);
            len = n_lower;
            hi = lo.saturating_add(lo_stake);
        } else if hi.saturating_sub(hi_stake) <= minority && n_upper > 0 {
            std::mem::swap(current, upper);
            len = n_upper;
            lo = hi.saturating_sub(hi_stake);
        } else {
            return pivot;
        }
        iterations += 1;
        if iterations > limit {
            return 0;
        }
    }
}

/// Whether stakes can be summed without saturation: all non-negative, total within 64 bits.
fn plain_sums(stakes: impl IntoIterator<Item = i64>) -> bool {
    stakes
        .into_iter()
        .try_fold(
            0i64,
            |acc, st| if st < 0 { None } else { acc.checked_add(st) },
        )
        .is_some()
}

/// One split of `part` around `pivot` into `lower` and `upper` (both at least as long as
/// `part`), returning their lengths and stakes; stakes non-negative with a total that fits.
#[inline]
fn split_plain(
    part: &[(i64, i64)],
    pivot: i64,
    lower: &mut [(i64, i64)],
    upper: &mut [(i64, i64)],
) -> (usize, usize, i64, i64) {
    let (mut n_lower, mut n_upper) = (0usize, 0usize);
    let (mut lo_stake, mut hi_stake) = (0i64, 0i64);
    let (lower, upper) = (&mut lower[..part.len()], &mut upper[..part.len()]);
    for &(s, st) in part {
        lower[n_lower] = (s, st);
        upper[n_upper] = (s, st);
        let below = s < pivot;
        let above = s > pivot;
        n_lower += usize::from(below);
        n_upper += usize::from(above);
        lo_stake += st & -i64::from(below);
        hi_stake += st & -i64::from(above);
    }
    (n_lower, n_upper, lo_stake, hi_stake)
}

/// [`split_plain`] for any stakes, with the chain's saturating sums.
fn split_saturating(
    part: &[(i64, i64)],
    pivot: i64,
    lower: &mut [(i64, i64)],
    upper: &mut [(i64, i64)],
) -> (usize, usize, i64, i64) {
    let (mut n_lower, mut n_upper) = (0usize, 0usize);
    let (mut lo_stake, mut hi_stake) = (0i64, 0i64);
    for &(s, st) in part {
        if s < pivot {
            lo_stake = lo_stake.saturating_add(st);
            lower[n_lower] = (s, st);
            n_lower += 1;
        } else if s > pivot {
            hi_stake = hi_stake.saturating_add(st);
            upper[n_upper] = (s, st);
            n_upper += 1;
        }
    }
    (n_lower, n_upper, lo_stake, hi_stake)
}

/// Column-wise stake-weighted median over the rows with positive stake
/// (`weighted_median_col_sparse`): those stakes are re-normalised, the minority edge is their
/// sum minus `majority`, and each column's scores (zero where a row has no entry) go through the
/// chain's quickselect, narrowed by [`Buckets`].
///
/// The scores are gathered from the weights a block of columns at a time (sized to stay in
/// cache) when every staked row is ascending, each row read through a cursor, or all columns at
/// once otherwise. When at most a quarter of the staked rows' cells hold an entry (and the
/// stakes allow narrowing), each column's entries are gathered alone instead
/// ([`sparse_medians`]), so the work follows the entries rather than `rows × n`.
pub(crate) fn weighted_median_cols(
    stake: &[I32F32],
    w: &Matrix,
    n: usize,
    majority: I32F32,
) -> Vec<I32F32> {
    let rows: Vec<usize> = (0..stake.len()).filter(|&i| stake[i] > ZERO).collect();
    let mut column = ColumnMedian::new(stake, majority);
    let m = rows.len();
    let (start, cols, vals) = w.packed();
    let entries: usize = rows.iter().map(|&i| start[i + 1] - start[i]).sum();
    if column.narrow && entries.saturating_mul(4) <= m.saturating_mul(n) {
        return sparse_medians(&mut column, &rows, w, n, entries);
    }
    let block = if rows.iter().all(|&i| w.ascending(i)) {
        (BLOCK_SCORES / m.max(1)).clamp(1, n.max(1))
    } else {
        n.max(1)
    };
    let mut score = vec![0i64; block * m];
    let mut entries = vec![0u32; block];
    let mut cursor: Vec<usize> = rows.iter().map(|&i| start[i]).collect();
    let mut out = Vec::with_capacity(n);
    for first in (0..n).step_by(block) {
        let last = (first + block).min(n);
        score.fill(0);
        entries.fill(0);
        for (k, &i) in rows.iter().enumerate() {
            // Ascending rows: the entries of this block are the next ones, up to the first
            // column past it. Otherwise (one block) the whole row.
            let end = start[i + 1];
            let mut p = cursor[k];
            while p < end && usize::from(cols[p]) < last {
                let c = usize::from(cols[p]) - first;
                score[c * m + k] = vals[p];
                entries[c] += 1;
                p += 1;
            }
            cursor[k] = p;
        }
        for c in 0..last - first {
            out.push(column.median_or_zero(entries[c], &score[c * m..(c + 1) * m]));
        }
    }
    out
}

/// [`weighted_median_cols`] for sparse weights: the staked rows' entries sorted into columns
/// (a counting sort, rows in order), each column's median found from its entries alone by
/// [`ColumnMedian::median_of_entries`].
fn sparse_medians(
    column: &mut ColumnMedian,
    rows: &[usize],
    w: &Matrix,
    n: usize,
    entries: usize,
) -> Vec<I32F32> {
    let (start, cols, vals) = w.packed();
    // Column c's entries go to by_col[col_start[c]..col_start[c + 1]], as (score, staked row).
    let mut col_start = vec![0usize; n + 1];
    for &i in rows {
        for &c in &cols[start[i]..start[i + 1]] {
            col_start[usize::from(c) + 1] += 1;
        }
    }
    for c in 0..n {
        col_start[c + 1] += col_start[c];
    }
    let mut fill = col_start.clone();
    let mut by_col = vec![(0i64, 0u32); entries];
    for (k, &i) in rows.iter().enumerate() {
        for (&c, &v) in cols[start[i]..start[i + 1]]
            .iter()
            .zip(&vals[start[i]..start[i + 1]])
        {
            let slot = &mut fill[usize::from(c)];
            by_col[*slot] = (v, k as u32);
            *slot += 1;
        }
    }
    (0..n)
        .map(|c| {
            let part = &mut by_col[col_start[c]..col_start[c + 1]];
            if part.is_empty() {
                ZERO
            } else {
                I32F32::from_bits(column.median_of_entries(part))
            }
        })
        .collect()
}

/// Scores gathered per block of columns: 128 KiB, to stay in the core's cache.
const BLOCK_SCORES: usize = 16 * 1024;

/// The median of one column at a time over fixed stakes.
#[derive(Debug)]
struct ColumnMedian {
    stake: Vec<i64>,
    stake_sum: i64,
    minority: i64,
    /// Stakes sum without saturation.
    plain: bool,
    /// Stakes positive too: [`Buckets`] may narrow the search.
    narrow: bool,
    scratch: Scratch,
    buckets: Buckets,
}

impl ColumnMedian {
    /// Over the positive entries of `stake`, re-normalised.
    fn new(stake: &[I32F32], majority: I32F32) -> Self {
        let mut stake: Vec<I32F32> = stake.iter().copied().filter(|&s| s > ZERO).collect();
        normalize(&mut stake);
        let stake_sum = sum(stake.iter().copied());
        let minority = stake_sum.saturating_sub(majority).to_bits();
        let stake: Vec<i64> = stake.iter().map(|s| s.to_bits()).collect();
        let plain = plain_sums(stake.iter().copied());
        Self {
            narrow: plain && stake.iter().all(|&s| s > 0),
            buckets: Buckets::new(stake.len()),
            stake,
            stake_sum: stake_sum.to_bits(),
            minority,
            plain,
            scratch: Scratch::default(),
        }
    }

    /// The median of a column with `entries` weights: zero for a column of zeros.
    #[inline]
    fn median_or_zero(&mut self, entries: u32, col: &[i64]) -> I32F32 {
        if entries == 0 {
            ZERO
        } else {
            I32F32::from_bits(self.median(col))
        }
    }

    /// [`Self::median`] of a column given by its entries `(score, staked row)` (at least one,
    /// each row at most once; the other rows score zero), reordered here. Needs `narrow`.
    ///
    /// Why it is the same result: with `narrow`, the quickselect returns what [`Buckets`]
    /// describes, which depends only on the column's scores and their stakes: the smallest
    /// score, when `minority < 0` or all scores are equal; the largest, when
    /// `minority >= total`; otherwise the smallest score `v` whose stake at or below `v` exceeds
    /// `minority`. Here the rows without an entry are one group at score zero, with the stake the
    /// entries leave (sums are exact under `plain`), and the entries are walked in ascending
    /// score order. A negative score (weights never are) takes the general path instead.
    fn median_of_entries(&mut self, part: &mut [(i64, u32)]) -> i64 {
        debug_assert!(self.narrow && !part.is_empty());
        let m = self.stake.len();
        if part.iter().any(|&(s, _)| s < 0) {
            let mut col = vec![0i64; m];
            for &(s, k) in part.iter() {
                col[k as usize] = s;
            }
            return self.median(&col);
        }
        // Stake at score zero, and whether any score is zero.
        let mut zero_stake = self.stake_sum;
        let mut zeros = part.len() < m;
        let mut max = 0i64;
        let mut min = i64::MAX;
        for &(s, k) in part.iter() {
            if s == 0 {
                zeros = true;
            } else {
                zero_stake -= self.stake[k as usize];
            }
            max = max.max(s);
            min = min.min(s);
        }
        if zeros {
            min = 0;
        }
        if self.minority < 0 || min == max {
            return min;
        }
        if self.minority >= self.stake_sum {
            return max;
        }
        let mut below = 0i64;
        if zeros {
            below = zero_stake;
            if below > self.minority {
                return 0;
            }
        }
        part.sort_unstable_by_key(|&(s, _)| s);
        let mut q = 0usize;
        while q < part.len() {
            let v = part[q].0;
            while q < part.len() && part[q].0 == v {
                if v != 0 {
                    below += self.stake[part[q].1 as usize];
                }
                q += 1;
            }
            if v != 0 && below > self.minority {
                return v;
            }
        }
        // Unreachable: the whole stake exceeds the minority.
        max
    }

    /// The chain's quickselect result for one column of scores (one per stake).
    fn median(&mut self, col: &[i64]) -> i64 {
        self.scratch.current.clear();
        let (lo, hi) = if self.narrow {
            match self.buckets.narrow(
                col,
                &self.stake,
                self.minority,
                self.stake_sum,
                &mut self.scratch.current,
            ) {
                Ok(v) => return v,
                Err(bounds) => bounds,
            }
        } else {
            self.scratch
                .current
                .extend(col.iter().copied().zip(self.stake.iter().copied()));
            (0, self.stake_sum)
        };
        median_in(&mut self.scratch, self.plain, self.minority, lo, hi)
    }
}

/// A histogram over one column's range of scores, which narrows the quickselect to the scores
/// that can hold the median.
///
/// Why the result does not change: with positive stakes summing exactly to `T` (no
/// saturation), the quickselect keeps its partition equal to *all* scores strictly between two
/// values `a < b`, with `lo` the stake of the scores `<= a` and `hi` the stake of those `< b`
/// (true at the start, with `a = −∞`, `b = +∞`, and kept by either move). Let `Lc(v)` be the
/// stake of the scores `<= v`. When `0 <= minority < T` it keeps `lo <= minority < hi`, and it
/// returns the pivot `p` exactly when `L(p) <= minority < Lc(p)` (`L(p)` the stake below `p`):
/// the smallest score `v*` with `Lc(v*) > minority`, which is inside every partition it visits.
/// So the quickselect run on any such partition with its `lo` and `hi`, for instance one
/// histogram bucket, returns the same `v*`. When `minority < 0` it always moves down and
/// returns the smallest score; when `minority >= T` it always moves up and returns the largest.
#[derive(Debug)]
struct Buckets {
    /// Stake per bucket.
    stake: Vec<i64>,
    bits: u32,
}

impl Buckets {
    fn new(m: usize) -> Self {
        // About one score per bucket.
        let bits = m.next_power_of_two().trailing_zeros().clamp(4, 10);
        Self {
            stake: vec![0; 1 << bits],
            bits,
        }
    }

    /// The median outright (`Ok`), or the scores of the bucket holding it, in column order,
    /// pushed to `part` with the `(lo, hi)` the quickselect needs for them (`Err`).
    fn narrow(
        &mut self,
        col: &[i64],
        stake: &[i64],
        minority: i64,
        total: i64,
        part: &mut Vec<(i64, i64)>,
    ) -> Result<i64, (i64, i64)> {
        let (mut min, mut max) = (i64::MAX, i64::MIN);
        for &s in col {
            min = min.min(s);
            max = max.max(s);
        }
        if minority < 0 || min == max {
            return Ok(min);
        }
        if minority >= total {
            return Ok(max);
        }
        // Bucket of s: (s − min) >> shift, below 2^bits.
        let range = max.wrapping_sub(min) as u64;
        let shift = (64 - range.leading_zeros()).saturating_sub(self.bits);
        self.stake.fill(0);
        for (&s, &st) in col.iter().zip(stake) {
            self.stake[(s.wrapping_sub(min) as u64 >> shift) as usize] += st;
        }
        // The first bucket where the stake at or below it passes the minority.
        let mut below = 0i64;
        let mut target = 0usize;
        for (b, &st) in self.stake.iter().enumerate() {
            if below + st > minority {
                target = b;
                break;
            }
            below += st;
        }
        let mass = self.stake[target];
        part.extend(
            col.iter()
                .zip(stake)
                .filter(|&(&s, _)| (s.wrapping_sub(min) as u64 >> shift) as usize == target)
                .map(|(&s, &st)| (s, st)),
        );
        Err((below, below + mass))
    }
}

/// `kappa` as the chain reads it: `kappa / 65535`, truncated.
pub(crate) fn kappa_proportion(kappa: u16) -> I32F32 {
    div(
        super::fixed::from_u16(kappa),
        super::fixed::from_u16(u16::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> I32F32 {
        I32F32::from_num(x)
    }

    /// A small deterministic generator (xorshift64) for the randomised cases.
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    fn median(stake: &[f64], score: &[f64], minority: f64) -> I32F32 {
        let stake: Vec<I32F32> = stake.iter().map(|&x| f(x)).collect();
        let score: Vec<I32F32> = score.iter().map(|&x| f(x)).collect();
        let idx: Vec<usize> = (0..stake.len()).collect();
        weighted_median(
            &stake,
            &score,
            &idx,
            f(minority),
            ZERO,
            sum(stake.iter().copied()),
        )
    }

    #[test]
    fn weighted_median_vectors_from_the_chain() {
        assert_eq!(median(&[0.49, 0.51], &[0.5, 1.0], 0.49), f(1.0));
        assert_eq!(median(&[0.51, 0.49], &[0.5, 1.0], 0.49), f(0.5));
        assert_eq!(median(&[0.49, 0.01, 0.5], &[0.5, 0.7, 1.0], 0.49), f(0.7));
    }

    #[test]
    fn column_median_vectors_from_the_chain() {
        let stake: Vec<I32F32> = [0.0, 0.75, 0.25, 0.0].map(f).to_vec();
        let dense = [
            [0.0, 0.1, 0.0],
            [0.0, 0.2, 0.4],
            [0.0, 0.3, 0.1],
            [0.0, 0.4, 0.5],
        ];
        let rows: Vec<Vec<(u16, i64)>> = dense
            .iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .filter(|(_, v)| **v != 0.0)
                    .map(|(j, v)| (j as u16, f(*v).to_bits()))
                    .collect()
            })
            .collect();
        let cases = [
            (0.24, [0.0, 0.3, 0.4]),
            (0.26, [0.0, 0.2, 0.4]),
            (0.76, [0.0, 0.2, 0.1]),
        ];
        for (majority, want) in cases {
            let matrix = Matrix::from_rows(&rows);
            let got = weighted_median_cols(&stake, &matrix, 3, f(majority));
            assert_eq!(got, want.map(f).to_vec(), "majority {majority}");
        }
    }

    #[test]
    fn empty_and_single_partitions() {
        assert_eq!(median(&[], &[], 0.5), ZERO);
        assert_eq!(median(&[1.0], &[0.3], 0.5), f(0.3));
        assert_eq!(weighted_median(&[ONE_F], &[], &[0], ZERO, ZERO, ZERO), ZERO);
    }

    const ONE_F: I32F32 = I32F32::from_bits(1 << 32);

    /// Gathering a block of columns at a time (ascending rows) gives the medians of gathering
    /// all columns at once (unsorted rows).
    #[test]
    fn block_gathering_is_whole_gathering() {
        let mut next = xorshift(0x00b1_0c4e_u64);
        let (rows, n) = (200usize, 300usize);
        let stake: Vec<I32F32> = (0..rows)
            .map(|i| {
                I32F32::from_bits(if i % 7 == 0 {
                    0
                } else {
                    (next() % (1 << 30)) as i64
                })
            })
            .collect();
        let sorted: Vec<Vec<(u16, i64)>> = (0..rows)
            .map(|_| {
                let mut row: Vec<(u16, i64)> = Vec::new();
                for j in 0..n as u16 {
                    if !next().is_multiple_of(4) {
                        row.push((j, (next() % (1 << 24)) as i64));
                    }
                }
                row
            })
            .collect();
        // Each unsorted row with one swap, so the whole matrix is gathered at once.
        let unsorted: Vec<Vec<(u16, i64)>> = sorted
            .iter()
            .map(|r| {
                let mut r = r.clone();
                if r.len() > 1 {
                    r.swap(0, 1);
                }
                r
            })
            .collect();
        // Several blocks when the rows are ascending.
        assert!(BLOCK_SCORES / (rows - rows / 7) < n);
        let majority = I32F32::from_bits(2_147_450_879);
        let blocked = weighted_median_cols(&stake, &Matrix::from_rows(&sorted), n, majority);
        let whole = weighted_median_cols(&stake, &Matrix::from_rows(&unsorted), n, majority);
        assert_eq!(blocked, whole);
        assert!(blocked.iter().any(|&c| c > ZERO));
    }

    /// A column's median from its entries alone is its median over the whole column, for
    /// columns with ties, zero scores, every row present or few, and minorities below zero,
    /// inside, at and above the total.
    #[test]
    fn medians_of_entries_are_the_column_medians() {
        let mut next = xorshift(0x0e47_1e50_u64);
        for case in 0..20_000 {
            let m = 1 + (next() % 40) as usize;
            let stake: Vec<I32F32> = (0..m)
                .map(|_| I32F32::from_bits(1 + (next() % (1 << 33)) as i64))
                .collect();
            let mut normalised = stake.clone();
            normalize(&mut normalised);
            let total = sum(normalised.iter().copied());
            let fill = 1 + next() % 4;
            let mut col = vec![0i64; m];
            let mut part: Vec<(i64, u32)> = Vec::new();
            for (k, c) in col.iter_mut().enumerate() {
                if next() % 4 < fill || (k == m - 1 && part.is_empty()) {
                    *c = match next() % 4 {
                        0 => 0,
                        1 => ((next() % 3) as i64) << 30,
                        _ => (next() % (1 << 32)) as i64,
                    };
                    part.push((*c, k as u32));
                }
            }
            // The stake at or below a score of the column (zero for absent rows): a minority
            // exactly there is the boundary case of the search.
            let at_or_below = |v: i64| -> I32F32 {
                sum(col
                    .iter()
                    .zip(&normalised)
                    .filter(|&(&c, _)| c <= v)
                    .map(|(_, &st)| st))
            };
            let majority = match case % 8 {
                0 => ZERO,
                1 => ONE_F,
                2 => total + I32F32::from_bits(1),
                3 => total - I32F32::from_bits((next() % 3) as i64),
                4 | 5 => {
                    let v = col[(next() % m as u64) as usize];
                    total - at_or_below(v) + I32F32::from_bits((next() % 3) as i64 - 1)
                }
                _ => I32F32::from_bits((next() % (1 << 32)) as i64),
            };
            let mut column = ColumnMedian::new(&stake, majority);
            assert!(column.narrow);
            let want = column.median(&col);
            assert_eq!(column.median_of_entries(&mut part), want, "case {case}");
        }
    }

    /// The column medians (narrowed by a histogram) against the chain's quickselect run on each
    /// whole column, over columns with ties, zeros, outliers and narrow ranges, and minorities
    /// below zero, inside, at and above the total.
    #[test]
    fn narrowed_medians_are_the_quickselect() {
        let mut next = xorshift(0x0005_eed0_fc01_u64);
        for case in 0..3_000 {
            let rows = 1 + (next() % 70) as usize;
            let n = 1 + (next() % 12) as usize;
            let stake: Vec<I32F32> = (0..rows)
                .map(|_| match next() % 4 {
                    0 => ZERO,
                    1 => I32F32::from_bits(1 + (next() % 5) as i64),
                    _ => I32F32::from_bits((next() % (1 << 33)) as i64),
                })
                .collect();
            let style = next() % 5;
            let value = |next: &mut dyn FnMut() -> u64| -> i64 {
                match style {
                    0 => ((next() % 4) as i64) << 30,
                    1 => (next() % (1 << 33)) as i64,
                    2 => (1 << 20) + (next() % 8) as i64,
                    3 if next().is_multiple_of(10) => (next() >> 1) as i64,
                    _ => (next() % (1 << 22)) as i64,
                }
            };
            // Every other case sparse (about one cell in eight), so the medians come from
            // each column's entries alone.
            let sparse = case % 2 == 1;
            let mut dense: Vec<Vec<(u16, i64)>> = Vec::new();
            for _ in 0..rows {
                let mut row = Vec::new();
                for j in 0..n as u16 {
                    if (sparse && next().is_multiple_of(8))
                        || (!sparse && !next().is_multiple_of(3))
                    {
                        row.push((j, value(&mut next)));
                    }
                }
                dense.push(row);
            }
            let matrix = Matrix::from_rows(&dense);
            let mut use_stake: Vec<I32F32> = stake.iter().copied().filter(|&s| s > ZERO).collect();
            normalize(&mut use_stake);
            let total = sum(use_stake.iter().copied());
            let majority = match case % 6 {
                0 => ZERO,
                1 => ONE_F,
                2 => total + I32F32::from_bits(1),
                3 => total - I32F32::from_bits((next() % 3) as i64),
                _ => I32F32::from_bits((next() % (1 << 32)) as i64),
            };
            let minority = total.saturating_sub(majority);
            let got = weighted_median_cols(&stake, &matrix, n, majority);
            let idx: Vec<usize> = (0..use_stake.len()).collect();
            for (j, g) in got.iter().enumerate() {
                let col: Vec<I32F32> = stake
                    .iter()
                    .zip(&dense)
                    .filter(|(s, _)| **s > ZERO)
                    .map(|(_, row)| {
                        row.iter()
                            .find(|e| usize::from(e.0) == j)
                            .map_or(ZERO, |e| I32F32::from_bits(e.1))
                    })
                    .collect();
                let want = weighted_median(&use_stake, &col, &idx, minority, ZERO, total);
                assert_eq!(*g, want, "case {case} column {j}");
            }
        }
    }
}
