//! Submitted forms and query strings as ordered name/value pairs. Repeated names are kept
//! (checkbox groups); invalid UTF-8 becomes U+FFFD instead of an error, and the validators
//! of the token service decide what is acceptable.

use std::borrow::Cow;

/// Name/value pairs in submission order.
#[derive(Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// Parses an `application/x-www-form-urlencoded` body or a query string.
    pub fn parse(encoded: &[u8]) -> Fields {
        Fields(
            form_urlencoded::parse(encoded)
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Percent-encodes a query-string value.
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// At most `max` characters of `text` (prefill values are only displayed, never trusted).
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((end, _)) => Cow::Owned(text[..end].to_owned()),
        None => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_are_kept_and_bad_bytes_replaced() {
        let fields = Fields::parse(b"scopes=api&name=C%49&scopes=read_user&bad=%FF%00");
        assert_eq!(fields.get("name"), Some("CI"));
        assert_eq!(
            fields.all("scopes").collect::<Vec<_>>(),
            ["api", "read_user"]
        );
        assert_eq!(fields.get("bad"), Some("\u{FFFD}\u{0}"));
        assert_eq!(fields.get("missing"), None);
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("hi", 5), "hi");
        assert_eq!(encode("/a?b=c d"), "%2Fa%3Fb%3Dc+d");
    }
}
