//! The board's forms: `application/x-www-form-urlencoded` bodies decoded
//! without losing a byte of what the user typed, and validated with one
//! message per field.

use std::collections::HashMap;

use percent_encoding::percent_decode;

/// A form's fields as sent (the first value of each name). A value that is
/// not valid UTF-8 is kept, lossily, with a note of it.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    values: HashMap<String, String>,
    not_utf8: Vec<String>,
}

impl Fields {
    pub(crate) fn parse(body: &[u8]) -> Fields {
        let mut fields = Fields::default();
        for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            let decode = |raw: &[u8]| -> Vec<u8> {
                let spaced: Vec<u8> = raw
                    .iter()
                    .map(|&b| if b == b'+' { b' ' } else { b })
                    .collect();
                percent_decode(&spaced).collect()
            };
            let name = String::from_utf8_lossy(&decode(name)).into_owned();
            if fields.values.contains_key(&name) {
                continue;
            }
            let value = decode(value);
            let value = match String::from_utf8(value) {
                Ok(value) => value,
                Err(error) => {
                    fields.not_utf8.push(name.clone());
                    String::from_utf8_lossy(error.as_bytes()).into_owned()
                }
            };
            fields.values.insert(name, value);
        }
        fields
    }

    /// The value as typed (empty if absent).
    pub(crate) fn raw(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// The trimmed value, or why it cannot be accepted.
    pub(crate) fn text(&self, name: &str, label: &str, max_chars: usize) -> Result<String, String> {
        if self.not_utf8.iter().any(|n| n == name) {
            return Err(format!("{label} is not valid text (UTF-8)"));
        }
        let value = self.raw(name).trim();
        let chars = value.chars().count();
        if chars == 0 {
            return Err(format!("{label} is required"));
        }
        if chars > max_chars {
            return Err(format!(
                "{label} is too long: {chars} characters, at most {max_chars}"
            ));
        }
        if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err(format!("{label} contains control characters"));
        }
        Ok(value.replace("\r\n", "\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_validates() {
        let f = Fields::parse(b"author=+Ada+&body=a%26b%0Ac&body=second&bad=%FF&empty=");
        assert_eq!(f.text("author", "Name", 60), Ok("Ada".into()));
        assert_eq!(f.text("body", "Comment", 60), Ok("a&b\nc".into()));
        assert_eq!(
            f.text("empty", "Comment", 60),
            Err("Comment is required".into())
        );
        assert_eq!(
            f.text("missing", "Name", 60),
            Err("Name is required".into())
        );
        assert!(f.text("bad", "Name", 60).unwrap_err().contains("UTF-8"));
        assert_eq!(f.raw("bad"), "\u{FFFD}");
        assert!(
            f.text("author", "Name", 2)
                .unwrap_err()
                .contains("too long")
        );
    }
}
