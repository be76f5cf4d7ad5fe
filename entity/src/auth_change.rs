//! The `auth_changes` table: a feed of events that invalidate cached authentications.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `token` (one token changed) or `user` (a user and everything acting through them).
    pub kind: String,
    pub token_id: Option<i64>,
    pub user_id: Option<i64>,
    pub changed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
