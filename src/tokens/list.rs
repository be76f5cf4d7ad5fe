//! Listing tokens: newest first, keyset pagination on the id, filters by state and name.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{personal_access_token as pat, user};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Value,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};

use crate::{
    auth::principal::Principal,
    error::{Error, Result},
    pagination::{Page, PageRequest},
    state::AppState,
    users::UserState,
};

/// Which tokens to list by lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateFilter {
    #[default]
    Active,
    /// Revoked or expired (or owned by a blocked user).
    Inactive,
    All,
}

/// Filters of the token list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub state: StateFilter,
    pub search: Option<String>,
    /// Another user's tokens (admins only).
    pub user_id: Option<i64>,
    /// Impersonation tokens instead of personal ones (admins only).
    pub impersonation: Option<bool>,
    pub created_before: Option<DateTime<Utc>>,
    pub created_after: Option<DateTime<Utc>>,
    pub last_used_before: Option<DateTime<Utc>>,
    pub last_used_after: Option<DateTime<Utc>>,
    pub expires_before: Option<NaiveDate>,
    pub expires_after: Option<NaiveDate>,
}

/// Lists the tokens the principal may see under `filter`.
pub async fn list(
    state: &AppState,
    actor: &Principal,
    filter: ListFilter,
    page: PageRequest,
) -> Result<Page<pat::Model>> {
    let owner_id = filter.user_id.unwrap_or(actor.user.id);
    let impersonation = filter.impersonation.unwrap_or(false);
    if (owner_id != actor.user.id || impersonation) && !actor.is_admin() {
        return Err(Error::Forbidden(
            "Only administrators can list other users' or impersonation tokens.".into(),
        ));
    }
    let owner = user::Entity::find_by_id(owner_id)
        .one(&state.db)
        .await?
        .ok_or(Error::NotFound("User"))?;
    let owner_active = UserState::of(&owner) == UserState::Active;
    let today = state.clock.today();
    let active = Condition::all().add(pat::Column::RevokedAt.is_null()).add(
        Condition::any()
            .add(pat::Column::ExpiresAt.is_null())
            .add(pat::Column::ExpiresAt.gt(today)),
    );
    let mut query = pat::Entity::find()
        .filter(pat::Column::UserId.eq(owner_id))
        .filter(pat::Column::Impersonation.eq(impersonation));
    query = match (filter.state, owner_active) {
        (StateFilter::All, _) | (StateFilter::Inactive, false) => query,
        (StateFilter::Active, true) => query.filter(active),
        (StateFilter::Inactive, true) => query.filter(active.not()),
        (StateFilter::Active, false) => return Ok(Page::empty()),
    };
    if let Some(search) = crate::pagination::search_term(filter.search.as_deref())? {
        let pattern = format!(
            "%{}%",
            crate::pagination::escape_like(&search.to_lowercase())
        );
        query = query.filter(
            Expr::expr(Func::lower(Expr::col(pat::Column::Name)))
                .like(LikeExpr::new(pattern).escape('\\')),
        );
    }
    let bounds = [
        (
            pat::Column::CreatedAt,
            filter.created_before.map(Value::from),
            filter.created_after.map(Value::from),
        ),
        (
            pat::Column::LastUsedAt,
            filter.last_used_before.map(Value::from),
            filter.last_used_after.map(Value::from),
        ),
        (
            pat::Column::ExpiresAt,
            filter.expires_before.map(Value::from),
            filter.expires_after.map(Value::from),
        ),
    ];
    for (column, before, after) in bounds {
        if let Some(before) = before {
            query = query.filter(column.lt(before));
        }
        if let Some(after) = after {
            query = query.filter(column.gt(after));
        }
    }
    if let Some(after) = page.after {
        query = query.filter(pat::Column::Id.lt(after));
    }
    let rows = query
        .order_by_desc(pat::Column::Id)
        .limit(page.first + 1)
        .all(&state.db)
        .await?;
    Ok(Page::from_rows(rows, page.first, |token| token.id))
}
