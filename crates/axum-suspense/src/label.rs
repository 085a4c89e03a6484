//! How a boundary is named in logs and messages.

use std::fmt;

/// A boundary's name if it has one
/// ([`BoundaryBuilder::name`](crate::BoundaryBuilder::name)), else `b` and
/// its id, as the wire names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Label {
    pub(crate) id: u32,
    pub(crate) name: Option<&'static str>,
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(name) => f.write_str(name),
            None => write!(f, "b{}", self.id),
        }
    }
}
