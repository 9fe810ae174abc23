//! With the `runtime` feature, builds the data scorer crate (`scorer/`) for
//! `wasm32-unknown-unknown` so the runtime ships the exact modules validators run in the sandbox.

fn main() {
    subforge_build::ScorerBuild::new("scorer")
        .only_with_feature("runtime")
        .watch_subforge("../..")
        .run_or_fail();
}
