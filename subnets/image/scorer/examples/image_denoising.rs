//! Digit restoration scored by PSNR, as a WASM scoring module.

subforge_guest::export_scorer!(
    subforge_subnet_image::DigitDenoising,
    subforge_subnet_image::Psnr
);
