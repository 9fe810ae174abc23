//! The UCI handwritten digits as 8 × 8 byte images, split once into a train and a test part.
//!
//! The 1797 images come from smartcore's copy of the data set, compiled into the binary, so no
//! node downloads anything. Each pixel of the original is an ink level from 0 to 16; it becomes
//! the byte [`level_to_byte`]`(level) = min(16 · level, 255)`, so 0 → 0, 1 → 16, …, 15 → 240
//! and 16 → 255. Image number `i` (in the data set's order) is a test image when
//! `i % TEST_EVERY == 0` and a training image otherwise: 360 test and 1437 training images.

use std::sync::OnceLock;

/// Pixels per row and rows per image.
pub const SIDE: u8 = 8;

/// Pixels per image.
pub const PIXELS: usize = 64;

/// The digits 0 to 9.
pub const CLASSES: usize = 10;

/// Every image whose index is a multiple of this is held out for testing.
pub const TEST_EVERY: usize = 5;

/// One 8 × 8 image, row-major from the top left, 0 blank to 255 full ink.
pub type Image = [u8; PIXELS];

/// The byte for one of the data set's ink levels (0 to 16): `min(16 · level, 255)`. Levels are
/// rounded to the nearest integer and clamped to 0..=16 first.
pub fn level_to_byte(level: f32) -> u8 {
    // A float-to-integer `as` saturates (NaN becomes 0), so no level can overflow.
    let level = level.round().clamp(0.0, 16.0) as u16;
    u8::try_from(16 * level).unwrap_or(u8::MAX)
}

/// One labelled image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digit {
    /// The image.
    pub image: Image,
    /// The digit it shows, 0 to 9.
    pub label: u8,
}

/// The whole data set, split. Loaded once per process by [`Digits::get`].
#[derive(Debug)]
pub struct Digits {
    train: Vec<Digit>,
    test: Vec<Digit>,
}

/// Whether image `index` of the data set belongs to the test part.
pub const fn is_test_index(index: usize) -> bool {
    index.is_multiple_of(TEST_EVERY)
}

impl Digits {
    /// The data set, loaded and split on first use (a few milliseconds).
    pub fn get() -> &'static Self {
        static DIGITS: OnceLock<Digits> = OnceLock::new();
        DIGITS.get_or_init(Self::load)
    }

    fn load() -> Self {
        let set = smartcore::dataset::digits::load_dataset();
        let mut digits = Self {
            train: Vec::new(),
            test: Vec::new(),
        };
        let rows = set.data.chunks_exact(PIXELS).zip(&set.target);
        for (index, (row, &target)) in rows.enumerate() {
            // The embedded file holds whole numbers 0 to 9; a test checks all 1797 arrive.
            if target.fract() != 0.0 || !(0.0..CLASSES as f32).contains(&target) {
                continue;
            }
            let mut image = [0; PIXELS];
            for (pixel, &level) in image.iter_mut().zip(row) {
                *pixel = level_to_byte(level);
            }
            let digit = Digit {
                image,
                label: target as u8,
            };
            if is_test_index(index) {
                digits.test.push(digit);
            } else {
                digits.train.push(digit);
            }
        }
        digits
    }

    /// The training images: every one whose index is not a multiple of [`TEST_EVERY`].
    pub fn train(&self) -> &[Digit] {
        &self.train
    }

    /// The held-out images: every one whose index is a multiple of [`TEST_EVERY`].
    pub fn test(&self) -> &[Digit] {
        &self.test
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_bytes() {
        assert_eq!(level_to_byte(0.0), 0);
        assert_eq!(level_to_byte(1.0), 16);
        assert_eq!(level_to_byte(15.0), 240);
        assert_eq!(level_to_byte(16.0), 255);
        assert_eq!(level_to_byte(99.0), 255);
        assert_eq!(level_to_byte(-3.0), 0);
        assert_eq!(level_to_byte(f32::NAN), 0);
    }

    #[test]
    fn the_whole_set_arrives_and_splits_one_in_five() {
        let d = Digits::get();
        assert_eq!(d.train().len() + d.test().len(), 1797);
        assert_eq!(d.test().len(), 360);
        assert_eq!(d.train().len(), 1437);
        for part in [d.train(), d.test()] {
            let mut per_class = [0usize; CLASSES];
            for digit in part {
                per_class[usize::from(digit.label)] += 1;
            }
            // Every digit is there in both parts, roughly a tenth each.
            for count in per_class {
                assert!(
                    count * 20 > part.len() && count * 7 < part.len(),
                    "{per_class:?}"
                );
            }
        }
        // The bytes are the mapped levels and nothing else.
        for digit in d.train().iter().chain(d.test()) {
            for &p in &digit.image {
                assert!(p == 255 || (p % 16 == 0 && p <= 240), "{p}");
            }
        }
        // The data set's first image is a 0, with blank corners.
        let first = d.test()[0];
        assert_eq!(first.label, 0);
        assert_eq!(first.image[0], 0);
        assert!(first.image.iter().any(|&p| p > 0));
    }
}
