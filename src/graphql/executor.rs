//! Runs admitted requests. The executor's full validation (two dozen rules walking the
//! document against the schema) was the largest cost of a small authenticated query after
//! parsing, and with no variables its verdict depends on the document alone: once a
//! document has passed it, the same document without variables runs on a copy of the schema
//! in async-graphql's fast mode, which keeps the rules execution itself relies on (fragment
//! cycles, uploads, the depth and complexity limits); the recursion and directive limits
//! and the choice of operation come before validation and run either way. A document with
//! variables is always fully validated, since argument values come from them; so is one
//! that has not yet passed.

use std::sync::Arc;

use async_graphql::{Response, ValidationMode};

use crate::{
    graphql::{WvsSchema, admission::Admitted, response_order},
    metrics::Metrics,
};

/// The schema twice over: the same types, resolvers and limits, with every validation rule
/// (`strict`) or only those execution relies on (`prevalidated`).
#[derive(Clone)]
pub struct Executor {
    strict: WvsSchema,
    prevalidated: WvsSchema,
    metrics: Arc<Metrics>,
}

impl Executor {
    /// `build` makes the schema; it is called twice.
    pub fn new(build: impl Fn() -> crate::graphql::Builder, metrics: Arc<Metrics>) -> Self {
        Executor {
            strict: build().finish(),
            prevalidated: build().validation_mode(ValidationMode::Fast).finish(),
            metrics,
        }
    }

    /// Runs `admitted`, fully validating it unless its document already passed without
    /// variables and it has none either; the response's fields in the order selected.
    pub async fn execute(&self, admitted: Admitted) -> Response {
        let Admitted { request, document } = admitted;
        // A document that does not parse is answered with the parse error: nothing validates.
        let Some(document) = document else {
            return self.strict.execute(request).await;
        };
        let operation_name = request.operation_name.clone();
        let without_variables = request.variables.is_empty();
        let remembered = without_variables && document.validated();
        self.metrics.record_graphql_validation(remembered);
        let schema = if remembered {
            &self.prevalidated
        } else {
            &self.strict
        };
        let mut response = schema.execute(request).await;
        // A validation failure is always an error of the response: without any, every rule
        // passed (an error from a resolver only delays the marking to a later request).
        if !remembered && without_variables && response.errors.is_empty() {
            document.mark_validated();
        }
        response_order::restore(
            &document.document,
            operation_name.as_deref(),
            &mut response.data,
        );
        response
    }
}
