//! The stub's memory allocator: a bump arena in front of the system's.
//!
//! A warm start allocates a few hundred small blocks (argv, the environment,
//! PEX-INFO, paths) and then `execve`s Python, which throws the whole heap
//! away. musl's allocator gets memory for each new size class with its own
//! `mmap` and hands some back with `munmap` (strace of a warm start: 12 mmap
//! and 5 munmap calls), a system call and a page fault each. Here those
//! blocks are carved out of one static, zero-filled array (pages the kernel
//! maps on first touch) with an atomic bump pointer, and never given back,
//! except the newest block, which a free or a realloc can shrink or grow in
//! place. Once the arena is used up (a cold start's downloads and unpacking)
//! every further block comes from the system allocator, so at most
//! [`ARENA_SIZE`] is spent on blocks that are never reused.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};

/// Room for a warm start's every block (measured with gdb at the execve: 96 KiB
/// for a one-wheel app, half of it inflate's state for reading PEX-INFO);
/// untouched pages cost nothing, and a cold start's buffers dwarf it.
pub const ARENA_SIZE: usize = 512 * 1024;

#[repr(C, align(4096))]
struct Arena(UnsafeCell<[u8; ARENA_SIZE]>);

// Safety: every byte range is handed out once, by the atomic bump below.
unsafe impl Sync for Arena {}

static ARENA: Arena = Arena(UnsafeCell::new([0; ARENA_SIZE]));
/// Bytes of the arena handed out (the bump pointer, as an offset). Taking
/// bytes is an Acquire and giving them back a Release, so a thread's last
/// uses of a block it frees happen before another thread's uses of the same
/// bytes (found by a review under ThreadSanitizer).
static USED: AtomicUsize = AtomicUsize::new(0);

/// The launcher binary's global allocator (`#[global_allocator]` in main.rs).
pub struct StartArena;

fn base() -> usize {
    ARENA.0.get() as usize
}

/// The block's offset in the arena, if it is an arena block.
fn offset_of(ptr: *mut u8) -> Option<usize> {
    let at = (ptr as usize).wrapping_sub(base());
    (at < ARENA_SIZE).then_some(at)
}

/// Take `size` bytes aligned to `align` off the arena, or None when it is full.
fn bump(size: usize, align: usize) -> Option<*mut u8> {
    let mut used = USED.load(Relaxed);
    loop {
        let start = (base() + used).checked_next_multiple_of(align)? - base();
        let end = start.checked_add(size).filter(|end| *end <= ARENA_SIZE)?;
        match USED.compare_exchange_weak(used, end, Acquire, Relaxed) {
            Ok(_) => return Some((base() + start) as *mut u8),
            Err(now) => used = now,
        }
    }
}

unsafe impl GlobalAlloc for StartArena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match bump(layout.size(), layout.align()) {
            Some(ptr) => ptr,
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match offset_of(ptr) {
            // The newest block is given back (a temporary buffer, freed right
            // away, is then reused); any other stays until exec.
            Some(at) => {
                let _ = USED.compare_exchange(at + layout.size(), at, Release, Relaxed);
            }
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(at) = offset_of(ptr) else {
            return unsafe { System.realloc(ptr, layout, new_size) };
        };
        // The newest block grows or shrinks where it is, if the arena has room.
        if at + new_size <= ARENA_SIZE
            && USED
                .compare_exchange(at + layout.size(), at + new_size, AcqRel, Relaxed)
                .is_ok()
        {
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // Safety: the caller guarantees new_size, with the old alignment, is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // Safety: both blocks are live and distinct; the old one holds layout.size() bytes.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size()) };
            // Given back if it is still the newest below the new one.
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The arena is one static shared by the test threads, so these tests
    // check properties that hold whatever the others allocate meanwhile.

    #[test]
    fn blocks_are_aligned_distinct_and_keep_their_bytes() {
        let a = StartArena;
        let mut blocks = Vec::new();
        for (i, align) in [1usize, 8, 16, 64, 4096]
            .into_iter()
            .cycle()
            .take(10)
            .enumerate()
        {
            let layout = Layout::from_size_align(100 + i, align).unwrap();
            let ptr = unsafe { a.alloc(layout) };
            assert!(!ptr.is_null());
            assert_eq!(ptr as usize % align, 0);
            unsafe { std::ptr::write_bytes(ptr, i as u8, layout.size()) };
            blocks.push((ptr, layout, i as u8));
        }
        for (ptr, layout, fill) in &blocks {
            let bytes = unsafe { std::slice::from_raw_parts(*ptr, layout.size()) };
            assert!(bytes.iter().all(|b| b == fill));
        }
        for (ptr, layout, _) in blocks.into_iter().rev() {
            unsafe { a.dealloc(ptr, layout) };
        }
    }

    #[test]
    fn realloc_keeps_the_bytes_in_and_out_of_the_arena() {
        let a = StartArena;
        let layout = Layout::from_size_align(16, 8).unwrap();
        let mut ptr = unsafe { a.alloc(layout) };
        unsafe { std::ptr::copy_nonoverlapping(b"0123456789abcdef".as_ptr(), ptr, 16) };
        let mut size = 16;
        // Grows past the arena's size: the last step must move to the system allocator.
        for new_size in [64, 4096, 100_000, 2 * ARENA_SIZE] {
            ptr = unsafe { a.realloc(ptr, Layout::from_size_align(size, 8).unwrap(), new_size) };
            assert!(!ptr.is_null());
            size = new_size;
            let head = unsafe { std::slice::from_raw_parts(ptr, 16) };
            assert_eq!(head, b"0123456789abcdef");
        }
        assert!(offset_of(ptr).is_none());
        unsafe { a.dealloc(ptr, Layout::from_size_align(size, 8).unwrap()) };
    }

    #[test]
    fn a_full_arena_falls_back_to_the_system_allocator() {
        let a = StartArena;
        let layout = Layout::from_size_align(ARENA_SIZE + 1, 8).unwrap();
        let ptr = unsafe { a.alloc(layout) };
        assert!(!ptr.is_null());
        assert!(offset_of(ptr).is_none());
        unsafe { a.dealloc(ptr, layout) };
    }

    #[test]
    fn the_newest_block_is_given_back() {
        // Single-threaded view: retry until no other test thread allocated in between.
        let a = StartArena;
        let layout = Layout::from_size_align(256, 8).unwrap();
        for _ in 0..100 {
            let first = unsafe { a.alloc(layout) };
            unsafe { a.dealloc(first, layout) };
            let second = unsafe { a.alloc(layout) };
            unsafe { a.dealloc(second, layout) };
            if offset_of(first).is_some() && first == second {
                return;
            }
        }
        panic!("a freed newest block was never reused");
    }
}
