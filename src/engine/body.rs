//! The body of a streamed page: a `Stream` of chunks that runs the page's
//! boundaries and decides what may be sent when.
//!
//! The boundary futures live inside this stream (in a `FuturesUnordered`),
//! not in spawned tasks: they run when hyper polls the body, so a slow
//! reader slows the page (hyper polls only when it can write), and when the
//! client goes away hyper drops the body and every boundary with it. Nothing
//! outlives the response.
//!
//! Ordering rules, per poll:
//!
//! - The shell goes first, alone, before any boundary is polled.
//! - Every boundary that has resolved by the time the stream is polled goes
//!   into one chunk (one network write), in completion order, with one
//!   instruction script at the end.
//! - A boundary's content is sent only once its placeholder has been sent
//!   (in the shell, or in its parent's content). A child that resolves before
//!   its parent waits, and goes out right after the parent in the same chunk.
//! - The shell's `</body></html>` goes out with the last fragment.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::{AbortHandle, Aborted};
use futures::stream::{FuturesUnordered, Stream, StreamExt};

use super::boundary::Resolved;
use super::page::{PageShared, Task};
use super::stats::{Gauge, LiveGuard};
use super::wire;

type Running =
    FuturesUnordered<futures::future::Abortable<futures::future::BoxFuture<'static, Resolved>>>;

pub(crate) struct PageBody {
    shared: Arc<PageShared>,
    /// The shell up to `</body>`: the first chunk.
    head: Option<String>,
    /// `</body></html>`: sent with the last fragment.
    tail: String,
    running: Running,
    /// Abort handles of the boundaries in `running`, by id.
    aborts: HashMap<u32, AbortHandle>,
    /// Boundaries whose placeholder is on the wire (or in the chunk being built).
    sent: HashSet<u32>,
    /// Resolved boundaries whose placeholder is not on the wire yet.
    waiting: HashMap<u32, Resolved>,
    /// Boundaries still to be sent (neither sent nor orphaned).
    open: usize,
    /// The swap function has been sent in this response.
    runtime_sent: bool,
    /// The last byte has been produced.
    done: bool,
    _live: LiveGuard,
}

impl PageBody {
    pub(crate) fn new(
        shared: Arc<PageShared>,
        head: String,
        tail: String,
        placed: Vec<u32>,
    ) -> Self {
        let live = LiveGuard::new(shared.engine.stats_arc().clone(), Gauge::Streams);
        PageBody {
            shared,
            head: Some(head),
            tail,
            running: FuturesUnordered::new(),
            aborts: HashMap::new(),
            sent: placed.into_iter().collect(),
            waiting: HashMap::new(),
            open: 0,
            runtime_sent: false,
            done: false,
            _live: live,
        }
    }

    /// Takes over boundaries created since the last poll and forgets the
    /// orphaned ones.
    fn absorb(&mut self, cx: &Context<'_>) {
        let (tasks, orphans) = self.shared.take_updates(cx.waker());
        for Task { id, future, abort } in tasks {
            self.open += 1;
            self.aborts.insert(id, abort);
            self.running.push(future);
        }
        for id in orphans {
            self.orphan(id);
        }
    }

    /// A boundary nothing will show: stop running it and stop waiting for it
    /// and for the boundaries its content holds.
    fn orphan(&mut self, id: u32) {
        if let Some(abort) = self.aborts.remove(&id) {
            abort.abort();
            self.open -= 1;
        } else if let Some(resolved) = self.waiting.remove(&id) {
            self.open -= 1;
            for child in resolved.children.into_iter().chain(resolved.discarded) {
                self.orphan(child);
            }
        }
    }

    fn on_resolved(&mut self, resolved: Resolved, out: &mut String, ready: &mut Vec<u32>) {
        self.aborts.remove(&resolved.id);
        for id in &resolved.discarded {
            self.orphan(*id);
        }
        if self.sent.contains(&resolved.id) {
            self.emit(resolved, out, ready);
        } else {
            self.waiting.insert(resolved.id, resolved);
        }
    }

    fn emit(&mut self, resolved: Resolved, out: &mut String, ready: &mut Vec<u32>) {
        wire::push_fragment(out, resolved.id, &resolved.html);
        ready.push(resolved.id);
        self.open -= 1;
        for child in resolved.children {
            self.sent.insert(child);
            if let Some(waiting) = self.waiting.remove(&child) {
                self.emit(waiting, out, ready);
            }
        }
    }
}

impl Stream for PageBody {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if let Some(mut head) = this.head.take() {
            this.absorb(cx);
            if this.open == 0 {
                // Nothing suspended: the whole page in one chunk.
                head.push_str(&this.tail);
                this.finish();
            }
            return Poll::Ready(Some(Ok(Bytes::from(head))));
        }

        let mut out = String::new();
        let mut ready = Vec::new();
        loop {
            this.absorb(cx);
            match this.running.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(resolved))) => this.on_resolved(resolved, &mut out, &mut ready),
                Poll::Ready(Some(Err(Aborted))) => {}
                // Empty, or everything pending: done for this poll unless a
                // boundary was created or orphaned meanwhile (a parent's
                // future made a child), which must be taken in too.
                Poll::Ready(None) | Poll::Pending => {
                    if !this.shared.has_updates() {
                        break;
                    }
                }
            }
        }

        if !ready.is_empty() {
            wire::push_instructions(&mut out, &ready, !this.runtime_sent);
            this.runtime_sent = true;
        }
        if this.open == 0 {
            out.push_str(&std::mem::take(&mut this.tail));
            this.finish();
        }
        if out.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(Some(Ok(Bytes::from(out))))
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}

impl PageBody {
    /// The last byte is out: drop whatever still runs (orphans) at once.
    fn finish(&mut self) {
        self.done = true;
        self.running = FuturesUnordered::new();
        self.aborts.clear();
        self.waiting.clear();
        self.shared.close();
    }
}

impl Drop for PageBody {
    fn drop(&mut self) {
        if !self.done {
            self.shared.engine.stats().record_abandoned();
            tracing::debug!(
                open = self.open,
                "page stream dropped before its end (client gone)"
            );
        }
        // Boundaries created but never taken over would otherwise keep the
        // page (and themselves) alive through the page's shared state.
        self.shared.close();
    }
}
