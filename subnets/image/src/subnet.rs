//! The image subnet as the Subforge runtime sees it: `--subnet image`.

use std::sync::Arc;

use subforge_core::MinerHandler;
use subforge_sdk::registry::{
    MinerOption, MinerRoutes, MinerSpec, Subnet, SubnetError, SubnetTask, TaskSpec, graded_lineup,
};

use crate::generate::{DenoisingGenerator, RecognitionGenerator};
use crate::miner::{DigitMiner, Model};
use crate::scoring::{Accuracy, Psnr};
use crate::task::{DigitDenoising, DigitRecognition};

/// The accuracy scorer as a WASM module (the `image_recognition` example of
/// `subforge-subnet-image-scorer`, built by this crate's build script from [`Accuracy`]).
pub const RECOGNITION_WASM: &[u8] = subforge_sdk::embedded_scorer!("image_recognition");

/// The PSNR scorer as a WASM module (the `image_denoising` example, built from [`Psnr`]).
pub const DENOISING_WASM: &[u8] = subforge_sdk::embedded_scorer!("image_denoising");

/// Of every four validator steps, how many ask for recognition; the rest ask for restoration.
pub const RECOGNITION_SHARE: u32 = 3;

/// The image subnet: two tasks over the UCI handwritten digits.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImageSubnet;

impl ImageSubnet {
    /// Name the digit in each of 16 test images; scored by accuracy. Asked in three steps of
    /// four.
    pub fn recognition(&self) -> TaskSpec<DigitRecognition> {
        TaskSpec::new(|| Ok(Arc::new(RecognitionGenerator::new())), Accuracy)
            .wasm(RECOGNITION_WASM)
            .share(RECOGNITION_SHARE)
    }

    /// Restore a noisy test image; scored by PSNR against the clean one. Asked in one step of
    /// four.
    pub fn denoising(&self) -> TaskSpec<DigitDenoising> {
        TaskSpec::new(|| Ok(Arc::new(DenoisingGenerator::new())), Psnr).wasm(DENOISING_WASM)
    }

    /// The miner `spec` describes (one value answers both tasks).
    pub fn digit_miner(&self, spec: &MinerSpec) -> Result<Arc<DigitMiner>, SubnetError> {
        let model = spec.model_or(Model::Softmax.name());
        model.no_param()?;
        let kind = Model::ALL
            .into_iter()
            .find(|m| m.name() == model.name)
            .ok_or_else(|| SubnetError::unknown_model(model.text, &self.miner_models()))?;
        Ok(Arc::new(DigitMiner::new(
            kind,
            spec.parse("seed")?.unwrap_or(0),
        )))
    }
}

impl Subnet for ImageSubnet {
    fn name(&self) -> &'static str {
        "image"
    }

    fn about(&self) -> &'static str {
        "recognise and restore handwritten digits; scored by accuracy and by PSNR"
    }

    fn miner_models(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "softmax",
                "softmax regression trained at start-up (about 96% right); restores from the nearest training digits",
            ),
            (
                "centroid",
                "the nearest class average (about 88% right); restores towards that average",
            ),
            ("junk", "random labels and random pixels: a lazy miner"),
        ]
    }

    fn miner_options(&self) -> Vec<MinerOption> {
        vec![MinerOption {
            name: "seed",
            value: "N",
            about: "the junk miner's random seed",
        }]
    }

    /// The best model first, the junk one last (with two or more), centroid miners between.
    fn localnet_miners(&self, count: usize) -> Vec<MinerSpec> {
        graded_lineup(count, "softmax", "centroid", "junk")
    }

    fn miner(&self, spec: &MinerSpec) -> Result<MinerRoutes, SubnetError> {
        let miner = self.digit_miner(spec)?;
        let recognise: Arc<dyn MinerHandler<DigitRecognition>> = miner.clone();
        let restore: Arc<dyn MinerHandler<DigitDenoising>> = miner;
        Ok(MinerRoutes::serve(recognise).and_serve(restore))
    }

    fn tasks(&self) -> Vec<Arc<dyn SubnetTask>> {
        vec![self.recognition().into(), self.denoising().into()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localnet_miners_fall_in_quality_and_end_with_junk() {
        let models = |n| {
            ImageSubnet
                .localnet_miners(n)
                .into_iter()
                .map(|s| s.model.unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(models(1), ["softmax"]);
        assert_eq!(models(2), ["softmax", "junk"]);
        assert_eq!(models(4), ["softmax", "centroid", "centroid", "junk"]);
    }

    #[test]
    fn model_names_and_settings() {
        let miner = |spec: MinerSpec| ImageSubnet.digit_miner(&spec).map(|m| m.model());
        assert_eq!(miner(MinerSpec::default()), Ok(Model::Softmax));
        assert_eq!(miner(MinerSpec::model("centroid")), Ok(Model::Centroid));
        assert_eq!(
            miner(MinerSpec::model("junk").with("seed", "7")),
            Ok(Model::Junk)
        );
        assert!(matches!(
            miner(MinerSpec::model("cnn")),
            Err(SubnetError::UnknownModel { known, .. }) if known == "softmax, centroid, junk"
        ));
        assert!(matches!(
            miner(MinerSpec::model("softmax:2")),
            Err(SubnetError::BadModelParameter { .. })
        ));
        assert!(matches!(
            miner(MinerSpec::model("junk").with("seed", "-1")),
            Err(SubnetError::BadOption { name, .. }) if name == "seed"
        ));
    }

    #[test]
    fn two_tasks_three_steps_in_four_recognition() {
        let tasks = ImageSubnet.tasks();
        let names: Vec<_> = tasks.iter().map(|t| (t.name(), t.share())).collect();
        assert_eq!(names, [("DigitRecognition", 3), ("DigitDenoising", 1)]);
        assert!(tasks.iter().all(|t| t.ships_wasm()));
    }
}
