//! Personal access tokens, stored as keyed digests, with the indexes the hot paths use:
//! the unique digest (authentication), and (user, id) for the newest-first token list.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261201_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PersonalAccessTokens {
    Table,
    Id,
    UserId,
    Name,
    Description,
    Scopes,
    Digest,
    CreatedAt,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
    Impersonation,
    CreatedById,
    PreviousTokenId,
}

const DIGEST_INDEX: &str = "ux_personal_access_tokens_digest";
const USER_INDEX: &str = "ix_personal_access_tokens_user_id_id";
const PREVIOUS_INDEX: &str = "ix_personal_access_tokens_previous_token_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PersonalAccessTokens::Table)
                    .col(big_pk_auto(PersonalAccessTokens::Id))
                    .col(big_integer(PersonalAccessTokens::UserId))
                    .col(string_len(PersonalAccessTokens::Name, 255))
                    .col(text_null(PersonalAccessTokens::Description))
                    .col(string_len(PersonalAccessTokens::Scopes, 255))
                    // Bytes, not `character(n)`: a fixed-width text digest defeats the unique
                    // index on PostgreSQL under text binding.
                    .col(blob(PersonalAccessTokens::Digest))
                    .col(timestamp_with_time_zone(PersonalAccessTokens::CreatedAt))
                    .col(date_null(PersonalAccessTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(
                        PersonalAccessTokens::LastUsedAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        PersonalAccessTokens::RevokedAt,
                    ))
                    .col(boolean(PersonalAccessTokens::Impersonation).default(false))
                    .col(big_integer_null(PersonalAccessTokens::CreatedById))
                    .col(big_integer_null(PersonalAccessTokens::PreviousTokenId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_personal_access_tokens_user")
                            .from(PersonalAccessTokens::Table, PersonalAccessTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_personal_access_tokens_created_by")
                            .from(
                                PersonalAccessTokens::Table,
                                PersonalAccessTokens::CreatedById,
                            )
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(DIGEST_INDEX)
                    .table(PersonalAccessTokens::Table)
                    .col(PersonalAccessTokens::Digest)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(USER_INDEX)
                    .table(PersonalAccessTokens::Table)
                    .col(PersonalAccessTokens::UserId)
                    .col(PersonalAccessTokens::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(PREVIOUS_INDEX)
                    .table(PersonalAccessTokens::Table)
                    .col(PersonalAccessTokens::PreviousTokenId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PersonalAccessTokens::Table).to_owned())
            .await
    }
}
