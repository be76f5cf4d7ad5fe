//! Runs admitted requests. The executor's full validation (two dozen rules walking the
//! document against the schema) was the largest cost of a small authenticated query after
//! parsing, and with no variables its verdict depends on the document alone: once a
//! document has passed it, the same document without variables runs on a copy of the schema
//! that keeps only the checks execution itself relies on (fragment cycles, depth,
//! complexity). A document with variables is always fully validated, since argument values
//! come from them; so is one that has not yet passed.

use async_graphql::{Response, ValidationMode};

use crate::graphql::{WvsSchema, admission::Admitted};

/// The schema twice over: the same types, resolvers and limits, with every validation rule
/// (`strict`) or only those execution relies on (`prevalidated`).
#[derive(Clone)]
pub struct Executor {
    strict: WvsSchema,
    prevalidated: WvsSchema,
}

impl Executor {
    /// `build` makes the schema; it is called twice.
    pub fn new(build: impl Fn() -> crate::graphql::Builder) -> Self {
        Executor {
            strict: build().finish(),
            prevalidated: build().validation_mode(ValidationMode::Fast).finish(),
        }
    }

    /// Runs `admitted`, fully validating it unless its document already passed without
    /// variables and it has none either.
    pub async fn execute(&self, admitted: Admitted) -> Response {
        let Admitted { request, document } = admitted;
        let Some(document) = document.filter(|_| request.variables.is_empty()) else {
            return self.strict.execute(request).await;
        };
        if document.validated() {
            return self.prevalidated.execute(request).await;
        }
        let response = self.strict.execute(request).await;
        // A validation failure is always an error of the response: without any, every rule
        // passed (an error from a resolver only delays the marking to a later request).
        if response.errors.is_empty() {
            document.mark_validated();
        }
        response
    }
}
