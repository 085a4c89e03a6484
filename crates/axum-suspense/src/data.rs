//! A part's data: what a boundary's future gives beside its content
//! ([`BoundaryBuilder::suspend_with_data`](crate::BoundaryBuilder::suspend_with_data)),
//! serialized to JSON and escaped so that it can sit in a
//! `<script type="application/json">` element and stay data.
//!
//! Inside `<script>` the HTML parser looks for nothing but `</script` (which
//! ends the element) and `<!--` (which starts the legacy "escaped" state,
//! where a `<script` makes a later `</script>` not count). Every one of them
//! starts with `<`, and in JSON a `<` can only be inside a string, where
//! `\u003c` means the same: so every `<` is written `\u003c`. `>` and `&`
//! are written `\u003e` and `\u0026` too (nothing in HTML needs them, but an
//! XHTML or attribute context would), and U+2028 and U+2029 `\u2028` and
//! `\u2029` (JSON allows them raw; JavaScript before ES2019 did not, and a
//! page that evaluates the text as a literal would break). The result
//! parses back (`JSON.parse`, `serde_json::from_str`) to the same value.
//!
//! A `type="application/json"` script is a data block: the browser never
//! executes it, so a strict Content-Security-Policy (no `'unsafe-inline'`)
//! lets it be without a nonce. The wire format of the element is
//! `wire.rs`'s (`push_data`).

use serde::Serialize;

/// `value` as JSON that can be written inside a `<script>` element as it
/// is: no `<`, `>`, `&`, U+2028 or U+2029 in it (each is a `\u` escape), so
/// no data can end the element or start a comment, and it parses back to
/// the same value.
///
/// The engine writes each part's data with it; an application can use it
/// for its own `<script type="application/json">` blocks (with askama's
/// `|safe`).
///
/// ```
/// use axum_suspense::client::script_json;
///
/// let json = script_json(&["</script><!--", "a\u{2028}b & c>"]).unwrap();
/// assert_eq!(json, r#"["\u003c/script\u003e\u003c!--","a\u2028b \u0026 c\u003e"]"#);
/// let back: Vec<String> = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, ["</script><!--", "a\u{2028}b & c>"]);
/// ```
///
/// # Errors
///
/// If `value` cannot be serialized to JSON (a map whose keys are not
/// strings, a `Serialize` impl that fails).
pub fn script_json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let json = serde_json::to_string(value)?;
    Ok(escape(json))
}

/// Escapes what [`script_json`] says in JSON text; the text unchanged (no
/// copy) when there is nothing to escape, as for most data.
fn escape(json: String) -> String {
    let needs = |c: char| matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}');
    if !json.contains(needs) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// Every way data could end a script element, start a comment or break
    /// a JavaScript literal, as string values and as keys.
    fn hostile() -> Value {
        json!({
            "close": "</script><script>alert(1)</script>",
            "CLOSE": "</SCRIPT >",
            "comment": "<!-- <script> -->",
            "open": "<script>",
            "lines": "a\u{2028}b\u{2029}c",
            "amp": "&amp; &lt; > <",
            "</script>": ["<!--", "-->", "\u{0}", "\"\\"],
            "nested": {"deep": [1, 2.5, null, true, "</scr"]},
        })
    }

    #[test]
    fn nothing_can_end_the_element_or_start_a_comment() {
        let text = script_json(&hostile()).unwrap();
        let lower = text.to_ascii_lowercase();
        for bad in ["</script", "<!--", "<script", "<", ">", "&"] {
            assert!(!lower.contains(bad), "{bad:?} in {text}");
        }
        assert!(!text.contains(['\u{2028}', '\u{2029}']), "{text}");
    }

    #[test]
    fn it_parses_back_to_the_same_value() {
        let value = hostile();
        let text = script_json(&value).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
        // Plain data is left as serde_json wrote it.
        assert_eq!(
            script_json(&json!({"ids": [1, 2], "title": "Hello"})).unwrap(),
            r#"{"ids":[1,2],"title":"Hello"}"#
        );
    }

    #[test]
    fn a_value_json_cannot_hold_is_an_error() {
        let mut map = std::collections::HashMap::new();
        map.insert((1, 2), "a tuple key");
        assert!(script_json(&map).is_err());
    }
}
