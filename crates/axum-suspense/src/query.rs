//! Reading one parameter of a request's query string, as
//! `application/x-www-form-urlencoded` (what `form_urlencoded::parse`
//! yields), without decoding every other pair on the way: the engine looks
//! up its mode and debug parameters in every page's query.

use std::borrow::Cow;

/// The values of the pairs named `name` in `query`, in order, decoded (`+`
/// is a space, `%XX` a byte, invalid UTF-8 replaced). A pair with nothing
/// to decode, the usual case, is compared as it is, with no allocation; one
/// with a `%` or a `+` is decoded by `form_urlencoded`, so the answer is
/// always the one a full parse would give.
pub(crate) fn values<'q>(query: &'q str, name: &str) -> impl Iterator<Item = Cow<'q, str>> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(move |pair| {
            if pair.bytes().any(|b| b == b'%' || b == b'+') {
                let (key, value) = form_urlencoded::parse(pair.as_bytes()).next()?;
                (key == name).then_some(value)
            } else {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (key == name).then_some(Cow::Borrowed(value))
            }
        })
}

/// The value of the first pair named `name` in `query`; see [`values`].
pub(crate) fn first<'q>(query: &'q str, name: &str) -> Option<Cow<'q, str>> {
    values(query, name).next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_values_a_full_parse_would_give() {
        for query in [
            "",
            "render=in-order",
            "a=1&render=buffered&render=stream",
            "&&render&x=1",
            "render=",
            "ren%64er=in%2Dorder",
            "r+ender=x&render=a+b",
            "x=%FF&render=%E2%9C%93",
            "render=%zz",
            "debug=1&debug=0",
            "=&=x&render==",
        ] {
            for name in ["render", "debug", "r ender", "x"] {
                let full: Vec<String> = form_urlencoded::parse(query.as_bytes())
                    .filter(|(key, _)| key == name)
                    .map(|(_, value)| value.into_owned())
                    .collect();
                let fast: Vec<String> = values(query, name).map(Cow::into_owned).collect();
                assert_eq!(fast, full, "{name} in {query:?}");
                assert_eq!(
                    first(query, name).map(Cow::into_owned),
                    full.first().cloned()
                );
            }
        }
    }
}
