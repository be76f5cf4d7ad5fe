//! Instance settings: the token policy an administrator changes at run time. One row.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InstanceSettings {
    Table,
    Id,
    RequireTokenExpiry,
    TokenMaxLifetimeDays,
    PersonalAccessTokensDisabled,
    UpdatedAt,
    UpdatedById,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(InstanceSettings::Table)
                    .col(big_integer(InstanceSettings::Id).primary_key())
                    .col(boolean(InstanceSettings::RequireTokenExpiry).default(false))
                    .col(integer_null(InstanceSettings::TokenMaxLifetimeDays))
                    .col(boolean(InstanceSettings::PersonalAccessTokensDisabled).default(false))
                    .col(timestamp_with_time_zone_null(InstanceSettings::UpdatedAt))
                    .col(big_integer_null(InstanceSettings::UpdatedById))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(InstanceSettings::Table)
                    .columns([
                        InstanceSettings::Id,
                        InstanceSettings::RequireTokenExpiry,
                        InstanceSettings::PersonalAccessTokensDisabled,
                    ])
                    .values_panic([1.into(), false.into(), false.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(InstanceSettings::Table).to_owned())
            .await
    }
}
