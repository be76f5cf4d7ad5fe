//! The `User` type.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object};
use entity::user;

use crate::{
    graphql::{
        context::{app, optional_principal},
        ids::{Kind, encode},
        scalars::Time,
    },
    users::UserState as DomainState,
};

/// Whether a user may use the service.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserState {
    Active,
    Blocked,
}

/// A person with an account.
#[derive(Clone)]
pub struct User(pub Arc<user::Model>);

impl From<user::Model> for User {
    fn from(model: user::Model) -> Self {
        User(Arc::new(model))
    }
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        encode(Kind::User, self.0.id)
    }

    async fn username(&self) -> &str {
        &self.0.username
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Visible to the user themselves and to administrators only.
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        let caller = optional_principal(ctx)?;
        (caller.user.id == self.0.id || caller.is_admin()).then_some(self.0.email.as_str())
    }

    async fn admin(&self) -> bool {
        self.0.admin
    }

    async fn state(&self) -> UserState {
        match DomainState::of(&self.0) {
            DomainState::Active => UserState::Active,
            DomainState::Blocked => UserState::Blocked,
        }
    }

    async fn created_at(&self) -> Time {
        Time(self.0.created_at)
    }

    /// A generated picture (initials on a colour), served by this instance.
    async fn avatar_url(&self, ctx: &Context<'_>) -> String {
        format!(
            "{}/-/avatars/{}.svg",
            app(ctx).config.external_url,
            self.0.id
        )
    }
}
