//! [`NamedEntities`]: text HTML-escaped with named entities as askama
//! writes it, in one write and without allocating. Only `std` and askama:
//! `benches/ceiling` includes this very file to measure the floor of
//! rendering the bench page with askama on hyper alone.

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
        /// What each byte becomes, padded to 8 bytes, its length in the
        /// last: a byte that needs no entity is itself, length 1. Every byte
        /// is copied as 8 and the length moves on by the last: no branch per
        /// byte, and later bytes overwrite the padding.
        const OUT: [[u8; 8]; 256] = {
            let mut table = [[0u8; 8]; 256];
            let mut byte = 0;
            while byte < 256 {
                table[byte][0] = byte as u8;
                table[byte][7] = 1;
                byte += 1;
            }
            const fn entity(text: &[u8]) -> [u8; 8] {
                let mut out = [0u8; 8];
                let mut i = 0;
                while i < text.len() {
                    out[i] = text[i];
                    i += 1;
                }
                out[7] = text.len() as u8;
                out
            }
            table[b'&' as usize] = entity(b"&amp;");
            table[b'<' as usize] = entity(b"&lt;");
            table[b'>' as usize] = entity(b"&gt;");
            table[b'"' as usize] = entity(b"&quot;");
            table[b'\'' as usize] = entity(b"&#39;");
            table
        };
        const ROOM: usize = 256;
        // A piece of PIECE bytes escapes into the buffer whatever it holds
        // (at most 6 bytes each, the last copy 8 wide): no check for room at
        // each byte. Pieces end between characters, so each write is whole
        // characters.
        const PIECE: usize = (ROOM - 8) / 6 + 1;
        let mut buffer = [0u8; ROOM];
        let mut rest = self.0;
        while !rest.is_empty() {
            let mut cut = rest.len().min(PIECE);
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            let (piece, tail) = rest.split_at(cut);
            rest = tail;
            let mut len = 0;
            for &byte in piece.as_bytes() {
                let out = &OUT[usize::from(byte)];
                buffer[len..len + 8].copy_from_slice(out);
                len += usize::from(out[7]);
            }
            dest.write_str(std::str::from_utf8(&buffer[..len]).expect("whole characters"))?;
        }
        Ok(())
    }
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
            // A piece's end falling inside a character.
            format!("{}é&{}", "x".repeat(41), "\"".repeat(50)),
        ] {
            assert_eq!(
                NamedEntities(&text).to_string(),
                reference(&text),
                "{text:?}"
            );
        }
    }
}
