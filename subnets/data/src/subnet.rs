//! The data-analysis subnet as the Subforge runtime sees it: `--subnet data`.

use std::sync::Arc;

use subforge_core::MinerHandler;
use subforge_sdk::registry::{
    MinerOption, MinerRoutes, MinerSpec, Subnet, SubnetError, SubnetTask, TaskSpec, graded_lineup,
};

use crate::generate::RowGenerator;
use crate::miner::RegressionMiner;
use crate::model::ModelKind;
use crate::scoring::RSquared;
use crate::task::Regression;

/// The R² scorer as a WASM module (`subforge-subnet-data-scorer`, built by this crate's build
/// script from the same source as [`RSquared`]).
pub const SCORER_WASM: &[u8] = subforge_sdk::embedded_scorer!("subforge_subnet_data_scorer");

/// The data-analysis subnet: regression on the diabetes data set.
#[derive(Debug, Clone, Copy, Default)]
pub struct DataSubnet;

impl DataSubnet {
    /// Predict disease progression for 32 held-out patients; scored by R² against the truth.
    pub fn regression(&self) -> TaskSpec<Regression> {
        TaskSpec::new(|| Ok(Arc::new(RowGenerator::default())), RSquared).wasm(SCORER_WASM)
    }

    /// The miner `spec` describes.
    pub fn regression_miner(&self, spec: &MinerSpec) -> Result<RegressionMiner, SubnetError> {
        let model = spec.model_or(ModelKind::Linear.name());
        model.no_param()?;
        let kind = ModelKind::ALL
            .into_iter()
            .find(|k| k.name() == model.name)
            .ok_or_else(|| SubnetError::unknown_model(model.text, &self.miner_models()))?;
        RegressionMiner::new(kind, spec.parse("seed")?.unwrap_or(0))
            .map_err(|e| SubnetError::BadMinerSpec(format!("cannot train `{kind}`: {e}")))
    }
}

impl Subnet for DataSubnet {
    fn name(&self) -> &'static str {
        "data"
    }

    fn about(&self) -> &'static str {
        "predict a real clinical measure from tabular data; answers scored by R²"
    }

    fn miner_models(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "linear",
                "ridge regression trained at start-up (R² about 0.52 on held-out rows)",
            ),
            (
                "knn",
                "the mean of the 5 nearest training patients (R² about 0.40)",
            ),
            ("junk", "random numbers in the target's range: a lazy miner"),
        ]
    }

    fn miner_options(&self) -> Vec<MinerOption> {
        vec![MinerOption {
            name: "seed",
            value: "N",
            about: "the junk miner's random seed",
        }]
    }

    /// The best model first, the junk one last (with two or more), k-NN miners between.
    fn localnet_miners(&self, count: usize) -> Vec<MinerSpec> {
        graded_lineup(count, "linear", "knn", "junk")
    }

    fn miner(&self, spec: &MinerSpec) -> Result<MinerRoutes, SubnetError> {
        let miner: Arc<dyn MinerHandler<Regression>> = Arc::new(self.regression_miner(spec)?);
        Ok(MinerRoutes::serve(miner))
    }

    fn tasks(&self) -> Vec<Arc<dyn SubnetTask>> {
        vec![self.regression().into()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localnet_miners_fall_in_quality_and_end_with_junk() {
        let models = |n| {
            DataSubnet
                .localnet_miners(n)
                .into_iter()
                .map(|s| s.model.unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(models(1), ["linear"]);
        assert_eq!(models(3), ["linear", "knn", "junk"]);
        for spec in DataSubnet.localnet_miners(3) {
            assert!(DataSubnet.regression_miner(&spec).is_ok(), "{spec:?}");
        }
    }

    #[test]
    fn model_names_and_settings() {
        let kind = |spec: MinerSpec| DataSubnet.regression_miner(&spec).map(|m| m.model().kind());
        assert_eq!(kind(MinerSpec::default()), Ok(ModelKind::Linear));
        assert_eq!(kind(MinerSpec::model("knn")), Ok(ModelKind::Knn));
        assert!(matches!(
            kind(MinerSpec::model("forest")),
            Err(SubnetError::UnknownModel { known, .. }) if known == "linear, knn, junk"
        ));
        assert!(matches!(
            kind(MinerSpec::model("junk").with("seed", "x")),
            Err(SubnetError::BadOption { name, .. }) if name == "seed"
        ));
    }
}
