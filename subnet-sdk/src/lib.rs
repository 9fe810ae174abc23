//! placeholder

#[cfg(feature = "wasm")]
pub mod wasm;
