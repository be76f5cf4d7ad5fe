//! The `PersonalAccessToken` type and its create payload.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use entity::personal_access_token as pat;

use crate::{
    error::Error,
    graphql::{
        context::app,
        ids::{Kind, encode},
        loaders::UserDataLoader,
        scalars::{Date, Time},
        types::{scope::AccessTokenScope, user::User},
    },
    tokens::{create::CreateRequest, is_active, scope::ScopeSet},
};

/// A personal access token (never its secret, which is shown once at creation).
#[derive(Clone)]
pub struct PersonalAccessToken(pub pat::Model);

impl PersonalAccessToken {
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<entity::user::Model> {
        ctx.data::<UserDataLoader>()?
            .load_one(self.0.user_id)
            .await
            .map_err(|error| Error::from_shared_db("loading a token's owner", &error))?
            .ok_or_else(|| Error::NotFound("User").into())
    }
}

#[Object]
impl PersonalAccessToken {
    async fn id(&self) -> ID {
        encode(Kind::PersonalAccessToken, self.0.id)
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn scopes(&self) -> Vec<AccessTokenScope> {
        ScopeSet::from_stored(&self.0.scopes)
            .iter()
            .map(Into::into)
            .collect()
    }

    async fn created_at(&self) -> Time {
        Time(self.0.created_at)
    }

    /// The token stops working at 00:00 UTC of this date.
    async fn expires_at(&self) -> Option<Date> {
        self.0.expires_at.map(Date)
    }

    /// Updated at most once every 24 hours.
    async fn last_used_at(&self) -> Option<Time> {
        self.0.last_used_at.map(Time)
    }

    async fn revoked(&self) -> bool {
        self.0.revoked_at.is_some()
    }

    /// Not revoked, not expired, and its user not blocked.
    async fn active(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let owner = self.owner(ctx).await?;
        Ok(is_active(&self.0, &owner, app(ctx).clock.today()))
    }

    /// Created by an administrator to act as this token's user.
    async fn impersonation(&self) -> bool {
        self.0.impersonation
    }

    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        Ok(self.owner(ctx).await?.into())
    }

    /// The administrator who created this impersonation token (null otherwise, or when
    /// that administrator has been deleted).
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(creator) = self.0.created_by_id else {
            return Ok(None);
        };
        let loaded = ctx
            .data::<UserDataLoader>()?
            .load_one(creator)
            .await
            .map_err(|error| Error::from_shared_db("loading a token's creator", &error))?;
        Ok(loaded.map(User::from))
    }
}

/// What a new token should be.
#[derive(InputObject)]
pub struct PersonalAccessTokenCreateInput {
    /// 1–255 characters.
    pub name: String,
    /// At most 1000 characters.
    pub description: Option<String>,
    /// After today (UTC); omit for a token that does not expire (if the instance allows).
    pub expires_at: Option<Date>,
    /// At least one, without repeats.
    pub scopes: Vec<AccessTokenScope>,
}

impl From<PersonalAccessTokenCreateInput> for CreateRequest {
    fn from(input: PersonalAccessTokenCreateInput) -> Self {
        CreateRequest {
            name: input.name,
            description: input.description,
            expires_at: input.expires_at.map(|date| date.0),
            scopes: input.scopes.into_iter().map(Into::into).collect(),
        }
    }
}

/// A new token: the secret (shown this once) and its record.
#[derive(SimpleObject)]
pub struct PersonalAccessTokenCreatePayload {
    /// The token itself. Store it now: it cannot be shown again.
    pub token: String,
    pub personal_access_token: PersonalAccessToken,
}

/// The revoked token.
#[derive(SimpleObject)]
pub struct PersonalAccessTokenRevokePayload {
    pub personal_access_token: PersonalAccessToken,
}
