//! The limits every call runs under: their defaults, the ceilings a validator allows a manifest
//! to raise them to, and the resource limiter that makes memory growth past the limit trap.

use std::time::Duration;

use serde::Serialize;

use super::WasmError;

const MIB: u64 = 1 << 20;

/// The most table elements an instance may hold (Rust modules use a few hundred).
pub const TABLE_ELEMENTS_MAX: u64 = 100_000;

/// The limits of one module's calls. Fuel decides; the wall clock is only a backstop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Fuel per call (one unit per operator, one per byte of bulk memory operations).
    pub fuel: u64,
    /// Linear memory in bytes; growing past it traps.
    pub memory_bytes: u64,
    /// The largest encoded input a call accepts.
    pub max_input_bytes: u64,
    /// The largest reply a call accepts.
    pub max_output_bytes: u64,
    /// The wall-clock backstop per call.
    #[serde(serialize_with = "millis")]
    pub wall_clock: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Default for Limits {
    /// 10^9 fuel, 256 MiB memory, 16 MiB input, 1 MiB reply, 30 s wall clock.
    fn default() -> Self {
        Self {
            fuel: 1_000_000_000,
            memory_bytes: 256 * MIB,
            max_input_bytes: 16 * MIB,
            max_output_bytes: MIB,
            wall_clock: Duration::from_secs(30),
        }
    }
}

/// The most a manifest may raise each limit to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ceilings {
    /// Fuel per call.
    pub fuel: u64,
    /// Linear memory in bytes (at most 4 GiB, the wasm32 maximum).
    pub memory_bytes: u64,
    /// Input bytes.
    pub max_input_bytes: u64,
    /// Reply bytes.
    pub max_output_bytes: u64,
    /// Wall clock per call.
    pub wall_clock: Duration,
}

impl Default for Ceilings {
    /// 10^11 fuel, 4 GiB memory, 256 MiB input, 64 MiB reply, 5 minutes.
    fn default() -> Self {
        Self {
            fuel: 100_000_000_000,
            memory_bytes: 4096 * MIB,
            max_input_bytes: 256 * MIB,
            max_output_bytes: 64 * MIB,
            wall_clock: Duration::from_secs(300),
        }
    }
}

impl Limits {
    /// Checks every limit against `ceilings` and that none is zero.
    pub fn check(&self, ceilings: &Ceilings) -> Result<(), WasmError> {
        let wall = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        for (limit, requested, ceiling) in [
            ("fuel", self.fuel, ceilings.fuel),
            ("memory", self.memory_bytes, ceilings.memory_bytes),
            (
                "max_input_bytes",
                self.max_input_bytes,
                ceilings.max_input_bytes,
            ),
            (
                "max_output_bytes",
                self.max_output_bytes,
                ceilings.max_output_bytes,
            ),
            (
                "wall_clock_ms",
                wall(self.wall_clock),
                wall(ceilings.wall_clock),
            ),
        ] {
            if requested > ceiling {
                return Err(WasmError::LimitAboveCeiling {
                    limit,
                    requested,
                    ceiling,
                });
            }
            if requested == 0 {
                return Err(WasmError::ZeroLimit(limit));
            }
        }
        Ok(())
    }
}

/// Raised (as a trap) when a module grows memory or a table past its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("growth to {requested} past the limit of {limit}")]
pub(crate) struct LimitHit {
    pub(crate) requested: u64,
    pub(crate) limit: u64,
}

/// Enforces one call's memory and table limits; a breach traps rather than failing softly,
/// so a module cannot carry on in a state its author never tested.
#[derive(Debug)]
pub(crate) struct StoreLimiter {
    pub(crate) memory_bytes: u64,
}

impl wasmtime::ResourceLimiter for StoreLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = desired as u64;
        if desired > self.memory_bytes {
            return Err(wasmtime::Error::new(LimitHit {
                requested: desired,
                limit: self.memory_bytes,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = desired as u64;
        if desired > TABLE_ELEMENTS_MAX {
            return Err(wasmtime::Error::new(LimitHit {
                requested: desired,
                limit: TABLE_ELEMENTS_MAX,
            }));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }
}
