//! The data subnet's task: predict a numeric target for rows of tabular features.
//!
//! Features, predictions and the validator's true targets all travel as [`Blob`]s of
//! little-endian `f32`s (see [`array`](crate::array)): base64 in JSON, exact to the bit.

use core::time::Duration;

use serde::{Deserialize, Serialize};
use subforge_core::{Blob, Task};

use crate::array::{decode_f32s, encode_f32s};

/// The most rows one task may carry; miners refuse larger ones.
pub const MAX_ROWS: u32 = 4096;

/// Predict the target of `rows` rows of `columns` features each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Regression {
    /// How many rows to predict.
    pub rows: u32,
    /// Features per row.
    pub columns: u32,
    /// `rows * columns` little-endian `f32` values, row-major (row 0's features first):
    /// `4 * rows * columns` bytes.
    pub features: Blob,
    /// What each column measures, one name per column (`["Age", "Sex", "BMI", ...]`).
    pub feature_names: Vec<String>,
}

/// A miner's answer: one predicted target per row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Predictions {
    /// `rows` little-endian `f32` values, in the order of the task's rows.
    pub values: Blob,
}

/// The validator's reference: the true target of each row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// `rows` little-endian `f32` values, in the order of the task's rows.
    pub values: Blob,
}

impl Task for Regression {
    const NAME: &'static str = "TabularRegression";
    const TIMEOUT: Duration = Duration::from_secs(5);
    const HASH_FIELDS: &'static [&'static str] = &["rows", "columns", "features", "feature_names"];
    type Response = Predictions;
    type Reference = Targets;
}

/// Why a task's features cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeaturesError {
    /// More rows than [`MAX_ROWS`].
    #[error("{rows} rows is more than the {max} a task may carry")]
    TooManyRows {
        /// Rows asked for.
        rows: u32,
        /// The limit.
        max: u32,
    },
    /// The blob does not hold `rows * columns` values.
    #[error("{rows} rows of {columns} columns need {expected} bytes of features, got {bytes}")]
    WrongLength {
        /// Rows declared.
        rows: u32,
        /// Columns declared.
        columns: u32,
        /// `4 * rows * columns`.
        expected: u64,
        /// Bytes sent.
        bytes: usize,
    },
    /// A feature is NaN or infinite.
    #[error("feature {column} of row {row} is not finite")]
    NotFinite {
        /// Its row.
        row: usize,
        /// Its column.
        column: usize,
    },
}

impl Regression {
    /// A task for the row-major `features`, `feature_names.len()` per row; a trailing partial
    /// row is dropped.
    pub fn new(feature_names: Vec<String>, features: &[f32]) -> Self {
        let columns = feature_names.len();
        let rows = features.len().checked_div(columns).unwrap_or(0);
        Self {
            rows: u32::try_from(rows).unwrap_or(u32::MAX),
            columns: u32::try_from(columns).unwrap_or(u32::MAX),
            features: encode_f32s(&features[..rows * columns]),
            feature_names,
        }
    }

    /// The features as row-major `f32`s, checked: at most [`MAX_ROWS`] rows, exactly
    /// `rows * columns` values, all finite.
    pub fn decode_features(&self) -> Result<Vec<f32>, FeaturesError> {
        if self.rows > MAX_ROWS {
            return Err(FeaturesError::TooManyRows {
                rows: self.rows,
                max: MAX_ROWS,
            });
        }
        let expected = 4 * u64::from(self.rows) * u64::from(self.columns);
        let wrong_length = FeaturesError::WrongLength {
            rows: self.rows,
            columns: self.columns,
            expected,
            bytes: self.features.len(),
        };
        if self.features.len() as u64 != expected {
            return Err(wrong_length);
        }
        let values = decode_f32s(&self.features).ok_or(wrong_length)?;
        match values.iter().position(|x| !x.is_finite()) {
            Some(i) => {
                // Not reached with zero columns: then there are no values at all.
                let columns = self.columns as usize;
                Err(FeaturesError::NotFinite {
                    row: i / columns,
                    column: i % columns,
                })
            }
            None => Ok(values),
        }
    }
}

impl Predictions {
    /// Encodes one prediction per row.
    pub fn new(values: &[f32]) -> Self {
        Self {
            values: encode_f32s(values),
        }
    }

    /// The predictions, or `None` if the blob is not whole `f32`s.
    pub fn decode(&self) -> Option<Vec<f32>> {
        decode_f32s(&self.values)
    }
}

impl Targets {
    /// Encodes one true target per row.
    pub fn new(values: &[f32]) -> Self {
        Self {
            values: encode_f32s(values),
        }
    }

    /// The targets, or `None` if the blob is not whole `f32`s.
    pub fn decode(&self) -> Option<Vec<f32>> {
        decode_f32s(&self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("x{i}")).collect()
    }

    #[test]
    fn json_carries_features_as_base64() {
        let task = Regression::new(names(2), &[1.0, -2.0, 0.5, 3.0]);
        assert_eq!((task.rows, task.columns), (2, 2));
        let json = serde_json::to_value(&task).unwrap();
        // 1.0, -2.0, 0.5, 3.0 as little-endian f32s, in standard padded base64.
        assert_eq!(json["features"], "AACAPwAAAMAAAAA/AABAQA==");
        assert_eq!(json["rows"], 2);
        assert_eq!(json["feature_names"][1], "x1");
        let back: Regression = serde_json::from_value(json).unwrap();
        assert_eq!(back, task);
        assert_eq!(back.decode_features().unwrap(), vec![1.0, -2.0, 0.5, 3.0]);

        let p = Predictions::new(&[151.0, 75.5]);
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Predictions>(&text).unwrap(), p);
        assert_eq!(p.decode().unwrap(), vec![151.0, 75.5]);
        let t = Targets::new(&[25.0]);
        let text = serde_json::to_string(&t).unwrap();
        assert_eq!(
            serde_json::from_str::<Targets>(&text).unwrap().decode(),
            Some(vec![25.0])
        );
    }

    #[test]
    fn schema_says_base64() {
        let schema = Regression::schema();
        assert_eq!(schema.name, "TabularRegression");
        assert_eq!(
            schema.task["properties"]["features"]["contentEncoding"],
            "base64"
        );
        assert_eq!(schema.response["properties"]["values"]["type"], "string");
        for field in Regression::HASH_FIELDS {
            assert!(schema.task["properties"].get(field).is_some(), "{field}");
        }
    }

    #[test]
    fn malformed_features_are_typed_errors() {
        let mut task = Regression::new(names(2), &[1.0, 2.0, 3.0, 4.0]);
        task.rows = 3;
        assert!(matches!(
            task.decode_features(),
            Err(FeaturesError::WrongLength {
                expected: 24,
                bytes: 16,
                ..
            })
        ));
        task.rows = 2;
        task.features.0.pop();
        assert!(matches!(
            task.decode_features(),
            Err(FeaturesError::WrongLength { bytes: 15, .. })
        ));
        let task = Regression::new(names(2), &[1.0, 2.0, f32::NAN, 4.0]);
        assert_eq!(
            task.decode_features(),
            Err(FeaturesError::NotFinite { row: 1, column: 0 })
        );
        let mut task = Regression::new(names(1), &[1.0]);
        task.rows = MAX_ROWS + 1;
        assert!(matches!(
            task.decode_features(),
            Err(FeaturesError::TooManyRows { .. })
        ));
        // A partial trailing row is dropped.
        assert_eq!(Regression::new(names(2), &[1.0, 2.0, 3.0]).rows, 1);
        assert_eq!(Regression::new(vec![], &[1.0]).rows, 0);
    }
}
