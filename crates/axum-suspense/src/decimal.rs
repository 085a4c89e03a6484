//! Unsigned integers in decimal, written without `fmt`'s machinery: the
//! wire's ids and times (`write!` cost more than the rest of a small part).

/// An unsigned integer in decimal, on the stack (the wire's ids and times,
/// without `fmt`'s machinery).
pub(crate) struct Decimal {
    digits: [u8; 39],
    start: usize,
}

impl Decimal {
    pub(crate) fn new(mut n: u128) -> Decimal {
        let mut digits = [0u8; 39];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Decimal { digits, start }
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.digits[self.start..]).expect("ASCII digits")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_as_display_writes_them() {
        for n in [0u128, 7, 10, 4_294_967_295, u128::MAX] {
            assert_eq!(Decimal::new(n).as_str(), n.to_string());
        }
    }
}
