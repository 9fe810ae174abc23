//! # The image subnet
//!
//! Miners read and restore handwritten digits; validators score the answers against the truth.
//! Two tasks:
//!
//! - **Recognition** ([`DigitRecognition`] → [`DigitLabels`]): name the digit, 0 to 9, in each
//!   of 16 images. Scored by [`Accuracy`]: the fraction named right, position by position (a
//!   missing or out-of-range label is wrong, and an answer with more labels than images
//!   scores 0), corrected for chance as Cohen's kappa against a uniform guess, and 0 below a
//!   quarter of the way from guessing to perfect ([`skill`]), so guessing earns nothing.
//! - **Denoising** ([`DigitDenoising`] → [`DenoisedImage`]): restore one image that had random
//!   ink added and taken away. Scored by [`Psnr`]: the peak signal-to-noise ratio against the
//!   clean image, mapped linearly from 12 dB (score 0, about what handing the noisy image
//!   back gets) to 24 dB (score 1); an identical image scores 1, one of the wrong size 0.
//!
//! A failed query scores 0 in both. Scoring uses integers, IEEE arithmetic and `libm` only, so
//! it gives the same bits natively and as a WASM module.
//!
//! ## The data
//!
//! The images are the UCI "Optical Recognition of Handwritten Digits" data (1797 digits written
//! by 43 people, scanned and reduced to 8 × 8 ink levels from 0 to 16), as shipped inside the
//! `smartcore` crate, so every node has them without a download. A level becomes the byte
//! `min(16 · level, 255)`; images travel row-major, 0 blank to 255 full ink.
//!
//! Image `i` of the data set is a **test** image when `i % 5 == 0` (360 images) and a
//! **training** image otherwise (1437). The built-in miners learn from the training images
//! only; validators draw challenges from the test images only. The limit is plain: the data
//! are public, so a miner can memorise the test images and answer every challenge perfectly.
//! The subnet shows the machinery (binary payloads, two tasks, deterministic scoring), not a
//! contest worth winning.
//!
//! ## The built-in miners
//!
//! [`DigitMiner::new`]`(model, seed)` answers both tasks with one [`Model`]. Measured by the
//! `quality` example (`cargo run -p subforge-subnet-image --example quality`; 300 challenges
//! of each kind):
//!
//! | model      | recognises with   | test split | recognition | restores with      | denoising |
//! |------------|-------------------|-----------:|------------:|--------------------|----------:|
//! | `softmax`  | logistic regression | 96.4 %   | 0.965       | mean of 9 nearest training digits | 0.444 (17.3 dB) |
//! | `centroid` | nearest class mean  | 88.1 %   | 0.888       | shrink to the class mean         | 0.262 (15.1 dB) |
//! | `junk`     | random digit        |  8.6 %   | 0.088       | random bytes                     | 0.000 (5.8 dB)  |
//!
//! For comparison, handing the noisy image back scores 0.043 (11.8 dB) and a 3 × 3 box blur
//! 0.009 (11.3 dB): on 8 × 8 digits, whose strokes are a pixel or two wide, a blur costs as
//! much as the noise it removes.
//!
//! ## Modules
//!
//! - [`task`]: the task, answer and reference types.
//! - [`scoring`]: [`Accuracy`] and [`Psnr`], and the pure functions under them.
//! - `data` (feature `runtime`, on by default): the data set, loaded once and split.
//! - `model` (feature `runtime`): the recognisers and denoisers, trained at start-up.
//! - `miner` (feature `runtime`): [`DigitMiner`] and [`Model`].
//! - `generate` (feature `runtime`): [`RecognitionGenerator`] and [`DenoisingGenerator`],
//!   making challenges from a seed.
//!
//! Without the `runtime` feature the crate holds only the tasks and the scorers, and builds for
//! `wasm32-unknown-unknown`.

// The guide above links to the runtime's types, which a build without it does not have.
#![cfg_attr(not(feature = "runtime"), allow(rustdoc::broken_intra_doc_links))]

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

#[cfg(feature = "runtime")]
pub use generate::{DenoisingGenerator, RecognitionGenerator};
#[cfg(feature = "runtime")]
pub use miner::{DigitMiner, MAX_IMAGES, Model, UnknownModel};
pub use scoring::{Accuracy, Psnr, accuracy, psnr, psnr_score, skill};
#[cfg(feature = "runtime")]
pub use subnet::ImageSubnet;
pub use task::{
    CleanImage, DenoisedImage, DigitDenoising, DigitLabels, DigitRecognition, TrueLabels,
};
