//! Which browsers put a streamed page's parts in place themselves: the
//! decision the server makes from a request's headers, for what only the
//! request can tell (a browser without JavaScript, and how to send the
//! runtime). JavaScript never relies on it: the runtime tests the browser
//! itself, so a wrong guess costs bytes or a reload, never a part.
//!
//! The rule: Chromium 150 or later, by its `Sec-CH-UA` brand list
//! (`"Chromium";v="156"`, sent by every Chromium-based browser to
//! potentially trustworthy origins: HTTPS and localhost), or else by its
//! `User-Agent` (`Chrome/156.…`, which Edge, Opera, Samsung Internet and
//! headless Chromium also carry; Chrome on iOS says `CriOS` and is WebKit).
//!
//! Its failure modes: a Chromium started with the feature turned off
//! (`--disable-blink-features=DocumentPatching`, or a policy that does the
//! same) or a browser that lies about its version is taken for one that
//! patches: with JavaScript on nothing is lost (the runtime finds out and
//! applies the parts), but with JavaScript off it keeps the fallbacks,
//! since the `<noscript>` refresh to the in-order page is not sent to it.
//! A browser that patches but is not recognised (a new engine) gets the
//! refresh and the inline runtime, as every other browser does.

use axum::http::{HeaderMap, HeaderName, header};

/// The first Chromium version whose parser applies `<template for>`.
pub const NATIVE_PATCHING_SINCE: u32 = 150;

/// Whether the browser that sent `headers` puts `<template for>` parts in
/// place itself (see the module's rule).
///
/// ```
/// use axum::http::HeaderMap;
/// use axum_suspense::client::patches_natively;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("sec-ch-ua", r#""Chromium";v="156", "Not-A.Brand";v="24""#.parse().unwrap());
/// assert!(patches_natively(&headers));
///
/// let mut firefox = HeaderMap::new();
/// firefox.insert("user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0".parse().unwrap());
/// assert!(!patches_natively(&firefox));
/// ```
pub fn patches_natively(headers: &HeaderMap) -> bool {
    static SEC_CH_UA: HeaderName = HeaderName::from_static("sec-ch-ua");
    let version = match headers.get(&SEC_CH_UA).and_then(|v| v.to_str().ok()) {
        Some(brands) => version_after(brands, "\"Chromium\";v=\""),
        None => headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .and_then(|ua| version_after(ua, "Chrome/")),
    };
    version.is_some_and(|v| v >= NATIVE_PATCHING_SINCE)
}

/// The whole number right after the first `prefix` in `text`.
fn version_after(text: &str, prefix: &str) -> Option<u32> {
    let at = text.find(prefix)? + prefix.len();
    let digits = text[at..].bytes().take_while(u8::is_ascii_digit).count();
    text[at..at + digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: &'static str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, value.parse().unwrap());
        headers
    }

    #[test]
    fn chromium_150_and_later_by_brand_or_user_agent() {
        for (name, value, native) in [
            (
                "sec-ch-ua",
                r#""Chromium";v="150", "Google Chrome";v="150""#,
                true,
            ),
            (
                "sec-ch-ua",
                r#""Not)A;Brand";v="8", "Chromium";v="149""#,
                false,
            ),
            (
                "sec-ch-ua",
                r#""Microsoft Edge";v="156", "Chromium";v="156""#,
                true,
            ),
            (
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.8078.73 Safari/537.36",
                true,
            ),
            (
                "user-agent",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                false,
            ),
            (
                "user-agent",
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/156.0 Mobile/15E148 Safari/604.1",
                false,
            ),
            (
                "user-agent",
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/19.0 Safari/605.1.15",
                false,
            ),
            ("user-agent", "curl/8.5.0", false),
        ] {
            assert_eq!(patches_natively(&with(name, value)), native, "{value}");
        }
        assert!(!patches_natively(&HeaderMap::new()));
        // The brand list wins over the user agent when both are there.
        let mut both = with("sec-ch-ua", r#""Chromium";v="140""#);
        both.insert(header::USER_AGENT, "Chrome/156.0".parse().unwrap());
        assert!(!patches_natively(&both));
    }
}
