//! # subforge-guest
//!
//! The crate a WASM scoring module links. It re-exports [`subforge_core`] built without the
//! `signing` feature (no OS random source exists inside a module), so a scorer written
//! against `subforge_core::Scorer` compiles for `wasm32-unknown-unknown` unchanged.

pub use subforge_core as core;
