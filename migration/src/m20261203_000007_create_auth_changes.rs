//! The change feed of authentication-relevant events (token revoked, user blocked or
//! deleted): every server process reads it to drop stale entries from its token cache.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthChanges {
    Table,
    Id,
    Kind,
    TokenId,
    UserId,
    ChangedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuthChanges::Table)
                    .col(big_pk_auto(AuthChanges::Id))
                    .col(string_len(AuthChanges::Kind, 16))
                    .col(big_integer_null(AuthChanges::TokenId))
                    .col(big_integer_null(AuthChanges::UserId))
                    .col(timestamp_with_time_zone(AuthChanges::ChangedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuthChanges::Table).to_owned())
            .await
    }
}
