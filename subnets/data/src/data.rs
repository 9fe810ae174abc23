//! The data set: the diabetes study of Efron, Hastie, Johnstone and Tibshirani, as shipped by
//! `smartcore`, split once into training and held-out rows.
//!
//! Row `i` (in the order `smartcore` ships them, counting from 0) is held out when
//! `i % TEST_EVERY == 0`: 89 of the 442 patients. Miners train on the other 353; validators ask
//! only about held-out rows.
//!
//! Why this data set and not the Boston house prices `smartcore` also ships: on the diabetes
//! rows the models order as a subnet needs (held-out R² 0.52 for ridge regression, 0.40 for
//! 5-nearest neighbours), while on Boston k-NN beats the linear model (0.84 against 0.74); and
//! one of Boston's columns encodes the share of Black residents, the reason scikit-learn
//! withdrew that data set.

use std::sync::OnceLock;

/// Every `TEST_EVERY`-th row (from row 0) is held out for validators.
pub const TEST_EVERY: usize = 5;

/// Rows of features with one target each.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    columns: usize,
    features: Vec<f32>,
    targets: Vec<f32>,
}

impl Table {
    /// An empty table of `columns` features per row.
    pub fn new(columns: usize) -> Self {
        Self {
            columns,
            features: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// Appends one row.
    ///
    /// # Panics
    ///
    /// If `features` does not hold exactly [`Table::columns`] values.
    pub fn push(&mut self, features: &[f32], target: f32) {
        assert_eq!(features.len(), self.columns, "a row of the wrong width");
        self.features.extend_from_slice(features);
        self.targets.push(target);
    }

    /// Features per row.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.targets.len()
    }

    /// Row `i`'s features. Panics if `i` is out of range.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.features[i * self.columns..(i + 1) * self.columns]
    }

    /// All features, row-major.
    pub fn features(&self) -> &[f32] {
        &self.features
    }

    /// The targets, one per row.
    pub fn targets(&self) -> &[f32] {
        &self.targets
    }
}

/// A data set split into the rows miners learn from and the rows validators ask about.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The data set's name.
    pub name: &'static str,
    /// One name per feature column.
    pub feature_names: Vec<String>,
    /// What the target measures.
    pub target_name: String,
    /// Rows for training.
    pub train: Table,
    /// Held-out rows, which challenges are drawn from.
    pub test: Table,
}

impl Split {
    /// Splits `rows` (row-major `features`, `columns` per row, one target each) by
    /// [`TEST_EVERY`].
    pub fn new(
        name: &'static str,
        feature_names: Vec<String>,
        target_name: String,
        features: &[f32],
        targets: &[f32],
    ) -> Self {
        let columns = feature_names.len();
        let mut train = Table::new(columns);
        let mut test = Table::new(columns);
        for (i, (row, target)) in features
            .chunks_exact(columns.max(1))
            .zip(targets)
            .enumerate()
        {
            let table = if i % TEST_EVERY == 0 {
                &mut test
            } else {
                &mut train
            };
            table.push(row, *target);
        }
        Self {
            name,
            feature_names,
            target_name,
            train,
            test,
        }
    }
}

/// The diabetes data set, split; loaded on first use.
///
/// 442 patients, 10 baseline variables (age, sex, body mass index, average blood pressure and
/// six blood serum measurements, each mean-centred and scaled), and as target a quantitative
/// measure of disease progression one year after baseline (25 to 346). `smartcore` documents
/// its origin as <https://www4.stat.ncsu.edu/~boos/var.select/diabetes.html>, collected for
/// Efron et al., "Least Angle Regression", Annals of Statistics, 2004.
pub fn diabetes() -> &'static Split {
    static SPLIT: OnceLock<Split> = OnceLock::new();
    SPLIT.get_or_init(|| {
        let d = smartcore::dataset::diabetes::load_dataset();
        // The targets are whole numbers below 2^24, exact as f32.
        let targets: Vec<f32> = d.target.iter().map(|&t| t as f32).collect();
        let target_name = d.target_names.first().cloned().unwrap_or_default();
        Split::new("diabetes", d.feature_names, target_name, &d.data, &targets)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diabetes_splits_one_row_in_five() {
        let d = diabetes();
        assert_eq!(d.feature_names.len(), 10);
        assert_eq!(d.feature_names[2], "BMI");
        assert_eq!(d.test.rows(), 89);
        assert_eq!(d.train.rows(), 353);
        assert_eq!(d.test.columns(), 10);
        // The first patient of the original table (target 151) is held out.
        assert_eq!(d.test.targets()[0], 151.0);
        let all = d.train.targets().iter().chain(d.test.targets());
        assert!(all.clone().all(|t| (25.0..=346.0).contains(t)));
        assert!(d.train.features().iter().all(|x| x.is_finite()));
    }
}
