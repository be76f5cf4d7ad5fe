//! The container-registry token server: `GET /jwt/auth?service=…&scope=…` with HTTP Basic
//! auth (a token as the password, the username ignored) answers a short-lived RS256 JWT
//! granting only what the token's scopes and the user's project role allow. A standard
//! Docker Distribution registry configured for token auth trusts it.

pub mod access;
pub mod jwt;
pub mod keys;

use std::net::SocketAddr;

use axum::{
    Json,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header, header::WWW_AUTHENTICATE},
    response::{IntoResponse, Response},
};
use chrono::SecondsFormat;
use serde_json::json;

use crate::{
    auth::{
        throttle,
        token::{Refusal, authenticate, refuse},
    },
    git::git_credentials,
    projects::{self, permissions},
    registry::{
        access::{RequestedScope, grant},
        jwt::{AccessEntry, Claims},
        keys::RegistryKeys,
    },
    state::AppState,
};

/// Most `scope` parameters one request may carry.
const MAX_SCOPES: usize = 32;

/// The keys, generated on first use (off the async runtime: RSA generation is CPU work).
pub async fn keys(state: &AppState) -> anyhow::Result<&RegistryKeys> {
    state
        .registry_keys
        .get_or_try_init(|| async {
            let data_dir = state.config.data_dir.clone();
            let issuer = state.config.registry.issuer.clone();
            tokio::task::spawn_blocking(move || keys::load_or_generate(&data_dir, &issuer)).await?
        })
        .await
}

/// `GET /jwt/auth`
pub async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let ip = peer.ip();
    let mut service = None;
    let mut requested = Vec::new();
    for pair in uri.query().unwrap_or_default().split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match key {
            "service" => service = Some(value),
            "scope" if requested.len() < MAX_SCOPES => {
                // One parameter may hold several space-separated scopes.
                requested.extend(value.split(' ').filter_map(RequestedScope::parse));
            }
            _ => {}
        }
    }
    if service.as_deref() != Some(state.config.registry.service.as_str()) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "errors": [{ "code": "UNSUPPORTED", "message": "unknown service" }] })),
        )
            .into_response();
    }
    let attempt = match state.git_throttle.begin(ip, state.clock.now()) {
        Ok(attempt) => attempt,
        Err(remaining) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, throttle::retry_after(remaining))],
            )
                .into_response();
        }
    };
    let principal = match git_credentials(&headers) {
        Err(reason) => {
            refuse(&state, reason, "registry", Some(ip), None);
            attempt.failed();
            return unauthorized();
        }
        Ok(None) => None,
        Ok(Some(secret)) => match authenticate(&state, &secret, Some(ip), "registry").await {
            Ok(principal) => Some(principal),
            Err(Refusal::Invalid(_)) => {
                attempt.failed();
                return unauthorized();
            }
            Err(Refusal::Unavailable(_)) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        },
    };
    drop(attempt);
    let scopes = principal
        .as_ref()
        .map(|principal| principal.token_scopes().unwrap_or_else(all_scopes));
    let user = principal.as_ref().map(|principal| &*principal.user);
    let mut granted = Vec::new();
    for scope in requested {
        let project = match projects::find_by_full_path(&state.db, &scope.project_path()).await {
            // Only the project's own name, exactly: no case or path variants.
            Ok(Some(project)) if projects::full_path(&project) == scope.project_path() => project,
            Ok(_) => continue,
            Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        };
        let can = match permissions(&state.db, &project, user).await {
            Ok(can) => can,
            Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        };
        let actions = grant(&scope, scopes, can);
        if !actions.is_empty() {
            granted.push(AccessEntry {
                kind: "repository",
                name: scope.name,
                actions,
            });
        }
    }
    let keys = match keys(&state).await {
        Ok(keys) => keys,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "registry keys unavailable");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let now = state.clock.now();
    let claims = Claims {
        issuer: state.config.registry.issuer.clone(),
        subject: user.map(|user| user.username.clone()).unwrap_or_default(),
        audience: state.config.registry.service.clone(),
        issued_at: now,
        lifetime_seconds: state.config.registry.token_seconds,
        access: granted,
    };
    match jwt::sign(keys, &claims) {
        Ok(token) => Json(json!({
            "token": token,
            "access_token": token,
            "expires_in": claims.lifetime_seconds,
            "issued_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        }))
        .into_response(),
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "signing a registry token failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Session or shell principals have no token scopes; they get what the role allows.
fn all_scopes() -> crate::tokens::scope::ScopeSet {
    crate::tokens::scope::ScopeSet::from_stored("api")
}

fn unauthorized() -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "errors": [{ "code": "UNAUTHORIZED", "message": "authentication required: use a personal access token as the password" }] })),
    )
        .into_response();
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Basic realm="WVS""#),
    );
    response
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(
            percent_decode("repository%3Aalice%2Fapp%3Apull%2Cpush"),
            "repository:alice/app:pull,push"
        );
        assert_eq!(percent_decode("a+b%"), "a b%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
