//! The image subnet's tasks: name the digit in each of several images, and clean a noisy one.
//!
//! Images travel as [`Blob`]s of `width × height` bytes, one byte per pixel, row by row from
//! the top left. A byte is an ink level: 0 is blank paper, 255 is full ink. The built-in data
//! are 8 × 8 (see the crate documentation for how the data set's 0 to 16 levels become bytes).

use serde::{Deserialize, Serialize};
use subforge_core::{Blob, Task};

/// Name the digit, 0 to 9, written in each of `images`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DigitRecognition {
    /// Pixels per row of every image.
    pub width: u8,
    /// Rows of every image.
    pub height: u8,
    /// The images, each `width × height` bytes, row-major, 0 blank to 255 full ink.
    pub images: Vec<Blob>,
}

impl DigitRecognition {
    /// Bytes each image must have: `width × height`.
    pub fn pixels(&self) -> usize {
        usize::from(self.width) * usize::from(self.height)
    }
}

/// A miner's reading of a [`DigitRecognition`] task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DigitLabels {
    /// One digit, 0 to 9, per image, in the order of the task's images.
    pub labels: Vec<u8>,
}

/// The validator's reference for a [`DigitRecognition`] task: what each image really shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrueLabels {
    /// The true digit of each image, in the order of the task's images.
    pub labels: Vec<u8>,
}

impl Task for DigitRecognition {
    const NAME: &'static str = "DigitRecognition";
    const HASH_FIELDS: &'static [&'static str] = &["width", "height", "images"];
    type Response = DigitLabels;
    type Reference = TrueLabels;
}

/// Remove the noise from `image`, a handwritten digit with random ink added and taken away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DigitDenoising {
    /// Pixels per row.
    pub width: u8,
    /// Rows.
    pub height: u8,
    /// The noisy image, `width × height` bytes, row-major, 0 blank to 255 full ink.
    pub image: Blob,
}

impl DigitDenoising {
    /// Bytes the image (and the answer) must have: `width × height`.
    pub fn pixels(&self) -> usize {
        usize::from(self.width) * usize::from(self.height)
    }
}

/// A miner's restoration of a [`DigitDenoising`] task's image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DenoisedImage {
    /// The restored image, the same size and layout as the task's.
    pub image: Blob,
}

/// The validator's reference for a [`DigitDenoising`] task: the image before the noise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanImage {
    /// The clean image, the same size and layout as the task's.
    pub image: Blob,
}

impl Task for DigitDenoising {
    const NAME: &'static str = "DigitDenoising";
    const HASH_FIELDS: &'static [&'static str] = &["width", "height", "image"];
    type Response = DenoisedImage;
    type Reference = CleanImage;
}

#[cfg(test)]
mod tests {
    use super::*;
    use subforge_core::validate_task_name;

    #[test]
    fn recognition_travels_as_json_with_base64_images() {
        let task = DigitRecognition {
            width: 2,
            height: 2,
            images: vec![Blob(vec![0, 16, 240, 255]), Blob(vec![1, 2, 3, 4])],
        };
        let json = serde_json::to_value(&task).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"width": 2, "height": 2, "images": ["ABDw/w==", "AQIDBA=="]})
        );
        assert_eq!(
            serde_json::from_value::<DigitRecognition>(json).unwrap(),
            task
        );
        assert_eq!(task.pixels(), 4);

        let labels = DigitLabels {
            labels: vec![7, 0, 9],
        };
        let json = serde_json::to_string(&labels).unwrap();
        assert_eq!(json, r#"{"labels":[7,0,9]}"#);
        assert_eq!(serde_json::from_str::<DigitLabels>(&json).unwrap(), labels);
        let truth = TrueLabels { labels: vec![1, 2] };
        let json = serde_json::to_string(&truth).unwrap();
        assert_eq!(serde_json::from_str::<TrueLabels>(&json).unwrap(), truth);
    }

    #[test]
    fn denoising_travels_as_json_with_a_base64_image() {
        let task = DigitDenoising {
            width: 3,
            height: 1,
            image: Blob(vec![102, 111, 111]),
        };
        let json = serde_json::to_string(&task).unwrap();
        assert_eq!(json, r#"{"width":3,"height":1,"image":"Zm9v"}"#);
        assert_eq!(serde_json::from_str::<DigitDenoising>(&json).unwrap(), task);
        assert_eq!(task.pixels(), 3);

        let answer = DenoisedImage {
            image: Blob(vec![0; 3]),
        };
        let json = serde_json::to_string(&answer).unwrap();
        assert_eq!(json, r#"{"image":"AAAA"}"#);
        assert_eq!(
            serde_json::from_str::<DenoisedImage>(&json).unwrap(),
            answer
        );
        let clean = CleanImage {
            image: Blob(vec![9; 3]),
        };
        let json = serde_json::to_string(&clean).unwrap();
        assert_eq!(serde_json::from_str::<CleanImage>(&json).unwrap(), clean);
    }

    #[test]
    fn names_and_schemas() {
        validate_task_name(DigitRecognition::NAME).unwrap();
        validate_task_name(DigitDenoising::NAME).unwrap();
        assert_ne!(
            DigitRecognition::schema().hash(),
            DigitDenoising::schema().hash()
        );
        let schema = DigitRecognition::schema();
        assert_eq!(
            schema.task["properties"]["images"]["items"]["contentEncoding"],
            "base64"
        );
        // Every hashed field is a field of the task.
        let task = serde_json::to_value(DigitDenoising {
            width: 1,
            height: 1,
            image: Blob(vec![0]),
        })
        .unwrap();
        for field in DigitDenoising::HASH_FIELDS {
            assert!(task.get(field).is_some(), "{field}");
        }
        let task = serde_json::to_value(DigitRecognition {
            width: 1,
            height: 1,
            images: vec![],
        })
        .unwrap();
        for field in DigitRecognition::HASH_FIELDS {
            assert!(task.get(field).is_some(), "{field}");
        }
    }
}
