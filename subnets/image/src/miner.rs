//! The built-in miners: one [`DigitMiner`] per [`Model`], each answering both tasks.

use core::fmt;
use core::str::FromStr;

use async_trait::async_trait;
use subforge_core::{Blob, Caller, HandlerError, MinerHandler};

use crate::data::{Image, SIDE};
use crate::model::{
    CentroidDenoiser, Denoiser, NearestCentroid, NeighbourDenoiser, RandomGuess, Recogniser,
    Scribble, Softmax,
};
use crate::task::{DenoisedImage, DigitDenoising, DigitLabels, DigitRecognition};

/// The most images a miner reads in one [`DigitRecognition`] task; more is refused.
pub const MAX_IMAGES: usize = 256;

/// Which models a [`DigitMiner`] answers with, best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// [`Softmax`] names digits; [`NeighbourDenoiser`] restores them.
    Softmax,
    /// [`NearestCentroid`] names digits; [`CentroidDenoiser`] restores them.
    Centroid,
    /// [`RandomGuess`] names digits; [`Scribble`] "restores" them.
    Junk,
}

impl Model {
    /// Every model, best first.
    pub const ALL: [Self; 3] = [Self::Softmax, Self::Centroid, Self::Junk];

    /// The model's name on the command line: `softmax`, `centroid` or `junk`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Softmax => "softmax",
            Self::Centroid => "centroid",
            Self::Junk => "junk",
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A model name that is none of [`Model::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownModel(pub String);

impl fmt::Display for UnknownModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown image model `{}`: use softmax, centroid or junk",
            self.0
        )
    }
}

impl std::error::Error for UnknownModel {}

impl FromStr for Model {
    type Err = UnknownModel;

    fn from_str(name: &str) -> Result<Self, UnknownModel> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| UnknownModel(name.to_owned()))
    }
}

/// A miner answering [`DigitRecognition`] and [`DigitDenoising`] with one [`Model`]'s parts.
///
/// Reads 8 × 8 images only, as the models were trained on; any other size, a blob of the wrong
/// length, or more than [`MAX_IMAGES`] images is refused with [`HandlerError::InvalidTask`].
#[derive(Debug)]
pub struct DigitMiner {
    model: Model,
    recogniser: Box<dyn Recogniser>,
    denoiser: Box<dyn Denoiser>,
}

impl DigitMiner {
    /// A miner answering with `model`. The trained models are shared by every miner in the
    /// process and trained on first use (a fraction of a second); `seed` drives the junk
    /// model's noise and is ignored by the others.
    pub fn new(model: Model, seed: u64) -> Self {
        let (recogniser, denoiser): (Box<dyn Recogniser>, Box<dyn Denoiser>) = match model {
            Model::Softmax => (
                Box::new(Softmax::shared()),
                Box::new(NeighbourDenoiser::new()),
            ),
            Model::Centroid => (
                Box::new(NearestCentroid::shared()),
                Box::new(CentroidDenoiser::new()),
            ),
            Model::Junk => (
                Box::new(RandomGuess::new(seed)),
                Box::new(Scribble::new(seed)),
            ),
        };
        Self {
            model,
            recogniser,
            denoiser,
        }
    }

    /// The model it answers with.
    pub const fn model(&self) -> Model {
        self.model
    }

    /// Its labels for `task`'s images.
    pub fn recognise(&self, task: &DigitRecognition) -> Result<DigitLabels, HandlerError> {
        check_size(task.width, task.height)?;
        if task.images.len() > MAX_IMAGES {
            return Err(HandlerError::InvalidTask(format!(
                "{} images; at most {MAX_IMAGES} are read",
                task.images.len()
            )));
        }
        let labels = task
            .images
            .iter()
            .enumerate()
            .map(|(i, blob)| {
                let image = to_image(blob)
                    .map_err(|n| HandlerError::InvalidTask(format!("image {i} has {n} bytes")))?;
                Ok(self.recogniser.recognise(&image))
            })
            .collect::<Result<_, HandlerError>>()?;
        Ok(DigitLabels { labels })
    }

    /// Its restoration of `task`'s image.
    pub fn denoise(&self, task: &DigitDenoising) -> Result<DenoisedImage, HandlerError> {
        check_size(task.width, task.height)?;
        let image = to_image(&task.image)
            .map_err(|n| HandlerError::InvalidTask(format!("the image has {n} bytes")))?;
        Ok(DenoisedImage {
            image: Blob::from(&self.denoiser.denoise(&image)[..]),
        })
    }
}

/// Refuses anything but the 8 × 8 the models know.
fn check_size(width: u8, height: u8) -> Result<(), HandlerError> {
    if (width, height) == (SIDE, SIDE) {
        Ok(())
    } else {
        Err(HandlerError::InvalidTask(format!(
            "images are {width}×{height}; this miner reads {SIDE}×{SIDE}"
        )))
    }
}

/// The blob as an image, or its length if that is not [`PIXELS`].
fn to_image(blob: &Blob) -> Result<Image, usize> {
    Image::try_from(blob.as_bytes()).map_err(|_| blob.len())
}

#[async_trait]
impl MinerHandler<DigitRecognition> for DigitMiner {
    async fn forward(
        &self,
        task: DigitRecognition,
        _: &Caller,
    ) -> Result<DigitLabels, HandlerError> {
        self.recognise(&task)
    }
}

#[async_trait]
impl MinerHandler<DigitDenoising> for DigitMiner {
    async fn forward(
        &self,
        task: DigitDenoising,
        _: &Caller,
    ) -> Result<DenoisedImage, HandlerError> {
        self.denoise(&task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::PIXELS;
    use subforge_core::{AccountId, Hotkey, Seed, Uid};

    use crate::generate::{DenoisingGenerator, RecognitionGenerator};
    use crate::scoring::{accuracy, psnr, psnr_score};

    fn caller() -> Caller {
        Caller {
            hotkey: Hotkey(AccountId([2; 32])),
            uid: Some(Uid(0)),
            stake: subforge_core::Balance::from_tao(1),
            validator_permit: true,
            ip: None,
        }
    }

    #[test]
    fn model_names_round_trip() {
        for model in Model::ALL {
            assert_eq!(model.name().parse::<Model>(), Ok(model));
            assert_eq!(model.to_string(), model.name());
        }
        let e = "resnet".parse::<Model>().unwrap_err();
        assert!(e.to_string().contains("softmax"), "{e}");
    }

    #[tokio::test]
    async fn miners_answer_both_tasks() {
        let recognition = RecognitionGenerator::new().challenge(Seed(5)).unwrap();
        let denoising = DenoisingGenerator::new().challenge(Seed(5));
        let mut accuracies = Vec::new();
        let mut restorations = Vec::new();
        for model in Model::ALL {
            let miner = DigitMiner::new(model, 1);
            assert_eq!(miner.model(), model);
            let labels: DigitLabels = miner
                .forward(recognition.task.clone(), &caller())
                .await
                .unwrap();
            assert_eq!(labels.labels.len(), recognition.task.images.len());
            assert!(labels.labels.iter().all(|&l| l <= 9));
            accuracies.push(accuracy(&labels.labels, &recognition.reference.labels));

            let restored: DenoisedImage = miner
                .forward(denoising.task.clone(), &caller())
                .await
                .unwrap();
            assert_eq!(restored.image.len(), PIXELS);
            let db = psnr(&restored.image, &denoising.reference.image).unwrap();
            restorations.push(psnr_score(db));
        }
        // Softmax reads these 16 right but for at most two, junk gets few.
        assert!(accuracies[0] >= 14.0 / 16.0, "{accuracies:?}");
        assert!(accuracies[2] <= 0.5, "{accuracies:?}");
        assert!(restorations[0] > restorations[2], "{restorations:?}");
    }

    #[test]
    fn the_junk_miner_follows_its_seed() {
        let task = RecognitionGenerator::new().challenge(Seed(9)).unwrap().task;
        let a = DigitMiner::new(Model::Junk, 1).recognise(&task).unwrap();
        assert_eq!(a, DigitMiner::new(Model::Junk, 1).recognise(&task).unwrap());
        assert_ne!(a, DigitMiner::new(Model::Junk, 2).recognise(&task).unwrap());
    }

    #[test]
    fn malformed_tasks_are_refused() {
        let miner = DigitMiner::new(Model::Centroid, 0);
        let good = RecognitionGenerator::new().challenge(Seed(1)).unwrap().task;
        let invalid = |r: Result<DigitLabels, HandlerError>| {
            assert!(matches!(r, Err(HandlerError::InvalidTask(_))), "{r:?}");
        };
        invalid(miner.recognise(&DigitRecognition {
            width: 7,
            ..good.clone()
        }));
        invalid(miner.recognise(&DigitRecognition {
            height: 0,
            ..good.clone()
        }));
        let mut short = good.clone();
        short.images[3] = Blob(vec![0; 63]);
        invalid(miner.recognise(&short));
        let mut long = good.clone();
        long.images[0] = Blob(vec![0; 65]);
        invalid(miner.recognise(&long));
        let too_many = DigitRecognition {
            width: 8,
            height: 8,
            images: vec![Blob(vec![0; PIXELS]); MAX_IMAGES + 1],
        };
        invalid(miner.recognise(&too_many));
        // At the bound, and with no images at all, it answers.
        let most = DigitRecognition {
            width: 8,
            height: 8,
            images: vec![Blob(vec![0; PIXELS]); MAX_IMAGES],
        };
        assert_eq!(miner.recognise(&most).unwrap().labels.len(), MAX_IMAGES);
        let none = DigitRecognition {
            images: vec![],
            ..good
        };
        assert_eq!(miner.recognise(&none).unwrap().labels, Vec::<u8>::new());

        let good = DenoisingGenerator::new().challenge(Seed(1)).task;
        let invalid = |r: Result<DenoisedImage, HandlerError>| {
            assert!(matches!(r, Err(HandlerError::InvalidTask(_))), "{r:?}");
        };
        invalid(miner.denoise(&DigitDenoising {
            width: 16,
            height: 4,
            ..good.clone()
        }));
        invalid(miner.denoise(&DigitDenoising {
            width: 8,
            height: 8,
            image: Blob(vec![]),
        }));
        invalid(miner.denoise(&DigitDenoising {
            image: Blob(vec![0; 1000]),
            ..good
        }));
    }
}
