//! # The data subnet
//!
//! Miners predict a numeric target from rows of tabular features; validators score the
//! predictions against the true values.
//!
//! - [`task`]: `Regression { rows, columns, features, feature_names }` → `Predictions
//!   { values }`; the validator keeps the true `Targets`. Features, predictions and targets
//!   travel as little-endian `f32` arrays in base64 ([`mod@array`]).
//! - [`scoring`]: [`RSquared`], the coefficient of determination over the task's rows, clipped
//!   at 0: `max(0, 1 - SSE / SST)`, where `SST` is the squared error of predicting the rows'
//!   mean target. 1 for exact predictions, 0 for anything no better than that mean, and 0 for a
//!   failed query, a malformed payload, the wrong number of predictions or a NaN. Pure `f64`
//!   arithmetic (also built as a WASM module).
//! - `data` (feature `runtime`, on by default): the data set, split into training and
//!   held-out rows.
//! - `model` (`runtime`): the built-in miners' models: ridge regression (`linear`), k nearest
//!   neighbours (`knn`) and noise (`junk`).
//! - `miner` (`runtime`): `RegressionMiner`, a [`MinerHandler`](subforge_core::MinerHandler)
//!   answering with one of those models.
//! - `generate` (`runtime`): `RowGenerator`, challenges of 32 held-out rows chosen by the seed.
//!
//! ## The data
//!
//! The diabetes data of Efron, Hastie, Johnstone and Tibshirani ("Least Angle Regression",
//! Annals of Statistics, 2004), as the `smartcore` crate ships it and documents its source
//! (<https://www4.stat.ncsu.edu/~boos/var.select/diabetes.html>): 442 patients, ten baseline
//! variables (age, sex, body mass index, average blood pressure, six blood serum
//! measurements; each mean-centred and scaled) and, as target, a measure of disease
//! progression one year later (25 to 346).
//!
//! Row `i` of the data set is held out when `i % 5 == 0` (89 rows); the built-in miners train
//! on the other 353 and validators ask only about held-out rows. On them the linear model
//! reaches R² 0.52, k-NN 0.40 and noise scores 0 (`cargo run -p subforge-subnet-data
//! --example evaluate` prints these figures and per-challenge scores).
//!
//! The limit of this design: the data are public, targets included, so a miner could memorise
//! the held-out rows and score 1. The subnet shows the machinery (binary payloads, an exact
//! error metric, reproducible challenges) on real data; a production subnet needs targets
//! miners cannot know yet, such as values observed after the answers are in.

pub mod array;
#[cfg(feature = "runtime")]
pub mod data;
#[cfg(feature = "runtime")]
pub mod generate;
#[cfg(feature = "runtime")]
pub mod miner;
#[cfg(feature = "runtime")]
pub mod model;
pub mod scoring;
#[cfg(feature = "runtime")]
pub mod subnet;
pub mod task;

pub use array::{decode_f32s, encode_f32s};
#[cfg(feature = "runtime")]
pub use data::{Split, Table, diabetes};
#[cfg(feature = "runtime")]
pub use generate::RowGenerator;
#[cfg(feature = "runtime")]
pub use miner::RegressionMiner;
#[cfg(feature = "runtime")]
pub use model::{Model, ModelKind, TrainError};
pub use scoring::{RSquared, r_squared, regression_score};
#[cfg(feature = "runtime")]
pub use subnet::DataSubnet;
pub use task::{FeaturesError, MAX_ROWS, Predictions, Regression, Targets};
