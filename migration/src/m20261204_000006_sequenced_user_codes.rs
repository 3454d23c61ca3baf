//! User codes become a keyed permutation of a sequence number (see
//! `tokens::user_codes` in the server): `device_authorizations` keeps the
//! sequence number, whose index grows at its end, instead of the code itself,
//! whose index took one random page write per row. The permutation's key
//! lives in the new `server_secrets` table.
//!
//! SQLite cannot drop a UNIQUE column in place, so the table is recreated.
//! Device authorizations live ten minutes: any still pending (or approved and
//! not yet collected) when this runs are dropped, and their devices start
//! again (`invalid_grant` on the next poll). Instances of an older release
//! that still run against the database fail their device requests from then
//! on: upgrade every instance together. `down` brings back the old table,
//! empty.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ServerSecrets {
    Table,
    Name,
    Secret,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DeviceAuthorizations {
    Table,
    DeviceCodeHash,
    UserCodeSeq,
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

/// The table with the column that holds the user code: `user_code_seq`
/// (now) or `user_code` (before).
fn device_authorizations(user_code: ColumnDef) -> TableCreateStatement {
    Table::create()
        .table(DeviceAuthorizations::Table)
        .col(string(DeviceAuthorizations::DeviceCodeHash).primary_key())
        .col(user_code)
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
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing, SQLite included (sea-orm wraps only PostgreSQL's).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ServerSecrets::Table)
                    .col(string(ServerSecrets::Name).primary_key())
                    .col(string(ServerSecrets::Secret))
                    .col(big_integer(ServerSecrets::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(DeviceAuthorizations::Table).to_owned())
            .await?;
        manager
            .create_table(device_authorizations(
                big_integer(DeviceAuthorizations::UserCodeSeq)
                    .unique_key()
                    .to_owned(),
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DeviceAuthorizations::Table).to_owned())
            .await?;
        manager
            .create_table(device_authorizations(
                string(DeviceAuthorizations::UserCode)
                    .unique_key()
                    .to_owned(),
            ))
            .await?;
        manager
            .drop_table(Table::drop().table(ServerSecrets::Table).to_owned())
            .await
    }
}
