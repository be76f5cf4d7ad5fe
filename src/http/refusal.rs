//! The answer to unusable credentials: 401, `WWW-Authenticate`, a GraphQL-shaped body, and
//! the same message whatever the cause (the cause goes to the log and metrics only).

use std::sync::LazyLock;

use axum::{
    body::{Body, Bytes},
    http::{
        HeaderValue, StatusCode,
        header::{CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE},
    },
    response::Response,
};
use serde_json::json;

use crate::{http::security_headers, metrics::AuthFailure};

/// What every refused token hears.
pub const INVALID_TOKEN_MESSAGE: &str =
    "Invalid token: it is malformed, unknown, revoked or expired, or its user is blocked.";
const QUERY_STRING_MESSAGE: &str = "Access tokens are not accepted in the URL; send the token in an Authorization: Bearer or PRIVATE-TOKEN header.";

/// The 401 response for `reason`. Its bodies are serialized once: a flood of junk tokens
/// is answered with the same static bytes, and its headers are allocated once, at their
/// final size.
pub fn unauthorized(reason: AuthFailure) -> Response {
    static INVALID_TOKEN: LazyLock<String> = LazyLock::new(|| error_body(INVALID_TOKEN_MESSAGE));
    static QUERY_STRING: LazyLock<String> = LazyLock::new(|| error_body(QUERY_STRING_MESSAGE));
    let body: &'static str = match reason {
        AuthFailure::QueryString => &QUERY_STRING,
        _ => &INVALID_TOKEN,
    };
    let mut response = Response::new(Body::from(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    let headers = response.headers_mut();
    security_headers::reserve_for(headers, 2);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Bearer realm="WVS", error="invalid_token""#),
    );
    response
}

fn error_body(message: &str) -> String {
    error_body_with_code("UNAUTHENTICATED", message)
}

/// The JSON of every error the service answers outside GraphQL execution.
fn error_body_with_code(code: &str, message: &str) -> String {
    json!({
        "data": null,
        "errors": [{ "message": message, "extensions": { "code": code } }],
    })
    .to_string()
}

/// The 503 response when the database cannot be reached.
pub fn unavailable() -> Response {
    graphql_error(
        StatusCode::SERVICE_UNAVAILABLE,
        crate::error::UNAVAILABLE_CODE,
        "The service is temporarily unavailable.",
    )
}

/// A GraphQL-shaped error response with `status` and `code`.
pub fn graphql_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, error_body_with_code(code, message))
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The 500 answer when a handler panicked: the client learns only `INTERNAL`; the panic
/// message goes to the log (it never holds a token: secrets are redacted in `Debug`).
pub fn internal_error_after_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "request handler panicked");
    graphql_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
        "Internal server error.",
    )
}

/// The body limit (413, in plain text), the request timeout (408) and the router (405,
/// a method the path does not take) answer without a body the API's clients can read:
/// they get the usual JSON error instead, with the response's other headers (`Allow`) kept.
pub async fn json_for_bare_errors(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes() == b"application/json");
    if is_json {
        return response;
    }
    let (code, message) = match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => return payload_too_large(),
        StatusCode::REQUEST_TIMEOUT => ("REQUEST_TIMEOUT", "The request took too long."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "METHOD_NOT_ALLOWED",
            "This path does not take this method; see the Allow header.",
        ),
        _ => return response,
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(error_body_with_code(code, message)))
}

/// The 413 response for a request body over the limit.
pub fn payload_too_large() -> Response {
    graphql_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        "The request body is larger than 1 MiB.",
    )
}

/// Whether reading a body failed because it outgrew the limit: a body without a
/// `Content-Length` (chunked) is only found too long while it is read, and the error comes
/// back wrapped in the reader's own errors.
pub fn exceeded_body_limit(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        // An I/O error's `source` skips the error it wraps; look at that one too.
        next = match error.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header::ALLOW;

    async fn answer(status: StatusCode) -> (Response, serde_json::Value) {
        let mut bare = Response::new(Body::from("plain text"));
        *bare.status_mut() = status;
        bare.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        bare.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from_static("10"));
        let response = json_for_bare_errors(bare).await;
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("body");
        let json = serde_json::from_slice(&bytes).expect("json");
        (Response::from_parts(parts, Body::empty()), json)
    }

    /// The timeout's 408 and the router's 405 get a JSON error with their code (no test of
    /// the whole server waits out the 30 s timeout); the body limit's 413 gets the usual one.
    #[tokio::test]
    async fn bare_errors_get_json_bodies_with_their_codes() {
        for (status, code) in [
            (StatusCode::REQUEST_TIMEOUT, "REQUEST_TIMEOUT"),
            (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
            (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
        ] {
            let (response, json) = answer(status).await;
            assert_eq!(response.status(), status);
            assert_eq!(json["errors"][0]["extensions"]["code"], code);
            assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
            assert!(
                !response.headers().contains_key(CONTENT_LENGTH)
                    || status == StatusCode::PAYLOAD_TOO_LARGE
            );
        }
        let (response, _) = answer(StatusCode::METHOD_NOT_ALLOWED).await;
        assert_eq!(response.headers()[ALLOW], "GET", "Allow is kept");
    }

    /// Other statuses, and errors a handler already answered in JSON, pass unchanged.
    #[tokio::test]
    async fn other_responses_pass_unchanged() {
        let mut teapot = Response::new(Body::from("short and stout"));
        *teapot.status_mut() = StatusCode::IM_A_TEAPOT;
        let own = graphql_error(StatusCode::METHOD_NOT_ALLOWED, "OWN", "A handler's own.");
        for (response, text) in [
            (teapot, "short and stout".to_owned()),
            (own, error_body_with_code("OWN", "A handler's own.")),
        ] {
            let status = response.status();
            let response = json_for_bare_errors(response).await;
            assert_eq!(response.status(), status);
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body");
            assert_eq!(String::from_utf8_lossy(&bytes), text);
        }
    }
}
