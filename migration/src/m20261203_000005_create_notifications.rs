//! Notifications: per-token "notified" markers for the expiry jobs, an index that fits
//! their scan, the email outbox, and the table where a job run is claimed once.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PersonalAccessTokens {
    Table,
    ExpiresAt,
    UserId,
    Id,
    ExpiringNotifiedAt,
    ExpiredNotifiedAt,
}

#[derive(DeriveIden)]
enum OutboxEmails {
    Table,
    Id,
    Kind,
    UserId,
    ToAddress,
    Subject,
    TextBody,
    HtmlBody,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    ClaimedUntil,
    SentAt,
    LastError,
}

#[derive(DeriveIden)]
enum JobRuns {
    Table,
    Job,
    RunOn,
    StartedAt,
    FinishedAt,
    Notified,
}

const EXPIRY_INDEX: &str = "ix_personal_access_tokens_expires_at_user_id_id";
const OUTBOX_DUE_INDEX: &str = "ix_outbox_emails_sent_at_next_attempt_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            PersonalAccessTokens::ExpiringNotifiedAt,
            PersonalAccessTokens::ExpiredNotifiedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(PersonalAccessTokens::Table)
                        .add_column(timestamp_with_time_zone_null(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name(EXPIRY_INDEX)
                    .table(PersonalAccessTokens::Table)
                    .col(PersonalAccessTokens::ExpiresAt)
                    .col(PersonalAccessTokens::UserId)
                    .col(PersonalAccessTokens::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OutboxEmails::Table)
                    .col(big_pk_auto(OutboxEmails::Id))
                    .col(string_len(OutboxEmails::Kind, 64))
                    .col(big_integer_null(OutboxEmails::UserId))
                    .col(string_len(OutboxEmails::ToAddress, 255))
                    .col(text(OutboxEmails::Subject))
                    .col(text(OutboxEmails::TextBody))
                    .col(text(OutboxEmails::HtmlBody))
                    .col(timestamp_with_time_zone(OutboxEmails::CreatedAt))
                    .col(integer(OutboxEmails::Attempts).default(0))
                    .col(timestamp_with_time_zone(OutboxEmails::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(OutboxEmails::ClaimedUntil))
                    .col(timestamp_with_time_zone_null(OutboxEmails::SentAt))
                    .col(text_null(OutboxEmails::LastError))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(OUTBOX_DUE_INDEX)
                    .table(OutboxEmails::Table)
                    .col(OutboxEmails::SentAt)
                    .col(OutboxEmails::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(JobRuns::Table)
                    .col(string_len(JobRuns::Job, 64))
                    .col(date(JobRuns::RunOn))
                    .col(timestamp_with_time_zone(JobRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(JobRuns::FinishedAt))
                    .col(big_integer(JobRuns::Notified).default(0))
                    .primary_key(Index::create().col(JobRuns::Job).col(JobRuns::RunOn))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(JobRuns::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OutboxEmails::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(EXPIRY_INDEX)
                    .table(PersonalAccessTokens::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            PersonalAccessTokens::ExpiringNotifiedAt,
            PersonalAccessTokens::ExpiredNotifiedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(PersonalAccessTokens::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
