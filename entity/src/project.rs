//! The `projects` table: a Git repository at `namespace/path`, with a visibility.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "projects")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub namespace: String,
    pub path: String,
    /// Lower-cased `namespace/path`, unique.
    #[sea_orm(unique)]
    pub full_path_key: String,
    /// `private`, `internal` or `public`.
    pub visibility: String,
    pub creator_id: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
