//! Validator-side challenges, drawn from the held-out test images only.
//!
//! - [`RecognitionGenerator`]: [`RecognitionGenerator::DEFAULT_COUNT`] different test images,
//!   chosen by the seed; the reference is their labels.
//! - [`DenoisingGenerator`]: one test image chosen by the seed, with seeded noise added (see
//!   [`add_noise`]); the reference is the clean image.

use async_trait::async_trait;
use rand_core::RngCore;
use subforge_core::{Blob, Challenge, GenerateError, Seed, TaskGenerator};

use crate::data::{Digit, Digits, Image, SIDE};
use crate::miner::MAX_IMAGES;
use crate::task::{CleanImage, DigitDenoising, DigitRecognition, TrueLabels};

/// A number drawn uniformly from `0..n` (rejection sampling, so no value is favoured); 0 for
/// `n == 0`.
pub(crate) fn below(rng: &mut impl RngCore, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    // The largest multiple of n that fits: draws at or above it would favour small values.
    let zone = u64::MAX - u64::MAX % n;
    loop {
        let r = rng.next_u64();
        if r < zone {
            return r % n;
        }
    }
}

/// Makes [`DigitRecognition`] challenges from test images.
#[derive(Debug, Clone, Copy)]
pub struct RecognitionGenerator {
    count: usize,
    test: &'static [Digit],
}

impl RecognitionGenerator {
    /// Images per task unless told otherwise.
    pub const DEFAULT_COUNT: usize = 16;

    /// Tasks of [`Self::DEFAULT_COUNT`] images.
    pub fn new() -> Self {
        Self::with_count(Self::DEFAULT_COUNT)
    }

    /// Tasks of `count` images (all different, so at most the 360 test images; generating
    /// fails for 0 or more than [`MAX_IMAGES`], which miners refuse).
    pub fn with_count(count: usize) -> Self {
        Self {
            count,
            test: Digits::get().test(),
        }
    }

    /// The challenge for `seed`: `count` distinct test images in a seeded order.
    pub fn challenge(&self, seed: Seed) -> Result<Challenge<DigitRecognition>, GenerateError> {
        let limit = self.test.len().min(MAX_IMAGES);
        if self.count == 0 || self.count > limit {
            return Err(GenerateError(format!(
                "{} images per task asked; 1 to {limit} can be drawn",
                self.count
            )));
        }
        let mut rng = seed.rng();
        // A partial Fisher–Yates shuffle: the first `count` places end up a uniform draw.
        let mut order: Vec<usize> = (0..self.test.len()).collect();
        for i in 0..self.count {
            let j = i + below(&mut rng, (order.len() - i) as u64) as usize;
            order.swap(i, j);
        }
        let chosen = &order[..self.count];
        Ok(Challenge {
            task: DigitRecognition {
                width: SIDE,
                height: SIDE,
                images: chosen
                    .iter()
                    .map(|&i| Blob::from(&self.test[i].image[..]))
                    .collect(),
            },
            reference: TrueLabels {
                labels: chosen.iter().map(|&i| self.test[i].label).collect(),
            },
        })
    }
}

impl Default for RecognitionGenerator {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl TaskGenerator<DigitRecognition> for RecognitionGenerator {
    async fn generate(&self, seed: Seed) -> Result<Challenge<DigitRecognition>, GenerateError> {
        self.challenge(seed)
    }
}

/// Largest change the additive noise makes to a pixel, up or down.
pub const NOISE_AMPLITUDE: u8 = 96;

/// Pixels in every hundred that the impulse noise replaces with 0 or 255.
pub const IMPULSE_PERCENT: u8 = 10;

/// `image` with seeded noise, in integers only. For each pixel in order: one draw from
/// `0..100` decides whether it is an impulse (below [`IMPULSE_PERCENT`]); an impulse is 0 or
/// 255 by a second, even draw; any other pixel gets a uniform offset from
/// `-NOISE_AMPLITUDE..=NOISE_AMPLITUDE` added and the sum clamped to 0..=255.
pub fn add_noise(image: &Image, rng: &mut impl RngCore) -> Image {
    let amplitude = i16::from(NOISE_AMPLITUDE);
    let mut noisy = *image;
    for pixel in &mut noisy {
        if below(rng, 100) < u64::from(IMPULSE_PERCENT) {
            *pixel = if below(rng, 2) == 0 { 0 } else { u8::MAX };
        } else {
            // The draw is at most 2·amplitude, well inside i16.
            let offset = below(rng, 2 * amplitude as u64 + 1) as i16 - amplitude;
            let value = (i16::from(*pixel) + offset).clamp(0, 255);
            *pixel = u8::try_from(value).unwrap_or(u8::MAX);
        }
    }
    noisy
}

/// Makes [`DigitDenoising`] challenges from test images.
#[derive(Debug, Clone, Copy)]
pub struct DenoisingGenerator {
    test: &'static [Digit],
}

impl DenoisingGenerator {
    /// A generator over the test split.
    pub fn new() -> Self {
        Self {
            test: Digits::get().test(),
        }
    }

    /// The challenge for `seed`: the seed's test image, and [`add_noise`] from the same stream.
    pub fn challenge(&self, seed: Seed) -> Challenge<DigitDenoising> {
        let mut rng = seed.rng();
        let clean = self
            .test
            .get(below(&mut rng, self.test.len() as u64) as usize)
            .map_or([0; crate::data::PIXELS], |d| d.image);
        let noisy = add_noise(&clean, &mut rng);
        Challenge {
            task: DigitDenoising {
                width: SIDE,
                height: SIDE,
                image: Blob::from(&noisy[..]),
            },
            reference: CleanImage {
                image: Blob::from(&clean[..]),
            },
        }
    }
}

impl Default for DenoisingGenerator {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl TaskGenerator<DigitDenoising> for DenoisingGenerator {
    async fn generate(&self, seed: Seed) -> Result<Challenge<DigitDenoising>, GenerateError> {
        Ok(self.challenge(seed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::PIXELS;

    #[test]
    fn below_is_in_range_and_reaches_every_value() {
        let mut rng = Seed(1).rng();
        let mut seen = [false; 7];
        for _ in 0..500 {
            let v = below(&mut rng, 7);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(below(&mut rng, 0), 0);
        assert_eq!(below(&mut rng, 1), 0);
    }

    #[test]
    fn recognition_challenges_are_reproducible_and_well_formed() {
        let g = RecognitionGenerator::new();
        let test = Digits::get().test();
        let a = g.challenge(Seed(7)).unwrap();
        let b = g.challenge(Seed(7)).unwrap();
        assert_eq!(a.task, b.task);
        assert_eq!(a.reference, b.reference);
        assert_ne!(a.task, g.challenge(Seed(8)).unwrap().task);
        assert_eq!((a.task.width, a.task.height), (8, 8));
        assert_eq!(a.task.images.len(), 16);
        assert_eq!(a.reference.labels.len(), 16);
        for (image, &label) in a.task.images.iter().zip(&a.reference.labels) {
            assert_eq!(image.len(), PIXELS);
            // Every image is a test image with its true label.
            assert!(
                test.iter()
                    .any(|d| d.image[..] == image[..] && d.label == label)
            );
        }
        // All different.
        let mut images = a.task.images;
        images.sort();
        images.dedup();
        assert_eq!(images.len(), 16);
        // Over many seeds every digit comes up.
        let mut seen = [false; 10];
        for s in 0..20 {
            for &l in &g.challenge(Seed(s)).unwrap().reference.labels {
                seen[usize::from(l)] = true;
            }
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn recognition_counts_are_bounded() {
        assert!(
            RecognitionGenerator::with_count(0)
                .challenge(Seed(1))
                .is_err()
        );
        assert!(
            RecognitionGenerator::with_count(257)
                .challenge(Seed(1))
                .is_err()
        );
        let all = RecognitionGenerator::with_count(256)
            .challenge(Seed(1))
            .unwrap();
        assert_eq!(all.task.images.len(), 256);
        let one = RecognitionGenerator::with_count(1)
            .challenge(Seed(1))
            .unwrap();
        assert_eq!(one.reference.labels.len(), 1);
    }

    #[test]
    fn denoising_challenges_are_reproducible_and_noisy() {
        let g = DenoisingGenerator::new();
        let a = g.challenge(Seed(3));
        let b = g.challenge(Seed(3));
        assert_eq!(a.task, b.task);
        assert_eq!(a.reference, b.reference);
        assert_ne!(a.task, g.challenge(Seed(4)).task);
        assert_eq!((a.task.width, a.task.height), (8, 8));
        assert_eq!(a.task.image.len(), PIXELS);
        assert!(
            Digits::get()
                .test()
                .iter()
                .any(|d| d.image[..] == a.reference.image[..])
        );
        // The noise changes most pixels, each by at most the amplitude unless it is an impulse.
        let mut changed = 0;
        for (&n, &c) in a.task.image.iter().zip(a.reference.image.iter()) {
            if n != c {
                changed += 1;
            }
            assert!(
                n == 0 || n == 255 || n.abs_diff(c) <= NOISE_AMPLITUDE,
                "{n} {c}"
            );
        }
        assert!(changed > PIXELS / 2, "{changed}");
    }

    #[test]
    fn noise_follows_its_definition() {
        // A mid-gray image: impulses are exactly the 0 and 255 pixels, and they come at about
        // the stated rate over many pixels.
        let gray = [128u8; PIXELS];
        let mut rng = Seed(11).rng();
        let (mut impulses, mut total) = (0usize, 0usize);
        for _ in 0..200 {
            for p in add_noise(&gray, &mut rng) {
                total += 1;
                if p == 0 || p == 255 {
                    impulses += 1;
                } else {
                    assert!(p.abs_diff(128) <= NOISE_AMPLITUDE);
                }
            }
        }
        let percent = impulses * 100 / total;
        assert!(
            percent.abs_diff(usize::from(IMPULSE_PERCENT)) <= 1,
            "{percent}"
        );
    }
}
