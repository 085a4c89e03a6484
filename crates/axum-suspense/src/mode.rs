//! How a page is sent: the three render modes, and how a request picks one.

use std::fmt;
use std::str::FromStr;

use crate::crawlers;

/// How a page's boundaries reach the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RenderMode {
    /// Out of order (the default): the shell with every fallback at once,
    /// then each boundary's content as soon as its data is ready, swapped in
    /// by a small inline script.
    #[default]
    Stream,
    /// In document order, with no script at all: the shell up to the first
    /// boundary, then that boundary's content once ready (each boundary
    /// still runs from the start, concurrently), and so on. No fallbacks: a
    /// browser without JavaScript shows every section as it comes.
    InOrder,
    /// Everything at once: every boundary is awaited, then one complete
    /// document goes out, with no transport markup and no script. For
    /// crawlers, link unfurlers and static export.
    Buffered,
}

impl RenderMode {
    /// Every mode, as `?render=` spells them.
    pub const ALL: [RenderMode; 3] = [Self::Stream, Self::InOrder, Self::Buffered];

    /// The name used in `?render=` and in the `x-render-mode` header.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stream => "stream",
            Self::InOrder => "in-order",
            Self::Buffered => "buffered",
        }
    }

    /// The mode for a request: `render` from the query (first occurrence)
    /// if present, else buffered for a well-known crawler, else stream.
    pub fn for_request(
        query: Option<&str>,
        user_agent: Option<&[u8]>,
    ) -> Result<Self, UnknownRenderMode> {
        let asked = query.and_then(|query| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "render")
                .map(|(_, value)| value.into_owned())
        });
        match asked {
            Some(value) => value.parse(),
            None if user_agent.is_some_and(crawlers::is_crawler) => Ok(Self::Buffered),
            None => Ok(Self::Stream),
        }
    }
}

impl fmt::Display for RenderMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RenderMode {
    type Err = UnknownRenderMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str() == s)
            .ok_or_else(|| UnknownRenderMode(s.to_owned()))
    }
}

/// A `render` value that names no mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRenderMode(pub String);

impl fmt::Display for UnknownRenderMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug-quoted: whatever was sent shows as one escaped line.
        write!(
            f,
            "unknown render mode {:?}: expected stream, in-order or buffered",
            self.0.chars().take(64).collect::<String>()
        )
    }
}

impl std::error::Error for UnknownRenderMode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_wins_then_the_user_agent() {
        let bot = Some(&b"Mozilla/5.0 (compatible; Googlebot/2.1)"[..]);
        let person = Some(&b"Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"[..]);
        let mode = RenderMode::for_request;
        assert_eq!(mode(None, person), Ok(RenderMode::Stream));
        assert_eq!(mode(None, None), Ok(RenderMode::Stream));
        assert_eq!(mode(Some("delay=5"), bot), Ok(RenderMode::Buffered));
        assert_eq!(mode(Some("render=stream"), bot), Ok(RenderMode::Stream));
        assert_eq!(
            mode(Some("render=in-order&render=buffered"), person),
            Ok(RenderMode::InOrder)
        );
        assert_eq!(
            mode(Some("render=in%2Dorder"), person),
            Ok(RenderMode::InOrder)
        );
        let error = mode(Some("render=fast"), person).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown render mode \"fast\": expected stream, in-order or buffered"
        );
        assert!(mode(Some("render="), person).is_err());
    }
}
