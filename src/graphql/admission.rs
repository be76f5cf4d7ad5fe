//! What every GraphQL request passes before the executor sees it: the document is parsed
//! (through [`DocumentCache`]), its size after fragment expansion bounded
//! ([`document_limits`]), and its operation checked against the caller's scopes and the
//! HTTP method ([`scope_guard`]). A refused request gets its error as a GraphQL response
//! and never reaches validation or a resolver. A document that does not parse goes on
//! unparsed, and the executor answers with its parse error.

use async_graphql::{Request, Response};

use crate::graphql::{
    context::{Caller, HttpMethod},
    document_limits,
    documents::DocumentCache,
    scope_guard,
};

/// Admits `request` (handing the executor its parsed document) or answers it.
pub fn admit(
    documents: &DocumentCache,
    mut request: Request,
    caller: &Caller,
    method: HttpMethod,
) -> Result<Request, Box<Response>> {
    let Some(document) = documents.parse(&request.query) else {
        return Ok(request);
    };
    let scopes = caller
        .0
        .as_ref()
        .and_then(|principal| principal.token_scopes());
    scope_guard::check_document(&document, request.operation_name.as_deref(), scopes, method)
        .and_then(|()| document_limits::check(&document))
        .map_err(|error| Box::new(Response::from_errors(vec![error])))?;
    request.set_parsed_query(document);
    Ok(request)
}
