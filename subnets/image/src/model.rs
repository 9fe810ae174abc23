//! The built-in miners' models, trained at start-up on the training images only.
//!
//! Recognisers, best to worst: [`Softmax`] (multinomial logistic regression), [`NearestCentroid`]
//! (the class whose mean image is closest) and [`RandomGuess`]. Denoisers, best to worst:
//! [`NeighbourDenoiser`] (the mean of the most similar training digits), [`CentroidDenoiser`]
//! (shrinks towards the mean image of the digit it reads), [`MeanBlur`] (a 3 × 3 box blur, about
//! as bad as no restoration on 8 × 8 digits) and [`Scribble`] (random bytes). Training is
//! deterministic: the same binary trains the same weights every time.

use std::fmt;
use std::sync::OnceLock;

use rand_core::RngCore;
use subforge_core::Seed;

use crate::data::{CLASSES, Digit, Digits, Image, PIXELS, SIDE};
use crate::generate::{DenoisingGenerator, below};
use crate::scoring::{psnr, psnr_score};

/// Names the digit in an 8 × 8 image.
pub trait Recogniser: fmt::Debug + Send + Sync {
    /// The digit, 0 to 9, that `image` most likely shows.
    fn recognise(&self, image: &Image) -> u8;
}

/// Restores a noisy 8 × 8 image.
pub trait Denoiser: fmt::Debug + Send + Sync {
    /// The clean image `image` most likely was.
    fn denoise(&self, image: &Image) -> Image;
}

impl<R: Recogniser + ?Sized> Recogniser for &R {
    fn recognise(&self, image: &Image) -> u8 {
        (**self).recognise(image)
    }
}

impl<D: Denoiser + ?Sized> Denoiser for &D {
    fn denoise(&self, image: &Image) -> Image {
        (**self).denoise(image)
    }
}

/// The fraction of `digits` that `model` names correctly (0 for no digits).
pub fn test_accuracy(model: &dyn Recogniser, digits: &[Digit]) -> f64 {
    if digits.is_empty() {
        return 0.0;
    }
    let right = digits
        .iter()
        .filter(|d| model.recognise(&d.image) == d.label)
        .count();
    right as f64 / digits.len() as f64
}

/// The model's inputs: each byte scaled to 0..=1, then a constant 1 for the bias.
fn features(image: &Image) -> [f64; PIXELS + 1] {
    let mut x = [1.0; PIXELS + 1];
    for (x, &p) in x.iter_mut().zip(image) {
        *x = f64::from(p) / 255.0;
    }
    x
}

/// Index of the largest value; the first of equals.
fn argmax(values: &[f64; CLASSES]) -> u8 {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best as u8
}

/// Multinomial logistic regression on the 64 scaled pixels, trained by stochastic gradient
/// descent: [`Softmax::EPOCHS`] passes over the training images in an order shuffled by a
/// fixed seed, with a learning rate that decays each pass. About 96 % right on the test images.
#[derive(Clone)]
pub struct Softmax {
    /// One row per class: 64 pixel weights, then the bias.
    weights: [[f64; PIXELS + 1]; CLASSES],
}

impl fmt::Debug for Softmax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Softmax").finish_non_exhaustive()
    }
}

impl Softmax {
    /// Passes over the training set.
    pub const EPOCHS: u32 = 6;
    /// The learning rate of the first pass; pass `e` uses `LEARNING_RATE / (1 + e)`.
    pub const LEARNING_RATE: f64 = 0.5;
    /// Seeds the order the training images are visited in.
    pub const SHUFFLE_SEED: Seed = Seed(0x5eed_d161);

    /// Trains on `digits`.
    pub fn train(digits: &[Digit]) -> Self {
        let mut weights = [[0.0; PIXELS + 1]; CLASSES];
        let inputs: Vec<([f64; PIXELS + 1], usize)> = digits
            .iter()
            .map(|d| (features(&d.image), usize::from(d.label)))
            .collect();
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        let mut rng = Self::SHUFFLE_SEED.rng();
        for epoch in 0..Self::EPOCHS {
            shuffle(&mut order, &mut rng);
            let rate = Self::LEARNING_RATE / f64::from(1 + epoch);
            for &i in &order {
                let (x, label) = &inputs[i];
                let p = probabilities(&weights, x);
                for (class, (row, p)) in weights.iter_mut().zip(p).enumerate() {
                    // The gradient of the cross-entropy in the logit is p - [class is label].
                    let step = rate * (p - if class == *label { 1.0 } else { 0.0 });
                    for (w, x) in row.iter_mut().zip(x) {
                        *w -= step * x;
                    }
                }
            }
        }
        Self { weights }
    }

    /// The model trained on the training split, trained once per process.
    pub fn shared() -> &'static Self {
        static MODEL: OnceLock<Softmax> = OnceLock::new();
        MODEL.get_or_init(|| Self::train(Digits::get().train()))
    }

    /// The probability of each digit for `image`.
    pub fn probabilities(&self, image: &Image) -> [f64; CLASSES] {
        probabilities(&self.weights, &features(image))
    }
}

/// Softmax of the logits `weights · x`.
fn probabilities(weights: &[[f64; PIXELS + 1]; CLASSES], x: &[f64; PIXELS + 1]) -> [f64; CLASSES] {
    let mut logits = [0.0; CLASSES];
    for (logit, row) in logits.iter_mut().zip(weights) {
        *logit = row.iter().zip(x).map(|(w, x)| w * x).sum();
    }
    // Subtracting the largest logit keeps exp from overflowing; the ratios are unchanged.
    let top = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for logit in &mut logits {
        *logit = (*logit - top).exp();
        total += *logit;
    }
    for logit in &mut logits {
        *logit /= total;
    }
    logits
}

/// Fisher–Yates.
fn shuffle(items: &mut [usize], rng: &mut impl RngCore) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

impl Recogniser for Softmax {
    fn recognise(&self, image: &Image) -> u8 {
        argmax(&self.probabilities(image))
    }
}

/// The digit whose mean training image is nearest in Euclidean distance. About 88 % right on
/// the test images.
#[derive(Clone)]
pub struct NearestCentroid {
    /// Each class's mean image.
    centroids: [[f64; PIXELS]; CLASSES],
}

impl fmt::Debug for NearestCentroid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NearestCentroid").finish_non_exhaustive()
    }
}

impl NearestCentroid {
    /// Averages `digits` per class. A class with no image gets a blank centroid.
    pub fn train(digits: &[Digit]) -> Self {
        let mut sums = [[0u64; PIXELS]; CLASSES];
        let mut counts = [0u64; CLASSES];
        for d in digits {
            let class = usize::from(d.label);
            counts[class] += 1;
            for (s, &p) in sums[class].iter_mut().zip(&d.image) {
                *s += u64::from(p);
            }
        }
        let mut centroids = [[0.0; PIXELS]; CLASSES];
        for ((centroid, sum), &count) in centroids.iter_mut().zip(&sums).zip(&counts) {
            if count > 0 {
                for (c, &s) in centroid.iter_mut().zip(sum) {
                    *c = s as f64 / count as f64;
                }
            }
        }
        Self { centroids }
    }

    /// The model trained on the training split, trained once per process.
    pub fn shared() -> &'static Self {
        static MODEL: OnceLock<NearestCentroid> = OnceLock::new();
        MODEL.get_or_init(|| Self::train(Digits::get().train()))
    }
}

impl Recogniser for NearestCentroid {
    fn recognise(&self, image: &Image) -> u8 {
        let mut closeness = [0.0; CLASSES];
        for (c, centroid) in closeness.iter_mut().zip(&self.centroids) {
            let distance: f64 = centroid
                .iter()
                .zip(image)
                .map(|(m, &p)| (m - f64::from(p)) * (m - f64::from(p)))
                .sum();
            *c = -distance;
        }
        argmax(&closeness)
    }
}

/// FNV-1a of `bytes` mixed with `seed`: a fixed, well-spread number per image.
fn fingerprint(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325 ^ seed;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A digit drawn at random: right one time in ten. The draw depends only on the seed and the
/// image, so the same image always gets the same guess.
#[derive(Debug, Clone, Copy)]
pub struct RandomGuess {
    seed: u64,
}

impl RandomGuess {
    /// Guesses from `seed`.
    pub const fn new(seed: u64) -> Self {
        Self { seed }
    }
}

impl Recogniser for RandomGuess {
    fn recognise(&self, image: &Image) -> u8 {
        let mut rng = Seed(fingerprint(self.seed, image)).rng();
        below(&mut rng, CLASSES as u64) as u8
    }
}

/// Each pixel the rounded mean of its 3 × 3 neighbourhood (fewer pixels at the border).
///
/// The textbook weak denoiser, and too blunt for 8 × 8 digits: strokes are one or two pixels
/// wide, so the blur costs about as much as the noise it removes (see the crate documentation
/// for its score). No built-in miner uses it; it is here for comparison.
#[derive(Debug, Clone, Copy, Default)]
pub struct MeanBlur;

impl Denoiser for MeanBlur {
    fn denoise(&self, image: &Image) -> Image {
        let side = usize::from(SIDE);
        let mut out = [0; PIXELS];
        for row in 0..side {
            for col in 0..side {
                let (mut sum, mut n) = (0u32, 0u32);
                for r in row.saturating_sub(1)..(row + 2).min(side) {
                    for c in col.saturating_sub(1)..(col + 2).min(side) {
                        sum += u32::from(image[r * side + c]);
                        n += 1;
                    }
                }
                out[row * side + col] = rounded_ratio(sum, n);
            }
        }
        out
    }
}

/// `sum / n` rounded half up, as a byte (0 for `n == 0`; callers keep it within 0..=255).
fn rounded_ratio(sum: u32, n: u32) -> u8 {
    if n == 0 {
        return 0;
    }
    u8::try_from((sum + n / 2) / n).unwrap_or(u8::MAX)
}

/// Shrinks the image towards the mean image of the digit [`NearestCentroid`] reads in it:
/// each pixel is `(100 - INPUT_PERCENT)` % the class mean and [`CentroidDenoiser::INPUT_PERCENT`]
/// % the noisy pixel. Removes most of the noise and most of the writer's style with it.
#[derive(Debug, Clone, Copy)]
pub struct CentroidDenoiser {
    model: &'static NearestCentroid,
}

impl CentroidDenoiser {
    /// How much of the noisy pixel is kept, in percent.
    pub const INPUT_PERCENT: u8 = 20;

    /// Uses the shared [`NearestCentroid`] model.
    pub fn new() -> Self {
        Self {
            model: NearestCentroid::shared(),
        }
    }
}

impl Default for CentroidDenoiser {
    fn default() -> Self {
        Self::new()
    }
}

impl Denoiser for CentroidDenoiser {
    fn denoise(&self, image: &Image) -> Image {
        let class = usize::from(self.model.recognise(image));
        let Some(centroid) = self.model.centroids.get(class) else {
            return *image;
        };
        let keep = f64::from(Self::INPUT_PERCENT) / 100.0;
        let mut out = [0; PIXELS];
        for ((o, &m), &p) in out.iter_mut().zip(centroid).zip(image) {
            // Both terms lie in 0..=255, so the rounded blend does too; `as` saturates anyway.
            *o = (m * (1.0 - keep) + f64::from(p) * keep).round() as u8;
        }
        out
    }
}

/// The pixel-wise mean of the [`NeighbourDenoiser::NEIGHBOURS`] training images nearest to the
/// noisy one: the answer is made of real strokes of digits that look alike.
///
/// Nearness is a sum of squared pixel differences, each difference capped at
/// [`NeighbourDenoiser::CAP`] so that a few wild pixels (salt and pepper) cannot dominate it;
/// ties go to the earlier training image.
#[derive(Debug, Clone, Copy)]
pub struct NeighbourDenoiser {
    train: &'static [Digit],
}

impl NeighbourDenoiser {
    /// Training images averaged into the answer.
    pub const NEIGHBOURS: usize = 9;
    /// The largest difference one pixel adds to the distance (squared).
    pub const CAP: u8 = 96;

    /// Looks up neighbours in the training split.
    pub fn new() -> Self {
        Self::over(Digits::get().train())
    }

    /// Looks up neighbours in `train`.
    pub const fn over(train: &'static [Digit]) -> Self {
        Self { train }
    }

    /// The training images nearest to `image`, nearest first.
    pub fn neighbours(&self, image: &Image) -> Vec<&'static Digit> {
        let cap = u32::from(Self::CAP);
        let mut scored: Vec<(u32, usize)> = self
            .train
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let distance = d
                    .image
                    .iter()
                    .zip(image)
                    .map(|(&a, &b)| {
                        let diff = u32::from(a.abs_diff(b)).min(cap);
                        diff * diff
                    })
                    .sum();
                (distance, i)
            })
            .collect();
        let k = Self::NEIGHBOURS.min(scored.len());
        if k == 0 {
            return Vec::new();
        }
        scored.select_nth_unstable(k - 1);
        scored.truncate(k);
        scored.sort_unstable();
        let train = self.train;
        scored.iter().map(|&(_, i)| &train[i]).collect()
    }
}

impl Default for NeighbourDenoiser {
    fn default() -> Self {
        Self::new()
    }
}

impl Denoiser for NeighbourDenoiser {
    /// With no training images at all, the image unchanged.
    fn denoise(&self, image: &Image) -> Image {
        let neighbours = self.neighbours(image);
        if neighbours.is_empty() {
            return *image;
        }
        let n = neighbours.len() as u32;
        let mut out = [0; PIXELS];
        for (i, pixel) in out.iter_mut().enumerate() {
            let sum = neighbours.iter().map(|d| u32::from(d.image[i])).sum();
            *pixel = rounded_ratio(sum, n);
        }
        out
    }
}

/// Random bytes, drawn from the seed and the image: no restoration at all.
#[derive(Debug, Clone, Copy)]
pub struct Scribble {
    seed: u64,
}

impl Scribble {
    /// Scribbles from `seed`.
    pub const fn new(seed: u64) -> Self {
        Self { seed }
    }
}

impl Denoiser for Scribble {
    fn denoise(&self, image: &Image) -> Image {
        let mut rng = Seed(fingerprint(self.seed, image)).rng();
        let mut out = [0; PIXELS];
        rng.fill_bytes(&mut out);
        out
    }
}

/// The mean [`psnr_score`] of `denoiser` over the denoising
/// challenges of seeds `0..count` (0 for no challenges).
pub fn mean_denoising_score(denoiser: &dyn Denoiser, count: u64) -> f64 {
    let generator = DenoisingGenerator::new();
    let mut total = 0.0;
    for seed in 0..count {
        let challenge = generator.challenge(Seed(seed));
        let Ok(noisy) = Image::try_from(challenge.task.image.as_bytes()) else {
            continue;
        };
        let restored = denoiser.denoise(&noisy);
        total += psnr(&restored, &challenge.reference.image).map_or(0.0, psnr_score);
    }
    if count == 0 {
        0.0
    } else {
        total / count as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands the noisy image back: the baseline every denoiser must beat.
    #[derive(Debug)]
    struct Unchanged;

    impl Denoiser for Unchanged {
        fn denoise(&self, image: &Image) -> Image {
            *image
        }
    }

    #[test]
    fn recognisers_rank_on_the_test_split() {
        let test = Digits::get().test();
        let softmax = test_accuracy(Softmax::shared(), test);
        let centroid = test_accuracy(NearestCentroid::shared(), test);
        let junk = test_accuracy(&RandomGuess::new(1), test);
        assert!(softmax >= 0.93, "softmax {softmax}");
        assert!((0.75..=0.95).contains(&centroid), "centroid {centroid}");
        assert!(
            centroid + 0.03 < softmax,
            "centroid {centroid} softmax {softmax}"
        );
        assert!(junk <= 0.25, "junk {junk}");
        // And they learnt from the training split, which they fit at least as well.
        assert!(test_accuracy(Softmax::shared(), Digits::get().train()) >= softmax - 0.02);
    }

    #[test]
    fn training_is_deterministic() {
        let few = &Digits::get().train()[..200];
        let a = Softmax::train(few);
        let b = Softmax::train(few);
        assert_eq!(a.weights, b.weights);
        let image = Digits::get().test()[0].image;
        assert_eq!(a.probabilities(&image), b.probabilities(&image));
        let total: f64 = a.probabilities(&image).iter().sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
    }

    #[test]
    fn denoisers_rank_on_the_generated_challenges() {
        const CHALLENGES: u64 = 60;
        let neighbour = mean_denoising_score(&NeighbourDenoiser::new(), CHALLENGES);
        let centroid = mean_denoising_score(&CentroidDenoiser::new(), CHALLENGES);
        let blur = mean_denoising_score(&MeanBlur, CHALLENGES);
        let junk = mean_denoising_score(&Scribble::new(1), CHALLENGES);
        let unchanged = mean_denoising_score(&Unchanged, CHALLENGES);
        assert!(neighbour >= 0.35, "neighbour {neighbour}");
        assert!(
            centroid + 0.1 < neighbour,
            "centroid {centroid} neighbour {neighbour}"
        );
        assert!(centroid >= 0.15, "centroid {centroid}");
        for low in [blur, junk, unchanged] {
            assert!(
                low < 0.1,
                "{low} (blur {blur}, junk {junk}, unchanged {unchanged})"
            );
        }
        assert_eq!(junk, 0.0);
    }

    #[test]
    fn filters_on_known_images() {
        let mut image = [0u8; PIXELS];
        image[9] = 90; // row 1, column 1
        let blurred = MeanBlur.denoise(&image);
        // Every 3 × 3 window around it holds it once: 90 / 9 = 10 inside, 90 / 4 at the corner.
        assert_eq!(blurred[0], 23);
        assert_eq!(blurred[9], 10);
        assert_eq!(blurred[18], 10);
        assert_eq!(blurred[27], 0);
        assert_eq!(MeanBlur.denoise(&[200; PIXELS]), [200; PIXELS]);

        // A training image is its own nearest neighbour.
        let train = Digits::get().train();
        let d = NeighbourDenoiser::new();
        assert!(std::ptr::eq(d.neighbours(&train[5].image)[0], &train[5]));
        assert_eq!(
            d.neighbours(&train[5].image).len(),
            NeighbourDenoiser::NEIGHBOURS
        );
        assert_eq!(NeighbourDenoiser::over(&[]).denoise(&image), image);

        let s = Scribble::new(4);
        assert_eq!(s.denoise(&image), s.denoise(&image));
        assert_ne!(s.denoise(&image), Scribble::new(5).denoise(&image));
    }

    #[test]
    fn random_guesses_depend_on_seed_and_image_only() {
        let test = Digits::get().test();
        let g = RandomGuess::new(3);
        let first: Vec<u8> = test.iter().map(|d| g.recognise(&d.image)).collect();
        let again: Vec<u8> = test.iter().map(|d| g.recognise(&d.image)).collect();
        assert_eq!(first, again);
        let other: Vec<u8> = test
            .iter()
            .map(|d| RandomGuess::new(4).recognise(&d.image))
            .collect();
        assert_ne!(first, other);
        assert!(first.iter().all(|&l| l <= 9));
    }
}
