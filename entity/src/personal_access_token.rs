//! The `personal_access_tokens` table. Only a keyed digest of each token is stored.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "personal_access_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub description: Option<String>,
    /// Comma-separated scope names in canonical order, e.g. `api,read_user`.
    pub scopes: String,
    /// HMAC-SHA256 of the plain token under the instance secret key (32 bytes), unique.
    #[sea_orm(unique)]
    pub digest: Vec<u8>,
    pub created_at: DateTimeUtc,
    /// The token stops working at 00:00 UTC of this date.
    pub expires_at: Option<Date>,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    pub impersonation: bool,
    /// The admin who created an impersonation token (`None` for the shell or own tokens).
    pub created_by_id: Option<i64>,
    /// The token this one replaced by rotation.
    pub previous_token_id: Option<i64>,
    /// When the owner was told this token expires within seven days (once in its life).
    pub expiring_notified_at: Option<DateTimeUtc>,
    /// When the owner was told this token has expired (once).
    pub expired_notified_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
