//! Parsed GraphQL documents, kept by their text: clients send the same few documents over
//! and over (generated clients, scripts, the web page), and parsing was the largest single
//! cost of a small authenticated query (about 12 % of a token-path profile; cloning a
//! parsed document costs a fraction of that). Bounded in count and in document size, so
//! that a stream of distinct documents only makes the cache start over.

use std::{collections::HashMap, sync::RwLock};

use async_graphql::parser::{parse_query, types::ExecutableDocument};

/// Documents kept at most; when full, the cache starts over.
const CAPACITY: usize = 256;
/// Longer documents are parsed each time (and never kept).
const MAX_CACHED_LENGTH: usize = 2048;

/// The per-process cache of parsed documents.
#[derive(Default)]
pub struct DocumentCache {
    documents: RwLock<HashMap<Box<str>, ExecutableDocument>>,
}

impl DocumentCache {
    /// The parsed `query`, or `None` when it does not parse (the executor then reports the
    /// parse error the usual way).
    pub fn parse(&self, query: &str) -> Option<ExecutableDocument> {
        if query.len() > MAX_CACHED_LENGTH {
            return parse_query(query).ok();
        }
        if let Some(document) = self
            .documents
            .read()
            .ok()
            .and_then(|documents| documents.get(query).cloned())
        {
            return Some(document);
        }
        let document = parse_query(query).ok()?;
        if let Ok(mut documents) = self.documents.write() {
            if documents.len() >= CAPACITY {
                documents.clear();
            }
            documents.insert(query.into(), document.clone());
        }
        Some(document)
    }

    /// How many documents are kept (tests).
    pub fn len(&self) -> usize {
        self.documents
            .read()
            .map(|documents| documents.len())
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_served_the_same() {
        let cache = DocumentCache::default();
        let query = "query Q($id: ID!) { user(id: $id) { username } }";
        let first = cache.parse(query).expect("parses");
        let again = cache.parse(query).expect("parses");
        assert_eq!(format!("{first:?}"), format!("{again:?}"));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn unparsable_and_long_documents_are_not_kept() {
        let cache = DocumentCache::default();
        assert!(cache.parse("{ user(").is_none());
        let long = format!("{{ {} }}", "__typename ".repeat(MAX_CACHED_LENGTH / 10));
        assert!(cache.parse(&long).is_some());
        assert!(cache.is_empty());
    }

    #[test]
    fn distinct_documents_cannot_grow_it_past_its_capacity() {
        let cache = DocumentCache::default();
        for i in 0..CAPACITY * 3 + 1 {
            cache
                .parse(&format!("{{ a{i}: __typename }}"))
                .expect("parses");
            assert!(cache.len() <= CAPACITY);
        }
    }
}
