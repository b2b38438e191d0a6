//! The global allocator of the daemon, its benches and examples: mimalloc, reached through its
//! plain entry points wherever they give the alignment asked for.
//!
//! The `mimalloc` crate's allocator calls `mi_malloc_aligned` for every allocation. For a block of
//! more than 1 KiB (a message's feature lists, an insight's JSON) mimalloc then leaves its fast
//! path for the generic aligned one, which over-allocates: under callgrind that was 5% of the
//! analyser's instructions (`examples/profile analyse`). Every block of `mi_malloc` is aligned to
//! a machine word (its smallest size class is one word, and every class a whole number of
//! words), so an allocation that asks for no more than that (all of earshot's but SIMD and
//! 128-bit types) takes it. Anything else keeps mimalloc's aligned calls. (The 8-byte size class
//! is only word-aligned, and a `Layout` may ask 16 of one byte, so 16, C's `max_align_t`, is not
//! assumed.) mimalloc's debug builds can place guarded blocks unaligned: don't enable the
//! `debug` features of `libmimalloc-sys`.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// The alignment every `mi_malloc` block has: a machine word.
const PLAIN_ALIGN: usize = std::mem::size_of::<usize>();

/// mimalloc as the global allocator:
///
/// ```ignore
/// #[global_allocator]
/// static GLOBAL: earshot::allocator::Mimalloc = earshot::allocator::Mimalloc;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Mimalloc;

/// Whether `mi_malloc` and `mi_realloc` give every block the alignment `align`.
#[inline]
fn plain(align: usize) -> bool {
    align <= PLAIN_ALIGN
}

// SAFETY: every call hands mimalloc the sizes and alignments the `Layout`s say, and takes the
// plain entry points only where their guaranteed alignment covers the one asked for; blocks from
// either kind of call are freed and resized by mimalloc, which accepts both.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's allocation calls accept any size; the alignment is a power of two.
        unsafe {
            if plain(layout.align()) {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe {
            if plain(layout.align()) {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator, so from mimalloc.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout`; the new block keeps its
        // alignment: plainly when any block has it, else through the aligned call.
        unsafe {
            if plain(layout.align()) {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_have_the_alignment_asked_for_and_keep_their_bytes() {
        let a = Mimalloc;
        for align in [1usize, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1usize, 3, 8, 16, 24, 48, 1000, 1500, 5000, 70_000] {
                let layout = Layout::from_size_align(size, align).expect("a power of two");
                // SAFETY: a non-zero size; every block is freed with its layout.
                unsafe {
                    let p = a.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    std::ptr::write_bytes(p, 0xAB, size);
                    let grown = a.realloc(p, layout, size * 3);
                    assert!(!grown.is_null());
                    assert_eq!(grown as usize % align, 0, "grown {size} align {align}");
                    let bytes = std::slice::from_raw_parts(grown, size);
                    assert!(bytes.iter().all(|&b| b == 0xAB));
                    a.dealloc(grown, Layout::from_size_align(size * 3, align).unwrap());
                    let z = a.alloc_zeroed(layout);
                    assert!(!z.is_null());
                    assert_eq!(z as usize % align, 0);
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|&b| b == 0));
                    a.dealloc(z, layout);
                }
            }
        }
    }
}
