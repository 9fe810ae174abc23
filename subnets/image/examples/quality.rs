//! How well each built-in model does, measured the way validators measure it: accuracy on the
//! test split and on generated recognition challenges, and the PSNR score on generated
//! denoising challenges.
//!
//! ```text
//! cargo run --release -p subforge-subnet-image --example quality
//! ```

use subforge_core::Seed;
use subforge_subnet_image::data::{Digits, Image};
use subforge_subnet_image::model::{self, MeanBlur};
use subforge_subnet_image::scoring::{psnr, psnr_score, skill};
use subforge_subnet_image::{DenoisingGenerator, DigitMiner, Model, RecognitionGenerator};

/// Challenges of each kind.
const CHALLENGES: u64 = 300;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let recognition = RecognitionGenerator::new();
    let denoising = DenoisingGenerator::new();
    let test = Digits::get().test();

    println!(
        "{:<10} {:>12} {:>18} {:>16} {:>10}",
        "model", "test split", "recognition score", "denoising score", "mean PSNR"
    );
    for model in Model::ALL {
        let miner = DigitMiner::new(model, 1);
        let (mut right, mut recognition_score) = (0usize, 0.0);
        for chunk in test.chunks(256) {
            let task = subforge_subnet_image::DigitRecognition {
                width: 8,
                height: 8,
                images: chunk.iter().map(|d| d.image[..].into()).collect(),
            };
            let labels = miner.recognise(&task)?.labels;
            right += labels
                .iter()
                .zip(chunk)
                .filter(|(l, d)| **l == d.label)
                .count();
        }
        let (mut denoising_score, mut decibels) = (0.0, 0.0);
        for seed in 0..CHALLENGES {
            let c = recognition.challenge(Seed(seed))?;
            let labels = miner.recognise(&c.task)?.labels;
            recognition_score += skill(&labels, &c.reference.labels);
            let c = denoising.challenge(Seed(seed));
            let restored = miner.denoise(&c.task)?.image;
            let db = psnr(&restored, &c.reference.image).unwrap_or(0.0);
            denoising_score += psnr_score(db);
            decibels += db;
        }
        let n = CHALLENGES as f64;
        println!(
            "{:<10} {:>11.1}% {:>18.3} {:>16.3} {:>7.2} dB",
            model.name(),
            100.0 * right as f64 / test.len() as f64,
            recognition_score / n,
            denoising_score / n,
            decibels / n
        );
    }

    // Baselines for the denoising score: the noisy image handed back, and a 3 × 3 box blur.
    let (mut unchanged, mut unchanged_db) = (0.0, 0.0);
    for seed in 0..CHALLENGES {
        let c = denoising.challenge(Seed(seed));
        let db = psnr(&c.task.image, &c.reference.image).unwrap_or(0.0);
        unchanged += psnr_score(db);
        unchanged_db += db;
    }
    let n = CHALLENGES as f64;
    println!(
        "{:<10} {:>12} {:>18} {:>16.3} {:>7.2} dB",
        "unchanged",
        "-",
        "-",
        unchanged / n,
        unchanged_db / n
    );
    let (mut blur, mut blur_db) = (0.0, 0.0);
    for seed in 0..CHALLENGES {
        let c = denoising.challenge(Seed(seed));
        let noisy = Image::try_from(c.task.image.as_bytes())?;
        let restored = model::Denoiser::denoise(&MeanBlur, &noisy);
        let db = psnr(&restored, &c.reference.image).unwrap_or(0.0);
        blur += psnr_score(db);
        blur_db += db;
    }
    println!(
        "{:<10} {:>12} {:>18} {:>16.3} {:>7.2} dB",
        "mean blur",
        "-",
        "-",
        blur / n,
        blur_db / n
    );
    Ok(())
}
