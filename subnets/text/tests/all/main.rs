//! Integration tests of the text subnet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod llm;
mod quality;
mod wasm_parity;
