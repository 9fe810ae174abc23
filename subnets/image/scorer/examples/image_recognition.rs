//! Digit recognition scored by accuracy, as a WASM scoring module.

subforge_guest::export_scorer!(
    subforge_subnet_image::DigitRecognition,
    subforge_subnet_image::Accuracy
);
