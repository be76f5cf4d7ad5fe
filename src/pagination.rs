//! Relay-style keyset pagination: `first` (≤ 100, default 20) and an opaque `after` cursor
//! that encodes the last id seen, so pages are stable while rows are inserted.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::error::{Error, Result};

/// Largest page.
pub const MAX_PAGE: u64 = 100;
/// Page size when `first` is not given.
pub const DEFAULT_PAGE: u64 = 20;

/// A validated page request.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub first: u64,
    /// Only rows with an id below this one (newest-first order).
    pub after: Option<i64>,
}

impl PageRequest {
    pub fn parse(first: Option<i32>, after: Option<&str>) -> Result<PageRequest> {
        let first = match first {
            None => DEFAULT_PAGE,
            Some(n) if (0..=MAX_PAGE as i32).contains(&n) => n as u64,
            Some(_) => return Err(Error::bad_input("first", "must be between 0 and 100")),
        };
        let after = after.map(decode_cursor).transpose()?;
        Ok(PageRequest { first, after })
    }
}

/// One page of rows and whether more follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next_page: bool,
}

impl<T> Page<T> {
    pub fn empty() -> Self {
        Page {
            items: Vec::new(),
            has_next_page: false,
        }
    }

    /// Builds a page from up to `first + 1` rows fetched in order.
    pub fn from_rows(mut rows: Vec<T>, first: u64, id: impl Fn(&T) -> i64) -> Self {
        let has_next_page = rows.len() as u64 > first;
        rows.truncate(first as usize);
        let items = rows
            .into_iter()
            .map(|row| (encode_cursor(id(&row)), row))
            .collect();
        Page {
            items,
            has_next_page,
        }
    }
}

pub fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("id:{id}"))
}

fn decode_cursor(cursor: &str) -> Result<i64> {
    URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("id:").and_then(|id| id.parse().ok()))
        .ok_or_else(|| Error::bad_input("after", "is not a valid cursor"))
}

/// A search term: trimmed, at most 255 characters, no control characters; blank is none.
pub fn search_term(raw: Option<&str>) -> Result<Option<String>> {
    let Some(term) = raw.map(str::trim).filter(|term| !term.is_empty()) else {
        return Ok(None);
    };
    if term.chars().count() > 255 || term.chars().any(char::is_control) {
        return Err(Error::bad_input(
            "search",
            "must be at most 255 characters, without control characters",
        ));
    }
    Ok(Some(term.to_owned()))
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `\` as the escape character.
pub fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_rejected() {
        let page = PageRequest::parse(Some(5), Some(&encode_cursor(42))).expect("page");
        assert_eq!((page.first, page.after), (5, Some(42)));
        assert!(PageRequest::parse(None, Some("garbage!")).is_err());
        assert!(PageRequest::parse(Some(101), None).is_err());
        assert!(PageRequest::parse(Some(-1), None).is_err());
        assert_eq!(PageRequest::parse(None, None).expect("page").first, 20);
    }

    #[test]
    fn pages_know_whether_more_rows_follow() {
        let page = Page::from_rows(vec![5, 4, 3], 2, |&n| n);
        assert!(page.has_next_page);
        assert_eq!(page.items.len(), 2);
        assert!(!Page::from_rows(vec![5, 4], 2, |&n| n).has_next_page);
    }
}
