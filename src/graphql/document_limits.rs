//! Refuses documents whose selections explode once fragments are expanded (a fragment that
//! spreads the next one twice doubles the work at every level: 30 levels in 2 KB would ask
//! for a billion fields). Counted right after parsing, with each fragment's size computed
//! once, so the check itself is linear in the document. [`crate::graphql::admission`] runs it
//! before validation and any resolver, for every caller, anonymous included.

use std::collections::HashMap;

use async_graphql::{
    ServerError, ServerResult,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

/// Most fields a request may select after fragment expansion (aliases and `__typename`
/// included).
pub const MAX_EXPANDED_FIELDS: u64 = 5_000;

/// Refuses `document` when it selects more than [`MAX_EXPANDED_FIELDS`].
pub fn check(document: &ExecutableDocument) -> ServerResult<()> {
    let fields = expanded_field_count(document);
    if fields > MAX_EXPANDED_FIELDS {
        let mut error = ServerError::new(
            format!(
                "The query selects too many fields once fragments are expanded (limit {MAX_EXPANDED_FIELDS})."
            ),
            None,
        );
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", "GRAPHQL_VALIDATION_FAILED");
        return Err(error);
    }
    Ok(())
}

/// The number of fields every operation of `document` selects, fragments expanded.
pub fn expanded_field_count(document: &ExecutableDocument) -> u64 {
    let mut sizes: HashMap<&str, Size> = HashMap::new();
    document
        .operations
        .iter()
        .map(|(_, operation)| count(document, &operation.node.selection_set.node, &mut sizes))
        .fold(0, u64::saturating_add)
}

#[derive(Clone, Copy)]
enum Size {
    InProgress,
    Known(u64),
}

fn count<'a>(
    document: &'a ExecutableDocument,
    set: &'a SelectionSet,
    sizes: &mut HashMap<&'a str, Size>,
) -> u64 {
    let mut total: u64 = 0;
    for selection in &set.items {
        let size = match &selection.node {
            Selection::Field(field) => {
                1u64.saturating_add(count(document, &field.node.selection_set.node, sizes))
            }
            Selection::InlineFragment(fragment) => {
                count(document, &fragment.node.selection_set.node, sizes)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                match sizes.get(name) {
                    Some(Size::Known(size)) => *size,
                    // A cycle: never finite; validation refuses it, and so do we.
                    Some(Size::InProgress) => u64::MAX,
                    None => match document.fragments.get(name) {
                        None => 0,
                        Some(fragment) => {
                            sizes.insert(name, Size::InProgress);
                            let size = count(document, &fragment.node.selection_set.node, sizes);
                            sizes.insert(name, Size::Known(size));
                            size
                        }
                    },
                }
            }
        };
        total = total.saturating_add(size);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(query: &str) -> u64 {
        expanded_field_count(&async_graphql::parser::parse_query(query).expect("parse"))
    }

    #[test]
    fn fragments_count_once_per_spread() {
        assert_eq!(fields("{ a b { c } }"), 3);
        assert_eq!(fields("{ ...F ...F } fragment F on Query { a b }"), 4);
        assert_eq!(fields("{ ... on Query { a } }"), 1);
    }

    #[test]
    fn doubling_fragments_are_counted_without_expanding_them() {
        let depth = 60;
        let mut query = String::from("query { ...F0 } ");
        for i in 0..depth {
            query.push_str(&format!(
                "fragment F{i} on Query {{ __typename ...F{} ...F{} }} ",
                i + 1,
                i + 1
            ));
        }
        query.push_str(&format!("fragment F{depth} on Query {{ __typename }}"));
        assert!(fields(&query) > MAX_EXPANDED_FIELDS);
    }

    #[test]
    fn cycles_are_unbounded() {
        assert_eq!(
            fields("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"),
            u64::MAX
        );
    }
}
