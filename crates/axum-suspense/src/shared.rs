//! The state a page shares with its body stream: one [`PageShared`] behind
//! an `Arc`, held by the [`Page`](crate::Page) handles, by every
//! [`Boundary`](crate::Boundary) and by the body, and defined only here.
//!
//! Handles write to it (a boundary is registered, a handle is dropped
//! unrendered); the body reads it (takes the new boundaries, forgets the
//! orphaned ones) and closes it when it ends or is dropped, after which new
//! boundaries are dropped at once.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::Uri;
use futures::future::{AbortHandle, Abortable, BoxFuture};
use futures::task::AtomicWaker;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::mode::RenderMode;
use crate::resolve::{FailureContent, Resolved};
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
    /// The body stream's waker, so a boundary created or orphaned outside
    /// the stream's own poll still gets noticed.
    waker: AtomicWaker,
    /// When the page was made (for a page taken from a request: when its
    /// handler started). Boundaries' resolution times count from here.
    pub(crate) started: Instant,
    /// Send the timing overlay with the page.
    debug: AtomicBool,
    /// The request came from a browser that patches natively (see
    /// `native.rs`); false for a page not made from a request.
    native: AtomicBool,
    /// A [`RenderMode`] as its discriminant, which is its index in
    /// [`RenderMode::ALL`].
    mode: AtomicU8,
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
    /// How long the page may stream, from `started`.
    deadline: Option<Duration>,
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
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// A boundary's future, wrapped so it renders its own content and can be
/// aborted from its handle; with what the body needs to end it early: how
/// long it may take and what it shows when it fails or times out.
pub(crate) struct Task {
    pub(crate) id: u32,
    pub(crate) future: Abortable<BoxFuture<'static, Resolved>>,
    pub(crate) abort: AbortHandle,
    pub(crate) timeout: Option<Duration>,
    pub(crate) failure: FailureContent,
}

impl PageShared {
    /// A fresh page's state on `engine`, in stream mode.
    pub(crate) fn new(engine: &Engine) -> Self {
        let secret = wire::page_secret();
        PageShared {
            engine: engine.clone(),
            state: Mutex::new(PageState {
                deadline: engine.settings().page_deadline,
                ..PageState::default()
            }),
            next_id: AtomicU32::new(0),
            waker: AtomicWaker::new(),
            started: Instant::now(),
            debug: AtomicBool::new(false),
            native: AtomicBool::new(false),
            mode: AtomicU8::new(0),
            nonce: wire::marker_nonce(&secret),
            secret,
            aborted: engine.inner.abort_all.child_token(),
        }
    }

    /// Identifies this page in render scopes.
    pub(crate) fn key(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }

    fn lock(&self) -> MutexGuard<'_, PageState> {
        // A poisoned lock means a panic while moving items in or out; the
        // state is still consistent (each step is a push or a take).
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn mode(&self) -> RenderMode {
        RenderMode::ALL[usize::from(self.mode.load(Ordering::Relaxed))]
    }

    pub(crate) fn set_mode(&self, mode: RenderMode) {
        self.mode.store(mode as u8, Ordering::Relaxed);
    }

    pub(crate) fn set_debug(&self, on: bool) {
        self.debug.store(on, Ordering::Relaxed);
    }

    pub(crate) fn debug(&self) -> bool {
        self.debug.load(Ordering::Relaxed)
    }

    pub(crate) fn set_patches_natively(&self, on: bool) {
        self.native.store(on, Ordering::Relaxed);
    }

    pub(crate) fn patches_natively(&self) -> bool {
        self.native.load(Ordering::Relaxed)
    }

    pub(crate) fn set_deadline(&self, deadline: Option<Duration>) {
        self.lock().deadline = deadline;
    }

    /// When the page must end, if ever.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.lock().deadline.map(|after| self.started + after)
    }

    /// Keeps the first URI given.
    pub(crate) fn set_request_uri(&self, uri: Uri) {
        self.lock().request_uri.get_or_insert(uri);
    }

    pub(crate) fn take_request_uri(&self) -> Option<Uri> {
        self.lock().request_uri.take()
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
            .position(|t| t.id == id)
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
