//! The data subnet's scorer (`RSquared`) as a WASM scoring module: the same code validators run
//! natively, compiled for `wasm32-unknown-unknown`, so anyone can re-run a validator's scoring
//! in the sandbox and get the same bits. Built natively, the crate is empty.

subforge_guest::export_scorer!(
    subforge_subnet_data::Regression,
    subforge_subnet_data::RSquared
);
