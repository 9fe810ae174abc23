//! Integration tests of subforge-core, one module per topic, in one binary to keep links few.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod consensus_properties;
mod consensus_reference;
mod consensus_vectors;
mod identity_oracle;
mod weights_oracle;
