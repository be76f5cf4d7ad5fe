//! One request log line and the response counters. The log carries method, path, status
//! and latency; never the query string, never headers, never a token.

use std::{borrow::Cow, time::Instant};

use axum::{extract::Request, extract::State, middleware::Next, response::Response};

use crate::{state::AppState, tokens::secret::TOKEN_PREFIX};

/// Logs and counts each request.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = redact_tokens(request.uri().path()).into_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    state.metrics.record_response(status);
    tracing::info!(
        %method,
        path,
        status,
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// Replaces anything token-shaped in `text` (e.g. a token pasted into a URL path).
pub fn redact_tokens(text: &str) -> Cow<'_, str> {
    if !text.contains(TOKEN_PREFIX) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(TOKEN_PREFIX) {
        out.push_str(&rest[..start]);
        out.push_str(TOKEN_PREFIX);
        out.push_str("[REDACTED]");
        let after = &rest[start + TOKEN_PREFIX.len()..];
        let end = after
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_material_is_removed_from_logged_paths() {
        assert_eq!(redact_tokens("/api/graphql"), "/api/graphql");
        assert_eq!(
            redact_tokens("/x/wvspat-abcDEF123/y/wvspat-zz"),
            "/x/wvspat-[REDACTED]/y/wvspat-[REDACTED]"
        );
    }
}
