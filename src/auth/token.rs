//! Token authentication: parse (no I/O for junk), one indexed lookup by digest joined with
//! the owner, then the checks that make a token active. The reason for a refusal goes to
//! the log, the metrics and the audit log; the client hears one message for all of them.

use std::{net::IpAddr, sync::Arc};

use entity::{personal_access_token as pat, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    audit::refusals::Refusal as RefusalRecord,
    auth::{
        cache::Entry,
        principal::{Credential, Principal},
    },
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
    let secret = match TokenSecret::parse(presented) {
        Ok(secret) => secret,
        Err(_) => {
            refuse(state, AuthFailure::Malformed, surface, ip, None);
            return Err(Refusal::Invalid(AuthFailure::Malformed));
        }
    };
    let digest = secret.digest(&state.secret_key);
    // One reading of the clock for the whole check: expiry, cache freshness and settings
    // age are judged at the same instant.
    let now = state.clock.now();
    let entry = match lookup(state, &secret, &digest, now).await {
        Ok(entry) => entry,
        Err(Refusal::Invalid(reason)) => {
            refuse(state, reason, surface, ip, None);
            return Err(Refusal::Invalid(reason));
        }
        Err(Refusal::Unavailable(error)) => {
            tracing::error!(error = %error, "token lookup failed");
            return Err(Refusal::Unavailable(error));
        }
    };
    match check(state, &entry, now).await {
        Ok(credential) => {
            state.metrics.record_auth_success();
            if state
                .last_used
                .record(entry.token.id, entry.token.last_used_at, now)
            {
                state.auth_cache.touch(&digest, now);
            }
            Ok(Principal {
                user: entry.owner.clone(),
                credential,
                ip,
            })
        }
        Err(Refusal::Invalid(reason)) => {
            refuse(
                state,
                reason,
                surface,
                ip,
                Some((&entry.token, &entry.owner)),
            );
            Err(Refusal::Invalid(reason))
        }
        Err(unavailable) => Err(unavailable),
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

/// The token with this digest, from the cache or else the database (then cached).
async fn lookup(
    state: &AppState,
    secret: &TokenSecret,
    digest: &[u8; 32],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Entry, Refusal> {
    if let Some(entry) = state.auth_cache.lookup(digest, now) {
        return Ok(entry);
    }
    // Boxed: the database read's future is large, and inline it would be copied with every
    // request's future, cached or not.
    Box::pin(lookup_stored(state, secret, digest, now)).await
}

/// The token with this digest from the database, then cached. After a key rotation the same
/// read also matches the digests under the previous keys; a token found that way is re-keyed
/// in the background.
async fn lookup_stored(
    state: &AppState,
    secret: &TokenSecret,
    digest: &[u8; 32],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Entry, Refusal> {
    let generation = state.auth_cache.generation();
    let unavailable = |error: sea_orm::DbErr| Refusal::Unavailable(error.into());
    let matches_digest = if state.previous_keys.is_empty() {
        pat::Column::Digest.eq(digest.to_vec())
    } else {
        let mut digests = vec![digest.to_vec()];
        digests.extend(
            state
                .previous_keys
                .iter()
                .map(|key| secret.digest(key).to_vec()),
        );
        pat::Column::Digest.is_in(digests)
    };
    let (token, owner) = pat::Entity::find()
        .filter(matches_digest)
        .find_also_related(user::Entity)
        .one(&state.db)
        .await
        .map_err(unavailable)?
        .ok_or(Refusal::Invalid(AuthFailure::Unknown))?;
    let owner = owner.ok_or(Refusal::Invalid(AuthFailure::Unknown))?;
    if token.digest != digest {
        state
            .rekeyer
            .request(token.id, token.digest.clone(), *digest);
    }
    let impersonator = match (token.impersonation, token.created_by_id) {
        (true, Some(admin_id)) => user::Entity::find_by_id(admin_id)
            .one(&state.db)
            .await
            .map_err(unavailable)?,
        _ => None,
    };
    let entry = Entry {
        token: Arc::new(token),
        owner: Arc::new(owner),
        impersonator: impersonator.map(Arc::new),
    };
    state
        .auth_cache
        .store(*digest, entry.clone(), now, generation);
    Ok(entry)
}

/// The checks that make a (possibly cached) token usable now.
async fn check(
    state: &AppState,
    entry: &Entry,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Credential, Refusal> {
    let Entry {
        token,
        owner,
        impersonator,
    } = entry;
    if token.revoked_at.is_some() {
        return Err(Refusal::Invalid(AuthFailure::Revoked));
    }
    if is_expired(token.expires_at, now.date_naive()) {
        return Err(Refusal::Invalid(AuthFailure::Expired));
    }
    if UserState::of(owner) != UserState::Active {
        return Err(Refusal::Invalid(AuthFailure::UserBlocked));
    }
    let settings = state
        .settings
        .get(&state.db, now)
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
    match (token.created_by_id, impersonator) {
        (None, _) => Ok(Credential::Impersonation {
            token: token.clone(),
            admin: None,
        }),
        (Some(_), Some(admin)) if admin.admin && UserState::of(admin) == UserState::Active => {
            Ok(Credential::Impersonation {
                token: token.clone(),
                admin: Some(admin.clone()),
            })
        }
        _ => Err(Refusal::Invalid(AuthFailure::ImpersonatorInactive)),
    }
}
