//! The allocator a module gets by default (cargo feature `arena`): a bump arena in the module's
//! initial memory, falling back to the standard allocator.
//!
//! A module instance lives for exactly one call (ABI v1, section 2), so an allocator that never
//! reuses memory is nearly free to run, and the first allocations of a call need no
//! `memory.grow`. That matters twice over: every guest instruction is fuel-metered, and each
//! growth makes the host remap the instance's memory (a `mprotect` when it grows and another
//! when the slot is reused). With the standard allocator a call on a handful of small answers
//! spent half its time on that.
//!
//! The arena is [`ARENA_BYTES`] of zero-filled static memory (it lengthens the module's
//! initial memory, not its file). Blocks up to [`ARENA_BLOCK_MAX`] bytes come from it in
//! order; a block freed or resized while it is the newest one is given back or resized in
//! place, and other freed blocks are not reused. Larger blocks, and everything once the arena
//! is full, go to the standard allocator, which reuses freed memory as usual. So a module never
//! holds more than [`ARENA_BYTES`] beyond what the standard allocator alone would.
//!
//! A module that brings its own `#[global_allocator]` turns the feature off
//! (`default-features = false`).

use core::alloc::{GlobalAlloc, Layout};
use core::cell::{Cell, UnsafeCell};
use std::alloc::System;

/// Bytes of the module's initial memory set aside for the arena.
pub const ARENA_BYTES: usize = 1 << 20;

/// The largest block served from the arena; larger ones come from the standard allocator.
pub const ARENA_BLOCK_MAX: usize = 64 << 10;

#[repr(C, align(16))]
struct Space(UnsafeCell<[u8; ARENA_BYTES]>);

/// A bump arena over a static buffer, backed by [`System`]. Single-threaded by design: a
/// scoring module has no threads (the host refuses shared memory).
pub struct Arena {
    space: Space,
    /// Offset of the first free byte in `space`.
    top: Cell<usize>,
}

// SAFETY: modules are single-threaded (no `atomics` target feature, no shared memory), so the
// arena is never touched from two threads; natively this type is never used as an allocator.
#[allow(unsafe_code)]
unsafe impl Sync for Arena {}

impl Arena {
    /// An empty arena.
    pub const fn new() -> Self {
        Self {
            space: Space(UnsafeCell::new([0; ARENA_BYTES])),
            top: Cell::new(0),
        }
    }

    fn base(&self) -> usize {
        self.space.0.get() as usize
    }

    /// The block's offset in the arena, if the arena holds it.
    fn offset(&self, ptr: *mut u8) -> Option<usize> {
        (ptr as usize)
            .checked_sub(self.base())
            .filter(|at| *at < ARENA_BYTES)
    }

    /// Reserves `layout` at the top of the arena, if it fits.
    fn bump(&self, layout: Layout) -> Option<*mut u8> {
        if layout.size() > ARENA_BLOCK_MAX {
            return None;
        }
        let base = self.base();
        let start = (base + self.top.get()).checked_next_multiple_of(layout.align())? - base;
        let end = start.checked_add(layout.size())?;
        if end > ARENA_BYTES {
            return None;
        }
        self.top.set(end);
        Some(self.space.0.get().cast::<u8>().wrapping_add(start))
    }
}

impl core::fmt::Debug for Arena {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Arena")
            .field("used", &self.top.get())
            .field("capacity", &ARENA_BYTES)
            .finish()
    }
}

impl Default for Arena {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: blocks from `bump` lie inside `space`, are aligned as asked, and never overlap a live
// block: `top` only moves down over a block that is being freed or resized and is the newest.
// Everything else is `System`'s, handed back to it unchanged.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.bump(layout) {
            Some(ptr) => ptr,
            // SAFETY: forwarding the caller's layout, which it guarantees is non-zero-sized.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match self.offset(ptr) {
            Some(at) => {
                if at + layout.size() == self.top.get() {
                    self.top.set(at);
                }
            }
            // SAFETY: not ours, so `System` allocated it with this layout.
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(at) = self.offset(ptr) else {
            // SAFETY: not ours, so `System` allocated it with this layout.
            return unsafe { System.realloc(ptr, layout, new_size) };
        };
        // The newest block grows or shrinks where it is.
        if at + layout.size() == self.top.get()
            && new_size <= ARENA_BLOCK_MAX
            && at + new_size <= ARENA_BYTES
        {
            self.top.set(at + new_size);
            return ptr;
        }
        // SAFETY: the caller guarantees `new_size`, rounded up to `layout.align()`, fits an
        // `isize` and is non-zero.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as for `alloc`.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are live, distinct, and at least this long.
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    // The arena as an ordinary value: what it hands out, gives back and passes on.
    #[test]
    #[allow(unsafe_code)]
    fn bumps_reuses_the_newest_block_and_falls_back() {
        // A static, as in a module (a 1 MiB value would not fit a test thread's stack).
        static ARENA: Arena = Arena::new();
        let arena = &ARENA;
        // SAFETY: every block is used within its layout and freed with it.
        unsafe {
            let a = arena.alloc(layout(10, 1));
            let b = arena.alloc(layout(8, 8));
            assert_eq!(arena.offset(a), Some(0));
            assert_eq!(arena.offset(b), Some(16), "aligned to 8 after 10 bytes");
            assert_eq!(arena.top.get(), 24);

            // The newest block grows in place; an older one moves.
            let b2 = arena.realloc(b, layout(8, 8), 100);
            assert_eq!(b2, b);
            assert_eq!(arena.top.get(), 116);
            a.write_bytes(7, 10);
            let a2 = arena.realloc(a, layout(10, 1), 20);
            assert_eq!(arena.offset(a2), Some(116));
            assert_eq!(core::slice::from_raw_parts(a2, 10), &[7; 10]);

            // Freeing the newest block gives its space back; an older one is left.
            arena.dealloc(a2, layout(20, 1));
            assert_eq!(arena.top.get(), 116);
            arena.dealloc(b2, layout(100, 8));
            assert_eq!(arena.top.get(), 16);

            // Large blocks and blocks past the end come from the system allocator.
            let big = arena.alloc(layout(ARENA_BLOCK_MAX + 1, 8));
            assert!(!big.is_null());
            assert_eq!(arena.offset(big), None);
            arena.dealloc(big, layout(ARENA_BLOCK_MAX + 1, 8));
            let mut held = Vec::new();
            while arena.top.get() + ARENA_BLOCK_MAX <= ARENA_BYTES {
                held.push(arena.alloc(layout(ARENA_BLOCK_MAX, 16)));
            }
            let spill = arena.alloc(layout(ARENA_BLOCK_MAX, 16));
            assert_eq!(arena.offset(spill), None);
            // Growing the newest block past the end moves it out too.
            let last = *held.last().unwrap();
            let moved = arena.realloc(last, layout(ARENA_BLOCK_MAX, 16), ARENA_BLOCK_MAX + 16);
            assert_eq!(arena.offset(moved), None);
            arena.dealloc(moved, layout(ARENA_BLOCK_MAX + 16, 16));
            arena.dealloc(spill, layout(ARENA_BLOCK_MAX, 16));
        }
    }
}
