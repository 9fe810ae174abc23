//! The subnet as the Subforge runtime sees it: `--subnet {{project-name}}` on the command line.

use std::path::Path;
use std::sync::Arc;

use subforge_core::{MinerHandler, Scorer, TaskGenerator};
use subforge_sdk::registry::{MinerSpec, Subnet, SubnetError, SubnetRegistration};
use subforge_sdk::wasm::{Limits, ScoringEngine, WasmError, WasmScorer};

use crate::generate::NumberGenerator;
use crate::miner::{BubbleMiner, LazyMiner, SortingMiner};
use crate::scoring::PositionMatch;
use crate::task::SortNumbers;

/// The most bubble-sort passes a `bubble:N` miner may be asked for.
pub const MAX_PASSES: usize = 64;

/// The scorer as a WASM module, built from `scorer/` by `build.rs`: the same code as
/// [`PositionMatch`], run in the sandbox by validators started with `--scorer wasm`.
pub const SCORER_WASM: &[u8] = include_bytes!(env!("SUBNET_SCORER_WASM"));

/// The subnet.
#[derive(Debug, Clone, Copy, Default)]
pub struct SortSubnet;

// Linking this crate into a binary makes the subnet known to the runtime.
inventory::submit! { SubnetRegistration(&SortSubnet) }

/// A miner model, as named on the command line (`--model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Model {
    Sort,
    Bubble(usize),
    Lazy,
}

fn parse_model(model: &str) -> Result<Model, SubnetError> {
    let bad = || {
        SubnetError::BadMinerSpec(format!(
            "unknown miner model `{model}`: use sort, bubble:N (N from 1 to {MAX_PASSES}) or lazy"
        ))
    };
    match model {
        "sort" => Ok(Model::Sort),
        "lazy" => Ok(Model::Lazy),
        m => {
            let passes = m.strip_prefix("bubble:").ok_or_else(bad)?;
            let passes: usize = passes.parse().map_err(|_| bad())?;
            if (1..=MAX_PASSES).contains(&passes) {
                Ok(Model::Bubble(passes))
            } else {
                Err(bad())
            }
        }
    }
}

impl Subnet for SortSubnet {
    type Task = SortNumbers;

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
        let spec = |model: String| MinerSpec {
            model: Some(model),
            ..MinerSpec::default()
        };
        (0..count)
            .map(|i| match i {
                0 => spec("sort".to_owned()),
                i if i + 1 == count => spec("lazy".to_owned()),
                // 8, 4, 2, 1, 1, … passes.
                i => spec(format!("bubble:{}", (8 >> (i - 1)).max(1))),
            })
            .collect()
    }

    fn miner(&self, spec: &MinerSpec) -> Result<Arc<dyn MinerHandler<SortNumbers>>, SubnetError> {
        let model = spec.model.as_deref().map_or(Ok(Model::Sort), parse_model)?;
        Ok(match model {
            Model::Sort => Arc::new(SortingMiner),
            Model::Bubble(passes) => Arc::new(BubbleMiner::new(passes)),
            Model::Lazy => Arc::new(LazyMiner),
        })
    }

    fn generator(&self) -> Result<Arc<dyn TaskGenerator<SortNumbers>>, SubnetError> {
        Ok(Arc::new(NumberGenerator::default()))
    }

    fn scorer(&self) -> Arc<dyn Scorer<SortNumbers>> {
        Arc::new(PositionMatch)
    }

    fn wasm_scorer(
        &self,
        module: Option<&Path>,
    ) -> Result<Arc<dyn Scorer<SortNumbers>>, SubnetError> {
        let wasm = |e: WasmError| SubnetError::Scorer(e.to_string());
        let engine = ScoringEngine::shared().map_err(wasm)?;
        let scorer = match module {
            Some(path) => WasmScorer::load(&engine, path).map_err(wasm)?,
            None => WasmScorer::new(engine.load(SCORER_WASM, Limits::default()).map_err(wasm)?)
                .map_err(wasm)?,
        };
        Ok(Arc::new(scorer))
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
            assert!(SortSubnet.miner(&spec).is_ok(), "{spec:?}");
        }
    }

    #[test]
    fn model_names() {
        assert_eq!(parse_model("sort").ok(), Some(Model::Sort));
        assert_eq!(parse_model("bubble:3").ok(), Some(Model::Bubble(3)));
        assert_eq!(parse_model("lazy").ok(), Some(Model::Lazy));
        for bad in ["bubble:0", "bubble:65", "bubble:x", "bubble", "quick", ""] {
            assert!(
                matches!(parse_model(bad), Err(SubnetError::BadMinerSpec(m)) if m.contains(bad)),
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
            .scorer()
            .score(&challenge.task, &challenge.reference, &responses)
            .unwrap();
        let wasm = SortSubnet
            .wasm_scorer(None)
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
