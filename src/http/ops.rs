//! Liveness, readiness (the database answers) and Prometheus metrics.

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};

use crate::state::AppState;

/// Liveness: the process serves HTTP.
pub async fn health() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

/// Readiness: the database answers a ping.
pub async fn readiness(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(error) => {
            tracing::warn!(error = %error, "readiness: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n")
        }
    }
}

/// Counters in the Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(&state.auth_cache),
    )
}
