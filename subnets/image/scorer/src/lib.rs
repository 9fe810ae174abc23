//! The image subnet's scorers as WASM scoring modules, one per task (the examples
//! `image_recognition` and `image_denoising`): the same code validators run natively, compiled
//! for `wasm32-unknown-unknown`, so anyone can re-run a validator's scoring in the sandbox and
//! get the same bits. The library itself is empty.
