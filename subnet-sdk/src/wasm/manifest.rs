//! The manifest beside a module (`scorer.wasm` + `scorer.toml`): per-module limits, within
//! the ceilings the validator allows.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::WasmError;
use super::limits::{Ceilings, Limits};

/// The largest manifest file read.
const MANIFEST_MAX_BYTES: u64 = 64 * 1024;

/// A module's manifest: the limits it asks for; absent keys keep the host's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The `[limits]` table.
    #[serde(default)]
    pub limits: ManifestLimits,
}

/// The `[limits]` table of a manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestLimits {
    /// Fuel per call.
    pub fuel: Option<u64>,
    /// Linear memory in MiB.
    pub memory_mib: Option<u64>,
    /// Largest input in bytes.
    pub max_input_bytes: Option<u64>,
    /// Largest reply in bytes.
    pub max_output_bytes: Option<u64>,
    /// Wall-clock backstop in milliseconds.
    pub wall_clock_ms: Option<u64>,
}

impl Manifest {
    /// Where the manifest of `module` lives: the same path with the extension `toml`.
    pub fn path_for(module: &Path) -> PathBuf {
        module.with_extension("toml")
    }

    /// Parses manifest text; `path` is only for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, WasmError> {
        toml::from_str(text).map_err(|e| WasmError::Manifest {
            path: path.to_owned(),
            reason: e.to_string().trim_end().to_owned(),
        })
    }

    /// Reads the manifest beside `module`, or `None` if there is none.
    pub fn read_beside(module: &Path) -> Result<Option<Self>, WasmError> {
        let path = Self::path_for(module);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(WasmError::io(&path)(e)),
        };
        let mut text = String::new();
        file.take(MANIFEST_MAX_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| WasmError::Manifest {
                path: path.clone(),
                reason: format!("not readable UTF-8 text: {e}"),
            })?;
        if text.len() as u64 > MANIFEST_MAX_BYTES {
            return Err(WasmError::Manifest {
                path,
                reason: format!("larger than {MANIFEST_MAX_BYTES} bytes"),
            });
        }
        Self::parse(&text, &path).map(Some)
    }

    /// The limits this manifest asks for over `defaults`, checked against `ceilings`.
    pub fn limits(&self, defaults: Limits, ceilings: &Ceilings) -> Result<Limits, WasmError> {
        let m = &self.limits;
        let memory_bytes = match m.memory_mib {
            Some(mib) => mib
                .checked_mul(1 << 20)
                .ok_or(WasmError::LimitAboveCeiling {
                    limit: "memory",
                    requested: u64::MAX,
                    ceiling: ceilings.memory_bytes,
                })?,
            None => defaults.memory_bytes,
        };
        let limits = Limits {
            fuel: m.fuel.unwrap_or(defaults.fuel),
            memory_bytes,
            max_input_bytes: m.max_input_bytes.unwrap_or(defaults.max_input_bytes),
            max_output_bytes: m.max_output_bytes.unwrap_or(defaults.max_output_bytes),
            wall_clock: m
                .wall_clock_ms
                .map_or(defaults.wall_clock, Duration::from_millis),
        };
        limits.check(ceilings)?;
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_raise_limits_within_ceilings() {
        let p = Path::new("scorer.toml");
        let m = Manifest::parse(
            "[limits]\nfuel = 5\nmemory_mib = 2\nwall_clock_ms = 1500\n",
            p,
        )
        .unwrap();
        let l = m.limits(Limits::default(), &Ceilings::default()).unwrap();
        assert_eq!(l.fuel, 5);
        assert_eq!(l.memory_bytes, 2 << 20);
        assert_eq!(l.wall_clock, Duration::from_millis(1500));
        assert_eq!(l.max_input_bytes, Limits::default().max_input_bytes);

        let m = Manifest::parse("[limits]\nfuel = 100_000_000_001\n", p).unwrap();
        assert!(matches!(
            m.limits(Limits::default(), &Ceilings::default()),
            Err(WasmError::LimitAboveCeiling { limit: "fuel", .. })
        ));
        let m = Manifest::parse("[limits]\nmemory_mib = 0\n", p).unwrap();
        assert!(matches!(
            m.limits(Limits::default(), &Ceilings::default()),
            Err(WasmError::ZeroLimit("memory"))
        ));
        for bad in [
            "[limits]\nfuell = 1\n",
            "limits = 3",
            "[limits]\nfuel = -1\n",
            "x",
        ] {
            assert!(
                matches!(Manifest::parse(bad, p), Err(WasmError::Manifest { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            Manifest::path_for(Path::new("/a/scorer.wasm")),
            Path::new("/a/scorer.toml")
        );
    }
}
