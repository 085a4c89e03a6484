//! The state a page shares with its body stream: one [`PageShared`] behind
//! an `Arc`, held by the [`Page`](crate::Page) handles, by every
//! [`Boundary`](crate::Boundary) and by the body, and defined only here.
//!
//! Handles write to it (a boundary is registered, a handle is dropped
//! unrendered); the body reads it (takes the new boundaries, forgets the
//! orphaned ones) and closes it when it ends or is dropped, after which new
//! boundaries are dropped at once.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::http::Uri;
use futures::task::AtomicWaker;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::mode::RenderMode;
use crate::resolve::{RenderFor, Task};
use crate::wire;

/// What a page's handles share with its body stream.
#[derive(Debug)]
pub(crate) struct PageShared {
    pub(crate) engine: Engine,
    /// A std Mutex, not a tokio one: it is held only to move a few items in
    /// or out, never across an await, and never while user code runs.
    state: Mutex<PageState>,
    /// The id of the next boundary: ids are dense per page (the body stream
    /// indexes its slots by them).
    next_id: AtomicU32,
    /// The next [`RevealGroup`](crate::RevealGroup)'s id: dense, from 0.
    next_group: AtomicU32,
    /// The body stream's waker, so a boundary created or orphaned outside
    /// the stream's own poll still gets noticed.
    waker: AtomicWaker,
    /// When the page was made (for a page taken from a request: when its
    /// handler started). Boundaries' resolution times count from here.
    pub(crate) started: Instant,
    /// How the page is sent: fixed when it is built, like the three below
    /// (a page has no setters, so a clone in a boundary's future cannot
    /// change it while it streams).
    pub(crate) mode: RenderMode,
    /// Send the timing overlay with the page.
    pub(crate) debug: bool,
    /// The request came from a browser that patches natively (see
    /// `native.rs`); false for a page not made from a request.
    pub(crate) native: bool,
    /// How long the page may stream, from `started`.
    pub(crate) deadline: Option<Duration>,
    /// The batching window ([`PageBuilder::batch`](crate::PageBuilder::batch)).
    pub(crate) batch: Option<Duration>,
    /// Makes this page's in-order and buffered markers its own (see
    /// `wire::write_marker`).
    pub(crate) nonce: u64,
    /// The page's random secret, whose base64 is its CSP nonce.
    pub(crate) secret: [u8; 16],
    /// Cancelled when the page is aborted ([`Page::abort`](crate::Page::abort),
    /// its deadline, [`Engine::abort_all`]): every pending boundary then
    /// ends with its timeout content.
    pub(crate) aborted: CancellationToken,
}

#[derive(Default)]
struct PageState {
    /// Boundaries created but not yet taken over by the body stream.
    queued: Vec<Task>,
    /// Boundaries taken over by the stream whose handle was dropped without
    /// being rendered: nothing will ever show them, so the stream stops
    /// waiting for them.
    orphans: Vec<u32>,
    /// The body is gone (or was never made): new boundaries are dropped.
    closed: bool,
    /// Where a browser without JavaScript goes for the in-order page. Taken
    /// when the page is streamed: a clone of the request's URI shares the
    /// request's read buffer, which must not live as long as the stream.
    request_uri: Option<Uri>,
}

impl std::fmt::Debug for PageState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageState")
            .field("queued", &self.queued.len())
            .field("orphans", &self.orphans)
            .field("closed", &self.closed)
            .finish()
    }
}

/// What a page is, decided before its first boundary exists (by
/// [`PageBuilder`](crate::PageBuilder), or the extractor).
#[derive(Debug, Clone)]
pub(crate) struct PageOptions {
    pub(crate) mode: RenderMode,
    pub(crate) debug: bool,
    pub(crate) native: bool,
    pub(crate) deadline: Option<Duration>,
    pub(crate) request_uri: Option<Uri>,
    pub(crate) started: Instant,
    /// Parts ready within this long of the first share a chunk.
    pub(crate) batch: Option<Duration>,
}

impl PageShared {
    /// A fresh page's state on `engine`.
    pub(crate) fn new(engine: &Engine, options: PageOptions) -> Self {
        let secret = crate::csp::page_secret();
        PageShared {
            engine: engine.clone(),
            state: Mutex::new(PageState {
                request_uri: options.request_uri,
                ..PageState::default()
            }),
            next_id: AtomicU32::new(0),
            next_group: AtomicU32::new(0),
            waker: AtomicWaker::new(),
            started: options.started,
            mode: options.mode,
            debug: options.debug,
            native: options.native,
            deadline: options.deadline,
            batch: options.batch,
            nonce: wire::marker_nonce(&secret),
            secret,
            aborted: engine.inner.abort_all.child_token(),
        }
    }

    /// Identifies this page in render scopes.
    pub(crate) fn key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    fn lock(&self) -> MutexGuard<'_, PageState> {
        // A poisoned lock means a panic while moving items in or out; the
        // state is still consistent (each step is a push or a take).
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What rendering for this page needs to know.
    pub(crate) fn render_for(&self) -> RenderFor {
        RenderFor {
            key: self.key(),
            mode: self.mode,
            nonce: self.nonce,
            refuse_misplaced: self.engine.settings().refuse_misplaced,
        }
    }

    /// When the page must end, if ever.
    pub(crate) fn deadline_at(&self) -> Option<Instant> {
        self.deadline.map(|after| self.started + after)
    }

    pub(crate) fn take_request_uri(&self) -> Option<Uri> {
        self.lock().request_uri.take()
    }

    pub(crate) fn next_group(&self) -> u32 {
        self.next_group.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn next_id(&self) -> u32 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn register(&self, task: Task) {
        let mut state = self.lock();
        if state.closed {
            drop(state);
            // Dropped outside the lock: dropping a future may drop handles
            // that lock this page again.
            drop(task);
            return;
        }
        state.queued.push(task);
        drop(state);
        self.waker.wake();
    }

    /// A handle was dropped without ever being rendered.
    pub(crate) fn orphan(&self, id: u32) {
        let mut state = self.lock();
        let unqueued = state
            .queued
            .iter()
            .position(|t| t.label.id == id)
            .map(|at| state.queued.swap_remove(at));
        if unqueued.is_none() && !state.closed {
            state.orphans.push(id);
        }
        drop(state);
        drop(unqueued);
        self.waker.wake();
    }

    /// Hands the stream what happened since it last looked. Registers the
    /// stream's waker first, so nothing that happens after is missed.
    pub(crate) fn take_updates(&self, waker: &std::task::Waker) -> (Vec<Task>, Vec<u32>) {
        self.waker.register(waker);
        let mut state = self.lock();
        (
            std::mem::take(&mut state.queued),
            std::mem::take(&mut state.orphans),
        )
    }

    /// No stream will ever take these boundaries: drop them all.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        let queued = std::mem::take(&mut state.queued);
        state.orphans.clear();
        drop(state);
        drop(queued);
    }
}
