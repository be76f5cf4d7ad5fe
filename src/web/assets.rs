//! The pages' stylesheet and script, compiled into the binary and served from this origin
//! (the Content-Security-Policy allows nothing else).

use axum::{
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

const STYLESHEET: &str = include_str!("assets/web.css");
const SCRIPT: &str = include_str!("assets/web.js");
const GRAPHIQL_SCRIPT: &str = include_str!("assets/graphiql.js");
const GRAPHIQL_STYLESHEET: &str = include_str!("assets/graphiql.css");

/// `GET /-/assets/{file}`
pub async fn asset(Path(file): Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "web.css" => ("text/css; charset=utf-8", STYLESHEET),
        "web.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "graphiql.js" => ("text/javascript; charset=utf-8", GRAPHIQL_SCRIPT),
        "graphiql.css" => ("text/css; charset=utf-8", GRAPHIQL_STYLESHEET),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
