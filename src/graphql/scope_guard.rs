//! The one place scopes are enforced for GraphQL. [`crate::graphql::admission`] runs it on
//! every request of every batch after parsing and before validation and any resolver, on
//! the operation that will execute, so no field, alias, fragment or batch can slip past it:
//! every mutation needs `api`, every query field needs `api` or `read_api`, and only the
//! user queries also accept `read_user`. A new field is covered by default.

use std::collections::HashSet;

use async_graphql::{
    ServerError, ServerResult,
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
        SelectionSet,
    },
};

use crate::{
    error::Error,
    graphql::context::HttpMethod,
    tokens::scope::{Access, ScopeSet},
};

/// Query fields that a `read_user` token may call.
pub const USER_QUERIES: [&str; 3] = ["currentUser", "user", "users"];

/// Refuses the operations of `document` that would run (`operation_name` picks one) when a
/// mutation arrives over `GET`, or when `scopes` (the token's; `None` for sessions and
/// anonymous callers) do not grant each of their root fields.
pub fn check_document(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    scopes: Option<ScopeSet>,
    method: HttpMethod,
) -> ServerResult<()> {
    for operation in operations_to_run(document, operation_name) {
        if method == HttpMethod::Get && operation.ty != OperationType::Query {
            return Err(coded_error(
                "Only queries can be sent with GET; send mutations with POST.",
                "BAD_REQUEST",
            ));
        }
        if let Some(scopes) = scopes {
            check(scopes, document, operation)?;
        }
    }
    Ok(())
}

/// The operation that will run, or every operation when the choice is ambiguous (the
/// executor then refuses the request anyway; checking them all keeps this fail-closed).
fn operations_to_run<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Vec<&'a OperationDefinition> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => vec![&operation.node],
        (DocumentOperations::Multiple(operations), Some(name)) => match operations.get(name) {
            Some(operation) => vec![&operation.node],
            None => operations
                .values()
                .map(|operation| &operation.node)
                .collect(),
        },
        (DocumentOperations::Multiple(operations), None) => operations
            .values()
            .map(|operation| &operation.node)
            .collect(),
    }
}

/// Refuses `operation` unless `scopes` grant each of its root fields.
fn check(
    scopes: ScopeSet,
    document: &ExecutableDocument,
    operation: &OperationDefinition,
) -> ServerResult<()> {
    let required = |access: Access| {
        if scopes.permits(access) {
            Ok(())
        } else {
            Err(Error::InsufficientScope {
                required_scopes: access.accepted_scopes(),
            }
            .into_server_error())
        }
    };
    match operation.ty {
        OperationType::Mutation => required(Access::Mutation),
        OperationType::Subscription => required(Access::Query),
        OperationType::Query => {
            let mut fields = Vec::new();
            let mut seen_fragments = HashSet::new();
            root_fields(
                document,
                &operation.selection_set.node,
                &mut seen_fragments,
                &mut fields,
            );
            fields
                .into_iter()
                .try_for_each(|field| required(access_for_query_field(field)))
        }
    }
}

/// The access a root query field needs.
pub fn access_for_query_field(field: &str) -> Access {
    if USER_QUERIES.contains(&field) || field == "__typename" {
        Access::UserQuery
    } else {
        Access::Query
    }
}

/// Collects the names of root fields, looking through fragment spreads and inline fragments.
fn root_fields<'a>(
    document: &'a ExecutableDocument,
    selection_set: &'a SelectionSet,
    seen_fragments: &mut HashSet<&'a str>,
    fields: &mut Vec<&'a str>,
) {
    for selection in &selection_set.items {
        match &selection.node {
            Selection::Field(field) => fields.push(field.node.name.node.as_str()),
            Selection::InlineFragment(fragment) => root_fields(
                document,
                &fragment.node.selection_set.node,
                seen_fragments,
                fields,
            ),
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if !seen_fragments.insert(name) {
                    continue;
                }
                match document.fragments.get(name) {
                    Some(fragment) => root_fields(
                        document,
                        &fragment.node.selection_set.node,
                        seen_fragments,
                        fields,
                    ),
                    // An unknown fragment fails validation later; count it as the strictest field.
                    None => fields.push(""),
                }
            }
        }
    }
}

fn coded_error(message: &str, code: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}
