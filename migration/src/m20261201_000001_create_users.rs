//! Users: identity, sign-in secret, admin flag and state.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Users {
    Table,
    Id,
    Username,
    UsernameKey,
    Email,
    Name,
    PasswordHash,
    Admin,
    State,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(string_len(Users::Username, 255))
                    .col(string_len_uniq(Users::UsernameKey, 255))
                    .col(string_len_uniq(Users::Email, 255))
                    .col(string_len(Users::Name, 255))
                    .col(text_null(Users::PasswordHash))
                    .col(boolean(Users::Admin).default(false))
                    .col(string_len(Users::State, 16).default("active"))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}
