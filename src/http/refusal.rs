//! The answer to unusable credentials: 401, `WWW-Authenticate`, a GraphQL-shaped body, and
//! the same message whatever the cause (the cause goes to the log and metrics only).

use std::sync::LazyLock;

use axum::{
    Json,
    body::{Body, Bytes},
    http::{
        HeaderValue, StatusCode,
        header::{CONTENT_TYPE, WWW_AUTHENTICATE},
    },
    response::{IntoResponse, Response},
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
    json!({
        "data": null,
        "errors": [{ "message": message, "extensions": { "code": "UNAUTHENTICATED" } }],
    })
    .to_string()
}

/// The 503 response when the database cannot be reached.
pub fn unavailable() -> Response {
    let body = json!({
        "data": null,
        "errors": [{ "message": "The service is temporarily unavailable.", "extensions": { "code": crate::error::UNAVAILABLE_CODE } }],
    });
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// A GraphQL-shaped error response with `status` and `code`.
pub fn graphql_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({
        "data": null,
        "errors": [{ "message": message, "extensions": { "code": code } }],
    });
    (status, Json(body)).into_response()
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

/// The body limit answers 413 in plain text; API clients get the usual JSON error instead.
pub async fn json_for_oversized_bodies(response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return payload_too_large();
    }
    response
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
