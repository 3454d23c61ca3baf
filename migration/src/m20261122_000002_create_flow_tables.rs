//! Tables for the authorization-code flow: pending consent requests (so any
//! instance can finish a flow another started) and single-use client
//! assertion `jti`s (RFC 7523 §3).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ConsentRequests {
    Table,
    Id,
    UserId,
    SessionId,
    ClientId,
    Params,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum UsedAssertions {
    Table,
    JtiHash,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ConsentRequests::Table)
                    .col(string(ConsentRequests::Id).primary_key())
                    .col(string(ConsentRequests::UserId))
                    .col(string(ConsentRequests::SessionId))
                    .col(string(ConsentRequests::ClientId))
                    .col(text(ConsentRequests::Params))
                    .col(big_integer(ConsentRequests::CreatedAt))
                    .col(big_integer(ConsentRequests::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UsedAssertions::Table)
                    .col(string(UsedAssertions::JtiHash).primary_key())
                    .col(big_integer(UsedAssertions::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UsedAssertions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ConsentRequests::Table).to_owned())
            .await?;
        Ok(())
    }
}
