//! Users: identity, state (active or blocked), password hashing.

pub mod create;
pub mod list;
pub mod password;

use entity::user;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::{
    audit::{self, Action, Event},
    auth::cache::{self, Change},
    auth::principal::Principal,
    error::{Error, Result},
    state::AppState,
};

/// Whether a user may use the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserState {
    Active,
    Blocked,
}

impl UserState {
    /// Reads the stored state; anything unexpected counts as blocked (fail closed).
    pub fn of(user: &user::Model) -> UserState {
        match user.state.as_str() {
            "active" => UserState::Active,
            _ => UserState::Blocked,
        }
    }

    pub fn as_stored(self) -> &'static str {
        match self {
            UserState::Active => "active",
            UserState::Blocked => "blocked",
        }
    }
}

/// Finds a user by id.
pub async fn find_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id).one(db).await?)
}

/// Finds a user by username, case-insensitively.
pub async fn find_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::UsernameKey.eq(username.trim().to_lowercase()))
        .one(db)
        .await?)
}

/// Blocks or unblocks a user (admins only). A blocked user's tokens stop authenticating
/// at the next request; unblocking restores them.
pub async fn set_state(
    state: &AppState,
    actor: &Principal,
    user_id: i64,
    new_state: UserState,
) -> Result<user::Model> {
    actor.require_admin()?;
    let user = find_by_id(&state.db, user_id)
        .await?
        .ok_or(Error::NotFound("User"))?;
    if user.id == actor.audit_actor().id && new_state == UserState::Blocked {
        return Err(Error::bad_input("id", "you cannot block yourself"));
    }
    let action = match new_state {
        UserState::Active => Action::UserUnblocked,
        UserState::Blocked => Action::UserBlocked,
    };
    let event = Event::by(actor, action).target(&user);
    let now = state.clock.now();
    let updated = crate::db::write(&state.db, move |tx| {
        Box::pin(async move {
            let mut active: user::ActiveModel = user.into();
            active.state = Set(new_state.as_stored().to_owned());
            let updated = active.update(tx).await?;
            // A blocked user's browser sessions end for good: unblocking must not revive a
            // cookie that may be why they were blocked.
            if new_state == UserState::Blocked {
                end_sessions(tx, updated.id).await?;
            }
            audit::record(tx, now, event).await?;
            cache::record(tx, now, Change::User(updated.id)).await?;
            Ok(updated)
        })
    })
    .await?;
    state.auth_cache.sync(&state.db, state.clock.now()).await;
    Ok(updated)
}

/// Ends every browser session of a user, with its submitted-form records (explicitly, not
/// through the engine's cascade settings).
async fn end_sessions(tx: &impl ConnectionTrait, user_id: i64) -> Result<()> {
    let session_ids: Vec<i64> = entity::web_session::Entity::find()
        .filter(entity::web_session::Column::UserId.eq(user_id))
        .all(tx)
        .await?
        .iter()
        .map(|session| session.id)
        .collect();
    if session_ids.is_empty() {
        return Ok(());
    }
    entity::web_form_submission::Entity::delete_many()
        .filter(entity::web_form_submission::Column::SessionId.is_in(session_ids.clone()))
        .exec(tx)
        .await?;
    entity::web_session::Entity::delete_many()
        .filter(entity::web_session::Column::Id.is_in(session_ids))
        .exec(tx)
        .await?;
    Ok(())
}

/// Deletes a user (admins only) and, with them, every token they own: those tokens fail
/// forever, even for a new user who later takes the same username.
pub async fn delete(state: &AppState, actor: &Principal, user_id: i64) -> Result<user::Model> {
    actor.require_admin()?;
    let user = find_by_id(&state.db, user_id)
        .await?
        .ok_or(Error::NotFound("User"))?;
    if user.id == actor.audit_actor().id {
        return Err(Error::bad_input("id", "you cannot delete yourself"));
    }
    let event = Event::by(actor, Action::UserDeleted).target(&user);
    let now = state.clock.now();
    let deleted = user.clone();
    crate::db::write(&state.db, move |tx| {
        Box::pin(async move {
            // Impersonation tokens this user made as an administrator die with them.
            entity::personal_access_token::Entity::update_many()
                .col_expr(
                    entity::personal_access_token::Column::RevokedAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .filter(entity::personal_access_token::Column::CreatedById.eq(user.id))
                .filter(entity::personal_access_token::Column::RevokedAt.is_null())
                .exec(tx)
                .await?;
            // Tokens first, explicitly: no reliance on the engine's cascade settings.
            entity::personal_access_token::Entity::delete_many()
                .filter(entity::personal_access_token::Column::UserId.eq(user.id))
                .exec(tx)
                .await?;
            end_sessions(tx, user.id).await?;
            user::Entity::delete_by_id(user.id).exec(tx).await?;
            audit::record(tx, now, event).await?;
            cache::record(tx, now, Change::User(user.id)).await
        })
    })
    .await?;
    state.auth_cache.sync(&state.db, state.clock.now()).await;
    Ok(deleted)
}
