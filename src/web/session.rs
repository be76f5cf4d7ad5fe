//! Browser sessions: a random cookie whose keyed digest is stored (a database leak yields
//! no usable session), a fixed lifetime checked against the clock on every request, a new
//! session at every sign-in (no fixation), and CSRF tokens derived from the cookie.

use axum::http::{HeaderMap, HeaderValue, header::COOKIE};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entity::{user, web_form_submission, web_session};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, Set, sea_query::OnConflict,
};

use crate::{
    error::Result,
    state::AppState,
    users::{self, UserState},
};

/// The session cookie.
pub const SESSION_COOKIE: &str = "_wvs_session";
/// The sign-in form's anti-forgery cookie (there is no session yet to bind it to).
pub const SIGN_IN_COOKIE: &str = "_wvs_sign_in";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "authenticity_token";

/// Random bytes in a cookie value (43 base64url characters).
const COOKIE_BYTES: usize = 32;

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session_id: i64,
    pub user: user::Model,
    /// The token every form of this session must carry.
    pub csrf_token: String,
}

impl SignedIn {
    /// Whether a submitted form carries this session's CSRF token.
    pub fn csrf_matches(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|presented| {
            constant_time_eq(presented.as_bytes(), self.csrf_token.as_bytes())
        })
    }
}

/// A new random cookie value.
pub fn random_cookie_value() -> String {
    let mut bytes = [0u8; COOKIE_BYTES];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The value of cookie `name` in the request (the first, if sent twice).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

/// Whether `value` has the shape of a cookie this service issued (checked before any I/O).
pub fn well_formed(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn digest(state: &AppState, value: &str) -> Vec<u8> {
    state
        .secret_key
        .derive("web-session", value.as_bytes())
        .to_vec()
}

fn csrf_token(state: &AppState, purpose: &str, value: &str) -> String {
    URL_SAFE_NO_PAD.encode(state.secret_key.derive(purpose, value.as_bytes()))
}

/// The signed-in user of this request: a live session of an active user, else `None`.
pub async fn find(state: &AppState, headers: &HeaderMap) -> Result<Option<SignedIn>> {
    let Some(value) = cookie(headers, SESSION_COOKIE).filter(|value| well_formed(value)) else {
        return Ok(None);
    };
    let Some(session) = web_session::Entity::find()
        .filter(web_session::Column::Digest.eq(digest(state, value)))
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    if session.expires_at <= state.clock.now() {
        return Ok(None);
    }
    let Some(user) = users::find_by_id(&state.db, session.user_id).await? else {
        return Ok(None);
    };
    if UserState::of(&user) != UserState::Active {
        return Ok(None);
    }
    Ok(Some(SignedIn {
        session_id: session.id,
        user,
        csrf_token: csrf_token(state, "web-csrf", value),
    }))
}

/// Starts a session for `user` and returns the cookie value. The session the browser
/// presented before (if any) is ended, so a cookie planted before sign-in is worthless after.
pub async fn start(state: &AppState, user: &user::Model, previous: Option<&str>) -> Result<String> {
    let now = state.clock.now();
    if let Some(previous) = previous.filter(|value| well_formed(value)) {
        end(state, previous).await?;
    }
    // The user's expired sessions are pruned here, where they would otherwise pile up.
    delete_where(
        state,
        Condition::all()
            .add(web_session::Column::UserId.eq(user.id))
            .add(web_session::Column::ExpiresAt.lte(now)),
    )
    .await?;
    let value = random_cookie_value();
    web_session::ActiveModel {
        digest: Set(digest(state, &value)),
        user_id: Set(user.id),
        created_at: Set(now),
        expires_at: Set(now + state.config.session_lifetime),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    Ok(value)
}

/// Ends the session behind a cookie value.
pub async fn end(state: &AppState, value: &str) -> Result<()> {
    delete_where(
        state,
        Condition::all().add(web_session::Column::Digest.eq(digest(state, value))),
    )
    .await
}

/// Deletes the sessions matching `condition` with their submitted-form records.
async fn delete_where(state: &AppState, condition: Condition) -> Result<()> {
    crate::db::write(&state.db, move |tx| {
        Box::pin(async move {
            let ids: Vec<i64> = web_session::Entity::find()
                .filter(condition)
                .all(tx)
                .await?
                .iter()
                .map(|session| session.id)
                .collect();
            if ids.is_empty() {
                return Ok(());
            }
            web_form_submission::Entity::delete_many()
                .filter(web_form_submission::Column::SessionId.is_in(ids.clone()))
                .exec(tx)
                .await?;
            web_session::Entity::delete_many()
                .filter(web_session::Column::Id.is_in(ids))
                .exec(tx)
                .await?;
            Ok(())
        })
    })
    .await
}

/// Marks a form (by its nonce) as submitted in this session; `false` if it already was.
pub async fn claim_form(state: &AppState, session: &SignedIn, nonce: &str) -> Result<bool> {
    let inserted = web_form_submission::Entity::insert(web_form_submission::ActiveModel {
        session_id: Set(session.session_id),
        nonce: Set(nonce.to_owned()),
        submitted_at: Set(state.clock.now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            web_form_submission::Column::SessionId,
            web_form_submission::Column::Nonce,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&state.db)
    .await?;
    Ok(inserted == 1)
}

/// Gives a form's nonce back when the submission changed nothing (it may be sent again).
pub async fn release_form(state: &AppState, session: &SignedIn, nonce: &str) -> Result<()> {
    web_form_submission::Entity::delete_many()
        .filter(web_form_submission::Column::SessionId.eq(session.session_id))
        .filter(web_form_submission::Column::Nonce.eq(nonce))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// The sign-in form's CSRF token, bound to its anti-forgery cookie.
pub fn sign_in_csrf_token(state: &AppState, cookie_value: &str) -> String {
    csrf_token(state, "sign-in-csrf", cookie_value)
}

/// Whether a sign-in form carries the token bound to the browser's anti-forgery cookie.
pub fn sign_in_csrf_matches(
    state: &AppState,
    headers: &HeaderMap,
    presented: Option<&str>,
) -> bool {
    match (cookie(headers, SIGN_IN_COOKIE), presented) {
        (Some(value), Some(presented)) if well_formed(value) => constant_time_eq(
            presented.as_bytes(),
            sign_in_csrf_token(state, value).as_bytes(),
        ),
        _ => false,
    }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure when the service is served over
/// https, for `max_age_seconds` (0 deletes it).
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_seconds: i64) -> HeaderValue {
    let secure = if state.config.external_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Compares secrets in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; _wvs_session=abc; b=2"),
        );
        headers.append(COOKIE, HeaderValue::from_static("_wvs_session=second"));
        assert_eq!(cookie(&headers, "_wvs_session"), Some("abc"));
        assert_eq!(cookie(&headers, "_wvs"), None);
        assert_eq!(cookie(&headers, "b"), Some("2"));
    }

    #[test]
    fn only_issued_shapes_are_looked_up() {
        assert!(well_formed(&random_cookie_value()));
        assert!(!well_formed("short"));
        assert!(!well_formed(&format!("{}=", "a".repeat(42))));
        assert!(!well_formed(&format!("{}!", "a".repeat(42))));
    }

    #[test]
    fn equal_secrets_compare_equal_and_others_not() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
