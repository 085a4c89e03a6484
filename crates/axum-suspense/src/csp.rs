//! The page's secret and its Content-Security-Policy: the nonce every
//! script the engine writes carries, and the policy header with it.

use axum::http::HeaderValue;

/// The policy pages are sent with unless the engine is given another: the
/// strict, nonce-based policy the engine itself needs and nothing an
/// application would have to undo. Scripts run only from the page's own
/// origin or with the page's nonce (every script the engine writes carries
/// it), no plugins, no `<base>` that could re-point relative URLs.
///
/// Everything else (images, styles, frames, form targets) is the
/// application's to decide: give
/// [`EngineBuilder::content_security_policy`](crate::EngineBuilder::content_security_policy)
/// a policy of your own, keeping `'nonce-{nonce}'` in its `script-src`.
///
/// ```
/// assert_eq!(
///     axum_suspense::DEFAULT_CONTENT_SECURITY_POLICY,
///     "script-src 'self' 'nonce-{nonce}'; object-src 'none'; base-uri 'none'"
/// );
/// ```
pub const DEFAULT_CONTENT_SECURITY_POLICY: &str =
    "script-src 'self' 'nonce-{nonce}'; object-src 'none'; base-uri 'none'";

/// A policy split at each `{nonce}` (which stands for the page's nonce),
/// and its form for pages without a nonce, both once, when the engine is
/// built, rather than worked out on every page.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    parts: Vec<String>,
    without_nonce: Option<HeaderValue>,
}

impl Policy {
    pub(crate) fn new(policy: &str) -> Self {
        Policy {
            parts: policy.split("{nonce}").map(str::to_owned).collect(),
            without_nonce: self_for_nonce(policy),
        }
    }

    /// The header value with `nonce` in place: built in one allocation of
    /// the right size (this runs for every page), handed to the header
    /// without a copy. `None` if the policy is not a valid header value.
    pub(crate) fn with_nonce(&self, nonce: &str) -> Option<HeaderValue> {
        let parts = &self.parts;
        let len = parts.iter().map(String::len).sum::<usize>()
            + parts.len().saturating_sub(1) * nonce.len();
        let mut value = String::with_capacity(len);
        for (at, part) in parts.iter().enumerate() {
            if at > 0 {
                value.push_str(nonce);
            }
            value.push_str(part);
        }
        HeaderValue::try_from(value).ok()
    }

    /// The header value for a page that carries no nonce (a prerendered
    /// one, rendered once for everyone, whose scripts are linked from the
    /// page's origin): each source that names the nonce is `'self'`
    /// instead (once per directive), so `script-src 'self' 'nonce-{nonce}'`
    /// becomes `script-src 'self'` and the linked runtime runs. `None` if
    /// the policy is not a valid header value.
    pub(crate) fn without_nonce(&self) -> Option<HeaderValue> {
        self.without_nonce.clone()
    }
}

/// See [`Policy::without_nonce`].
fn self_for_nonce(policy: &str) -> Option<HeaderValue> {
    let directives: Vec<String> = policy
        .split(';')
        .map(str::trim)
        .filter(|directive| !directive.is_empty())
        .map(|directive| {
            let mut words = directive.split_ascii_whitespace();
            let name = words.next().unwrap_or_default();
            let mut sources: Vec<&str> = Vec::new();
            for word in words {
                let word = if word.contains("{nonce}") {
                    "'self'"
                } else {
                    word
                };
                if !sources.contains(&word) {
                    sources.push(word);
                }
            }
            let mut directive = name.to_owned();
            for source in sources {
                directive.push(' ');
                directive.push_str(source);
            }
            directive
        })
        .collect();
    HeaderValue::try_from(directives.join("; ")).ok()
}

/// A page's secret: 128 random bits, fresh for every page. Its first 64
/// bits make the page's markers its own (`wire::marker_nonce`); all of it,
/// in base64, is the page's Content-Security-Policy nonce ([`nonce`]).
///
/// From `rand`'s thread generator: ChaCha12, a cryptographically secure
/// generator seeded from the operating system and reseeded from it every
/// 64 KiB of output, so a page costs no system call (asking the OS for every
/// page did: one `getrandom` per page).
pub(crate) fn page_secret() -> [u8; 16] {
    let mut secret = [0u8; 16];
    rand::fill(&mut secret);
    secret
}

/// The Content-Security-Policy nonce of a page's secret: 22 characters of
/// base64 (a `base64-value` as CSP defines it).
pub(crate) fn nonce(secret: &[u8; 16]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nonce_goes_wherever_the_policy_says() {
        let nonce = "abc+/=";
        let value = |policy: &str| Policy::new(policy).with_nonce(nonce).unwrap();
        assert_eq!(
            value("script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'"),
            "script-src 'nonce-abc+/='; style-src 'nonce-abc+/='"
        );
        assert_eq!(value("{nonce}"), "abc+/=");
        assert_eq!(value("default-src 'self'"), "default-src 'self'");
        assert_eq!(value(""), "");
    }

    #[test]
    fn a_page_with_no_nonce_allows_its_own_origin_instead() {
        let value = |policy: &str| Policy::new(policy).without_nonce().unwrap();
        assert_eq!(
            value(crate::DEFAULT_CONTENT_SECURITY_POLICY),
            "script-src 'self'; object-src 'none'; base-uri 'none'"
        );
        assert_eq!(
            value(
                "default-src 'none'; script-src 'nonce-{nonce}';style-src 'nonce-{nonce}' https:; upgrade-insecure-requests"
            ),
            "default-src 'none'; script-src 'self'; style-src 'self' https:; upgrade-insecure-requests"
        );
        assert_eq!(value(""), "");
    }

    #[test]
    fn every_page_has_its_own_secret() {
        assert_eq!(nonce(&[7u8; 16]), "BwcHBwcHBwcHBwcHBwcHBw");
        assert_ne!(page_secret(), page_secret());
    }
}
