//! RFC 8628 device authorizations. Polls read this table but never write it:
//! poll pacing lives in memory (see `oauth::device`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DeviceAuthorizations {
    Table,
    DeviceCodeHash,
    UserCode,
    ClientId,
    Scope,
    Resources,
    Status,
    UserId,
    SessionId,
    AuthTime,
    Amr,
    OrganizationId,
    GrantId,
    CreatedAt,
    ExpiresAt,
    ConsumedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DeviceAuthorizations::Table)
                    .col(string(DeviceAuthorizations::DeviceCodeHash).primary_key())
                    .col(string(DeviceAuthorizations::UserCode).unique_key())
                    .col(string(DeviceAuthorizations::ClientId))
                    .col(text(DeviceAuthorizations::Scope))
                    .col(text(DeviceAuthorizations::Resources))
                    .col(string(DeviceAuthorizations::Status))
                    .col(string_null(DeviceAuthorizations::UserId))
                    .col(string_null(DeviceAuthorizations::SessionId))
                    .col(big_integer_null(DeviceAuthorizations::AuthTime))
                    .col(text(DeviceAuthorizations::Amr))
                    .col(string_null(DeviceAuthorizations::OrganizationId))
                    .col(string(DeviceAuthorizations::GrantId))
                    .col(big_integer(DeviceAuthorizations::CreatedAt))
                    .col(big_integer(DeviceAuthorizations::ExpiresAt))
                    .col(big_integer_null(DeviceAuthorizations::ConsumedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DeviceAuthorizations::Table).to_owned())
            .await
    }
}
