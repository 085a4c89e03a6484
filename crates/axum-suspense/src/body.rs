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
//!   into one chunk (one network write), in completion order, the runtime
//!   before the first one; up to `CHUNK_BYTES`, past which the rest waits for
//!   the next poll (backpressure).
//! - A boundary's content is sent only once its placeholder has been sent
//!   (in the shell, or in its parent's content). A child that resolves before
//!   its parent waits, and goes out right after the parent in the same chunk.
//! - The shell's `</body></html>` goes out with the last fragment.
//! - A member of a reveal group (`group.rs`) is held back, once ready, until
//!   its group lets it go: after the members before it (forwards), or with
//!   every other member (together). Its failure or timeout content counts
//!   as its part, so a failed member releases those waiting on it. Members
//!   that wait on each other in a cycle (across groups, through where
//!   their placeholders are) are let go one at a time, out of turn, rather
//!   than hold the page for ever; groups are released only once the
//!   boundaries made by the parts just ended are taken over.
//! - With a batching window (`PageBuilder::batch`), what is ready is held
//!   until the window after the first of it has passed, then sent in one
//!   chunk (the page's end at once).
//!
//! Time limits are the body's too: one timer per page, set for the earliest
//! of the page's deadline and its running boundaries' timeouts, and one
//! listener on the page's abort (not a timer and a listener per boundary:
//! registering and removing those was a tenth of a boundary's cost). A
//! boundary that times out, or every running one when the page is aborted,
//! is ended by the body with its timeout content, after the running
//! boundaries were polled: data that is ready wins over a timeout.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::{AbortHandle, Aborted};
use futures::stream::{FuturesUnordered, Stream, StreamExt};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::group::{Groups, Member};
use crate::label::Label;
use crate::resolve::{FailureContent, Resolved};
use crate::shared::PageShared;
use crate::stats::{Gauge, LiveGuard, Outcome};
use crate::wire;

/// A chunk stops taking in resolved boundaries past this size, so a page
/// whose boundaries all resolve while the client is not reading does not pile
/// up in memory: each further boundary is finished only when hyper polls for
/// more.
const CHUNK_BYTES: usize = 64 * 1024;

/// Spare capacity a chunk may keep; past it the chunk is shrunk to fit.
const CHUNK_SLACK_BYTES: usize = 4 * 1024;

type Running =
    FuturesUnordered<futures::future::Abortable<futures::future::BoxFuture<'static, Resolved>>>;

pub(crate) struct PageBody {
    shared: Arc<PageShared>,
    order: Order,
    running: Running,
    /// What is known of each boundary, indexed by id (ids are dense per page,
    /// so a Vec is smaller and faster than maps).
    slots: Vec<Slot>,
    /// Boundaries still to be sent (neither sent nor orphaned).
    open: usize,
    /// The last byte has been produced.
    done: bool,
    /// A chunk has left (in stream mode the shell always goes first).
    first_sent: bool,
    /// The shell has just been handed over and the parts not yet polled:
    /// the next poll yields once, so that hyper writes the shell before the
    /// parts' futures first run (whatever that first poll does: register
    /// timers, which on a multi-threaded runtime wakes the I/O driver's
    /// thread, start I/O, or work synchronously). One more poll a page.
    shell_in_flight: bool,
    /// When the page must end, if ever.
    deadline: Option<Instant>,
    /// One timer for the page, not one per boundary: set, whenever the body
    /// is about to wait, for the earliest of the page's deadline and its
    /// running boundaries' timeouts. Made the first time the body waits, so
    /// a page that ends without waiting never registers one.
    timer: Option<Pin<Box<Sleep>>>,
    /// Wakes the body when the page is aborted ([`Page::abort`](crate::Page::abort),
    /// [`Engine::abort_all`](crate::Engine::abort_all)); made with the timer.
    abort_listener: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
    /// The span current when the page was made (a request's, under
    /// tower-http's `TraceLayer`): the parent of the event logged if the
    /// client leaves, since a body is dropped outside any span.
    span: tracing::Span,
    /// The page's reveal groups and their members (stream mode).
    groups: Groups,
    /// The batching window, in stream mode; what it holds; and until when.
    batch: Option<Duration>,
    batched: String,
    batch_until: Option<Instant>,
    _live: LiveGuard,
}

/// How the boundaries' content is put in the document.
enum Order {
    /// Stream mode: fragments in completion order, put in place by the
    /// browser's parser or the runtime.
    Completion {
        /// The shell up to `</body>`: the first chunk.
        head: Option<String>,
        /// `</body></html>`: sent with the last fragment.
        tail: String,
        /// The runtime is in this response (inline, or linked by the shell).
        runtime_sent: bool,
        /// The page's CSP nonce, which every script carries.
        nonce: String,
    },
    /// In-order and buffered modes: the document is written front to back,
    /// each marker replaced by its boundary's content (which may hold
    /// markers of its own) once that has resolved.
    Document {
        /// What is left to write: the shell, then the content of each
        /// boundary being written, innermost last, each with how far it has
        /// been written.
        stack: Vec<(String, usize)>,
        /// What this page's markers start with.
        prefix: String,
        /// Buffered mode: everything is held here and sent at the end.
        held: Option<String>,
    },
}

#[derive(Default)]
struct Slot {
    /// Its name, if it has one (for logs and the wire).
    name: Option<&'static str>,
    /// Set while the boundary's future is in `running`.
    abort: Option<AbortHandle>,
    /// When it times out, and after how long (for the log), if it may.
    timeout: Option<(Instant, Duration)>,
    /// What it shows if it fails or times out; taken when it ends.
    failure: FailureContent,
    /// Its placeholder is on the wire (or in the chunk being built).
    sent: bool,
    /// Resolved, waiting for its placeholder to be sent.
    waiting: Option<Resolved>,
    /// The boundary whose content held its placeholder, if nested.
    parent: Option<u32>,
    /// A member of a reveal group: once ready, it goes when its group
    /// lets it (see `release`).
    grouped: bool,
    /// The part whose content holds its placeholder, once that part has
    /// ended (kept only on pages with groups: `group.rs` needs it).
    held_by: Option<u32>,
}

impl PageBody {
    /// A body for the stream mode: `head` (the shell up to its `</body>`)
    /// first, then the fragments, then `tail`; `placed` are the boundaries
    /// whose placeholders the shell holds; `runtime_linked`: the head links
    /// the runtime, so the fragments need not carry it.
    pub(crate) fn streaming(
        shared: Arc<PageShared>,
        head: String,
        tail: String,
        placed: Vec<u32>,
        nonce: String,
        runtime_linked: bool,
    ) -> Self {
        let order = Order::Completion {
            head: Some(head),
            tail,
            runtime_sent: runtime_linked,
            nonce,
        };
        let batch = shared.batch;
        let mut body = Self::with_order(shared, order);
        body.batch = batch;
        for id in placed {
            body.slot(id).sent = true;
        }
        body
    }

    /// A body for the in-order (`buffered: false`) or buffered mode; `html`
    /// is the whole shell, markers in place of its boundaries.
    pub(crate) fn in_document_order(shared: Arc<PageShared>, html: String, buffered: bool) -> Self {
        let order = Order::Document {
            stack: vec![(html, 0)],
            prefix: wire::marker_prefix(shared.nonce),
            held: buffered.then(String::new),
        };
        Self::with_order(shared, order)
    }

    fn with_order(shared: Arc<PageShared>, order: Order) -> Self {
        PageBody {
            _live: LiveGuard::new(shared.engine.inner.stats.clone(), Gauge::Streams),
            deadline: shared.deadline_at(),
            timer: None,
            abort_listener: None,
            groups: Groups::default(),
            batch: None,
            batched: String::new(),
            batch_until: None,
            shared,
            order,
            running: FuturesUnordered::new(),
            slots: Vec::new(),
            open: 0,
            done: false,
            first_sent: false,
            shell_in_flight: false,
            span: tracing::Span::current(),
        }
    }

    /// Ends what is due: every running boundary if the page has been aborted
    /// or its deadline has passed (the deadline aborts the page), else those
    /// whose timeout has passed, each with its timeout content. Runs after
    /// the running boundaries were polled: data that is ready wins over a
    /// timeout in the same poll.
    fn expire(&mut self, cx: &mut Context<'_>, out: &mut String) {
        let fired = self
            .timer
            .as_mut()
            .is_some_and(|timer| timer.as_mut().poll(cx).is_ready());
        let mut aborted = self.shared.aborted.is_cancelled();
        if !fired && !aborted {
            return;
        }
        let now = Instant::now();
        if !aborted && self.deadline.is_some_and(|at| at <= now) {
            tracing::warn!(
                pending = self.open,
                "page deadline passed; its pending boundaries end with their timeout content"
            );
            self.shared.aborted.cancel();
            aborted = true;
        }
        for id in 0..self.slots.len() {
            let slot = &self.slots[id];
            let due =
                slot.abort.is_some() && (aborted || slot.timeout.is_some_and(|(at, _)| at <= now));
            if due {
                self.time_out(id as u32, aborted, out);
            }
        }
    }

    /// Before the body waits: the page's timer set for what is due first,
    /// and the abort listener registered.
    fn arm(&mut self, cx: &mut Context<'_>) {
        let boundaries = self
            .slots
            .iter()
            .filter(|slot| slot.abort.is_some())
            .filter_map(|slot| slot.timeout.map(|(at, _)| at));
        let due = boundaries
            .chain(self.deadline)
            .chain(self.batch_until)
            .min();
        match (due, &mut self.timer) {
            (None, _) => self.timer = None,
            (Some(at), Some(timer)) => {
                if timer.deadline() != at {
                    timer.as_mut().reset(at);
                }
            }
            (Some(at), timer @ None) => *timer = Some(Box::pin(tokio::time::sleep_until(at))),
        }
        let listener = self
            .abort_listener
            .get_or_insert_with(|| Box::pin(self.shared.aborted.clone().cancelled_owned()));
        let timer_ready = self
            .timer
            .as_mut()
            .is_some_and(|timer| timer.as_mut().poll(cx).is_ready());
        if listener.as_mut().poll(cx).is_ready() || timer_ready {
            // Already due: come straight back and end what is.
            cx.waker().wake_by_ref();
        }
    }

    /// Ends running boundary `id` with its timeout content: the page was
    /// aborted (`aborted`), or its own timeout passed.
    fn time_out(&mut self, id: u32, aborted: bool, out: &mut String) {
        let slot = self.slot(id);
        let Some(abort) = slot.abort.take() else {
            return;
        };
        // Its future is dropped the next time the running set is polled.
        abort.abort();
        let label = Label {
            id,
            name: slot.name,
        };
        let after = if aborted {
            None
        } else {
            slot.timeout.map(|(_, after)| after)
        };
        let html = std::mem::take(&mut slot.failure).timeout(after);
        if aborted {
            tracing::debug!(
                boundary = %label,
                "page aborted (deadline or shutdown); timeout content shown"
            );
        } else {
            tracing::warn!(boundary = %label, timeout = ?after, "boundary timed out");
        }
        self.stats().record(Outcome::TimedOut);
        let at = self.shared.started.elapsed();
        tracing::debug!(
            boundary = %label,
            outcome = Outcome::TimedOut.as_str(),
            at_ms = at.as_secs_f64() * 1000.0,
            "boundary ended"
        );
        let resolved = Resolved {
            id,
            html,
            children: Vec::new(),
            discarded: Vec::new(),
            outcome: Outcome::TimedOut,
            error: None,
            at,
        };
        self.settle(resolved, out);
    }

    fn slot(&mut self, id: u32) -> &mut Slot {
        let at = id as usize;
        if at >= self.slots.len() {
            self.slots.resize_with(at + 1, Slot::default);
        }
        &mut self.slots[at]
    }

    /// Takes over boundaries created since the last look and forgets the
    /// orphaned ones. Returns whether there was anything to take.
    fn absorb(&mut self, cx: &Context<'_>) -> bool {
        let (tasks, orphans) = self.shared.take_updates(cx.waker());
        let any = !tasks.is_empty() || !orphans.is_empty();
        // A boundary's timeout counts from when the body takes it over (in
        // the poll that sends the shell, or its parent's content).
        let now = tasks
            .iter()
            .any(|task| task.timeout.is_some())
            .then(Instant::now);
        // Groups order the stream mode; the other modes are in document
        // order already.
        let streaming = matches!(self.order, Order::Completion { .. });
        for task in tasks {
            self.open += 1;
            let slot = self.slot(task.label.id);
            slot.name = task.label.name;
            slot.abort = Some(task.abort);
            slot.timeout = now
                .zip(task.timeout)
                .map(|(now, after)| (now + after, after));
            slot.failure = task.failure;
            if let Some(group) = task.group
                && streaming
            {
                slot.grouped = true;
                self.groups.join(group, task.label.id);
            }
            self.running.push(task.future);
        }
        for id in orphans {
            self.orphan(id);
        }
        any
    }

    /// A boundary nothing will show: stop running it and stop waiting for it
    /// and for the boundaries its content holds.
    fn orphan(&mut self, id: u32) {
        let slot = self.slot(id);
        if let Some(abort) = slot.abort.take() {
            abort.abort();
            self.open -= 1;
        } else if let Some(resolved) = slot.waiting.take() {
            self.open -= 1;
            for child in resolved.children.into_iter().chain(resolved.discarded) {
                self.orphan(child);
            }
        }
    }

    fn on_resolved(&mut self, mut resolved: Resolved, out: &mut String) {
        // Through the page: a discarded boundary may not have been taken
        // over yet (it is then dropped from the queue).
        for id in &resolved.discarded {
            self.shared.orphan(*id);
        }
        let slot = self.slot(resolved.id);
        if slot.abort.take().is_none() {
            // Orphaned (or timed out) while its result was on the way:
            // nobody waits for it.
            return;
        }
        // Taken whatever the outcome: nothing needs it any more.
        let failure = std::mem::take(&mut slot.failure);
        if let Some(error) = resolved.error.take() {
            resolved.html = failure.error(&error);
        }
        self.settle(resolved, out);
    }

    /// A boundary that has ended (content, error or timeout content): sent
    /// now if its placeholder is out, else kept until it is.
    fn settle(&mut self, resolved: Resolved, out: &mut String) {
        if !self.groups.is_empty() {
            for &child in &resolved.children {
                self.slot(child).held_by = Some(resolved.id);
            }
        }
        let in_document_order = matches!(self.order, Order::Document { .. });
        let slot = self.slot(resolved.id);
        if in_document_order {
            // Written when the document gets to its marker.
            slot.waiting = Some(resolved);
        } else if slot.sent && !slot.grouped {
            self.emit(resolved, out);
        } else {
            slot.waiting = Some(resolved);
        }
    }

    fn stats(&self) -> &crate::stats::Stats {
        self.shared.engine.stats()
    }

    fn emit(&mut self, resolved: Resolved, out: &mut String) {
        self.stats().record_fragment(self.shared.started.elapsed());
        if let Order::Completion {
            runtime_sent,
            nonce,
            ..
        } = &mut self.order
            && !*runtime_sent
        {
            // The first fragment of the response: the runtime goes first
            // (room for it and the fragment at once: the runtime alone is
            // about 1 KB, which a growing String would copy on the way).
            out.reserve(wire::runtime().len() + nonce.len() + resolved.html.len() + 128);
            wire::push_runtime(out, nonce);
            *runtime_sent = true;
        }
        // Room for the fragment, its template tags and its timing.
        out.reserve(resolved.html.len() + 64);
        let slot = self.slot(resolved.id);
        let swap = wire::Swap {
            id: resolved.id,
            at: resolved.at,
            outcome: resolved.outcome,
            parent: slot.parent,
            name: slot.name,
        };
        wire::push_fragment(out, &swap, &resolved.html);
        self.open -= 1;
        for child in resolved.children {
            let slot = self.slot(child);
            slot.sent = true;
            slot.parent = Some(resolved.id);
            // A group's member waits for its group (`release`).
            if !slot.grouped
                && let Some(waiting) = slot.waiting.take()
            {
                self.emit(waiting, out);
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
        if let Some(shell) = this.take_shell(cx) {
            return Poll::Ready(Some(Ok(Bytes::from(shell))));
        }
        if std::mem::take(&mut this.shell_in_flight) {
            // hyper writes what it holds when the body is pending; the wake
            // brings it straight back here.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let mut out = String::new();
        this.run_boundaries(cx, &mut out);
        this.expire(cx, &mut out);
        this.release(&mut out);
        let finished = this.write_what_is_due(&mut out);
        if finished {
            this.finish();
        }
        this.hold_for_batch(&mut out, finished);
        if out.is_empty() {
            if finished {
                Poll::Ready(None)
            } else {
                this.arm(cx);
                Poll::Pending
            }
        } else {
            Poll::Ready(Some(Ok(this.chunk(out))))
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}

impl PageBody {
    /// Stream mode, first poll: the shell's head, alone (with its tail, the
    /// whole page, if nothing is pending).
    fn take_shell(&mut self, cx: &Context<'_>) -> Option<String> {
        let Order::Completion { head, .. } = &mut self.order else {
            return None;
        };
        let mut head = head.take()?;
        self.absorb(cx);
        if self.open == 0 {
            // Nothing suspended: the whole page in one chunk.
            if let Order::Completion { tail, .. } = &self.order {
                head.push_str(tail);
            }
            self.finish();
        }
        self.first_sent = true;
        self.shell_in_flight = !self.done;
        self.stats().record_shell(self.shared.started.elapsed());
        Some(head)
    }

    /// Polls the running boundaries and takes in what has resolved, up to a
    /// chunk's worth; and the boundaries made meanwhile, which are polled
    /// too.
    fn run_boundaries(&mut self, cx: &mut Context<'_>, out: &mut String) {
        loop {
            match self.running.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(resolved))) => {
                    self.on_resolved(resolved, out);
                    if out.len() >= CHUNK_BYTES {
                        // Enough for one write: the rest is taken (and
                        // resolved) when hyper asks again, that is when the
                        // client has taken these bytes. What the parts
                        // made is taken over now all the same: a group is
                        // released next, and must know all its members (a
                        // together group would otherwise go without one
                        // that its member just made).
                        self.absorb(cx);
                        return;
                    }
                }
                Poll::Ready(Some(Err(Aborted))) => {}
                // Empty, or everything pending: done for this poll unless a
                // boundary was created or orphaned since the last look (a
                // parent's future made a child), which must be polled too.
                Poll::Ready(None) | Poll::Pending => {
                    if !self.absorb(cx) {
                        return;
                    }
                }
            }
        }
    }

    /// Sends the group members whose turn has come (and whose placeholder
    /// is out), until no more can go: one going out can let the next go,
    /// or bring a member's placeholder.
    fn release(&mut self, out: &mut String) {
        if self.groups.is_empty() {
            return;
        }
        let mut ids = Vec::new();
        loop {
            ids.clear();
            let slots = &self.slots;
            self.groups.releasable(|id| member(slots, id), &mut ids);
            let mut sent = false;
            for &id in &ids {
                let slot = self.slot(id);
                if slot.sent
                    && let Some(waiting) = slot.waiting.take()
                {
                    self.emit(waiting, out);
                    sent = true;
                }
            }
            if sent {
                continue;
            }
            // Nothing could go: members waiting on each other in a cycle
            // (across groups, through where their placeholders are) would
            // hold the page for ever; one of them goes out of turn.
            let slots = &self.slots;
            let Some(id) = self.groups.deadlocked(|id| member(slots, id), slots.len()) else {
                return;
            };
            let slot = self.slot(id);
            tracing::warn!(
                boundary = %Label { id, name: slot.name },
                "reveal groups wait on each other (a member's placeholder is in the \
                 content of a member held for another group): it goes out of turn"
            );
            // `deadlocked` names a member whose placeholder is out and
            // whose part is held.
            if let Some(waiting) = slot.waiting.take() {
                self.emit(waiting, out);
            } else {
                return;
            }
        }
    }

    /// With a batching window: holds what is ready until the window after
    /// the first of it has passed (or a chunk's worth is held, or the page
    /// is complete), then lets it all out at once.
    fn hold_for_batch(&mut self, out: &mut String, finished: bool) {
        let Some(window) = self.batch else {
            return;
        };
        if out.is_empty() && self.batched.is_empty() {
            return;
        }
        let now = Instant::now();
        if self.batched.is_empty() {
            if finished {
                return;
            }
            self.batch_until = Some(now + window);
        }
        self.batched.push_str(out);
        out.clear();
        let due = finished
            || self.batched.len() >= CHUNK_BYTES
            || self.batch_until.is_some_and(|at| at <= now);
        if due {
            *out = std::mem::take(&mut self.batched);
            self.batch_until = None;
        }
    }

    /// What the mode lets out now: in stream mode the fragments are in
    /// `out` already, and the tail goes with the last; in document order,
    /// as much of the document as is ready. Returns whether the page is
    /// complete.
    fn write_what_is_due(&mut self, out: &mut String) -> bool {
        match &mut self.order {
            Order::Completion { tail, .. } => {
                if self.open == 0 {
                    out.push_str(&std::mem::take(tail));
                }
                self.open == 0
            }
            Order::Document {
                stack,
                prefix,
                held,
            } => {
                let written = write_in_order(stack, prefix, &mut self.slots, out);
                let finished = stack.is_empty();
                let at = self.shared.started.elapsed();
                for _ in 0..written {
                    self.shared.engine.stats().record_fragment(at);
                }
                if let Some(held) = held {
                    held.push_str(out);
                    *out = if finished {
                        std::mem::take(held)
                    } else {
                        String::new()
                    };
                }
                finished
            }
        }
    }

    /// A chunk ready to leave.
    fn chunk(&mut self, mut out: String) -> Bytes {
        if !self.first_sent {
            // In-order and buffered modes: the first bytes out.
            self.first_sent = true;
            self.stats().record_shell(self.shared.started.elapsed());
        }
        // A chunk is held until the client takes it (a stalled client: for
        // good), so it keeps no spare capacity worth having: the String's
        // doubling can leave as much spare as content. (The shrink is in
        // place: the allocator splits the block.)
        if out.capacity() - out.len() > CHUNK_SLACK_BYTES {
            out.shrink_to_fit();
        }
        Bytes::from(out)
    }
}

/// Where boundary `id` is, as its reveal group sees it.
fn member(slots: &[Slot], id: u32) -> Member {
    match slots.get(id as usize) {
        Some(slot) if slot.abort.is_some() => Member::Running,
        Some(slot) if slot.waiting.is_some() => Member::Ready {
            sent: slot.sent,
            inside: slot.held_by,
        },
        _ => Member::Gone,
    }
}

/// Writes the document front to back as far as it can: text up to the next
/// marker, then, if that boundary has resolved, its content in place (and
/// into it, for its own markers); stops at the first boundary not ready.
/// Returns how many boundaries it wrote.
fn write_in_order(
    stack: &mut Vec<(String, usize)>,
    prefix: &str,
    slots: &mut [Slot],
    out: &mut String,
) -> usize {
    let mut written = 0;
    while let Some((text, at)) = stack.last_mut() {
        match wire::find_marker(text, *at, prefix) {
            None => {
                out.push_str(&text[*at..]);
                stack.pop();
            }
            Some((start, end, id)) => {
                out.push_str(&text[*at..start]);
                *at = start;
                let Some(resolved) = slots
                    .get_mut(id as usize)
                    .and_then(|slot| slot.waiting.take())
                else {
                    return written;
                };
                *at = end;
                written += 1;
                stack.push((resolved.html, 0));
            }
        }
    }
    written
}

impl PageBody {
    /// The last byte is out: drop whatever still runs (orphans) at once.
    fn finish(&mut self) {
        self.done = true;
        // (`clear` makes a new set: two allocations, for a page whose
        // boundaries have all ended, as most have, for nothing.)
        if !self.running.is_empty() {
            self.running.clear();
        }
        self.slots = Vec::new();
        self.timer = None;
        self.abort_listener = None;
        self.shared.close();
    }
}

impl Drop for PageBody {
    fn drop(&mut self) {
        if !self.done {
            self.shared.engine.stats().record_disconnect();
            tracing::debug!(
                parent: &self.span,
                open = self.open,
                "page stream dropped before its end (client gone)"
            );
            // Boundaries created but never taken over would otherwise keep
            // the page (and themselves) alive through its shared state.
            // (`finish` has already done this for a page that ended.)
            self.shared.close();
        }
    }
}
