//! One epoch at a time, for counting its instructions with callgrind, which a shared machine's
//! load does not disturb as it does timings:
//!
//! ```sh
//! cargo bench -p subforge-core --bench epoch_instructions --no-run
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
//!     target/release/deps/epoch_instructions-* yuma3-256
//! ```
//!
//! Each configuration named on the command line (all without one) runs one epoch to warm up
//! (the epoch keeps its working memory between runs) and then one inside `measured`.

#![allow(clippy::expect_used)]

use std::hint::black_box;

use subforge_core::consensus::{EpochInput, EpochOutput, epoch};

mod subnet;
use subnet::subnet;

/// Name, uids, validators, miners each validator weights, Yuma3 with liquid alpha.
const CONFIGURATIONS: [(&str, usize, usize, usize, bool); 6] = [
    ("classic-256", 256, 64, 256, false),
    ("yuma3-256", 256, 64, 256, true),
    ("classic-4096", 4096, 256, 4096, false),
    ("yuma3-4096", 4096, 256, 4096, true),
    ("classic-4096-256each", 4096, 256, 256, false),
    ("yuma3-4096-256each", 4096, 256, 256, true),
];

/// The epoch whose instructions are counted.
#[inline(never)]
fn measured(input: &EpochInput) -> EpochOutput {
    black_box(epoch(black_box(input))).expect("valid input")
}

fn main() {
    let names: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    for (name, n, validators, per_validator, yuma3) in CONFIGURATIONS {
        if !names.is_empty() && !names.iter().any(|m| m == name) {
            continue;
        }
        let input = subnet(n, validators, per_validator, yuma3);
        epoch(&input).expect("valid input");
        let out = measured(&input);
        println!(
            "{name}: {} uids, incentive sum {}",
            out.incentive.len(),
            out.incentive.iter().map(|&x| u64::from(x)).sum::<u64>()
        );
    }
}
