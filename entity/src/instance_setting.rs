//! The `instance_settings` table: one row (id 1) of run-time token policy.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "instance_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub require_token_expiry: bool,
    pub token_max_lifetime_days: Option<i32>,
    pub personal_access_tokens_disabled: bool,
    pub updated_at: Option<DateTimeUtc>,
    pub updated_by_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
