//! Listing and searching users, newest first.

use entity::user;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};

use crate::{
    error::Result,
    pagination::{Page, PageRequest},
    state::AppState,
};

/// Users whose username or name contains `search` (case-insensitive), newest first.
pub async fn list(
    state: &AppState,
    search: Option<&str>,
    page: PageRequest,
) -> Result<Page<user::Model>> {
    let mut query = user::Entity::find();
    if let Some(search) = crate::pagination::search_term(search)? {
        let pattern = format!(
            "%{}%",
            crate::pagination::escape_like(&search.to_lowercase())
        );
        query = query.filter(
            Condition::any()
                .add(
                    Expr::col(user::Column::UsernameKey)
                        .like(LikeExpr::new(pattern.clone()).escape('\\')),
                )
                .add(
                    Expr::expr(Func::lower(Expr::col(user::Column::Name)))
                        .like(LikeExpr::new(pattern).escape('\\')),
                ),
        );
    }
    if let Some(after) = page.after {
        query = query.filter(user::Column::Id.lt(after));
    }
    let rows = query
        .order_by_desc(user::Column::Id)
        .limit(page.first + 1)
        .all(&state.db)
        .await?;
    Ok(Page::from_rows(rows, page.first, |user| user.id))
}
