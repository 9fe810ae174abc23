//! Integration tests of the text subnet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod quality;
