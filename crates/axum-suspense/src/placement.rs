//! Which boundaries a render put on the page.
//!
//! A boundary's placeholder is written by its `Display` impl, which askama
//! calls while rendering the shell or a parent boundary's content. The engine
//! needs to know, for each piece of HTML it sends, which placeholders that
//! piece contains: a boundary's content may only be sent once its placeholder
//! is on the wire. Rendering is synchronous and happens on one thread, so a
//! thread-local scope opened around each render collects them exactly,
//! without a lock and without askama knowing about it.

use std::cell::RefCell;

thread_local! {
    /// The render in progress on this thread: the key of the page it renders
    /// for, and the ids of the placeholders written so far. `None` when no
    /// engine render is in progress.
    static SCOPE: RefCell<Option<(usize, Vec<u32>)>> = const { RefCell::new(None) };
}

/// Runs `render` in a fresh scope and returns its result with the ids of the
/// boundaries of page `page_key` it placed, in the order they were written.
pub(crate) fn render_scoped<R>(page_key: usize, render: impl FnOnce() -> R) -> (R, Vec<u32>) {
    /// Restores the outer scope even if `render` panics.
    struct Restore(Option<(usize, Vec<u32>)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            SCOPE.with(|s| *s.borrow_mut() = outer);
        }
    }

    let outer = SCOPE.with(|s| s.borrow_mut().replace((page_key, Vec::new())));
    let restore = Restore(outer);
    let result = render();
    let placed = SCOPE.with(|s| s.borrow_mut().take());
    drop(restore);
    (result, placed.map(|(_, ids)| ids).unwrap_or_default())
}

/// Records that boundary `id` of page `page_key` is being written. Returns
/// false when no render of that page is in progress (the boundary was
/// displayed some other way, or inside another page), so its placeholder
/// would never be tracked and must not be written.
pub(crate) fn place(page_key: usize, id: u32) -> bool {
    SCOPE.with(|s| match s.borrow_mut().as_mut() {
        Some((key, placed)) if *key == page_key => {
            placed.push(id);
            true
        }
        _ => false,
    })
}
