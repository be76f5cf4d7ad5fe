//! The HTTP edge: routes, layers (observation, body limit, timeout), and the handlers.

pub mod avatar;
pub mod graphql;
pub mod observe;
pub mod ops;
pub mod refusal;
pub mod security_headers;

use std::{convert::Infallible, time::Duration};

use axum::{
    Router,
    extract::Request,
    middleware,
    response::Response,
    routing::{get, post},
};
use tower::{Service, ServiceBuilder};
use tower_http::{
    catch_panic::CatchPanicLayer, limit::RequestBodyLimitLayer, timeout::TimeoutLayer,
};

use crate::{git, registry, state::AppState, web};

/// Largest request body accepted (GraphQL documents and variables).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Longest time a request may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// All routes of the service, behind the layers every request passes.
///
/// The layers wrap the finished router once, as one service, rather than each route through
/// `Router::layer`: a route's layers are boxed around it level by level, and every request
/// cloned the whole stack below each middleware, allocating at every level (over fifty
/// allocations a request, about a third of the cost of the smallest request). Around the
/// router, each middleware's clone is a reference count.
pub fn service(
    state: AppState,
) -> impl Service<
    Request,
    Response = Response,
    Error = Infallible,
    Future = impl Future<Output = Result<Response, Infallible>> + Send,
> + Clone
+ Send
+ 'static {
    ServiceBuilder::new()
        .layer(middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .layer(middleware::from_fn(security_headers::add))
        .layer(CatchPanicLayer::custom(refusal::internal_error_after_panic))
        .service(router(state))
}

fn router(state: AppState) -> Router {
    let executor = crate::graphql::build(state.clone());
    let timeout =
        || TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT);
    // The GraphQL endpoint bounds its body itself, after authenticating (a refused token is
    // answered 401 whatever the body's length); the layer below would answer 413 first.
    let graphql = Router::new()
        .route("/api/graphql", get(graphql::get).post(graphql::post))
        .layer(
            ServiceBuilder::new()
                .layer(timeout())
                .layer(axum::Extension(executor)),
        );
    // Everything else but Git: bounded bodies and time. The tower layers are combined into
    // one, so each route is wrapped once for them.
    let bounded = ServiceBuilder::new()
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(timeout());
    let api = Router::new()
        .route("/-/graphiql", get(graphql::graphiql))
        .route("/-/health", get(ops::health))
        .route("/-/readiness", get(ops::readiness))
        .route("/-/metrics", get(ops::metrics))
        .route("/-/avatars/{file}", get(avatar::avatar))
        .route("/jwt/auth", get(registry::token))
        .merge(web::routes())
        .layer(bounded)
        .merge(graphql)
        .layer(middleware::map_response(refusal::json_for_bare_errors));
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
    api.merge(git).with_state(state)
}
