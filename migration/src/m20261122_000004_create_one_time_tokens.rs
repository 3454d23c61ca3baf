//! Single-use tokens sent by mail (email verification, password reset, and
//! later magic links): stored as SHA-256, consumed by a conditional update.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OneTimeTokens {
    Table,
    TokenHash,
    Kind,
    UserId,
    Email,
    CreatedAt,
    ExpiresAt,
    ConsumedAt,
    Attempts,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OneTimeTokens::Table)
                    .col(string(OneTimeTokens::TokenHash).primary_key())
                    .col(string(OneTimeTokens::Kind))
                    .col(string_null(OneTimeTokens::UserId))
                    .col(string(OneTimeTokens::Email))
                    .col(big_integer(OneTimeTokens::CreatedAt))
                    .col(big_integer(OneTimeTokens::ExpiresAt))
                    .col(big_integer_null(OneTimeTokens::ConsumedAt))
                    .col(integer(OneTimeTokens::Attempts).default(0))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OneTimeTokens::Table, OneTimeTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("one_time_tokens_user_kind")
                    .table(OneTimeTokens::Table)
                    .col(OneTimeTokens::UserId)
                    .col(OneTimeTokens::Kind)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OneTimeTokens::Table).to_owned())
            .await
    }
}
