//! Revoking and rotating tokens. Rotation revokes the old token and issues its successor in
//! one transaction; rotating a token that is already revoked is treated as a sign of a leak
//! and revokes every token of its rotation chain.

use std::collections::BTreeSet;

use chrono::{Days, NaiveDate};
use entity::{personal_access_token as pat, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};

use crate::{
    audit::{self, Action, Event},
    auth::cache::{self, Change},
    auth::principal::Principal,
    error::{Error, Result},
    mail::{self, templates},
    state::AppState,
    tokens::{
        create::{CreatedToken, NewToken, check_scopes_allowed, describe, expiry_policy, insert},
        find_visible,
        input::ExpiryDate,
        scope::ScopeSet,
    },
};

/// Revokes a token the principal may act on. Revoking a revoked token changes nothing.
pub async fn revoke(state: &AppState, actor: &Principal, token_id: i64) -> Result<pat::Model> {
    let token = find_visible(&state.db, actor, token_id).await?;
    if token.revoked_at.is_some() {
        return Ok(token);
    }
    let now = state.clock.now();
    let owner = owner_of(state, &token).await?;
    let event = Event::by(actor, Action::TokenRevoked)
        .target(&owner)
        .token(token.id)
        .details(describe(&token));
    let external_url = state.config.external_url.clone();
    crate::db::write(&state.db, move |tx| {
        Box::pin(async move {
            if revoke_if_active(tx, token_id, now).await? {
                audit::record(tx, now, event).await?;
                if !token.impersonation {
                    let email = templates::token_revoked(&external_url, &owner, &token);
                    mail::queue(tx, now, &owner, email).await?;
                }
                cache::record(tx, now, Change::Token(token_id)).await?;
            }
            Ok(())
        })
    })
    .await?;
    state.auth_cache.sync(&state.db, state.clock.now()).await;
    state.mailer.wake();
    pat::Entity::find_by_id(token_id)
        .one(&state.db)
        .await?
        .ok_or(Error::NotFound("Personal access token"))
}

/// Revokes `token_id` unless already revoked; returns whether this call revoked it.
async fn revoke_if_active(
    db: &impl ConnectionTrait,
    token_id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool> {
    let result = pat::Entity::update_many()
        .col_expr(pat::Column::RevokedAt, Expr::value(now))
        .filter(pat::Column::Id.eq(token_id))
        .filter(pat::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// What rotating a token that is already revoked means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenRevoked {
    /// The caller presented a dead token for rotation, a sign that it leaked: revoke its
    /// whole rotation chain (the API).
    RevokeChain,
    /// The caller picked it from a list that has changed since (another tab, a double
    /// submission): refuse with [`ALREADY_REVOKED`] and change nothing (the web page).
    Refuse,
}

/// The refusal of [`WhenRevoked::Refuse`].
pub const ALREADY_REVOKED: &str = "this token was already revoked, so it cannot be rotated";

/// Revokes `token_id` and issues a successor with the same name, description and scopes.
/// Without `expires_at`, the successor gets the old token's lifetime counted from today
/// (or none, if the old one never expired and the instance allows that). Only its owner
/// rotates a personal token (an administrator would otherwise obtain a secret that acts as
/// the user without being an impersonation token); administrators rotate impersonation
/// tokens.
pub async fn rotate(
    state: &AppState,
    actor: &Principal,
    token_id: i64,
    expires_at: Option<NaiveDate>,
    when_revoked: WhenRevoked,
) -> Result<CreatedToken> {
    actor.require_not_impersonating()?;
    let old = find_visible(&state.db, actor, token_id).await?;
    if !old.impersonation && old.user_id != actor.user.id {
        return Err(Error::Forbidden(
            "Only its owner can rotate a personal access token; revoke it instead.".into(),
        ));
    }
    let owner = owner_of(state, &old).await?;
    if old.revoked_at.is_some() {
        return Err(refuse_revoked(state, actor, &owner, &old, when_revoked).await);
    }
    let today = state.clock.today();
    let policy = expiry_policy(state).await?;
    // Without an explicit date the old lifetime is kept, shortened to the instance's
    // maximum if that has been lowered since.
    let requested = expires_at.or_else(|| {
        let same = same_lifetime_from(&old, today)?;
        let latest = policy
            .max_lifetime_days
            .and_then(|days| today.checked_add_days(Days::new(days.into())));
        Some(latest.map_or(same, |latest| Ord::min(same, latest)))
    });
    let expiry = ExpiryDate::parse(requested, today, policy)?;
    let scopes = ScopeSet::from_stored(&old.scopes);
    check_scopes_allowed(actor, &owner, scopes)?;
    let now = state.clock.now();
    let state_for_tx = state.clone();
    let actor_id = actor.audit_actor().id;
    let event = Event::by(actor, Action::TokenRotated).target(&owner);
    let old_for_refusal = old.clone();
    let external_url = state.config.external_url.clone();
    let owner_for_tx = owner.clone();
    let outcome = crate::db::write(&state.db, move |tx| {
        Box::pin(async move {
            // The conditional UPDATE settles races: of two concurrent rotations, one wins.
            if !revoke_if_active(tx, old.id, now).await? {
                return Ok(None);
            }
            let new = NewToken {
                owner_id: old.user_id,
                name: old.name.clone(),
                description: old.description.clone(),
                scopes,
                expires_at: expiry.date(),
                impersonation: old.impersonation,
                created_by_id: old.impersonation.then_some(actor_id),
                previous_token_id: Some(old.id),
            };
            let created = insert(tx, &state_for_tx, new).await?;
            let event = event
                .token(created.token.id)
                .details(describe(&created.token))
                .details(serde_json::json!({ "previousTokenId": old.id }));
            audit::record(tx, now, event).await?;
            if !created.token.impersonation {
                let email = templates::token_rotated(&external_url, &owner_for_tx, &created.token);
                mail::queue(tx, now, &owner_for_tx, email).await?;
            }
            cache::record(tx, now, Change::Token(old.id)).await?;
            Ok(Some(created))
        })
    })
    .await?;
    state.auth_cache.sync(&state.db, state.clock.now()).await;
    state.mailer.wake();
    match outcome {
        Some(created) => Ok(created),
        // Revoked between the read and the write: another rotation or revocation won.
        None => Err(refuse_revoked(state, actor, &owner, &old_for_refusal, when_revoked).await),
    }
}

/// The answer to rotating a revoked token: the chain revoked, or a plain refusal.
async fn refuse_revoked(
    state: &AppState,
    actor: &Principal,
    owner: &user::Model,
    old: &pat::Model,
    when_revoked: WhenRevoked,
) -> Error {
    match when_revoked {
        WhenRevoked::Refuse => Error::bad_input("id", ALREADY_REVOKED),
        WhenRevoked::RevokeChain => {
            match revoke_chain(state, actor, owner, old.id, old.name.clone()).await {
                Ok(()) => Error::bad_input(
                    "id",
                    "this token was already revoked; as a precaution every token of its rotation chain has been revoked",
                ),
                Err(error) => error,
            }
        }
    }
}

fn same_lifetime_from(old: &pat::Model, today: NaiveDate) -> Option<NaiveDate> {
    let lifetime = old.expires_at? - old.created_at.date_naive();
    let days = u64::try_from(lifetime.num_days())
        .ok()
        .filter(|&days| days > 0)?;
    today.checked_add_days(Days::new(days))
}

async fn owner_of(state: &AppState, token: &pat::Model) -> Result<user::Model> {
    user::Entity::find_by_id(token.user_id)
        .one(&state.db)
        .await?
        .ok_or(Error::NotFound("User"))
}

/// Revokes every token linked to `token_id` by rotation, before and after it.
async fn revoke_chain(
    state: &AppState,
    actor: &Principal,
    owner: &user::Model,
    token_id: i64,
    name: String,
) -> Result<()> {
    let now = state.clock.now();
    let mut chain = BTreeSet::from([token_id]);
    let mut frontier = vec![token_id];
    while !frontier.is_empty() {
        let linked = pat::Entity::find()
            .filter(
                pat::Column::Id
                    .is_in(frontier.clone())
                    .or(pat::Column::PreviousTokenId.is_in(frontier.clone())),
            )
            .all(&state.db)
            .await?;
        frontier.clear();
        for token in linked {
            for id in [Some(token.id), token.previous_token_id]
                .into_iter()
                .flatten()
            {
                if chain.insert(id) {
                    frontier.push(id);
                }
            }
        }
    }
    let event = Event::by(actor, Action::RotationChainRevoked)
        .target(owner)
        .token(token_id)
        .details(serde_json::json!({ "tokenIds": chain.iter().collect::<Vec<_>>() }));
    let external_url = state.config.external_url.clone();
    let owner = owner.clone();
    crate::db::write(&state.db, move |tx| {
        Box::pin(async move {
            pat::Entity::update_many()
                .col_expr(pat::Column::RevokedAt, Expr::value(now))
                .filter(pat::Column::Id.is_in(chain.clone()))
                .filter(pat::Column::RevokedAt.is_null())
                .exec(tx)
                .await?;
            audit::record(tx, now, event).await?;
            let email = templates::rotation_chain_revoked(&external_url, &owner, &name);
            mail::queue(tx, now, &owner, email).await?;
            for id in chain {
                cache::record(tx, now, Change::Token(id)).await?;
            }
            Ok(())
        })
    })
    .await?;
    state.auth_cache.sync(&state.db, state.clock.now()).await;
    state.mailer.wake();
    Ok(())
}
