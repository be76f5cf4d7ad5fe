//! Parsed GraphQL documents, kept by their text: clients send the same few documents over
//! and over (generated clients, scripts, the web page), and parsing was the largest single
//! cost of a small authenticated query (about 12 % of a token-path profile; cloning a
//! parsed document costs a fraction of that). Each kept document also remembers whether the
//! executor's full validation has passed it (see [`crate::graphql::executor`]). Bounded in
//! count and in document size, so that a stream of distinct documents only makes the cache
//! start over.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::parser::{parse_query, types::ExecutableDocument};

/// Documents kept at most; when full, the cache starts over.
const CAPACITY: usize = 256;
/// Longer documents are parsed each time (and never kept).
const MAX_CACHED_LENGTH: usize = 2048;

/// A parsed document and what is known of it whatever the request.
#[derive(Debug)]
pub struct KnownDocument {
    pub document: ExecutableDocument,
    /// Whether a request with this document and no variables has passed every validation
    /// rule: the rules then give the same answer for every such request.
    validated: AtomicBool,
}

impl KnownDocument {
    fn new(document: ExecutableDocument) -> Arc<Self> {
        Arc::new(KnownDocument {
            document,
            validated: AtomicBool::new(false),
        })
    }

    /// Whether the full validation has passed this document without variables.
    pub fn validated(&self) -> bool {
        self.validated.load(Ordering::Relaxed)
    }

    /// Records that the full validation passed this document without variables.
    pub fn mark_validated(&self) {
        self.validated.store(true, Ordering::Relaxed);
    }
}

/// The per-process cache of parsed documents.
#[derive(Default)]
pub struct DocumentCache {
    documents: RwLock<HashMap<Box<str>, Arc<KnownDocument>>>,
}

impl DocumentCache {
    /// The parsed `query`, or `None` when it does not parse (the executor then reports the
    /// parse error the usual way).
    pub fn parse(&self, query: &str) -> Option<Arc<KnownDocument>> {
        if query.len() > MAX_CACHED_LENGTH {
            return parse_query(query).ok().map(KnownDocument::new);
        }
        if let Some(known) = self
            .documents
            .read()
            .ok()
            .and_then(|documents| documents.get(query).cloned())
        {
            return Some(known);
        }
        let known = KnownDocument::new(parse_query(query).ok()?);
        if let Ok(mut documents) = self.documents.write() {
            if documents.len() >= CAPACITY {
                documents.clear();
            }
            // Another request may have parsed it meanwhile: keep the first, which may
            // already be validated.
            return Some(documents.entry(query.into()).or_insert(known).clone());
        }
        Some(known)
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

    /// Whether `query` is kept and has passed the full validation (tests).
    pub fn is_validated(&self, query: &str) -> bool {
        self.documents
            .read()
            .ok()
            .and_then(|documents| documents.get(query).map(|known| known.validated()))
            .unwrap_or(false)
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
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn validation_is_remembered_per_kept_document() {
        let cache = DocumentCache::default();
        let query = "{ currentUser { username } }";
        assert!(!cache.parse(query).expect("parses").validated());
        cache.parse(query).expect("parses").mark_validated();
        assert!(cache.parse(query).expect("parses").validated());
        assert!(cache.is_validated(query));
        assert!(!cache.parse("{ __typename }").expect("parses").validated());
    }

    #[test]
    fn unparsable_and_long_documents_are_not_kept() {
        let cache = DocumentCache::default();
        assert!(cache.parse("{ user(").is_none());
        let long = format!("{{ {} }}", "__typename ".repeat(MAX_CACHED_LENGTH / 10));
        let parsed = cache.parse(&long).expect("parses");
        parsed.mark_validated();
        assert!(cache.is_empty());
        assert!(!cache.parse(&long).expect("parses").validated());
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
