//! The `users` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// As the user typed it; shown everywhere.
    pub username: String,
    /// Lower-cased username, unique, so that `Alice` and `alice` cannot both exist.
    #[sea_orm(unique)]
    pub username_key: String,
    /// Lower-cased, unique.
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    /// PHC string of an argon2id hash; `None` when the user cannot sign in with a password.
    pub password_hash: Option<String>,
    pub admin: bool,
    /// `active` or `blocked`.
    pub state: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::personal_access_token::Entity")]
    PersonalAccessToken,
}

impl ActiveModelBehavior for ActiveModel {}
