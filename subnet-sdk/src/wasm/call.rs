//! One call into a module: a fresh `Store` with the call's fuel, memory limiter and wall-clock
//! deadline, an instance from the module's `InstancePre`, and every way it can end mapped to a
//! typed error.

use wasmtime::{Caller, Instance, InstancePre, Linker, Memory, Store, Trap};

use subforge_guest::abi;

use super::WasmError;
use super::engine::ScoringEngine;
use super::limits::{LimitHit, Limits, StoreLimiter};

/// What a store carries for one call.
#[derive(Debug)]
pub(crate) struct CallState {
    limiter: StoreLimiter,
}

/// The guest's panic message, carried out of the call as the trap's cause.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct GuestPanicked(String);

/// The host namespace: `subforge.panic`.
pub(crate) fn linker(engine: &wasmtime::Engine) -> Result<Linker<CallState>, WasmError> {
    let mut linker = Linker::new(engine);
    linker
        .func_wrap(
            abi::HOST_MODULE,
            abi::PANIC_IMPORT,
            |mut caller: Caller<'_, CallState>, ptr: u32, len: u32| -> wasmtime::Result<()> {
                let message = caller
                    .get_export(abi::MEMORY_EXPORT)
                    .and_then(|e| e.into_memory())
                    .and_then(|m| {
                        let data = m.data(&caller);
                        let start = ptr as usize;
                        let end = start.checked_add((len as usize).min(abi::MESSAGE_MAX))?;
                        data.get(start..end)
                            .map(|b| String::from_utf8_lossy(b).into_owned())
                    })
                    .unwrap_or_else(|| format!("(unreadable message at {ptr:#x}, {len} bytes)"));
                Err(wasmtime::Error::new(GuestPanicked(message)))
            },
        )
        .map_err(|e| WasmError::Engine(format!("cannot define the host namespace: {e}")))?;
    Ok(linker)
}

/// A live call: the store and the instance in it.
pub(crate) struct Call<'m> {
    pub(crate) store: Store<CallState>,
    pub(crate) instance: Instance,
    pub(crate) memory: Memory,
    limits: &'m Limits,
    stack: usize,
}

impl<'m> Call<'m> {
    /// Instantiates the module in a fresh store; the start function runs here, under the
    /// call's limits.
    pub(crate) fn start(
        engine: &ScoringEngine,
        pre: &InstancePre<CallState>,
        limits: &'m Limits,
    ) -> Result<Self, WasmError> {
        let mut store = Store::new(
            engine.wasmtime(),
            CallState {
                limiter: StoreLimiter {
                    memory_bytes: limits.memory_bytes,
                },
            },
        );
        store.limiter(|s| &mut s.limiter);
        let stack = engine.config().max_wasm_stack;
        let fail =
            |e: wasmtime::Error, store: &Store<CallState>| classify(&e, store, limits, stack);
        store.set_fuel(limits.fuel).map_err(|e| fail(e, &store))?;
        store.set_epoch_deadline(engine.ticks(limits.wall_clock));
        store.epoch_deadline_trap();
        let instance = match pre.instantiate(&mut store) {
            Ok(i) => i,
            // Anything that is not the module's own doing (a trap, a limit, a panic) is the
            // allocator refusing it.
            Err(e) => {
                return Err(match fail(e, &store) {
                    WasmError::Trap { message } if !message.starts_with("wasm trap") => {
                        WasmError::Instantiate(message)
                    }
                    other => other,
                });
            }
        };
        let memory = instance
            .get_memory(&mut store, abi::MEMORY_EXPORT)
            .ok_or(WasmError::MissingExport(abi::MEMORY_EXPORT))?;
        Ok(Self {
            store,
            instance,
            memory,
            limits,
            stack,
        })
    }

    /// Maps a failed wasm call to its typed error.
    pub(crate) fn fail(&self, e: &wasmtime::Error) -> WasmError {
        classify(e, &self.store, self.limits, self.stack)
    }

    /// Fuel consumed so far.
    pub(crate) fn fuel_used(&self) -> u64 {
        fuel_used(&self.store, self.limits)
    }

    /// Copies `input` into guest memory through `subforge_alloc` and returns its place.
    pub(crate) fn write_input(&mut self, input: &[u8]) -> Result<(u32, u32), WasmError> {
        let len = u32::try_from(input.len()).map_err(|_| WasmError::InputTooLarge {
            size: input.len() as u64,
            limit: u64::from(u32::MAX),
        })?;
        let alloc = self
            .instance
            .get_typed_func::<u32, u32>(&mut self.store, abi::ALLOC_EXPORT)
            .map_err(|e| WasmError::InvalidModule(e.to_string()))?;
        let ptr = alloc
            .call(&mut self.store, len)
            .map_err(|e| self.fail(&e))?;
        let memory = self.memory.data_size(&self.store) as u64;
        let fits = u64::from(ptr) + u64::from(len) <= memory && (ptr != 0 || len == 0);
        if !fits {
            return Err(WasmError::BadAllocation { ptr, len, memory });
        }
        self.memory
            .write(&mut self.store, ptr as usize, input)
            .map_err(|_| WasmError::BadAllocation { ptr, len, memory })?;
        Ok((ptr, len))
    }

    /// Copies a reply `(len << 32) | ptr` out of guest memory, within the output limit.
    pub(crate) fn read_reply(&self, reply: u64) -> Result<Vec<u8>, WasmError> {
        let (ptr, len) = abi::unpack(reply);
        if u64::from(len) > self.limits.max_output_bytes {
            return Err(WasmError::OutputTooLarge {
                size: u64::from(len),
                limit: self.limits.max_output_bytes,
            });
        }
        let data = self.memory.data(&self.store);
        let start = ptr as usize;
        start
            .checked_add(len as usize)
            .and_then(|end| data.get(start..end))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| {
                WasmError::MalformedOutput(format!(
                    "the reply at {ptr:#x} ({len} bytes) lies outside the module's {}-byte memory",
                    data.len()
                ))
            })
    }
}

fn fuel_used(store: &Store<CallState>, limits: &Limits) -> u64 {
    limits.fuel - store.get_fuel().unwrap_or(0).min(limits.fuel)
}

/// Maps a wasmtime error to the typed error a caller can act on.
fn classify(
    e: &wasmtime::Error,
    store: &Store<CallState>,
    limits: &Limits,
    stack: usize,
) -> WasmError {
    if let Some(GuestPanicked(message)) = e.downcast_ref::<GuestPanicked>() {
        return WasmError::GuestPanic {
            message: message.clone(),
        };
    }
    if let Some(hit) = e.downcast_ref::<LimitHit>() {
        return WasmError::MemoryLimit {
            requested: hit.requested,
            limit: hit.limit,
        };
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => WasmError::FuelExhausted {
            fuel_used: fuel_used(store, limits),
        },
        Some(Trap::StackOverflow) => WasmError::StackOverflow { limit: stack },
        Some(Trap::Interrupt) => WasmError::WallClockTimeout {
            limit: limits.wall_clock,
        },
        Some(trap) => WasmError::Trap {
            message: trap.to_string(),
        },
        None => WasmError::Trap {
            message: format!("{e:#}"),
        },
    }
}
