//! The site's own askama filters (askama finds them as `filters::NAME` in
//! the scope of each template).

#![allow(unreachable_pub)] // the filter_fn macro generates `pub` items

/// `{{ "bench.css"|asset }}`: the file's fingerprinted URL (cached for a
/// year), see [`crate::assets`].
#[askama::filter_fn]
pub(crate) fn asset(name: &str, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(crate::assets::url(name))
}

/// Text escaped with named entities (`&amp;`, `&lt;`, `&gt;`, `&quot;`,
/// `&#39;`) as it is written: the benchmark's peers and checker expect named
/// ones, where askama's own escaper writes numeric references (`&#38;`).
/// Same characters, same safety.
///
/// Written through a stack buffer, so a short text is one write into the
/// template's output and no allocation: askama writes through `&mut dyn
/// fmt::Write`, and a write per escaped run (16 for the bench's text) cost
/// about as much as the rest of the item. The bench page escapes its text on
/// every item, as the peers do.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NamedEntities<'a>(pub(crate) &'a str);

impl NamedEntities<'_> {
    fn write(&self, dest: &mut dyn std::fmt::Write) -> std::fmt::Result {
        const ROOM: usize = 256;
        // Byte by byte into the buffer, each entity a copy of constant size:
        // a copy of each run's variable length would be a `memcpy` call each.
        fn put<const N: usize>(buffer: &mut [u8; ROOM], len: &mut usize, entity: &[u8; N]) {
            buffer[*len..*len + N].copy_from_slice(entity);
            *len += N;
        }
        let mut buffer = [0u8; ROOM];
        let mut len = 0;
        for &byte in self.0.as_bytes() {
            // Flushed only before a character's first byte, with room left
            // for the longest entity (6 bytes) or character (4), so each
            // flush is whole characters.
            if byte & 0b1100_0000 != 0b1000_0000 && len + 6 > ROOM {
                dest.write_str(whole_characters(&buffer[..len]))?;
                len = 0;
            }
            match byte {
                b'&' => put(&mut buffer, &mut len, b"&amp;"),
                b'<' => put(&mut buffer, &mut len, b"&lt;"),
                b'>' => put(&mut buffer, &mut len, b"&gt;"),
                b'"' => put(&mut buffer, &mut len, b"&quot;"),
                b'\'' => put(&mut buffer, &mut len, b"&#39;"),
                _ => {
                    buffer[len] = byte;
                    len += 1;
                }
            }
        }
        dest.write_str(whole_characters(&buffer[..len]))
    }
}

/// Bytes of a `&str` and its entities, cut only between characters:
/// always UTF-8.
fn whole_characters(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("cut between characters")
}

impl askama::FastWritable for NamedEntities<'_> {
    fn write_into(
        &self,
        dest: &mut dyn std::fmt::Write,
        _: &dyn askama::Values,
    ) -> askama::Result<()> {
        Ok(self.write(dest)?)
    }
}

impl std::fmt::Display for NamedEntities<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.write(f)
    }
}

/// It escapes itself: askama must not escape it again.
impl askama::filters::HtmlSafe for NamedEntities<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_entities_escape_long_and_multibyte_text_whole() {
        let reference = |text: &str| {
            text.chars()
                .map(|c| match c {
                    '&' => "&amp;".to_owned(),
                    '<' => "&lt;".to_owned(),
                    '>' => "&gt;".to_owned(),
                    '"' => "&quot;".to_owned(),
                    '\'' => "&#39;".to_owned(),
                    c => c.to_string(),
                })
                .collect::<String>()
        };
        for text in [
            String::new(),
            r#"Tom & Jerry <say> "hi" & 'bye'"#.to_owned(),
            // Past the buffer, with characters of every width and entities
            // around each possible cut.
            "a€&😀<é\"".repeat(100),
            "&".repeat(300),
            "😀".repeat(200),
        ] {
            assert_eq!(
                NamedEntities(&text).to_string(),
                reference(&text),
                "{text:?}"
            );
        }
    }
}
