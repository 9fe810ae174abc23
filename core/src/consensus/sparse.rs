//! Sparse matrices as the chain keeps them: one row per uid, `(column, value)` entries in the
//! order they were stored (not necessarily sorted), and the row operations of the epoch with
//! the chain's exact rounding and filtering.
//!
//! The rows are packed into one [`Matrix`] (flat arrays) rather than a `Vec` per row, so a pass
//! over all entries streams through memory and building a matrix allocates once. Values are the
//! raw bits of `I32F32` (`value · 2^32`): the hot loops work on plain integers.

use super::fixed::{Divider, mul_bits, mul_unit};

/// One, in raw bits.
pub(crate) const ONE: i64 = 1 << 32;

/// Rows of `(column, value)` entries in stored order, packed: row `i` holds the entries
/// `start[i]..start[i + 1]` of `cols` and `vals`. Each row also records whether its columns are
/// strictly ascending (as the SDK submits them), which lets later passes merge rather than
/// scatter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matrix {
    start: Vec<usize>,
    cols: Vec<u16>,
    vals: Vec<i64>,
    ascending: Vec<bool>,
    /// The last column pushed to the open row (−1 if none), and whether it is ascending so far.
    open_last: i32,
    open_ascending: bool,
}

impl Matrix {
    /// An empty matrix with room for `rows` rows and `entries` entries.
    pub(crate) fn with_capacity(rows: usize, entries: usize) -> Self {
        let mut start = Vec::with_capacity(rows + 1);
        start.push(0);
        Self {
            start,
            cols: Vec::with_capacity(entries),
            vals: Vec::with_capacity(entries),
            ascending: Vec::with_capacity(rows),
            open_last: -1,
            open_ascending: true,
        }
    }

    /// Empties the matrix, keeping its memory, with room for `rows` rows and `entries` entries.
    pub(crate) fn reset(&mut self, rows: usize, entries: usize) {
        self.start.clear();
        self.start.reserve(rows + 1);
        self.start.push(0);
        self.cols.clear();
        self.cols.reserve(entries);
        self.vals.clear();
        self.vals.reserve(entries);
        self.ascending.clear();
        self.ascending.reserve(rows);
        self.open_last = -1;
        self.open_ascending = true;
    }

    /// The bytes this matrix holds.
    fn capacity_bytes(&self) -> usize {
        self.start.capacity() * size_of::<usize>()
            + self.cols.capacity() * size_of::<u16>()
            + self.vals.capacity() * size_of::<i64>()
            + self.ascending.capacity()
    }

    /// Builds a matrix from rows of `(column, raw value)` entries.
    #[cfg(test)]
    pub(crate) fn from_rows(rows: &[Vec<(u16, i64)>]) -> Self {
        let mut m = Self::with_capacity(rows.len(), rows.iter().map(Vec::len).sum());
        for row in rows {
            for &(j, v) in row {
                m.push(j, v);
            }
            m.end_row();
        }
        m
    }

    /// The rows as `(column, raw value)` lists.
    #[cfg(test)]
    pub(crate) fn to_rows(&self) -> Vec<Vec<(u16, i64)>> {
        (0..self.rows())
            .map(|i| {
                let (c, v) = self.row(i);
                c.iter().copied().zip(v.iter().copied()).collect()
            })
            .collect()
    }

    /// Appends an entry to the row being built.
    #[inline]
    pub(crate) fn push(&mut self, col: u16, val: i64) {
        self.open_ascending &= i32::from(col) > self.open_last;
        self.open_last = i32::from(col);
        self.cols.push(col);
        self.vals.push(val);
    }

    /// Appends stored `u16` weights, as integers, to the row being built.
    pub(crate) fn extend_open_row(&mut self, row: &[(u16, u16)]) {
        for &(j, _) in row {
            self.open_ascending &= i32::from(j) > self.open_last;
            self.open_last = i32::from(j);
        }
        self.cols.extend(row.iter().map(|&(j, _)| j));
        self.vals
            .extend(row.iter().map(|&(_, w)| i64::from(w) << 32));
    }

    /// Appends a whole row of entries and closes it; `ascending` says whether the columns are
    /// known to be strictly ascending.
    pub(crate) fn extend_row(&mut self, cols: &[u16], vals: &[i64], ascending: bool) {
        self.open_ascending = ascending && self.open_last < 0;
        self.cols.extend_from_slice(cols);
        self.vals.extend_from_slice(vals);
        self.end_row();
    }

    /// Closes the row being built.
    #[inline]
    pub(crate) fn end_row(&mut self) {
        self.start.push(self.cols.len());
        self.ascending.push(self.open_ascending);
        self.open_last = -1;
        self.open_ascending = true;
    }

    /// Whether row `i`'s columns are strictly ascending.
    #[inline]
    pub(crate) fn ascending(&self, i: usize) -> bool {
        self.ascending[i]
    }

    /// The start of row `i` in the packed arrays, and the packed columns and values.
    #[inline]
    pub(crate) fn packed(&self) -> (&[usize], &[u16], &[i64]) {
        (&self.start, &self.cols, &self.vals)
    }

    /// The row being built (entries pushed since the last [`Self::end_row`]), values writable.
    #[inline]
    pub(crate) fn open_row_mut(&mut self) -> (&[u16], &mut [i64]) {
        let from = self.start[self.start.len() - 1];
        (&self.cols[from..], &mut self.vals[from..])
    }

    /// The number of closed rows.
    #[inline]
    pub(crate) fn rows(&self) -> usize {
        self.start.len() - 1
    }

    /// Row `i`: its columns and values.
    #[inline]
    pub(crate) fn row(&self, i: usize) -> (&[u16], &[i64]) {
        let r = self.start[i]..self.start[i + 1];
        (&self.cols[r.clone()], &self.vals[r])
    }

    /// The number of entries.
    pub(crate) fn entries(&self) -> usize {
        self.cols.len()
    }

    /// Rewrites each row in turn: `f(i, cols, vals)` returns how many entries to keep after
    /// rewriting them at the front of the row (in place, keeping their order, so an ascending
    /// row stays ascending).
    pub(crate) fn rewrite_rows(
        &mut self,
        mut f: impl FnMut(usize, &mut [u16], &mut [i64]) -> usize,
    ) {
        let mut write = 0usize;
        for i in 0..self.rows() {
            let (from, to) = (self.start[i], self.start[i + 1]);
            // Move the row down to `write` first (rows only ever shrink).
            if write != from {
                self.cols.copy_within(from..to, write);
                self.vals.copy_within(from..to, write);
            }
            let len = to - from;
            let kept = f(
                i,
                &mut self.cols[write..write + len],
                &mut self.vals[write..write + len],
            )
            .min(len);
            self.start[i] = write;
            write += kept;
        }
        let rows = self.rows();
        self.start[rows] = write;
        self.cols.truncate(write);
        self.vals.truncate(write);
    }
}

/// Matrices kept between epochs on one thread: a repeated epoch writes into memory it has
/// already touched instead of faulting in fresh pages, which for a large subnet (tens of
/// megabytes of weights and bonds) costs as much as a fifth of the epoch.
#[derive(Debug, Default)]
pub(crate) struct Spares {
    matrices: Vec<Matrix>,
}

thread_local! {
    static SPARES: std::cell::RefCell<Spares> = std::cell::RefCell::new(Spares::default());
}

impl Spares {
    /// The most memory kept per thread between epochs.
    const RETAIN_BYTES: usize = 64 << 20;

    /// This thread's spares (none on first use, or while another epoch on this thread holds
    /// them).
    pub(crate) fn take() -> Self {
        SPARES.with(|s| std::mem::take(&mut *s.borrow_mut()))
    }

    /// An empty matrix with room for `rows` rows and `entries` entries, reusing a spare's memory
    /// when there is one.
    pub(crate) fn matrix(&mut self, rows: usize, entries: usize) -> Matrix {
        match self.matrices.pop() {
            Some(mut m) => {
                m.reset(rows, entries);
                m
            }
            None => Matrix::with_capacity(rows, entries),
        }
    }

    /// Keeps a matrix's memory for later.
    pub(crate) fn keep(&mut self, m: Matrix) {
        self.matrices.push(m);
    }

    /// Hands the spares back to this thread, keeping the largest within
    /// [`Self::RETAIN_BYTES`].
    pub(crate) fn give_back(mut self) {
        let mut budget = Self::RETAIN_BYTES;
        let mut fits = |bytes: usize| {
            let keep = bytes <= budget;
            budget -= if keep { bytes } else { 0 };
            keep
        };
        self.matrices
            .sort_unstable_by_key(|m| std::cmp::Reverse(m.capacity_bytes()));
        self.matrices.retain(|m| fits(m.capacity_bytes()));
        SPARES.with(|s| *s.borrow_mut() = self);
    }
}

/// Divides the values by their sum where the sum is positive (`inplace_row_normalize_sparse`;
/// the sum wraps as the chain's does).
#[inline]
pub(crate) fn normalize_row(vals: &mut [i64]) {
    let total = vals.iter().fold(0i64, |a, &v| a.wrapping_add(v));
    if total > 0 {
        let d = Divider::new(super::fixed::I32F32::from_bits(total));
        for v in vals.iter_mut() {
            *v = d.div_bits(*v);
        }
    }
}

/// Clips an entry to its column's threshold (`col_clip_sparse`): above the threshold it becomes
/// the threshold, or is dropped (not set to zero) when the threshold is zero or less.
#[inline]
pub(crate) fn clip(v: i64, th: i64) -> Option<i64> {
    if th < v {
        (th > 0).then_some(th)
    } else {
        Some(v)
    }
}

/// One pass over the weights for clipping (`col_clip_sparse`) and what follows from it:
/// validator trust (each row's sum of clipped weights, wrapping), ranks
/// (`r_j = Σ_i s_i · wc_ij`, products floored, sums saturating), and the weights that buy bonds
/// written over the weights: the clipped ones when `BUY_CLIPPED` (bonds penalty 1), else the
/// weights unchanged; with `DELTA` (classic Yuma) each multiplied by its row's stake
/// (`ΔB = W ∘ S`), with column sums added to `delta_sums`.
///
/// Branch-free per entry: `clip(v, th)` is `min(v, th)`, kept unless `v > th` with `th <= 0`; a
/// dropped entry adds zero everywhere.
pub(crate) fn clip_pass<const BUY_CLIPPED: bool, const DELTA: bool>(
    w: &mut Matrix,
    threshold: &[i64],
    stake: &[i64],
    ranks: &mut [i64],
    trust: &mut [i64],
    delta_sums: &mut [i64],
) {
    w.rewrite_rows(|i, cols, vals| {
        let s = stake[i];
        let mut t = 0i64;
        let mut kept = 0usize;
        for q in 0..cols.len() {
            let (j, v) = (cols[q], vals[q]);
            let ju = usize::from(j);
            let th = threshold[ju];
            let keep = v <= th || th > 0;
            let c = if keep { v.min(th) } else { 0 };
            // Active stake is normalised, within [0, 1].
            let r = mul_unit(s, c);
            ranks[ju] = ranks[ju].saturating_add(r);
            t = t.wrapping_add(c);
            let out = match (BUY_CLIPPED, DELTA) {
                (true, true) => r,
                (true, false) => c,
                (false, true) => mul_unit(s, v),
                (false, false) => v,
            };
            if DELTA {
                delta_sums[ju] = delta_sums[ju].saturating_add(out);
            }
            cols[kept] = j;
            vals[kept] = out;
            kept += usize::from(!BUY_CLIPPED || keep);
        }
        trust[i] = t;
        kept
    });
}

/// What [`clip_pass`] gathers, gathered one row at a time by a pass that reads the weights
/// anyway (Yuma3 with liquid alpha), with the clipped row handed back when bonds are bought
/// with clipped weights.
#[derive(Debug)]
pub(crate) struct Clipping<'a> {
    pub(crate) threshold: &'a [i64],
    pub(crate) stake: &'a [i64],
    pub(crate) ranks: &'a mut [i64],
    pub(crate) trust: &'a mut [i64],
    /// Bonds are bought with the clipped weights (bonds penalty 1).
    pub(crate) buy_clipped: bool,
}

impl Clipping<'_> {
    /// Clips row `i`, adding to the ranks and setting its trust; when buying with clipped
    /// weights, `clipped` is filled with the kept entries, in order.
    #[inline]
    pub(crate) fn row(
        &mut self,
        i: usize,
        cols: &[u16],
        vals: &[i64],
        clipped: (&mut Vec<u16>, &mut Vec<i64>),
    ) {
        let s = self.stake[i];
        let mut t = 0i64;
        let (out_cols, out_vals) = clipped;
        out_cols.clear();
        out_vals.clear();
        for (&j, &v) in cols.iter().zip(vals) {
            let ju = usize::from(j);
            let th = self.threshold[ju];
            let keep = v <= th || th > 0;
            let c = if keep { v.min(th) } else { 0 };
            // Active stake is normalised, within [0, 1].
            self.ranks[ju] = self.ranks[ju].saturating_add(mul_unit(s, c));
            t = t.wrapping_add(c);
            if self.buy_clipped && keep {
                out_cols.push(j);
                out_vals.push(c);
            }
        }
        self.trust[i] = t;
    }
}

/// `a + ratio · (b − a)` entry by entry (`interpolate_sparse`), `b` being `a` clipped to
/// `threshold`, for a ratio strictly between 0 and 1: each row densified, only positive results
/// kept, in column order.
pub(crate) fn interpolate_clipped(
    a: &Matrix,
    threshold: &[i64],
    ratio: i64,
    mut out: Matrix,
) -> Matrix {
    let n = threshold.len();
    let mut dense_a = vec![0i64; n];
    let mut dense_b = vec![0i64; n];
    for i in 0..a.rows() {
        let (cols, vals) = a.row(i);
        if !cols.is_empty() {
            for (&j, &v) in cols.iter().zip(vals) {
                let j = usize::from(j);
                dense_a[j] = v;
                if let Some(c) = clip(v, threshold[j]) {
                    dense_b[j] = c;
                }
            }
            for (j, (va, vb)) in dense_a.iter_mut().zip(dense_b.iter_mut()).enumerate() {
                let x = va.saturating_add(mul_bits(ratio, vb.saturating_sub(*va)));
                if 0 < x {
                    out.push(j as u16, x);
                }
                *va = 0;
                *vb = 0;
            }
        }
        out.end_row();
    }
    out
}

/// A dense accumulator for one row at a time that hands its positive columns back in
/// ascending order (as the chain's densified rows do), touching only the columns that were
/// written (a bitmap marks them).
#[derive(Debug)]
pub(crate) struct RowAccumulator {
    acc: Vec<i64>,
    marks: Vec<u64>,
}

impl RowAccumulator {
    pub(crate) fn new(n: usize) -> Self {
        Self {
            acc: vec![0; n],
            marks: vec![0; n.div_ceil(64)],
        }
    }

    /// Adds `v` to column `j` (saturating).
    #[inline]
    pub(crate) fn add(&mut self, j: u16, v: i64) {
        let j = usize::from(j);
        self.acc[j] = self.acc[j].saturating_add(v);
        self.marks[j >> 6] |= 1 << (j & 63);
    }

    /// Calls `f(column, sum)` for each positive sum in column order, and clears the
    /// accumulator.
    #[inline]
    pub(crate) fn drain_positive(&mut self, mut f: impl FnMut(u16, i64)) {
        for (w, word) in self.marks.iter_mut().enumerate() {
            let mut bits = std::mem::take(word);
            while bits != 0 {
                let j = (w << 6) | bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let v = std::mem::take(&mut self.acc[j]);
                if v > 0 {
                    f(j as u16, v);
                }
            }
        }
    }
}

/// Column sums and maxima of a matrix being built row by row.
#[derive(Debug)]
pub(crate) struct ColumnStats {
    /// Saturating sums.
    pub(crate) sum: Vec<i64>,
    /// Maxima (at least zero).
    pub(crate) max: Vec<i64>,
}

impl ColumnStats {
    pub(crate) fn new(n: usize) -> Self {
        Self {
            sum: vec![0; n],
            max: vec![0; n],
        }
    }

    #[inline]
    pub(crate) fn add(&mut self, j: u16, v: i64) {
        let j = usize::from(j);
        self.sum[j] = self.sum[j].saturating_add(v);
        self.max[j] = self.max[j].max(v);
    }

    /// Dividers by the column sums.
    pub(crate) fn sum_dividers(&self) -> Vec<Divider> {
        dividers(&self.sum)
    }
}

/// A divider for each value.
pub(crate) fn dividers(values: &[i64]) -> Vec<Divider> {
    values
        .iter()
        .map(|&v| Divider::new(super::fixed::I32F32::from_bits(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clip_pass_is_clip_and_sums() {
        let th = [0, f(0.25), 0, f(0.5)];
        let stake = [f(0.5), f(0.25)];
        let rows = vec![
            vec![(0, f(0.5)), (1, f(0.5)), (2, 0), (3, f(0.25))],
            vec![(3, f(0.75)), (1, f(0.125))],
        ];
        for (clipped, delta) in [(true, true), (true, false), (false, true), (false, false)] {
            let mut w = Matrix::from_rows(&rows);
            let (mut ranks, mut trust, mut sums) = (vec![0; 4], vec![0; 2], vec![0; 4]);
            match (clipped, delta) {
                (true, true) => {
                    clip_pass::<true, true>(&mut w, &th, &stake, &mut ranks, &mut trust, &mut sums);
                }
                (true, false) => {
                    clip_pass::<true, false>(
                        &mut w, &th, &stake, &mut ranks, &mut trust, &mut sums,
                    );
                }
                (false, true) => {
                    clip_pass::<false, true>(
                        &mut w, &th, &stake, &mut ranks, &mut trust, &mut sums,
                    );
                }
                (false, false) => clip_pass::<false, false>(
                    &mut w, &th, &stake, &mut ranks, &mut trust, &mut sums,
                ),
            }
            // Reference: clip each entry, then sum.
            let mut want_rows = Vec::new();
            let (mut want_ranks, mut want_trust, mut want_sums) =
                (vec![0; 4], vec![0; 2], vec![0; 4]);
            for (i, row) in rows.iter().enumerate() {
                let mut out = Vec::new();
                for &(j, v) in row {
                    let c = clip(v, th[usize::from(j)]);
                    if let Some(c) = c {
                        want_ranks[usize::from(j)] += mul_bits(stake[i], c);
                        want_trust[i] += c;
                    }
                    let buy = if clipped { c } else { Some(v) };
                    if let Some(b) = buy {
                        let b = if delta { mul_bits(b, stake[i]) } else { b };
                        if delta {
                            want_sums[usize::from(j)] += b;
                        }
                        out.push((j, b));
                    }
                }
                want_rows.push(out);
            }
            assert_eq!(w.to_rows(), want_rows, "{clipped} {delta}");
            assert_eq!((ranks, trust), (want_ranks, want_trust));
            if delta {
                assert_eq!(sums, want_sums);
            }
        }
    }

    fn f(x: f64) -> i64 {
        (x * ONE as f64) as i64
    }

    #[test]
    fn clip_drops_entries_above_a_zero_threshold() {
        assert_eq!(clip(f(0.5), 0), None);
        assert_eq!(clip(f(0.5), f(0.25)), Some(f(0.25)));
        assert_eq!(clip(0, 0), Some(0));
        assert_eq!(clip(f(0.5), f(0.75)), Some(f(0.5)));
    }

    #[test]
    fn interpolate_keeps_positive_results_in_column_order() {
        let a = Matrix::from_rows(&[vec![(2, f(0.5)), (0, 0)], vec![]]);
        let out = interpolate_clipped(&a, &[0, 0, f(0.25)], f(0.5), Matrix::with_capacity(2, 2));
        assert_eq!(out.to_rows(), vec![vec![(2, f(0.375))], vec![]]);
    }

    #[test]
    fn the_accumulator_walks_columns_in_order_across_words() {
        let mut acc = RowAccumulator::new(200);
        for j in [199u16, 64, 3, 63, 128, 65] {
            acc.add(j, i64::from(j) + 1);
        }
        acc.add(70, 0);
        let mut cols = Vec::new();
        acc.drain_positive(|j, _| cols.push(j));
        assert_eq!(cols, [3, 63, 64, 65, 128, 199]);
        // Drained: a second drain finds nothing.
        acc.drain_positive(|j, _| cols.push(j));
        assert_eq!(cols.len(), 6);
    }

    #[test]
    fn rewriting_rows_keeps_row_boundaries() {
        let mut m =
            Matrix::from_rows(&[vec![(0, 1), (1, 2)], vec![], vec![(2, 3), (0, 4), (5, 6)]]);
        m.rewrite_rows(|_, cols, vals| {
            let mut k = 0;
            for q in 0..cols.len() {
                if cols[q] != 0 {
                    cols[k] = cols[q];
                    vals[k] = vals[q] * 2;
                    k += 1;
                }
            }
            k
        });
        assert_eq!(
            m.to_rows(),
            vec![vec![(1, 4)], vec![], vec![(2, 6), (5, 12)]]
        );
    }
}
