//! Token authentication: parse (no I/O for junk), one indexed lookup by digest joined with
//! the owner, then the checks that make a token active. The reason for a refusal goes to
//! the log, the metrics and the audit log; the client hears one message for all of them.

use std::net::IpAddr;

use entity::{personal_access_token as pat, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    audit::refusals::Refusal as RefusalRecord,
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

/// Where a credential is presented (recorded with refusals).
pub type Surface = &'static str;

/// Turns a presented token into the principal it authenticates.
pub async fn authenticate(
    state: &AppState,
    presented: &str,
    ip: Option<IpAddr>,
    surface: Surface,
) -> Result<Principal, Refusal> {
    match lookup(state, presented).await {
        Ok((token, owner)) => match check(state, &token, &owner).await {
            Ok(credential) => {
                state.metrics.record_auth_success();
                state.last_used.record(token.id, token.last_used_at);
                Ok(Principal {
                    user: owner,
                    credential,
                    ip,
                })
            }
            Err(Refusal::Invalid(reason)) => {
                refuse(state, reason, surface, ip, Some((&token, &owner)));
                Err(Refusal::Invalid(reason))
            }
            Err(unavailable) => Err(unavailable),
        },
        Err(Refusal::Invalid(reason)) => {
            refuse(state, reason, surface, ip, None);
            Err(Refusal::Invalid(reason))
        }
        Err(Refusal::Unavailable(error)) => {
            tracing::error!(error = %error, "token lookup failed");
            Err(Refusal::Unavailable(error))
        }
    }
}

/// Counts, logs and audits a refused credential (never the credential itself).
pub fn refuse(
    state: &AppState,
    reason: AuthFailure,
    surface: Surface,
    ip: Option<IpAddr>,
    token: Option<(&pat::Model, &user::Model)>,
) {
    state.metrics.record_auth_failure(reason);
    tracing::info!(reason = reason.as_str(), surface, "credentials refused");
    state.refusals.record(RefusalRecord {
        reason,
        surface,
        owner: token.map(|(_, owner)| owner.into()),
        token_id: token.map(|(token, _)| token.id),
        ip,
        at: state.clock.now(),
    });
}

async fn lookup(state: &AppState, presented: &str) -> Result<(pat::Model, user::Model), Refusal> {
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
    Ok((token, owner))
}

async fn check(
    state: &AppState,
    token: &pat::Model,
    owner: &user::Model,
) -> Result<Credential, Refusal> {
    if token.revoked_at.is_some() {
        return Err(Refusal::Invalid(AuthFailure::Revoked));
    }
    if is_expired(token.expires_at, state.clock.today()) {
        return Err(Refusal::Invalid(AuthFailure::Expired));
    }
    if UserState::of(owner) != UserState::Active {
        return Err(Refusal::Invalid(AuthFailure::UserBlocked));
    }
    let settings = state
        .settings
        .get(&state.db)
        .await
        .map_err(Refusal::Unavailable)?;
    if settings.personal_access_tokens_disabled {
        return Err(Refusal::Invalid(AuthFailure::TokensDisabled));
    }
    if !token.impersonation {
        return Ok(Credential::Token(token.clone()));
    }
    // An impersonation token works only while the administrator who made it is an active
    // administrator (deleting one revokes their impersonation tokens; the shell's have none).
    let Some(admin_id) = token.created_by_id else {
        return Ok(Credential::Impersonation {
            token: token.clone(),
            admin: None,
        });
    };
    let admin = user::Entity::find_by_id(admin_id)
        .one(&state.db)
        .await
        .map_err(|error| Refusal::Unavailable(error.into()))?;
    match admin {
        Some(admin) if admin.admin && UserState::of(&admin) == UserState::Active => {
            Ok(Credential::Impersonation {
                token: token.clone(),
                admin: Some(admin),
            })
        }
        _ => Err(Refusal::Invalid(AuthFailure::ImpersonatorInactive)),
    }
}
