//! Browser sessions of the web pages, and the create-token forms each session has already
//! submitted (so that reloading the page after creating a token cannot create another).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261201_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebSessions {
    Table,
    Id,
    Digest,
    UserId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum WebFormSubmissions {
    Table,
    Id,
    SessionId,
    Nonce,
    SubmittedAt,
}

const DIGEST_INDEX: &str = "ux_web_sessions_digest";
const USER_INDEX: &str = "ix_web_sessions_user_id";
const NONCE_INDEX: &str = "ux_web_form_submissions_session_id_nonce";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebSessions::Table)
                    .col(big_pk_auto(WebSessions::Id))
                    .col(blob(WebSessions::Digest))
                    .col(big_integer(WebSessions::UserId))
                    .col(timestamp_with_time_zone(WebSessions::CreatedAt))
                    .col(timestamp_with_time_zone(WebSessions::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_web_sessions_user")
                            .from(WebSessions::Table, WebSessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(DIGEST_INDEX)
                    .table(WebSessions::Table)
                    .col(WebSessions::Digest)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(USER_INDEX)
                    .table(WebSessions::Table)
                    .col(WebSessions::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebFormSubmissions::Table)
                    .col(big_pk_auto(WebFormSubmissions::Id))
                    .col(big_integer(WebFormSubmissions::SessionId))
                    .col(string_len(WebFormSubmissions::Nonce, 64))
                    .col(timestamp_with_time_zone(WebFormSubmissions::SubmittedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_web_form_submissions_session")
                            .from(WebFormSubmissions::Table, WebFormSubmissions::SessionId)
                            .to(WebSessions::Table, WebSessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(NONCE_INDEX)
                    .table(WebFormSubmissions::Table)
                    .col(WebFormSubmissions::SessionId)
                    .col(WebFormSubmissions::Nonce)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebFormSubmissions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(WebSessions::Table).to_owned())
            .await
    }
}
