//! `/users/sign_in` and `/users/sign_out`. A sign-in always starts a new session; wrong
//! credentials get one message whatever was wrong; an address that fails too often is
//! cooled off (429) before any password is checked.

use std::net::SocketAddr;

use axum::{
    body::Bytes,
    extract::{ConnectInfo, RawQuery, State},
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use entity::user;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    auth::throttle,
    error::Result,
    state::AppState,
    users::{UserState, password},
    web::{
        HOME, csrf_refused, error_page,
        form::Fields,
        html::{self, escape},
        html_response, local_path, see_other,
        session::{self, CSRF_FIELD, SESSION_COOKIE, SIGN_IN_COOKIE},
    },
};

const WRONG_CREDENTIALS: &str = "Invalid login or password.";
const BLOCKED: &str = "Your account is blocked. Ask an administrator to unblock it.";
const COOLING_OFF: &str =
    "Too many failed sign-in attempts from your address. Wait a few minutes and try again.";
/// Longest login looked up (usernames and emails are far shorter).
const MAX_LOGIN_BYTES: usize = 320;

/// `GET /users/sign_in`
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let fields = Fields::parse(query.unwrap_or_default().as_bytes());
    let redirect_to = local_path(fields.get("redirect_to"));
    match session::find(&state, &headers).await {
        Ok(Some(_)) => return see_other(redirect_to.unwrap_or(HOME)),
        Ok(None) => {}
        Err(error) => return error_page(&error),
    }
    render(&state, &headers, StatusCode::OK, "", redirect_to, None)
}

/// `POST /users/sign_in`
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    let login = fields.get("login").unwrap_or_default().trim();
    let redirect_to = local_path(fields.get("redirect_to"));
    if !session::sign_in_csrf_matches(&state, &headers, fields.get(CSRF_FIELD)) {
        return csrf_refused();
    }
    // The attempt counts before the (slow) password check, so parallel guesses from one
    // address cannot all be checked before the limit notices them.
    let attempt = match state.sign_in_throttle.begin(peer.ip(), state.clock.now()) {
        Ok(attempt) => attempt,
        Err(remaining) => {
            let mut response = render(
                &state,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                login,
                redirect_to,
                Some(COOLING_OFF),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, throttle::retry_after(remaining));
            return response;
        }
    };
    let password = fields.get("password").unwrap_or_default().to_owned();
    let user = match check_credentials(&state, login, password).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            attempt.failed();
            return render(
                &state,
                &headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                login,
                redirect_to,
                Some(WRONG_CREDENTIALS),
            );
        }
        Err(error) => return error_page(&error),
    };
    drop(attempt);
    if UserState::of(&user) != UserState::Active {
        return render(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            login,
            redirect_to,
            Some(BLOCKED),
        );
    }
    let previous = session::cookie(&headers, SESSION_COOKIE);
    let value = match session::start(&state, &user, previous).await {
        Ok(value) => value,
        Err(error) => return error_page(&error),
    };
    tracing::info!(user_id = user.id, "signed in");
    let mut response = see_other(redirect_to.unwrap_or(HOME));
    let lifetime = state.config.session_lifetime.num_seconds();
    let response_headers = response.headers_mut();
    response_headers.append(
        header::SET_COOKIE,
        session::set_cookie(&state, SESSION_COOKIE, &value, lifetime),
    );
    response_headers.append(
        header::SET_COOKIE,
        session::set_cookie(&state, SIGN_IN_COOKIE, "", 0),
    );
    response
}

/// `POST /users/sign_out`
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = Fields::parse(&body);
    let signed_in = match session::find(&state, &headers).await {
        Ok(signed_in) => signed_in,
        Err(error) => return error_page(&error),
    };
    if let Some(signed_in) = &signed_in {
        if !signed_in.csrf_matches(fields.get(CSRF_FIELD)) {
            return csrf_refused();
        }
        if let Some(value) = session::cookie(&headers, SESSION_COOKIE)
            && let Err(error) = session::end(&state, value).await
        {
            return error_page(&error);
        }
    }
    let mut response = see_other("/users/sign_in");
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(&state, SESSION_COOKIE, "", 0),
    );
    response
}

/// The user whose login (username or email) and password these are, or `None`. Unknown
/// logins cost the same argon2 work as known ones.
async fn check_credentials(
    state: &AppState,
    login: &str,
    password: String,
) -> Result<Option<user::Model>> {
    if login.is_empty()
        || login.len() > MAX_LOGIN_BYTES
        || password.is_empty()
        || password.len() > password::Password::MAX_BYTES
    {
        return Ok(None);
    }
    let key = login.to_lowercase();
    let user = user::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(user::Column::UsernameKey.eq(key.as_str()))
                .add(user::Column::Email.eq(key.as_str())),
        )
        .one(&state.db)
        .await?;
    match user {
        Some(user) => match user.password_hash.clone() {
            Some(stored) => Ok(password::verify(state, password, stored)
                .await?
                .then_some(user)),
            None => {
                password::verify_nothing(state, password).await?;
                Ok(None)
            }
        },
        None => {
            password::verify_nothing(state, password).await?;
            Ok(None)
        }
    }
}

/// The sign-in page, (re)issuing the anti-forgery cookie its form is bound to.
fn render(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    login: &str,
    redirect_to: Option<&str>,
    alert: Option<&str>,
) -> Response {
    let cookie_value = session::cookie(headers, SIGN_IN_COOKIE)
        .filter(|value| session::well_formed(value))
        .map(str::to_owned)
        .unwrap_or_else(session::random_cookie_value);
    let csrf = session::sign_in_csrf_token(state, &cookie_value);
    let alert = alert
        .map(|message| {
            format!(
                r#"<p class="alert danger" role="alert" data-testid="sign-in-error">{}</p>"#,
                escape(message)
            )
        })
        .unwrap_or_default();
    let redirect_field = redirect_to
        .map(|path| {
            format!(
                r#"<input type="hidden" name="redirect_to" value="{}">"#,
                escape(path)
            )
        })
        .unwrap_or_default();
    let body = format!(
        r#"<section class="narrow">
<h1>Sign in to WVS</h1>
{alert}
<form method="post" action="/users/sign_in" class="stack">
{csrf_field}{redirect_field}
<label for="login">Username or primary email</label>
<input id="login" name="login" autocomplete="username" required maxlength="320" value="{login}" autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" class="primary" data-testid="sign-in-submit">Sign in</button>
</form>
</section>"#,
        csrf_field = html::csrf_field(&csrf),
        login = escape(login),
    );
    let mut response = html_response(
        status,
        html::render(html::Page {
            title: "Sign in",
            viewer: None,
            settings: None,
            body,
        }),
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(state, SIGN_IN_COOKIE, &cookie_value, 3600),
    );
    response
}
