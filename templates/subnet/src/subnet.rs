//! The subnet as the Subforge runtime sees it: `--subnet {{project-name}}` on the command line.

use std::sync::Arc;

use subforge_core::MinerHandler;
use subforge_sdk::registry::{MinerRoutes, MinerSpec, Subnet, SubnetError, SubnetTask, TaskSpec};

use crate::generate::NumberGenerator;
use crate::miner::{BubbleMiner, LazyMiner, SortingMiner};
use crate::scoring::PositionMatch;
use crate::task::SortNumbers;

/// The most bubble-sort passes a `bubble:N` miner may be asked for.
pub const MAX_PASSES: usize = 64;

/// The scorer as a WASM module, built from `scorer/` by `build.rs`: the same code as
/// [`PositionMatch`], run in the sandbox by validators started with `--scorer wasm`.
pub const SCORER_WASM: &[u8] = subforge_sdk::embedded_scorer!("{{crate_name}}_scorer");

/// The subnet. `src/main.rs` hands it to the `subforge` command.
#[derive(Debug, Clone, Copy, Default)]
pub struct SortSubnet;

/// A miner model, as named on the command line (`--model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Model {
    Sort,
    Bubble(usize),
    Lazy,
}

impl SortSubnet {
    /// The task validators ask: sort a list, scored by the share of numbers in place.
    pub fn sorting(&self) -> TaskSpec<SortNumbers> {
        TaskSpec::new(|| Ok(Arc::new(NumberGenerator::default())), PositionMatch).wasm(SCORER_WASM)
    }

    fn model(&self, spec: &MinerSpec) -> Result<Model, SubnetError> {
        let model = spec.model_or("sort");
        match model.name {
            "sort" => model.no_param().map(|()| Model::Sort),
            "lazy" => model.no_param().map(|()| Model::Lazy),
            // `bubble` alone means one pass.
            "bubble" => Ok(Model::Bubble(model.param_in(1..=MAX_PASSES, 1)?)),
            _ => Err(SubnetError::unknown_model(model.text, &self.miner_models())),
        }
    }

    /// The handler a miner of `spec` answers with.
    pub fn handler(
        &self,
        spec: &MinerSpec,
    ) -> Result<Arc<dyn MinerHandler<SortNumbers>>, SubnetError> {
        Ok(match self.model(spec)? {
            Model::Sort => Arc::new(SortingMiner),
            Model::Bubble(passes) => Arc::new(BubbleMiner::new(passes)),
            Model::Lazy => Arc::new(LazyMiner),
        })
    }
}

impl Subnet for SortSubnet {
    fn name(&self) -> &'static str {
        "{{project-name}}"
    }

    fn about(&self) -> &'static str {
        "sort lists of numbers; answers scored by the share of numbers in the right place"
    }

    fn miner_models(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("sort", "sorts the whole list: an honest miner"),
            (
                "bubble:N",
                "stops bubble sort after N passes: a sloppy miner, better with more passes",
            ),
            ("lazy", "sends the list back unsorted: a lazy miner"),
        ]
    }

    /// Best first: an honest miner, sloppy ones with ever fewer passes, and a lazy one last
    /// when there are at least two.
    fn localnet_miners(&self, count: usize) -> Vec<MinerSpec> {
        (0..count)
            .map(|i| match i {
                0 => MinerSpec::model("sort"),
                i if i + 1 == count => MinerSpec::model("lazy"),
                // 8, 4, 2, 1, 1, … passes.
                i => MinerSpec::model(format!("bubble:{}", (8 >> (i - 1)).max(1))),
            })
            .collect()
    }

    fn miner(&self, spec: &MinerSpec) -> Result<MinerRoutes, SubnetError> {
        Ok(MinerRoutes::serve(self.handler(spec)?))
    }

    fn tasks(&self) -> Vec<Arc<dyn SubnetTask>> {
        vec![self.sorting().into()]
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use subforge_core::{AccountId, Hotkey, MinerResponse, Seed, StatusCode, Uid};

    use super::*;

    fn models(count: usize) -> Vec<String> {
        SortSubnet
            .localnet_miners(count)
            .into_iter()
            .map(|s| s.model.unwrap_or_default())
            .collect()
    }

    #[test]
    fn localnet_miners_fall_in_quality_and_end_lazy() {
        assert_eq!(models(1), ["sort"]);
        assert_eq!(models(2), ["sort", "lazy"]);
        assert_eq!(models(4), ["sort", "bubble:8", "bubble:4", "lazy"]);
        assert_eq!(
            models(7),
            [
                "sort", "bubble:8", "bubble:4", "bubble:2", "bubble:1", "bubble:1", "lazy"
            ]
        );
        // Every model in the line-up is one the subnet can build.
        for spec in SortSubnet.localnet_miners(5) {
            assert!(SortSubnet.handler(&spec).is_ok(), "{spec:?}");
        }
    }

    #[test]
    fn model_names() {
        let model = |m: &str| SortSubnet.model(&MinerSpec::model(m));
        assert_eq!(model("sort"), Ok(Model::Sort));
        assert_eq!(model("bubble:3"), Ok(Model::Bubble(3)));
        assert_eq!(model("bubble"), Ok(Model::Bubble(1)));
        assert_eq!(model("lazy"), Ok(Model::Lazy));
        assert_eq!(SortSubnet.model(&MinerSpec::default()), Ok(Model::Sort));
        for bad in ["bubble:0", "bubble:65", "bubble:x", "sort:2"] {
            assert!(
                matches!(model(bad), Err(SubnetError::BadModelParameter { model, .. }) if model == bad),
                "{bad}"
            );
        }
        for bad in ["quick", ""] {
            assert!(
                matches!(model(bad), Err(SubnetError::UnknownModel { model, .. }) if model == bad),
                "{bad}"
            );
        }
    }

    /// The embedded WASM module scores exactly as the native scorer, bit for bit.
    #[test]
    fn the_wasm_scorer_agrees_with_the_native_one() {
        let challenge = NumberGenerator::default().challenge(Seed(7));
        let answers = [
            SortingMiner.answer(&challenge.task),
            BubbleMiner::new(4).answer(&challenge.task),
            BubbleMiner::new(1).answer(&challenge.task),
            challenge.reference.clone(),
        ];
        let responses: Vec<MinerResponse<SortNumbers>> = answers
            .into_iter()
            .enumerate()
            .map(|(i, answer)| MinerResponse {
                uid: Uid(i as u16),
                hotkey: Hotkey(AccountId([i as u8; 32])),
                status: StatusCode::SUCCESS,
                message: "Success".to_owned(),
                latency: Duration::from_millis(5),
                payload: Some(answer),
                signature_verified: true,
            })
            .collect();
        let native = SortSubnet
            .sorting()
            .scorer()
            .score(&challenge.task, &challenge.reference, &responses)
            .unwrap();
        let wasm = SortSubnet
            .sorting()
            .wasm_scorer()
            .unwrap()
            .score(&challenge.task, &challenge.reference, &responses)
            .unwrap();
        let bits = |s: &[f64]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&native), bits(&wasm));
        assert_eq!(native[0], 1.0);
        assert_eq!(native[3], 1.0);
        assert!(native[1] >= 0.25 && native[1] > native[2], "{native:?}");
    }
}
