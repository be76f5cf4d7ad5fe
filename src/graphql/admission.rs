//! What every GraphQL request passes before the executor sees it: the document is parsed
//! (through [`DocumentCache`]), its size after fragment expansion bounded
//! ([`document_limits`]), and its operation checked against the caller's scopes and the
//! HTTP method ([`scope_guard`]). A refused request gets its error as a GraphQL response
//! and never reaches validation or a resolver. A document that does not parse goes on
//! unparsed, and the executor answers with its parse error; one nested deeper than the
//! executor accepts goes on unchecked, and the executor refuses it before anything else
//! (the checks here walk fragments recursively, so they only ever see bounded nesting: a
//! chain of thousands of fragments would otherwise overflow the stack).

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    Request, Response,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use crate::graphql::{
    MAX_RECURSIVE_DEPTH,
    context::{Caller, HttpMethod},
    document_limits,
    documents::{DocumentCache, KnownDocument},
    scope_guard,
};

/// A request the executor may run, with its parsed document.
pub struct Admitted {
    pub request: Request,
    /// The document as kept by the [`DocumentCache`]; `None` when it does not parse.
    pub document: Option<Arc<KnownDocument>>,
}

/// Admits `request` (handing the executor its parsed document) or answers it.
pub fn admit(
    documents: &DocumentCache,
    mut request: Request,
    caller: &Caller,
    method: HttpMethod,
) -> Result<Admitted, Box<Response>> {
    let Some(known) = documents.parse(&request.query) else {
        return Ok(Admitted {
            request,
            document: None,
        });
    };
    let document = &known.document;
    if !nests_deeper_than(document, MAX_RECURSIVE_DEPTH) {
        let scopes = caller
            .0
            .as_ref()
            .and_then(|principal| principal.token_scopes());
        scope_guard::check_document(document, request.operation_name.as_deref(), scopes, method)
            .and_then(|()| document_limits::check(document))
            .map_err(|error| Box::new(Response::from_errors(vec![error])))?;
    }
    request.set_parsed_query(document.clone());
    Ok(Admitted {
        request,
        document: Some(known),
    })
}

/// Whether an operation of `document` nests deeper than `limit`, counted as the executor
/// counts (a field with a selection, a fragment spread and an inline fragment each add a
/// level). The walk gives up past the limit, so its own recursion stays bounded, and each
/// fragment's height is computed once, so doubling fragments cost linear time.
pub fn nests_deeper_than(document: &ExecutableDocument, limit: usize) -> bool {
    let mut heights = HashMap::new();
    document.operations.iter().any(|(_, operation)| {
        height(
            document,
            &operation.node.selection_set.node,
            limit,
            &mut heights,
        )
        .is_none()
    })
}

/// The nesting below `set`, or `None` when it exceeds `budget` (or a fragment cycle makes
/// it unbounded).
fn height<'a>(
    document: &'a ExecutableDocument,
    set: &'a SelectionSet,
    budget: usize,
    heights: &mut HashMap<&'a str, Option<usize>>,
) -> Option<usize> {
    let mut highest = 0;
    for selection in &set.items {
        let below = match &selection.node {
            Selection::Field(field) if field.node.selection_set.node.items.is_empty() => continue,
            Selection::Field(field) => height(
                document,
                &field.node.selection_set.node,
                budget.checked_sub(1)?,
                heights,
            )?,
            Selection::InlineFragment(fragment) => height(
                document,
                &fragment.node.selection_set.node,
                budget.checked_sub(1)?,
                heights,
            )?,
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                match (heights.get(name), document.fragments.get(name)) {
                    // Unknown fragments fail validation; they add no nesting here.
                    (_, None) => continue,
                    (Some(Some(known)), _) => *known,
                    // Being measured further up: a cycle.
                    (Some(None), _) => return None,
                    (None, Some(fragment)) => {
                        heights.insert(name, None);
                        let measured = height(
                            document,
                            &fragment.node.selection_set.node,
                            budget.checked_sub(1)?,
                            heights,
                        )?;
                        heights.insert(name, Some(measured));
                        measured
                    }
                }
            }
        };
        highest = highest.max(below + 1);
        if highest > budget {
            return None;
        }
    }
    Some(highest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deeper(query: &str, limit: usize) -> bool {
        nests_deeper_than(
            &async_graphql::parser::parse_query(query).expect("parse"),
            limit,
        )
    }

    #[test]
    fn nesting_is_counted_as_the_executor_counts_it() {
        assert!(!deeper("{ a }", 0));
        assert!(deeper("{ a { b } }", 0));
        assert!(!deeper("{ a { b } }", 1));
        assert!(deeper("{ ...F } fragment F on Query { a }", 0));
        assert!(!deeper("{ ...F } fragment F on Query { a }", 1));
        assert!(deeper("{ ... on Query { a { b } } }", 1));
        assert!(!deeper("{ ... on Query { a { b } } }", 2));
    }

    #[test]
    fn long_chains_and_cycles_are_refused_without_walking_them() {
        let mut chain = String::from("query { ...F0 } ");
        for i in 0..50_000 {
            chain.push_str(&format!("fragment F{i} on Query {{ ...F{} }} ", i + 1));
        }
        chain.push_str("fragment F50000 on Query { a }");
        assert!(deeper(&chain, 32));
        assert!(deeper(
            "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
            32
        ));
        // Doubling fragments within the limit: measured once each.
        let mut doubling = String::from("query { ...F0 } ");
        for i in 0..30 {
            doubling.push_str(&format!(
                "fragment F{i} on Query {{ a ...F{} ...F{} }} ",
                i + 1,
                i + 1
            ));
        }
        doubling.push_str("fragment F30 on Query { a }");
        assert!(!deeper(&doubling, 32));
        assert!(deeper(&doubling, 29));
    }
}
