//! Users: identity, state (active or blocked), password hashing.

pub mod create;
pub mod list;
pub mod password;

use entity::user;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::{
    auth::principal::Principal,
    error::{Error, Result},
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
    db: &impl ConnectionTrait,
    actor: &Principal,
    user_id: i64,
    state: UserState,
) -> Result<user::Model> {
    actor.require_admin()?;
    let user = find_by_id(db, user_id)
        .await?
        .ok_or(Error::NotFound("User"))?;
    if user.id == actor.user.id && state == UserState::Blocked {
        return Err(Error::bad_input("id", "you cannot block yourself"));
    }
    let mut active: user::ActiveModel = user.into();
    active.state = Set(state.as_stored().to_owned());
    Ok(active.update(db).await?)
}
