//! With the `runtime` feature, builds the scorer crate (`scorer/`) for `wasm32-unknown-unknown`
//! and hands the module to the compiler, so the binary ships the exact module its validators
//! run in the sandbox (`subforge_sdk::embedded_scorer!` in `src/subnet.rs` reads it).

fn main() {
    subforge_build::ScorerBuild::new("scorer")
        .only_with_feature("runtime")
        .watch_subforge("{{subforge_path}}")
        .run_or_fail();
}
