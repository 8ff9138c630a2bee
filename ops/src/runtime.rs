//! The servers' tokio runtime: as `#[tokio::main]` builds it, plus a hook that gives freed
//! memory back to the system when a worker goes idle.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// How often a worker that keeps going idle collects, at most.
const COLLECT_EVERY: Duration = Duration::from_millis(100);

pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_park(give_back_freed_memory)
        .build()
}

/// mimalloc hands a thread's freed pages back to the system only when that thread allocates
/// again, so a server that went idle after a burst (10,000 long polls answered) kept hundreds of
/// MiB resident. A worker about to go idle collects its heap first, unless it did so within the
/// last [`COLLECT_EVERY`] (a busy worker parks often); the next park after that collects.
fn give_back_freed_memory() {
    thread_local! {
        static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
    }
    let now = Instant::now();
    if LAST.get().is_some_and(|last| now - last < COLLECT_EVERY) {
        return;
    }
    LAST.set(Some(now));
    // SAFETY: mi_collect has no preconditions; it works on the calling thread's own heap.
    unsafe { libmimalloc_sys::mi_collect(false) };
}
