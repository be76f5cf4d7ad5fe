//! The HTTP edge: routes, layers (observation, body limit, timeout), and the handlers.

pub mod avatar;
pub mod graphql;
pub mod observe;
pub mod ops;
pub mod refusal;
pub mod security_headers;

use std::time::Duration;

use axum::{
    Router, middleware,
    routing::{get, post},
};
use tower_http::{
    catch_panic::CatchPanicLayer, limit::RequestBodyLimitLayer, timeout::TimeoutLayer,
};

use crate::{git, registry, state::AppState, web};

/// Largest request body accepted (GraphQL documents and variables).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Longest time a request may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// All routes of the service.
pub fn router(state: AppState) -> Router {
    let executor = crate::graphql::build(state.clone());
    let api = Router::new()
        .route("/api/graphql", get(graphql::get).post(graphql::post))
        .route("/-/graphiql", get(graphql::graphiql))
        .route("/-/health", get(ops::health))
        .route("/-/readiness", get(ops::readiness))
        .route("/-/metrics", get(ops::metrics))
        .route("/-/avatars/{file}", get(avatar::avatar))
        .route("/jwt/auth", get(registry::token))
        .merge(web::routes())
        .layer(axum::Extension(executor))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(middleware::map_response(refusal::json_for_oversized_bodies));
    // Git streams pushes and clones of any size for as long as they take: no body limit,
    // no request timeout (the client's connection bounds it).
    let git = Router::new()
        .route("/{namespace}/{repository}/info/refs", get(git::smart_http))
        .route(
            "/{namespace}/{repository}/git-upload-pack",
            post(git::smart_http),
        )
        .route(
            "/{namespace}/{repository}/git-receive-pack",
            post(git::smart_http),
        );
    api.merge(git)
        .layer(CatchPanicLayer::custom(refusal::internal_error_after_panic))
        .layer(middleware::from_fn(security_headers::add))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .with_state(state)
}
