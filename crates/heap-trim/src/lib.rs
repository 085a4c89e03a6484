//! Give the heap's free memory back to the operating system.
//!
//! glibc's allocator keeps what a program frees: it returns memory to the
//! system only from the top of each arena, so after a burst (here, 10,000
//! pages held at once) a server's RSS stays near its peak (175 MiB, then
//! 154 MiB idle, for 9 MiB before the burst) although its live heap is back
//! to a few megabytes. `malloc_trim(0)` walks every arena and hands every
//! free page back (`madvise(MADV_DONTNEED)`), wherever it lies.
//!
//! [`trim`] is that call. It takes the arenas' locks while it walks them,
//! so call it when memory has just been freed in bulk, not on every
//! request, and from a thread that may wait (tokio's blocking pool).
//!
//! Why a crate of its own: `malloc_trim` is a glibc function that no
//! maintained crate wraps safely, so this makes the one call through
//! `libc`, with its reasoning beside it. With `crates/sched-slice`, the only
//! `unsafe` in the workspace; every other crate forbids it. On other C
//! libraries (musl) and systems it does nothing.
//!
//! ```
//! let released = heap_trim::trim();
//! println!("memory returned to the system: {released}");
//! ```

/// Returns the heap's free pages to the operating system; `true` if any
/// were returned. Does nothing, and returns `false`, where the C library
/// is not glibc.
pub fn trim() -> bool {
    sys::trim()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod sys {
    #[allow(unsafe_code)]
    pub(super) fn trim() -> bool {
        // SAFETY: malloc_trim takes no pointer and touches only the
        // allocator's own state, under the arenas' locks; glibc documents it
        // as thread-safe (MT-Safe) and callable at any time. 0 asks to keep
        // no padding at the top of the heap.
        unsafe { libc::malloc_trim(0) == 1 }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod sys {
    pub(super) fn trim() -> bool {
        false
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    /// The process's resident memory, in bytes (`/proc/self/statm`).
    fn resident() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    }

    #[test]
    fn freed_memory_goes_back_to_the_system() {
        // On a thread of its own, as a server's worker: its own arena.
        std::thread::spawn(|| {
            // 128 MiB in 1 KiB pieces, each written, then all freed but the
            // last: the arena's top stays in use, so glibc's own trimming
            // cannot give any of it back.
            let mut pieces: Vec<Box<[u8; 1024]>> =
                (0..128 * 1024).map(|_| Box::new([1u8; 1024])).collect();
            let last = pieces.pop().unwrap();
            let peak = resident();
            drop(pieces);
            let kept = resident();
            assert!(
                kept > peak - (16 << 20),
                "glibc returned it alone: {peak} -> {kept}"
            );
            assert!(super::trim(), "nothing returned");
            let trimmed = resident();
            assert!(
                trimmed + (96 << 20) < kept,
                "resident {kept} -> {trimmed} bytes after the trim"
            );
            drop(last);
        })
        .join()
        .unwrap();
    }
}
