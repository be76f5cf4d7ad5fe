//! The audit log: append-only, with usernames copied in so that records outlive the users
//! they mention (no foreign keys on purpose).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    OccurredAt,
    Action,
    ActorId,
    ActorUsername,
    TargetUserId,
    TargetUsername,
    TokenId,
    Ip,
    Details,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(big_pk_auto(AuditEvents::Id))
                    .col(timestamp_with_time_zone(AuditEvents::OccurredAt))
                    .col(string_len(AuditEvents::Action, 64))
                    .col(big_integer_null(AuditEvents::ActorId))
                    .col(string_len_null(AuditEvents::ActorUsername, 255))
                    .col(big_integer_null(AuditEvents::TargetUserId))
                    .col(string_len_null(AuditEvents::TargetUsername, 255))
                    .col(big_integer_null(AuditEvents::TokenId))
                    .col(string_len_null(AuditEvents::Ip, 64))
                    .col(text(AuditEvents::Details))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ix_audit_events_action_id", AuditEvents::Action),
            ("ix_audit_events_actor_id_id", AuditEvents::ActorId),
            (
                "ix_audit_events_target_user_id_id",
                AuditEvents::TargetUserId,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditEvents::Table)
                        .col(column)
                        .col(AuditEvents::Id)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await
    }
}
