//! User queries and mutations: thin adapters over `crate::users`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::{
    error::Error,
    graphql::{
        context::{app, optional_principal, principal},
        ids::{Kind, decode},
        types::{connection::UserConnection, user::User},
    },
    pagination::PageRequest,
    users::{self, UserState, create::NewUser},
};

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The authenticated user; null when anonymous.
    async fn current_user(&self, ctx: &Context<'_>) -> Option<User> {
        optional_principal(ctx).map(|caller| User(caller.user.clone()))
    }

    /// A user by id or username.
    async fn user(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        username: Option<String>,
    ) -> async_graphql::Result<Option<User>> {
        principal(ctx)?;
        let db = &app(ctx).db;
        let found = match (id, username) {
            (Some(id), None) => users::find_by_id(db, decode(Kind::User, &id, "id")?).await?,
            (None, Some(username)) => users::find_by_username(db, &username).await?,
            _ => return Err(Error::bad_input("id", "give exactly one of id or username").into()),
        };
        Ok(found.map(User::from))
    }

    /// Users whose username or name contains `search`, newest first.
    async fn users(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<UserConnection> {
        principal(ctx)?;
        let page = PageRequest::parse(first, after.as_deref())?;
        let found = users::list::list(app(ctx), search.as_deref(), page).await?;
        Ok(UserConnection::from_page(
            found,
            page.after.is_none(),
            User::from,
        ))
    }
}

/// A new user (admins only).
#[derive(InputObject)]
pub struct UserCreateInput {
    pub username: String,
    pub email: String,
    pub name: Option<String>,
    /// At least 8 characters; omit for a user who signs in by other means.
    pub password: Option<String>,
    #[graphql(default)]
    pub admin: bool,
}

/// The affected user.
#[derive(SimpleObject)]
pub struct UserPayload {
    pub user: User,
}

/// The deleted user.
#[derive(SimpleObject)]
pub struct UserDeletePayload {
    pub id: ID,
    pub username: String,
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Admins: creates a user.
    async fn user_create(
        &self,
        ctx: &Context<'_>,
        input: UserCreateInput,
    ) -> async_graphql::Result<UserPayload> {
        let actor = principal(ctx)?;
        let user = users::create::create(
            app(ctx),
            Some(actor),
            NewUser {
                username: input.username,
                email: input.email,
                name: input.name,
                password: input.password,
                admin: input.admin,
            },
        )
        .await?;
        Ok(UserPayload { user: user.into() })
    }

    /// Admins: blocks a user; their tokens stop working at once.
    async fn user_block(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<UserPayload> {
        set_state(ctx, id, UserState::Blocked).await
    }

    /// Admins: unblocks a user; their tokens work again.
    async fn user_unblock(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<UserPayload> {
        set_state(ctx, id, UserState::Active).await
    }

    /// Admins: deletes a user and every token they own.
    async fn user_delete(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<UserDeletePayload> {
        let actor = principal(ctx)?;
        let user_id = decode(Kind::User, &id, "id")?;
        let user = users::delete(app(ctx), actor, user_id).await?;
        Ok(UserDeletePayload {
            id,
            username: user.username,
        })
    }
}

async fn set_state(
    ctx: &Context<'_>,
    id: ID,
    state: UserState,
) -> async_graphql::Result<UserPayload> {
    let actor = principal(ctx)?;
    let user_id = decode(Kind::User, &id, "id")?;
    let user = users::set_state(app(ctx), actor, user_id, state).await?;
    Ok(UserPayload { user: user.into() })
}
