//! The scoring engine: one wasmtime `Engine` with deterministic settings, the hash that names
//! those settings, the wall-clock ticker, and the optional compiled-module cache.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::WasmError;
use super::cache::ModuleCache;
use super::hash::EngineHash;
use super::limits::{Ceilings, Limits, TABLE_ELEMENTS_MAX};
use super::module::ScorerModule;

/// The wasmtime release the host is built on; folded into the [`EngineHash`]. A test checks it
/// against `Cargo.lock`, so a bump cannot go unnoticed.
pub const WASMTIME_VERSION: &str = "48.0.8";

/// How a [`ScoringEngine`] is set up. Everything here that changes how code runs is part of
/// the [`EngineHash`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Bytes of native stack wasm code may use (default 512 KiB); deeper recursion traps with
    /// [`WasmError::StackOverflow`].
    pub max_wasm_stack: usize,
    /// The largest module file accepted (default 32 MiB).
    pub max_module_bytes: u64,
    /// Limits for modules without a manifest, and for keys a manifest leaves out.
    pub defaults: Limits,
    /// The most a manifest may raise each limit to.
    pub ceilings: Ceilings,
    /// Where compiled modules are cached; `None` compiles every load.
    pub cache_dir: Option<PathBuf>,
    /// How often the wall-clock backstop is checked (default 10 ms).
    pub epoch_tick: Duration,
    /// Calls that may run at once, each in a pre-reserved instance slot that is reused (default
    /// 32); reusing slots spares a call most of its memory-mapping work. A call beyond that
    /// fails with [`WasmError::Instantiate`]. 0 allocates every instance afresh instead, with
    /// no bound on concurrency.
    pub pooled_instances: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_wasm_stack: 512 * 1024,
            max_module_bytes: 32 << 20,
            defaults: Limits::default(),
            ceilings: Ceilings::default(),
            cache_dir: None,
            epoch_tick: Duration::from_millis(10),
            pooled_instances: 32,
        }
    }
}

impl EngineConfig {
    /// Caches compiled modules in `dir` (created if missing).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Sets the default limits.
    pub fn defaults(mut self, defaults: Limits) -> Self {
        self.defaults = defaults;
        self
    }

    /// The settings that decide how code runs, as the text the [`EngineHash`] is taken over.
    fn determinism_text(&self) -> String {
        format!(
            "subforge wasm engine\n\
             wasmtime {WASMTIME_VERSION}\n\
             abi {abi}\n\
             compiler cranelift, opt-level speed\n\
             fuel on, wasmtime default operator costs\n\
             nan canonicalization on\n\
             threads off\n\
             relaxed simd off, deterministic\n\
             simd on\n\
             memory64 off\n\
             multi-memory off\n\
             gc off\n\
             component model off\n\
             wide arithmetic off\n\
             custom page sizes off\n\
             stack switching off\n\
             max wasm stack {stack}\n",
            abi = subforge_guest::abi::VERSION,
            stack = self.max_wasm_stack,
        )
    }

    fn wasmtime_config(&self) -> wasmtime::Config {
        let mut c = wasmtime::Config::new();
        c.consume_fuel(true)
            .epoch_interruption(true)
            .cranelift_nan_canonicalization(true)
            .cranelift_opt_level(wasmtime::OptLevel::Speed)
            .wasm_relaxed_simd(false)
            .relaxed_simd_deterministic(true)
            .wasm_simd(true)
            .wasm_memory64(false)
            .wasm_multi_memory(false)
            .wasm_wide_arithmetic(false)
            .wasm_custom_page_sizes(false)
            .wasm_stack_switching(false)
            .wasm_backtrace_max_frames(None)
            .max_wasm_stack(self.max_wasm_stack);
        if self.pooled_instances > 0 {
            // Not part of the engine hash: where an instance lives changes no result. Each slot
            // can hold the largest memory a manifest may ask for; the limiter enforces the
            // module's own limit below that.
            let mut pool = wasmtime::PoolingAllocationConfig::new();
            pool.total_core_instances(self.pooled_instances)
                .total_memories(self.pooled_instances)
                .total_tables(self.pooled_instances)
                .max_memories_per_module(1)
                .max_tables_per_module(1)
                .table_elements(TABLE_ELEMENTS_MAX as usize)
                .max_memory_size(usize::try_from(self.ceilings.memory_bytes).unwrap_or(usize::MAX))
                // A freed slot keeps its first 4 MiB mapped and resets only the pages the call
                // dirtied (found with PAGEMAP_SCAN where the kernel has it), so the next call
                // takes no page faults there; at most 8 idle slots keep memory this way.
                .linear_memory_keep_resident(4 << 20)
                .table_keep_resident(64 << 10)
                .max_unused_warm_slots(8)
                .pagemap_scan(wasmtime::Enabled::Auto);
            c.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        }
        c
    }
}

/// The WASM scoring host: compiles, validates, caches and runs scoring modules. Cheap to clone;
/// clones share one engine, ticker and cache.
#[derive(Clone)]
pub struct ScoringEngine {
    inner: Arc<Inner>,
}

struct Inner {
    engine: wasmtime::Engine,
    config: EngineConfig,
    hash: EngineHash,
    cache: Option<ModuleCache>,
}

impl fmt::Debug for ScoringEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScoringEngine")
            .field("hash", &self.inner.hash)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Feeds `Hash` output into SHA-256, so a wasmtime compatibility hash becomes stable bytes.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        // Only `write` is used; the digest is taken from the inner state.
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl ScoringEngine {
    /// Builds an engine (and starts its wall-clock ticker thread, which ends with the engine).
    pub fn new(config: EngineConfig) -> Result<Self, WasmError> {
        config.defaults.check(&config.ceilings)?;
        if config.epoch_tick.is_zero() {
            return Err(WasmError::ZeroLimit("epoch_tick"));
        }
        let engine = wasmtime::Engine::new(&config.wasmtime_config())
            .map_err(|e| WasmError::Engine(format!("{e:#}")))?;
        let hash = EngineHash(Sha256::digest(config.determinism_text().as_bytes()).into());
        let cache = match &config.cache_dir {
            Some(dir) => {
                let mut h = Sha256Hasher(Sha256::new());
                engine.precompile_compatibility_hash().hash(&mut h);
                Some(ModuleCache::open(dir, h.0.finalize().into())?)
            }
            None => None,
        };
        spawn_ticker(engine.weak(), config.epoch_tick)?;
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                config,
                hash,
                cache,
            }),
        })
    }

    /// The process's shared engine with the default configuration, made on first use.
    ///
    /// An engine reserves address space for its instance slots and runs a ticker thread, so
    /// one per process is the norm; [`ScoringEngine::new`] makes others when settings differ.
    pub fn shared() -> Result<Self, WasmError> {
        Self::shared_with(EngineConfig::default())
    }

    /// The process's shared engine, made with `config` if this is its first use (a validator
    /// names its compiled-module cache this way before loading its scorer); later calls get
    /// the engine the first one made, whatever they ask for.
    pub fn shared_with(config: EngineConfig) -> Result<Self, WasmError> {
        static SHARED: std::sync::OnceLock<Result<ScoringEngine, String>> =
            std::sync::OnceLock::new();
        SHARED
            .get_or_init(|| {
                match Self::new(config.clone()) {
                    // A cache that cannot be opened costs compiles, not the engine.
                    Err(e) if config.cache_dir.is_some() => {
                        tracing::warn!(error = %e, "compiled-module cache unusable; compiling on every load");
                        Self::new(EngineConfig {
                            cache_dir: None,
                            ..config
                        })
                    }
                    made => made,
                }
                .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(WasmError::Engine)
    }

    /// The hash of this engine's determinism settings.
    pub fn hash(&self) -> EngineHash {
        self.inner.hash
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Loads `path`, with limits from the manifest beside it (`scorer.toml` for
    /// `scorer.wasm`), if there is one.
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<ScorerModule, WasmError> {
        ScorerModule::load_file(self, path.as_ref())
    }

    /// Loads a module from bytes with the given limits.
    pub fn load(&self, bytes: &[u8], limits: Limits) -> Result<ScorerModule, WasmError> {
        limits.check(&self.inner.config.ceilings)?;
        ScorerModule::load(self, bytes, limits)
    }

    pub(crate) fn wasmtime(&self) -> &wasmtime::Engine {
        &self.inner.engine
    }

    pub(crate) fn cache(&self) -> Option<&ModuleCache> {
        self.inner.cache.as_ref()
    }

    /// Epoch ticks that make up `limit`, plus one for the tick already under way.
    pub(crate) fn ticks(&self, limit: Duration) -> u64 {
        let tick = self.inner.config.epoch_tick.as_nanos().max(1);
        u64::try_from(limit.as_nanos().div_ceil(tick))
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }
}

fn spawn_ticker(engine: wasmtime::EngineWeak, tick: Duration) -> Result<(), WasmError> {
    std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(tick);
                match engine.upgrade() {
                    Some(e) => e.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
        .map_err(|e| WasmError::Engine(format!("cannot start the epoch ticker: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_follows_the_settings() {
        let a = EngineConfig::default();
        let mut b = EngineConfig::default();
        assert_eq!(a.determinism_text(), b.determinism_text());
        b.max_wasm_stack *= 2;
        assert_ne!(a.determinism_text(), b.determinism_text());
        // Limits and caching do not change how code runs.
        let c = EngineConfig::default().cache_dir("/tmp/x");
        assert_eq!(a.determinism_text(), c.determinism_text());
    }

    #[test]
    fn wasmtime_version_matches_the_lock_file() {
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
        let at = lock.find("name = \"wasmtime\"\nversion = \"").unwrap();
        let version = lock[at..].split('"').nth(3).unwrap();
        assert_eq!(version, WASMTIME_VERSION);
    }
}
