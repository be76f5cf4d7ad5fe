//! Server-rendered web pages: sign-in, Edit profile and Access Tokens. They work without
//! JavaScript (a small script only adds the copy button), call the same services as the
//! GraphQL API, and carry a CSRF token in every form.

pub mod access_tokens;
pub mod assets;
pub mod form;
pub mod html;
pub mod profile;
pub mod session;
pub mod sign_in;

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};

use crate::{error::Error, state::AppState};

/// Where a signed-in user lands by default.
pub const HOME: &str = "/-/user_settings/profile";
/// The Access Tokens page.
pub const ACCESS_TOKENS: &str = "/-/user_settings/personal_access_tokens";

/// The web pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/users/sign_in", get(sign_in::form).post(sign_in::submit))
        .route("/users/sign_out", post(sign_in::sign_out))
        .route("/-/user_settings/profile", get(profile::page))
        .route(
            ACCESS_TOKENS,
            get(access_tokens::page).post(access_tokens::create),
        )
        .route(
            "/-/user_settings/personal_access_tokens/{id}/revoke",
            post(access_tokens::revoke),
        )
        .route(
            "/-/user_settings/personal_access_tokens/{id}/rotate",
            post(access_tokens::rotate),
        )
        .route("/-/assets/{file}", get(assets::asset))
}

/// `GET /`: the profile when signed in, else the sign-in page.
async fn root(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session::find(&state, &headers).await {
        Ok(Some(_)) => see_other(HOME),
        Ok(None) => see_other("/users/sign_in"),
        Err(error) => error_page(&error),
    }
}

/// An HTML response that no cache keeps (pages may hold a new token or a CSRF token).
pub fn html_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `303 See Other` to a local path.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Sends a browser that is not signed in to the sign-in page, coming back here afterwards
/// (so a prefill link survives signing in).
pub fn sign_in_first(uri: &Uri) -> Response {
    let back = uri
        .path_and_query()
        .map(|path| path.as_str())
        .unwrap_or(HOME);
    see_other(&format!(
        "/users/sign_in?redirect_to={}",
        form::encode(back)
    ))
}

/// Only paths on this site are followed after sign-in, never another origin. Browsers send
/// paths percent-encoded, so anything but printable ASCII (spaces, look-alike slashes) is
/// refused rather than put raw into a `Location` header.
pub fn local_path(raw: Option<&str>) -> Option<&str> {
    raw.filter(|path| {
        path.starts_with('/')
            && !path.starts_with("//")
            && path.len() <= 2048
            && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    })
}

/// A page for a refusal or failure that has no form to show it next to.
pub fn error_page(error: &Error) -> Response {
    let (status, message) = match error {
        Error::NotFound(_) => (StatusCode::NOT_FOUND, error.to_string()),
        Error::Forbidden(_) | Error::InsufficientScope { .. } => {
            (StatusCode::FORBIDDEN, error.to_string())
        }
        Error::BadInput { .. } => (StatusCode::UNPROCESSABLE_ENTITY, error.to_string()),
        Error::Unauthenticated => (StatusCode::UNAUTHORIZED, error.to_string()),
        Error::Unavailable(cause) | Error::Internal(cause) => {
            tracing::error!(error = format!("{cause:#}"), "web page failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable. Try again in a moment.".to_owned(),
            )
        }
    };
    message_page(status, "Something went wrong", &message)
}

/// A bare page with a heading and one message.
pub fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        r#"<section class="narrow"><h1>{}</h1><p class="alert danger" role="alert">{}</p><p><a href="/">Back to WVS</a></p></section>"#,
        html::escape(title),
        html::escape(message)
    );
    html_response(
        status,
        html::render(html::Page {
            title,
            viewer: None,
            settings: None,
            body,
        }),
    )
}

/// The answer to a form without a valid CSRF token.
pub fn csrf_refused() -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        "Request refused",
        "The form was not sent from this site or has expired. Reload the page and try again.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path(Some("/-/x?a=b")), Some("/-/x?a=b"));
        assert_eq!(local_path(Some("//evil.example")), None);
        assert_eq!(local_path(Some("/\\evil.example")), None);
        assert_eq!(local_path(Some("https://evil.example")), None);
        assert_eq!(local_path(Some("/a\nb")), None);
        assert_eq!(local_path(Some("/ /evil.example")), None);
        assert_eq!(local_path(Some("/\u{FF0F}/evil.example")), None);
        assert_eq!(local_path(Some("/a\tb")), None);
        assert_eq!(local_path(None), None);
    }
}
