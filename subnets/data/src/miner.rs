//! The built-in miner: one trained [`Model`] answering [`Regression`] tasks.

use async_trait::async_trait;
use subforge_core::{Caller, HandlerError, MinerHandler};

use crate::data::diabetes;
use crate::model::{Model, ModelKind, TrainError};
use crate::task::{Predictions, Regression};

/// A miner predicting with a model trained on the training split.
#[derive(Debug, Clone)]
pub struct RegressionMiner {
    model: Model,
}

impl RegressionMiner {
    /// A miner whose model of `kind` is trained on the [`diabetes`] training rows; `seed`
    /// only matters to [`ModelKind::Junk`]. Takes milliseconds.
    pub fn new(kind: ModelKind, seed: u64) -> Result<Self, TrainError> {
        Model::train(kind, &diabetes().train, seed).map(Self::with_model)
    }

    /// A miner answering with `model`.
    pub fn with_model(model: Model) -> Self {
        Self { model }
    }

    /// Its model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The answer to `task`: refuses more than [`MAX_ROWS`](crate::task::MAX_ROWS) rows,
    /// features that are not `rows * columns` finite `f32`s, and a column count other than
    /// the model's.
    pub fn predict(&self, task: &Regression) -> Result<Predictions, HandlerError> {
        let features = task
            .decode_features()
            .map_err(|e| HandlerError::InvalidTask(e.to_string()))?;
        let expected = self.model.columns();
        if task.columns as usize != expected {
            return Err(HandlerError::InvalidTask(format!(
                "{} columns of features, the model takes {expected}",
                task.columns
            )));
        }
        let values: Vec<f32> = self
            .model
            .predict(&features)
            .into_iter()
            .map(|p| p as f32)
            .collect();
        if values.iter().any(|v| !v.is_finite()) {
            return Err(HandlerError::InvalidTask(
                "features this far outside the training range give no finite prediction".into(),
            ));
        }
        Ok(Predictions::new(&values))
    }
}

#[async_trait]
impl MinerHandler<Regression> for RegressionMiner {
    async fn forward(&self, task: Regression, _: &Caller) -> Result<Predictions, HandlerError> {
        self.predict(&task)
    }
}

#[cfg(test)]
mod tests {
    use subforge_core::{AccountId, Blob, Hotkey, Seed};

    use super::*;
    use crate::generate::RowGenerator;
    use crate::scoring::regression_score;

    fn caller() -> Caller {
        Caller {
            hotkey: Hotkey(AccountId([1; 32])),
            uid: None,
            stake: Default::default(),
            validator_permit: true,
            ip: None,
        }
    }

    fn invalid(result: Result<Predictions, HandlerError>) -> String {
        match result {
            Err(HandlerError::InvalidTask(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn built_in_miners_keep_their_order_over_many_challenges() {
        let generator = RowGenerator::default();
        let miners = ModelKind::ALL.map(|k| RegressionMiner::new(k, 11).unwrap());
        let mut totals = [0.0; 3];
        let rounds = 100;
        for s in 0..rounds {
            let c = generator.challenge(Seed(s));
            let targets = c.reference.decode().unwrap();
            for (total, miner) in totals.iter_mut().zip(&miners) {
                let p = miner.predict(&c.task).unwrap().decode().unwrap();
                *total += regression_score(&p, &targets);
            }
        }
        let [linear, knn, junk] = totals.map(|t| t / rounds as f64);
        // Measured over 500 rounds: 0.49, 0.37, 0.
        assert!(linear - knn > 0.08, "linear {linear}, knn {knn}");
        assert!(knn > 0.3, "knn {knn}");
        assert_eq!(junk, 0.0);
    }

    #[tokio::test]
    async fn malformed_tasks_are_refused() {
        let miner = RegressionMiner::new(ModelKind::Linear, 0).unwrap();
        let good = RowGenerator::default().challenge(Seed(1)).task;
        let answer = miner.forward(good.clone(), &caller()).await.unwrap();
        assert_eq!(answer.decode().unwrap().len(), 32);

        let mut t = good.clone();
        t.rows += 1;
        assert!(invalid(miner.predict(&t)).contains("bytes"));
        let mut t = good.clone();
        t.features = Blob(t.features.0[..t.features.len() - 1].to_vec());
        assert!(invalid(miner.predict(&t)).contains("bytes"));
        let mut t = good.clone();
        t.features.0[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(invalid(miner.predict(&t)).contains("row 0"));
        // Right length, wrong shape: 40 rows of 8 columns.
        let mut t = good.clone();
        (t.rows, t.columns) = (40, 8);
        assert!(invalid(miner.predict(&t)).contains("columns"));
        let mut t = good.clone();
        t.rows = crate::task::MAX_ROWS + 1;
        assert!(invalid(miner.predict(&t)).contains("4096"));
        let huge = Regression::new(good.feature_names.clone(), &[3e38; 10]);
        assert!(invalid(miner.predict(&huge)).contains("finite"));
        // An empty task gets an empty answer.
        let empty = Regression::new(good.feature_names, &[]);
        assert_eq!(miner.predict(&empty).unwrap().values.len(), 0);
    }
}
