//! Reveal order, decided on the server: a page's boundaries can join a
//! [`RevealGroup`], whose [`RevealOrder`] says when each member's part may
//! go out. The body (`body.rs`) holds a member's part back until its group
//! lets it go, so the order holds whoever applies the parts (the browser's
//! parser natively, the runtime's polyfill) and with JavaScript off.
//!
//! - [`RevealOrder::AsReady`]: each part as soon as it is ready (what a
//!   boundary outside any group does).
//! - [`RevealOrder::Forwards`]: in the order the members joined the group
//!   (create them in document order): a part waits for those before it.
//!   React's experimental `<SuspenseList revealOrder="forwards">`.
//! - [`RevealOrder::Together`]: every member's part in one chunk, once the
//!   last has ended.
//!
//! A member that fails, times out, or is left out of the page ends like any
//! part, and so releases those waiting on it: its error or timeout content
//! takes its turn. Members that wait on each other in a cycle, which only
//! a page that renders a member of one group in the content of a member of
//! another can make (see `Groups::deadlocked`), are let go one at a time,
//! out of turn: the page always ends. Groups order the stream mode; the in-order and buffered
//! modes write the document front to back, forwards already.
//!
//! `Groups` is the body's book of them: which members each has, in order,
//! and whether a member's turn has come.

use std::fmt;

use crate::page::Page;

/// When the parts of a [`RevealGroup`]'s members go out (stream mode).
/// Defaults to [`AsReady`](RevealOrder::AsReady).
///
/// ```
/// use axum_suspense::RevealOrder;
///
/// assert_eq!(RevealOrder::default(), RevealOrder::AsReady);
/// assert_eq!("forwards".parse(), Ok(RevealOrder::Forwards));
/// assert_eq!(RevealOrder::Together.as_str(), "together");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RevealOrder {
    /// Each part as soon as it is ready, as outside a group.
    #[default]
    AsReady,
    /// In the order the members joined the group: a part waits until every
    /// member before it has gone out (or failed, or timed out).
    Forwards,
    /// All together: the members' parts go out in one chunk once every
    /// member has ended (a member that fails or times out ends too).
    Together,
}

impl RevealOrder {
    /// The order's name: `as-ready`, `forwards` or `together` (as
    /// [`FromStr`](std::str::FromStr) reads it, for a query parameter).
    pub fn as_str(self) -> &'static str {
        match self {
            RevealOrder::AsReady => "as-ready",
            RevealOrder::Forwards => "forwards",
            RevealOrder::Together => "together",
        }
    }
}

impl fmt::Display for RevealOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a [`RevealOrder`]'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRevealOrder;

impl fmt::Display for UnknownRevealOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the reveal order is one of as-ready, forwards, together")
    }
}

impl std::error::Error for UnknownRevealOrder {}

impl std::str::FromStr for RevealOrder {
    type Err = UnknownRevealOrder;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "as-ready" => Ok(RevealOrder::AsReady),
            "forwards" => Ok(RevealOrder::Forwards),
            "together" => Ok(RevealOrder::Together),
            _ => Err(UnknownRevealOrder),
        }
    }
}

/// A group of a page's boundaries whose parts go out in the group's
/// [`RevealOrder`]. Made by [`Page::group`]; a boundary joins it with
/// [`BoundaryBuilder::group`](crate::BoundaryBuilder::group), in the order
/// it is made (for [`Forwards`](RevealOrder::Forwards), make them in
/// document order). Members may be nested in other boundaries; a member
/// made after a [`Together`](RevealOrder::Together) group has gone out goes
/// out on its own.
///
/// ```
/// use askama::Template;
/// use axum_suspense::{Boundary, Engine, RevealOrder, Text};
///
/// #[derive(Template)]
/// #[template(source = "<body>{% for card in cards %}{{ card }}{% endfor %}</body>", ext = "html")]
/// struct Shell { cards: Vec<Boundary> }
///
/// let page = Engine::new().page();
/// let row = page.group(RevealOrder::Forwards);
/// let cards = (0..3)
///     .map(|i| page.boundary(Text::new("…")).group(&row).suspend(async move {
///         Text::new(format!("card {i}"))
///     }))
///     .collect();
/// # drop(Shell { cards });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevealGroup {
    /// The page it belongs to (`PageShared::key`).
    pub(crate) page: usize,
    pub(crate) id: u32,
    pub(crate) order: RevealOrder,
}

impl RevealGroup {
    /// The group's order.
    pub fn order(&self) -> RevealOrder {
        self.order
    }
}

impl Page {
    /// A new group of this page's boundaries, revealed in `order` (stream
    /// mode); boundaries join it with
    /// [`BoundaryBuilder::group`](crate::BoundaryBuilder::group). See
    /// [`RevealGroup`].
    pub fn group(&self, order: RevealOrder) -> RevealGroup {
        RevealGroup {
            page: self.shared.key(),
            id: self.shared.next_group(),
            order,
        }
    }
}

/// The body's book of a page's groups.
#[derive(Default)]
pub(crate) struct Groups {
    groups: Vec<Book>,
    /// Each member's group, indexed by boundary id (`u32::MAX`: none).
    group_of: Vec<u32>,
}

/// One group: its order and its members, in the order they joined.
#[derive(Default)]
struct Book {
    order: RevealOrder,
    members: Vec<u32>,
}

/// Where a member is, as the body knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Member {
    /// Its future still runs.
    Running,
    /// Ended, its part held back: for its group, or (`sent: false`) until
    /// its placeholder is out, in the content of part `inside` if that has
    /// ended too.
    Ready { sent: bool, inside: Option<u32> },
    /// Sent, or left out of the page: it holds no one back.
    Gone,
}

impl Member {
    fn ready(self) -> bool {
        matches!(self, Member::Ready { .. })
    }
}

impl Groups {
    pub(crate) fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Boundary `id` joins group `group` (taken over by the body in the
    /// order the boundaries were made).
    pub(crate) fn join(&mut self, group: RevealGroup, id: u32) {
        let at = group.id as usize;
        if at >= self.groups.len() {
            self.groups.resize_with(at + 1, Book::default);
        }
        let book = &mut self.groups[at];
        book.order = group.order;
        book.members.push(id);
        if id as usize >= self.group_of.len() {
            self.group_of.resize(id as usize + 1, u32::MAX);
        }
        self.group_of[id as usize] = group.id;
    }

    /// The members whose part may go out now, in their group's order:
    /// `state` tells where each member is. A member that is ready is listed
    /// if its group lets it go (its placeholder is the caller's to check).
    ///
    /// In a forwards group, a ready member whose placeholder is in the
    /// content of a later member (a boundary made first, then rendered in
    /// another's content) does not hold that member back: it goes right
    /// after it (else neither could ever go).
    pub(crate) fn releasable(&self, state: impl Fn(u32) -> Member, out: &mut Vec<u32>) {
        for book in &self.groups {
            match book.order {
                RevealOrder::AsReady => {
                    out.extend(book.members.iter().copied().filter(|&id| state(id).ready()))
                }
                RevealOrder::Forwards => {
                    if let Some(id) = book.forwards_head(&state)
                        && state(id).ready()
                    {
                        out.push(id);
                    }
                }
                RevealOrder::Together => {
                    if book.members.iter().all(|&id| state(id) != Member::Running) {
                        out.extend(book.members.iter().copied().filter(|&id| state(id).ready()));
                    }
                }
            }
        }
    }

    /// A member to send out of its turn, when the page would otherwise
    /// never end: members that wait on each other in a cycle, through
    /// their groups and where their placeholders are. Forwards A, B and
    /// forwards C, D, with A's placeholder in D's content and C's in B's:
    /// B waits for A, whose placeholder waits for D, which waits for C,
    /// whose placeholder waits for B. Nothing that still runs can break
    /// such a cycle, so one member of it goes: the first, in the order of
    /// the groups and their members, whose placeholder is out (every
    /// cycle has one: placeholders alone nest as a tree). A member that
    /// waits for anything still running is never taken: its turn comes.
    ///
    /// Called only when [`releasable`](Self::releasable) let nothing go;
    /// `boundaries`: how many the page has (ids are below it).
    pub(crate) fn deadlocked(
        &self,
        state: impl Fn(u32) -> Member,
        boundaries: usize,
    ) -> Option<u32> {
        // Each step follows what one boundary waits for, never the same
        // twice but in a cycle: one through `id` returns to it within as
        // many steps as there are boundaries.
        let limit = boundaries + 1;
        for book in &self.groups {
            for &id in &book.members {
                if !matches!(state(id), Member::Ready { sent: true, .. }) {
                    continue;
                }
                let mut at = id;
                for _ in 0..limit {
                    match self.waits_for(at, &state) {
                        Some(next) if next == id => return Some(id),
                        Some(next) => at = next,
                        None => break,
                    }
                }
            }
        }
        None
    }

    /// Which member `id` waits for, if it waits for one that has ended:
    /// `None` when it waits for something still running (or for nothing).
    fn waits_for(&self, id: u32, state: &impl Fn(u32) -> Member) -> Option<u32> {
        match state(id) {
            // Its placeholder is in the content of part `holder`, which has
            // ended and is held itself.
            Member::Ready {
                sent: false,
                inside: Some(holder),
            } => state(holder).ready().then_some(holder),
            // Its placeholder is out: its group holds it.
            Member::Ready { sent: true, .. } => {
                let group = *self.group_of.get(id as usize)?;
                let book = self.groups.get(group as usize)?;
                match book.order {
                    RevealOrder::Forwards => book
                        .forwards_head(state)
                        .filter(|&head| head != id && state(head).ready()),
                    // Held only while a member runs.
                    RevealOrder::AsReady | RevealOrder::Together => None,
                }
            }
            Member::Ready { .. } | Member::Running | Member::Gone => None,
        }
    }
}

impl Book {
    /// A forwards group's head, the member whose turn it is: the first
    /// not gone, passing over one whose placeholder is in a later member's
    /// content (it goes right after that member, and must not hold it
    /// back, else neither could ever go). Those after it wait for it.
    fn forwards_head(&self, state: &impl Fn(u32) -> Member) -> Option<u32> {
        for (at, &id) in self.members.iter().enumerate() {
            match state(id) {
                Member::Gone => {}
                Member::Ready {
                    sent: false,
                    inside: Some(parent),
                } if self.members[at + 1..].contains(&parent) => {}
                _ => return Some(id),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn releasable(groups: &Groups, states: &[Member]) -> Vec<u32> {
        let mut out = Vec::new();
        groups.releasable(|id| states[id as usize], &mut out);
        out
    }

    fn group(id: u32, order: RevealOrder) -> RevealGroup {
        RevealGroup { page: 0, id, order }
    }

    #[test]
    fn forwards_waits_for_those_before_and_together_for_all() {
        use Member::*;
        #[allow(non_snake_case)]
        let Ready = Member::Ready {
            sent: true,
            inside: None,
        };
        let mut groups = Groups::default();
        for id in 0..3 {
            groups.join(group(0, RevealOrder::Forwards), id);
        }
        for id in 3..5 {
            groups.join(group(1, RevealOrder::Together), id);
        }
        // 1 and 2 ready, 0 running: nothing of the first group; 3 ready, 4
        // running: nothing of the second.
        assert_eq!(
            releasable(&groups, &[Running, Ready, Ready, Ready, Running]),
            Vec::<u32>::new()
        );
        // 0 gone (it failed and went out): 1 goes; 4 ended: both go.
        assert_eq!(
            releasable(&groups, &[Gone, Ready, Ready, Ready, Ready]),
            vec![1, 3, 4]
        );
        assert_eq!(
            releasable(&groups, &[Gone, Gone, Ready, Gone, Gone]),
            vec![2]
        );
        // 0 is ready, its placeholder in 2's content, and 2 is ready: 1
        // and 2 go (the body then sends 0 after 2).
        let in_two = Member::Ready {
            sent: false,
            inside: Some(2),
        };
        assert_eq!(
            releasable(&groups, &[in_two, Gone, Ready, Gone, Gone]),
            vec![2]
        );
        let in_other = Member::Ready {
            sent: false,
            inside: Some(9),
        };
        assert_eq!(
            releasable(&groups, &[in_other, Ready, Ready, Gone, Gone]),
            vec![0],
            "a placeholder held elsewhere holds those after it"
        );
    }

    #[test]
    fn members_waiting_on_each_other_across_groups_are_let_go() {
        use Member::*;
        // Forwards 0, 1 and forwards 2, 3; 0's placeholder in 3's content,
        // 2's in 1's; 1 and 3 (in the shell) ready, held.
        let mut groups = Groups::default();
        for id in 0..2 {
            groups.join(group(0, RevealOrder::Forwards), id);
        }
        for id in 2..4 {
            groups.join(group(1, RevealOrder::Forwards), id);
        }
        let in_ = |holder| Member::Ready {
            sent: false,
            inside: Some(holder),
        };
        #[allow(non_snake_case)]
        let Ready = Member::Ready {
            sent: true,
            inside: None,
        };
        let cycle = [in_(3), Ready, in_(1), Ready];
        let deadlocked = |states: &[Member]| groups.deadlocked(|id| states[id as usize], 4);
        // The heads (0 and 2) may go, but neither's placeholder is out.
        assert_eq!(releasable(&groups, &cycle), vec![0, 2]);
        assert_eq!(
            deadlocked(&cycle),
            Some(1),
            "the first group's held member goes"
        );
        // Once 1 is out (2's placeholder with it), 2 goes in turn: no cycle.
        let after = [in_(3), Gone, Ready, Ready];
        assert_eq!(releasable(&groups, &after), vec![0, 2]);
        assert_eq!(deadlocked(&after), None);
        // A member that waits for one still running is never let go.
        assert_eq!(deadlocked(&[in_(3), Ready, in_(1), Running]), None);
        assert_eq!(deadlocked(&[Running, Ready, in_(1), Ready]), None);
        let unknown = Member::Ready {
            sent: false,
            inside: None,
        };
        assert_eq!(deadlocked(&[unknown, Ready, in_(1), Ready]), None);
    }
}
