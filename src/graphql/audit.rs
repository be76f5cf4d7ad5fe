//! The audit log for administrators.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use entity::audit_event;

use crate::{
    audit::{
        Action,
        list::{AuditFilter, list},
    },
    graphql::{
        context::{app, principal},
        ids::{Kind, decode, encode},
        scalars::Time,
        types::connection::PageInfo,
    },
    pagination::{Page, PageRequest},
};

/// What happened.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    TokenCreated,
    ImpersonationTokenCreated,
    TokenRotated,
    TokenRevoked,
    RotationChainRevoked,
    SudoUsed,
    AuthenticationRefused,
    UserCreated,
    UserBlocked,
    UserUnblocked,
    UserDeleted,
    SettingsChanged,
}

impl AuditAction {
    fn to_domain(self) -> Action {
        Action::ALL[self as usize]
    }

    fn from_domain(action: Action) -> AuditAction {
        const ALL: [AuditAction; 12] = [
            AuditAction::TokenCreated,
            AuditAction::ImpersonationTokenCreated,
            AuditAction::TokenRotated,
            AuditAction::TokenRevoked,
            AuditAction::RotationChainRevoked,
            AuditAction::SudoUsed,
            AuditAction::AuthenticationRefused,
            AuditAction::UserCreated,
            AuditAction::UserBlocked,
            AuditAction::UserUnblocked,
            AuditAction::UserDeleted,
            AuditAction::SettingsChanged,
        ];
        ALL[action as usize]
    }
}

/// One recorded action. Usernames are copied at the time, so they survive deletions.
#[derive(SimpleObject, Clone)]
pub struct AuditEvent {
    pub id: ID,
    pub action: AuditAction,
    pub occurred_at: Time,
    /// The person who acted (the administrator, under sudo).
    pub actor_id: Option<ID>,
    pub actor_username: Option<String>,
    pub target_user_id: Option<ID>,
    pub target_username: Option<String>,
    pub token_id: Option<ID>,
    /// The client's address.
    pub ip: Option<String>,
    /// Action-specific details, as a JSON object.
    pub details: String,
}

impl AuditEvent {
    fn from_row(row: audit_event::Model) -> Option<AuditEvent> {
        Some(AuditEvent {
            id: ID(row.id.to_string()),
            action: AuditAction::from_domain(Action::from_stored(&row.action)?),
            occurred_at: Time(row.occurred_at),
            actor_id: row.actor_id.map(|id| encode(Kind::User, id)),
            actor_username: row.actor_username,
            target_user_id: row.target_user_id.map(|id| encode(Kind::User, id)),
            target_username: row.target_username,
            token_id: row.token_id.map(|id| encode(Kind::PersonalAccessToken, id)),
            ip: row.ip,
            details: row.details,
        })
    }
}

/// A page of audit events.
#[derive(SimpleObject)]
pub struct AuditEventConnection {
    pub nodes: Vec<AuditEvent>,
    pub edges: Vec<AuditEventEdge>,
    pub page_info: PageInfo,
}

/// One audit event with its cursor.
#[derive(SimpleObject)]
pub struct AuditEventEdge {
    pub cursor: String,
    pub node: AuditEvent,
}

fn connection(page: Page<audit_event::Model>, is_first_page: bool) -> AuditEventConnection {
    let page_info = PageInfo::of(&page.items, page.has_next_page, is_first_page);
    let edges: Vec<AuditEventEdge> = page
        .items
        .into_iter()
        .filter_map(|(cursor, row)| {
            AuditEvent::from_row(row).map(|node| AuditEventEdge { cursor, node })
        })
        .collect();
    let nodes = edges.iter().map(|edge| edge.node.clone()).collect();
    AuditEventConnection {
        nodes,
        edges,
        page_info,
    }
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Admins: the audit log, newest first.
    #[allow(clippy::too_many_arguments)]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        action: Option<AuditAction>,
        actor_id: Option<ID>,
        target_user_id: Option<ID>,
        token_id: Option<ID>,
        occurred_after: Option<Time>,
        occurred_before: Option<Time>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<AuditEventConnection> {
        let actor = principal(ctx)?;
        let page = PageRequest::parse(first, after.as_deref())?;
        let filter = AuditFilter {
            action: action.map(AuditAction::to_domain),
            actor_id: actor_id
                .map(|id| decode(Kind::User, &id, "actorId"))
                .transpose()?,
            target_user_id: target_user_id
                .map(|id| decode(Kind::User, &id, "targetUserId"))
                .transpose()?,
            token_id: token_id
                .map(|id| decode(Kind::PersonalAccessToken, &id, "tokenId"))
                .transpose()?,
            occurred_after: occurred_after.map(|time| time.0),
            occurred_before: occurred_before.map(|time| time.0),
        };
        let found = list(app(ctx), actor, filter, page).await?;
        Ok(connection(found, page.after.is_none()))
    }
}
