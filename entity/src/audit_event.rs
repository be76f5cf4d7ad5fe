//! The `audit_events` table: append-only records of security-relevant actions.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub occurred_at: DateTimeUtc,
    /// e.g. `token_created`, `sudo_used`, `authentication_refused`.
    pub action: String,
    pub actor_id: Option<i64>,
    pub actor_username: Option<String>,
    pub target_user_id: Option<i64>,
    pub target_username: Option<String>,
    pub token_id: Option<i64>,
    pub ip: Option<String>,
    /// A JSON object with action-specific details (never a secret).
    pub details: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
