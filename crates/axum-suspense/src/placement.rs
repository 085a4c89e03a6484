//! Which boundaries a render put on the page, and which it misused.
//!
//! A boundary's placeholder is written by its `Display` impl, which askama
//! calls while rendering the shell or a parent boundary's content. The engine
//! needs to know, for each piece of HTML it sends, which placeholders that
//! piece contains: a boundary's content may only be sent once its placeholder
//! is on the wire. Rendering is synchronous and happens on one thread, so a
//! thread-local scope opened around each render collects them exactly,
//! without a lock and without askama knowing about it.
//!
//! The scope also stays open while the rendered template is dropped, so a
//! boundary the template was given but never rendered is caught then (its
//! handle is dropped unplaced inside the scope), as is one rendered twice.

use std::cell::RefCell;

use crate::context::Misplaced;
use crate::label::Label;

/// What one render did with its page's boundaries.
#[derive(Debug, Default)]
pub(crate) struct Placements {
    /// Each placeholder written, in order.
    pub(crate) placed: Vec<Placed>,
    /// Boundaries misused in ways the render itself shows (rendered twice,
    /// never rendered), with how.
    pub(crate) misused: Vec<(Label, Misplaced)>,
}

/// A placeholder a render wrote.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placed {
    pub(crate) id: u32,
    pub(crate) name: Option<&'static str>,
    /// How many bytes were written for it.
    pub(crate) len: usize,
}

impl Placements {
    /// The ids of the boundaries placed, in order.
    pub(crate) fn ids(&self) -> Vec<u32> {
        self.placed.iter().map(|placed| placed.id).collect()
    }
}

thread_local! {
    /// The render in progress on this thread: the key of the page it renders
    /// for, and what it placed so far. `None` when no engine render is in
    /// progress.
    static SCOPE: RefCell<Option<(usize, Placements)>> = const { RefCell::new(None) };
}

/// Runs `render` in a fresh scope and returns its result with what it did
/// with the boundaries of page `page_key`.
pub(crate) fn render_scoped<R>(page_key: usize, render: impl FnOnce() -> R) -> (R, Placements) {
    /// Restores the outer scope even if `render` panics.
    struct Restore(Option<(usize, Placements)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            SCOPE.with(|s| *s.borrow_mut() = outer);
        }
    }

    let outer = SCOPE.with(|s| s.borrow_mut().replace((page_key, Placements::default())));
    let restore = Restore(outer);
    let result = render();
    let placements = SCOPE.with(|s| s.borrow_mut().take());
    drop(restore);
    (result, placements.map(|(_, p)| p).unwrap_or_default())
}

/// What the render in progress has done so far, taken out of its scope
/// (which stays open, empty).
pub(crate) fn take() -> Placements {
    SCOPE.with(|s| {
        s.borrow_mut()
            .as_mut()
            .map(|(_, placements)| std::mem::take(placements))
            .unwrap_or_default()
    })
}

/// Puts what [`take`] took back into the scope (a render that is about to
/// panic leaves it there for whoever catches the panic).
pub(crate) fn put_back(placements: Placements) {
    SCOPE.with(|s| {
        if let Some((_, scoped)) = s.borrow_mut().as_mut() {
            *scoped = placements;
        }
    });
}

/// Records that a boundary of page `page_key` is being written. Returns
/// false when no render of that page is in progress (the boundary was
/// displayed some other way, or inside another page), so its placeholder
/// would never be tracked and must not be written.
pub(crate) fn place(page_key: usize, placed: Placed) -> bool {
    SCOPE.with(|s| match s.borrow_mut().as_mut() {
        Some((key, placements)) if *key == page_key => {
            placements.placed.push(placed);
            true
        }
        _ => false,
    })
}

/// Records a misuse of boundary `label` of page `page_key`, if a render of that
/// page is in progress; returns whether one is.
pub(crate) fn misuse(page_key: usize, label: Label, how: Misplaced) -> bool {
    // `try_with`: a handle may be dropped while the thread's locals are.
    SCOPE
        .try_with(|s| match s.borrow_mut().as_mut() {
            Some((key, placements)) if *key == page_key => {
                placements.misused.push((label, how));
                true
            }
            _ => false,
        })
        .unwrap_or(false)
}
