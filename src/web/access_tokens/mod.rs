//! `/-/user_settings/personal_access_tokens`: the create form (prefilled from the query),
//! the new token shown once, and the user's tokens with Revoke and Rotate.
//!
//! The page calls the token service exactly as GraphQL does, so the rules and messages are
//! the same; a refusal is shown next to the field it names. Forms that show a token (create,
//! rotate) carry a nonce claimed on submission, so re-sending the same form (reloading the
//! result page) changes nothing and shows no token.

mod form;
mod render;

use std::net::SocketAddr;

use axum::{
    body::Bytes,
    extract::{ConnectInfo, Path, RawQuery, State},
    http::{HeaderMap, StatusCode, Uri},
    response::Response,
};

use crate::{
    auth::principal::{Credential, Principal},
    error::Error,
    state::AppState,
    tokens::{
        self, create,
        revoke::{self, ALREADY_REVOKED, WhenRevoked},
    },
    web::{
        ACCESS_TOKENS, csrf_refused, error_page,
        form::Fields,
        see_other,
        session::{self, CSRF_FIELD, SignedIn},
        sign_in_first,
    },
};

use self::{
    form::{CreateForm, FieldErrors, prefill},
    render::{View, respond},
};

/// `GET /-/user_settings/personal_access_tokens[?name=…&scopes=a,b&description=…]`
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Response {
    let signed_in = match session::find(&state, &headers).await {
        Ok(Some(signed_in)) => signed_in,
        Ok(None) => return sign_in_first(&uri),
        Err(error) => return error_page(&error),
    };
    let query = Fields::parse(query.unwrap_or_default().as_bytes());
    let (form, mut notices) = prefill(&query, signed_in.user.admin);
    if let Some(id) = query.get("revoked").and_then(token_id)
        && let Ok(token) = tokens::find_visible(&state.db, &principal(&signed_in, None), id).await
        && token.user_id == signed_in.user.id
        && token.revoked_at.is_some()
    {
        notices.push(format!(
            "Revoked the personal access token “{}”.",
            token.name
        ));
    }
    if query.get("resubmitted").is_some() {
        notices.push(
            "This form was already submitted. A token is shown only once, right after it is created: if you did not copy it, revoke it and create another.".into(),
        );
    }
    let view = View {
        form,
        notices,
        after: query.get("after"),
        ..View::default()
    };
    respond(&state, &signed_in, StatusCode::OK, view).await
}

/// `POST /-/user_settings/personal_access_tokens`
pub async fn create(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let (signed_in, fields) = match accept_form(&state, &headers, &uri, &body).await {
        Ok(accepted) => accepted,
        Err(response) => return response,
    };
    let (mut form, request) = CreateForm::submitted(&fields);
    let Some(request) = request else {
        return refused(&state, &signed_in, form).await;
    };
    let nonce = match claim_nonce(&state, &signed_in, &fields).await {
        Ok(nonce) => nonce,
        Err(response) => return response,
    };
    match create::create_own(&state, &principal(&signed_in, Some(peer)), request).await {
        Ok(created) => {
            let view = View {
                created: Some(&created),
                ..View::default()
            };
            respond(&state, &signed_in, StatusCode::OK, view).await
        }
        Err(error) => {
            // Nothing was created, so the same form may be corrected and sent again.
            if let Err(release_error) = session::release_form(&state, &signed_in, &nonce).await {
                return error_page(&release_error);
            }
            if let Error::Internal(_) | Error::Unavailable(_) = error {
                return error_page(&error);
            }
            form.errors = FieldErrors::from_error(&error);
            refused(&state, &signed_in, form).await
        }
    }
}

/// `POST /-/user_settings/personal_access_tokens/{id}/revoke`
pub async fn revoke(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let (signed_in, _) = match accept_form(&state, &headers, &uri, &body).await {
        Ok(accepted) => accepted,
        Err(response) => return response,
    };
    let Some(id) = token_id(&id) else {
        return error_page(&Error::NotFound("Personal access token"));
    };
    let token = match own_token(&state, &signed_in, id).await {
        Ok(token) => token,
        Err(response) => return response,
    };
    match revoke::revoke(&state, &principal(&signed_in, Some(peer)), token.id).await {
        Ok(token) => see_other(&format!("{ACCESS_TOKENS}?revoked={}", token.id)),
        Err(error) => error_page(&error),
    }
}

/// `POST /-/user_settings/personal_access_tokens/{id}/rotate`: the token is revoked and its
/// successor (same name, description and scopes, same lifetime) is shown once.
pub async fn rotate(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let (signed_in, fields) = match accept_form(&state, &headers, &uri, &body).await {
        Ok(accepted) => accepted,
        Err(response) => return response,
    };
    let Some(id) = token_id(&id) else {
        return error_page(&Error::NotFound("Personal access token"));
    };
    let token = match own_token(&state, &signed_in, id).await {
        Ok(token) => token,
        Err(response) => return response,
    };
    let nonce = match claim_nonce(&state, &signed_in, &fields).await {
        Ok(nonce) => nonce,
        Err(response) => return response,
    };
    let actor = principal(&signed_in, Some(peer));
    // A page left open after the token was revoked elsewhere, or two tabs rotating at once,
    // is refused plainly: unlike a revoked token presented to the API, it is no sign of a
    // leak, so the rotation chain stays as it is.
    let outcome = revoke::rotate(&state, &actor, token.id, None, WhenRevoked::Refuse).await;
    if outcome.is_err()
        && let Err(error) = session::release_form(&state, &signed_in, &nonce).await
    {
        return error_page(&error);
    }
    match outcome {
        Ok(created) => {
            let view = View {
                created: Some(&created),
                notices: vec![format!(
                    "Rotated the personal access token “{}”: the old token no longer works.",
                    token.name
                )],
                ..View::default()
            };
            respond(&state, &signed_in, StatusCode::OK, view).await
        }
        Err(Error::BadInput { message, .. }) if message == ALREADY_REVOKED => {
            let view = View {
                alerts: vec![format!(
                    "The personal access token “{}” was already revoked, so it cannot be rotated.",
                    token.name
                )],
                ..View::default()
            };
            respond(&state, &signed_in, StatusCode::CONFLICT, view).await
        }
        Err(error @ (Error::BadInput { .. } | Error::Forbidden(_))) => {
            let view = View {
                alerts: vec![error.to_string()],
                ..View::default()
            };
            respond(&state, &signed_in, StatusCode::UNPROCESSABLE_ENTITY, view).await
        }
        Err(error) => error_page(&error),
    }
}

/// One of the signed-in user's own personal tokens (the page manages nothing else, not
/// even for administrators); otherwise the 404 page.
async fn own_token(
    state: &AppState,
    signed_in: &SignedIn,
    id: i64,
) -> std::result::Result<entity::personal_access_token::Model, Response> {
    match tokens::find_visible(&state.db, &principal(signed_in, None), id).await {
        Ok(token) if token.user_id == signed_in.user.id && !token.impersonation => Ok(token),
        Ok(_) => Err(error_page(&Error::NotFound("Personal access token"))),
        Err(error) => Err(error_page(&error)),
    }
}

/// The signed-in session and the fields of a form that carries its CSRF token; otherwise
/// the answer to give (sign in first, or refused).
async fn accept_form(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    body: &Bytes,
) -> std::result::Result<(SignedIn, Fields), Response> {
    let signed_in = match session::find(state, headers).await {
        Ok(Some(signed_in)) => signed_in,
        Ok(None) => return Err(sign_in_first(uri)),
        Err(error) => return Err(error_page(&error)),
    };
    let fields = Fields::parse(body);
    if !signed_in.csrf_matches(fields.get(CSRF_FIELD)) {
        return Err(csrf_refused());
    }
    Ok((signed_in, fields))
}

/// Claims the form's nonce for this session. A form sent again (a reload of its result)
/// is sent to the page with a notice; a form without a nonce was not made by this page.
async fn claim_nonce(
    state: &AppState,
    signed_in: &SignedIn,
    fields: &Fields,
) -> std::result::Result<String, Response> {
    let Some(nonce) = fields
        .get("form_nonce")
        .filter(|nonce| session::well_formed(nonce))
    else {
        return Err(csrf_refused());
    };
    match session::claim_form(state, signed_in, nonce).await {
        Ok(true) => Ok(nonce.to_owned()),
        Ok(false) => Err(see_other(&format!("{ACCESS_TOKENS}?resubmitted=1"))),
        Err(error) => Err(error_page(&error)),
    }
}

/// A create form that was refused: shown again with its values and messages.
async fn refused(state: &AppState, signed_in: &SignedIn, form: CreateForm) -> Response {
    let view = View {
        form,
        ..View::default()
    };
    respond(state, signed_in, StatusCode::UNPROCESSABLE_ENTITY, view).await
}

/// A token id from the path: a positive integer, nothing else.
fn token_id(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0)
}

/// The session's user with full rights, as the token service sees a signed-in browser.
fn principal(signed_in: &SignedIn, peer: Option<SocketAddr>) -> Principal {
    Principal {
        user: signed_in.user.clone().into(),
        credential: Credential::Session,
        ip: peer.map(|peer| peer.ip()),
    }
}
