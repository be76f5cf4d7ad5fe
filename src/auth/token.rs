//! Token authentication: parse (no I/O for junk), one indexed lookup by digest joined with
//! the owner, then the checks that make a token active. The reason for a refusal goes to
//! the log and metrics; the client hears one message for all of them.

use entity::{personal_access_token as pat, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    auth::principal::{Credential, Principal},
    error::Error,
    metrics::AuthFailure,
    state::AppState,
    tokens::{is_expired, secret::TokenSecret},
    users::UserState,
};

/// Why a presented token did not authenticate.
#[derive(Debug)]
pub enum Refusal {
    /// The token cannot be used; answer 401.
    Invalid(AuthFailure),
    /// The lookup itself failed (database down); answer 503.
    Unavailable(Error),
}

/// Turns a presented token into the principal it authenticates.
pub async fn authenticate(state: &AppState, presented: &str) -> Result<Principal, Refusal> {
    let result = lookup(state, presented).await;
    match &result {
        Ok(principal) => {
            state.metrics.record_auth_success();
            if let Some(token) = principal.token() {
                state.last_used.record(token.id, token.last_used_at);
            }
        }
        Err(Refusal::Invalid(reason)) => {
            state.metrics.record_auth_failure(*reason);
            tracing::info!(reason = reason.as_str(), "token refused");
        }
        Err(Refusal::Unavailable(error)) => tracing::error!(error = %error, "token lookup failed"),
    }
    result
}

async fn lookup(state: &AppState, presented: &str) -> Result<Principal, Refusal> {
    let secret =
        TokenSecret::parse(presented).map_err(|_| Refusal::Invalid(AuthFailure::Malformed))?;
    let digest = secret.digest(&state.secret_key).to_vec();
    let (token, owner) = pat::Entity::find()
        .filter(pat::Column::Digest.eq(digest))
        .find_also_related(user::Entity)
        .one(&state.db)
        .await
        .map_err(|error| Refusal::Unavailable(error.into()))?
        .ok_or(Refusal::Invalid(AuthFailure::Unknown))?;
    let owner = owner.ok_or(Refusal::Invalid(AuthFailure::Unknown))?;
    if token.revoked_at.is_some() {
        return Err(Refusal::Invalid(AuthFailure::Revoked));
    }
    if is_expired(token.expires_at, state.clock.today()) {
        return Err(Refusal::Invalid(AuthFailure::Expired));
    }
    if UserState::of(&owner) != UserState::Active {
        return Err(Refusal::Invalid(AuthFailure::UserBlocked));
    }
    Ok(Principal {
        user: owner,
        credential: Credential::Token(token),
    })
}
