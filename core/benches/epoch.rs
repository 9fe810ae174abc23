//! The full epoch at subnet sizes the chain runs: 256 uids with 64 validators weighting every
//! miner, 1024 uids, and 4096 uids with 256 validators; classic Yuma and Yuma3 with liquid
//! alpha. Run with `cargo bench -p subforge-core --bench epoch`.
//!
//! Time is the benchmark thread's CPU time (Linux `/proc/thread-self/schedstat`), so that
//! other work on a shared machine does not count; elsewhere it falls back to wall time.

#![allow(clippy::expect_used)]

use std::time::Instant;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use subforge_core::consensus::epoch;

mod subnet;
use subnet::subnet;

/// Nanoseconds of CPU time this thread has used, or wall time where that cannot be read.
fn thread_nanos(origin: &Instant) -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| origin.elapsed().as_nanos() as u64)
}

/// Criterion measurement: CPU time of the benchmark thread.
struct ThreadCpuTime(Instant);

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_nanos(&self.0)
    }
    fn end(&self, start: u64) -> u64 {
        thread_nanos(&self.0).saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &Nanos
    }
}

/// Formats nanoseconds as µs or ms.
struct Nanos;

impl ValueFormatter for Nanos {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (div, unit) = if typical < 1e6 {
            (1e3, "µs")
        } else {
            (1e6, "ms")
        };
        values.iter_mut().for_each(|v| *v /= div);
        unit
    }
    fn scale_throughputs(&self, _: f64, _: &Throughput, values: &mut [f64]) -> &'static str {
        values.iter_mut().for_each(|v| *v = 1e9 / *v);
        "epochs/s"
    }
    fn scale_for_machines(&self, _: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn bench(c: &mut Criterion<ThreadCpuTime>) {
    let mut group = c.benchmark_group("epoch");
    group.sample_size(20);
    let sizes = [
        (256, 64, 256, "all"),
        (1024, 64, 1024, "all"),
        (4096, 256, 4096, "all"),
        (4096, 256, 256, "256each"),
    ];
    for (n, validators, per_validator, label) in sizes {
        for (name, yuma3) in [("classic", false), ("yuma3-liquid", true)] {
            let input = subnet(n, validators, per_validator, yuma3);
            epoch(&input).expect("valid input");
            group.bench_with_input(
                BenchmarkId::new(name, format!("{n}uids-{validators}vals-weights-{label}")),
                &input,
                |b, input| b.iter(|| epoch(input)),
            );
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime(Instant::now()));
    targets = bench
}
criterion_main!(benches);
