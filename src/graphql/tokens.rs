//! Token queries and mutations: thin adapters over `crate::tokens`.

use async_graphql::{Context, Enum, ID, Object};

use crate::{
    graphql::{
        context::{app, principal},
        ids::{Kind, decode},
        scalars::{Date, Time},
        types::{
            connection::PersonalAccessTokenConnection,
            scope::AccessTokenScopeInfo,
            token::{
                PersonalAccessToken, PersonalAccessTokenCreateInput,
                PersonalAccessTokenCreatePayload, PersonalAccessTokenRevokePayload,
            },
        },
    },
    pagination::PageRequest,
    tokens::{
        self,
        create::CreatedToken,
        list::{ListFilter, StateFilter},
        scope::Scope,
    },
    users,
};

/// Which tokens to list.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessTokenState {
    /// Usable: not revoked, not expired.
    Active,
    /// Revoked or expired.
    Inactive,
    All,
}

impl From<AccessTokenState> for StateFilter {
    fn from(state: AccessTokenState) -> Self {
        match state {
            AccessTokenState::Active => StateFilter::Active,
            AccessTokenState::Inactive => StateFilter::Inactive,
            AccessTokenState::All => StateFilter::All,
        }
    }
}

#[derive(Default)]
pub struct TokenQuery;

#[Object]
impl TokenQuery {
    /// The token authenticating this request.
    async fn current_token(&self, ctx: &Context<'_>) -> Option<PersonalAccessToken> {
        let caller = crate::graphql::context::optional_principal(ctx)?;
        caller.token().cloned().map(PersonalAccessToken)
    }

    /// The caller's own personal access tokens, newest first. Admins may pass `userId`
    /// and `impersonation`. The `…Before`/`…After` bounds are exclusive; a token never
    /// used or without an expiry date matches no last-used or expiry bound.
    #[allow(clippy::too_many_arguments)]
    async fn personal_access_tokens(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(AccessTokenState::Active)")] state: Option<AccessTokenState>,
        search: Option<String>,
        user_id: Option<ID>,
        impersonation: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
        created_before: Option<Time>,
        created_after: Option<Time>,
        last_used_before: Option<Time>,
        last_used_after: Option<Time>,
        expires_before: Option<Date>,
        expires_after: Option<Date>,
    ) -> async_graphql::Result<PersonalAccessTokenConnection> {
        let actor = principal(ctx)?;
        let page = PageRequest::parse(first, after.as_deref())?;
        let filter = ListFilter {
            state: state.unwrap_or(AccessTokenState::Active).into(),
            search,
            user_id: user_id
                .map(|id| decode(Kind::User, &id, "userId"))
                .transpose()?,
            impersonation,
            created_before: created_before.map(|time| time.0),
            created_after: created_after.map(|time| time.0),
            last_used_before: last_used_before.map(|time| time.0),
            last_used_after: last_used_after.map(|time| time.0),
            expires_before: expires_before.map(|date| date.0),
            expires_after: expires_after.map(|date| date.0),
        };
        let found = tokens::list::list(app(ctx), actor, filter, page).await?;
        Ok(PersonalAccessTokenConnection::from_page(
            found,
            page.after.is_none(),
            PersonalAccessToken,
        ))
    }

    /// One token the caller may see.
    async fn personal_access_token(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<PersonalAccessToken>> {
        let actor = principal(ctx)?;
        let token_id = decode(Kind::PersonalAccessToken, &id, "id")?;
        match tokens::find_visible(&app(ctx).db, actor, token_id).await {
            Ok(token) => Ok(Some(PersonalAccessToken(token))),
            Err(crate::error::Error::NotFound(_)) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Every scope with its description.
    async fn access_token_scopes(&self) -> Vec<AccessTokenScopeInfo> {
        Scope::ALL.into_iter().map(Into::into).collect()
    }
}

#[derive(Default)]
pub struct TokenMutation;

fn payload(created: CreatedToken) -> PersonalAccessTokenCreatePayload {
    PersonalAccessTokenCreatePayload {
        token: created.secret.expose().to_owned(),
        personal_access_token: PersonalAccessToken(created.token),
    }
}

#[Object]
impl TokenMutation {
    /// Creates a token for the caller. The response holds the token; it is never shown again.
    async fn personal_access_token_create(
        &self,
        ctx: &Context<'_>,
        input: PersonalAccessTokenCreateInput,
    ) -> async_graphql::Result<PersonalAccessTokenCreatePayload> {
        let actor = principal(ctx)?;
        let created = tokens::create::create_own(app(ctx), actor, input.into()).await?;
        Ok(payload(created))
    }

    /// Revokes a token; it stops working at once.
    async fn personal_access_token_revoke(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<PersonalAccessTokenRevokePayload> {
        let actor = principal(ctx)?;
        let token_id = decode(Kind::PersonalAccessToken, &id, "id")?;
        let token = tokens::revoke::revoke(app(ctx), actor, token_id).await?;
        Ok(PersonalAccessTokenRevokePayload {
            personal_access_token: PersonalAccessToken(token),
        })
    }

    /// Revokes a token and issues a new one with the same name, description and scopes.
    async fn personal_access_token_rotate(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expires_at: Option<Date>,
    ) -> async_graphql::Result<PersonalAccessTokenCreatePayload> {
        let actor = principal(ctx)?;
        let token_id = decode(Kind::PersonalAccessToken, &id, "id")?;
        let created = tokens::revoke::rotate(
            app(ctx),
            actor,
            token_id,
            expires_at.map(|date| date.0),
            tokens::revoke::WhenRevoked::RevokeChain,
        )
        .await?;
        Ok(payload(created))
    }

    /// Admins: creates a token that acts as another user, hidden from that user's list.
    async fn impersonation_token_create(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        input: PersonalAccessTokenCreateInput,
    ) -> async_graphql::Result<PersonalAccessTokenCreatePayload> {
        let actor = principal(ctx)?;
        actor.require_admin()?;
        let state = app(ctx);
        let owner_id = decode(Kind::User, &user_id, "userId")?;
        let owner = users::find_by_id(&state.db, owner_id)
            .await?
            .ok_or(crate::error::Error::NotFound("User"))?;
        let created = tokens::create::create(state, actor, &owner, input.into(), true).await?;
        Ok(payload(created))
    }
}
