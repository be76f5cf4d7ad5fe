//! Git over HTTP: `/{namespace}/{project}.git/info/refs`, `git-upload-pack` and
//! `git-receive-pack`, authenticated with a token as the Basic-auth password (the username
//! is ignored; a token as the username with an empty password works too) and bridged to
//! `git http-backend`.
//!
//! Pull needs `api`, `read_api`, `read_repository` or `write_repository` and read access to
//! the project; push needs `api` or `write_repository` and the developer role. Anonymous
//! requests may pull public projects; everything else is asked for credentials (401).
//! A private project the user cannot see is 404, never 403.

pub mod backend;

use std::net::SocketAddr;

use axum::{
    body::Body,
    extract::{ConnectInfo, Path, State},
    http::{
        HeaderMap, HeaderValue, Method, StatusCode, Uri,
        header::{AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE},
    },
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};

use crate::{
    auth::{
        principal::Principal,
        throttle,
        token::{Refusal, authenticate, refuse},
    },
    metrics::AuthFailure,
    projects::{self, permissions},
    state::AppState,
    tokens::scope::Access,
};

/// What a Git request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Pull,
    Push,
}

/// `GET …/info/refs?service=…`, `POST …/git-upload-pack` (fetch, clone) and
/// `POST …/git-receive-pack` (push), for `/{namespace}/{project}.git`.
pub async fn smart_http(
    State(state): State<AppState>,
    Path((namespace, repository)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let path = uri.path();
    let (suffix, operation) = if path.ends_with("/git-receive-pack") {
        ("git-receive-pack", Operation::Push)
    } else if path.ends_with("/git-upload-pack") {
        ("git-upload-pack", Operation::Pull)
    } else if uri
        .query()
        .unwrap_or_default()
        .contains("service=git-receive-pack")
    {
        ("info/refs", Operation::Push)
    } else {
        ("info/refs", Operation::Pull)
    };
    let request = GitRequest {
        namespace,
        repository,
        suffix,
        operation,
        peer,
        method,
        uri,
        headers,
    };
    serve(state, request, body).await
}

struct GitRequest {
    namespace: String,
    repository: String,
    suffix: &'static str,
    operation: Operation,
    peer: SocketAddr,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

async fn serve(state: AppState, request: GitRequest, body: Body) -> Response {
    let ip = request.peer.ip();
    let attempt = match state.git_throttle.begin(ip, state.clock.now()) {
        Ok(attempt) => attempt,
        Err(remaining) => return too_many_attempts(remaining),
    };
    let principal = match git_credentials(&request.headers) {
        Err(reason) => {
            refuse(&state, reason, "git", Some(ip), None);
            attempt.failed();
            return challenge();
        }
        Ok(None) => None,
        Ok(Some(secret)) => match authenticate(&state, &secret, Some(ip), "git").await {
            Ok(principal) => Some(principal),
            Err(Refusal::Invalid(_)) => {
                attempt.failed();
                return challenge();
            }
            Err(Refusal::Unavailable(_)) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        },
    };
    drop(attempt);
    let Some(path) = request.repository.strip_suffix(".git") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let full_path = format!("{}/{path}", request.namespace);
    let project = match projects::find_by_full_path(&state.db, &full_path).await {
        Ok(project) => project,
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let Some(project) = project else {
        return not_found_or_challenge(principal.as_ref());
    };
    let user = principal.as_ref().map(|principal| &*principal.user);
    let can = match permissions(&state.db, &project, user).await {
        Ok(can) => can,
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    if !can.read {
        return not_found_or_challenge(principal.as_ref());
    }
    let allowed = match (&principal, request.operation) {
        // Anonymous: public pulls only; anything else asks for credentials.
        (None, Operation::Pull) => true,
        (None, Operation::Push) => return challenge(),
        (Some(principal), Operation::Pull) => principal.require(Access::GitPull).is_ok(),
        (Some(principal), Operation::Push) => {
            principal.require(Access::GitPush).is_ok() && can.write
        }
    };
    if !allowed {
        return (
            StatusCode::FORBIDDEN,
            "You are not allowed to do this with this repository.\n",
        )
            .into_response();
    }
    let remote_user = principal
        .as_ref()
        .map(|principal| principal.user.username.clone())
        .unwrap_or_else(|| "anonymous".into());
    let root = projects::repositories_root(&state);
    let cgi = backend::CgiRequest {
        project_root: &root,
        path_info: format!(
            "/{}/{}.git/{}",
            project.namespace, project.path, request.suffix
        ),
        method: &request.method,
        query: request.uri.query().unwrap_or_default(),
        headers: &request.headers,
        remote_user: &remote_user,
        remote_addr: ip,
    };
    backend::run(cgi, body).await
}

/// The token from HTTP Basic auth: the password, or the username when the password is
/// empty. `Bearer` is accepted too. No header: `None`.
pub fn git_credentials(headers: &HeaderMap) -> Result<Option<String>, AuthFailure> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return if headers.contains_key(AUTHORIZATION) {
            Err(AuthFailure::Malformed)
        } else {
            Ok(None)
        };
    };
    let value = value.to_str().map_err(|_| AuthFailure::Malformed)?.trim();
    let (scheme, rest) = value.split_once(' ').ok_or(AuthFailure::Malformed)?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(Some(rest.trim().to_owned()));
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(AuthFailure::Malformed);
    }
    let decoded = STANDARD
        .decode(rest.trim())
        .map_err(|_| AuthFailure::Malformed)?;
    let decoded = String::from_utf8(decoded).map_err(|_| AuthFailure::Malformed)?;
    let (username, password) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
    let secret = if password.is_empty() {
        username
    } else {
        password
    };
    Ok(Some(secret.to_owned()))
}

fn not_found_or_challenge(principal: Option<&Principal>) -> Response {
    match principal {
        None => challenge(),
        Some(_) => (
            StatusCode::NOT_FOUND,
            "The project you were looking for could not be found.\n",
        )
            .into_response(),
    }
}

/// 401 inviting the client to send Basic credentials (the token as the password).
fn challenge() -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        "HTTP Basic: Access denied. Use a personal access token as the password.\n",
    )
        .into_response();
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Basic realm="WVS""#),
    );
    response
}

fn too_many_attempts(remaining: chrono::Duration) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        "Too many failed authentication attempts from your address; try again later.\n",
    )
        .into_response();
    response
        .headers_mut()
        .insert(RETRY_AFTER, throttle::retry_after(remaining));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any Authorization header, including Basic with arbitrary decoded bytes: a token,
        /// none, or a refusal, never a panic.
        #[test]
        fn arbitrary_basic_auth_never_panics(
            scheme in "(Basic|basic|Bearer|Digest|)",
            raw in proptest::collection::vec(proptest::num::u8::ANY, 0..120),
            encode in proptest::bool::ANY,
        ) {
            let credentials = if encode { STANDARD.encode(&raw) } else { String::from_utf8_lossy(&raw).into_owned() };
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(&format!("{scheme} {credentials}")) {
                headers.insert(AUTHORIZATION, value);
            }
            let answer = git_credentials(&headers);
            // Well-formed Basic auth always yields the password, or else the username.
            if encode && !raw.is_empty() && scheme.eq_ignore_ascii_case("basic") && let Ok(text) = std::str::from_utf8(&raw) {
                let (user, password) = text.split_once(':').unwrap_or((text, ""));
                let expected = if password.is_empty() { user } else { password };
                proptest::prop_assert_eq!(answer, Ok(Some(expected.to_owned())));
            }
        }
    }

    fn basic(user: &str, password: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&value).expect("header"),
        );
        headers
    }

    #[test]
    fn the_token_is_the_password_or_else_the_username() {
        assert_eq!(
            git_credentials(&basic("anything", "tok")),
            Ok(Some("tok".into()))
        );
        assert_eq!(git_credentials(&basic("tok", "")), Ok(Some("tok".into())));
        assert_eq!(git_credentials(&HeaderMap::new()), Ok(None));
        let mut junk = HeaderMap::new();
        junk.insert(AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(git_credentials(&junk), Err(AuthFailure::Malformed));
    }
}
