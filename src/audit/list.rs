//! Reading the audit log (administrators): newest first, filtered, keyset pages.

use chrono::{DateTime, Utc};
use entity::audit_event;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{
    audit::Action,
    auth::principal::Principal,
    error::Result,
    pagination::{Page, PageRequest},
    state::AppState,
};

/// Filters of the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<Action>,
    pub actor_id: Option<i64>,
    pub target_user_id: Option<i64>,
    pub token_id: Option<i64>,
    pub occurred_after: Option<DateTime<Utc>>,
    pub occurred_before: Option<DateTime<Utc>>,
}

/// Lists audit events matching `filter`.
pub async fn list(
    state: &AppState,
    actor: &Principal,
    filter: AuditFilter,
    page: PageRequest,
) -> Result<Page<audit_event::Model>> {
    actor.require_admin()?;
    let mut query = audit_event::Entity::find();
    if let Some(action) = filter.action {
        query = query.filter(audit_event::Column::Action.eq(action.as_str()));
    }
    if let Some(id) = filter.actor_id {
        query = query.filter(audit_event::Column::ActorId.eq(id));
    }
    if let Some(id) = filter.target_user_id {
        query = query.filter(audit_event::Column::TargetUserId.eq(id));
    }
    if let Some(id) = filter.token_id {
        query = query.filter(audit_event::Column::TokenId.eq(id));
    }
    if let Some(after) = filter.occurred_after {
        query = query.filter(audit_event::Column::OccurredAt.gt(after));
    }
    if let Some(before) = filter.occurred_before {
        query = query.filter(audit_event::Column::OccurredAt.lt(before));
    }
    if let Some(after) = page.after {
        query = query.filter(audit_event::Column::Id.lt(after));
    }
    let rows = query
        .order_by_desc(audit_event::Column::Id)
        .limit(page.first + 1)
        .all(&state.db)
        .await?;
    Ok(Page::from_rows(rows, page.first, |event| event.id))
}
