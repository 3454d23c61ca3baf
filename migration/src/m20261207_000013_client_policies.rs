//! Two per-client policies an administrator sets (`portcullis client create`):
//! `resource_server` lets a confidential client introspect tokens issued to
//! other clients (RFC 7662 §4), and `pkce_optional` exempts a client from
//! PKCE in the code flow (OAuth 2.1 requires it of every client otherwise).
//! Both default to false, so existing clients get the stricter behaviour.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Clients {
    Table,
    ResourceServer,
    PkceOptional,
}

const COLUMNS: [Clients; 2] = [Clients::ResourceServer, Clients::PkceOptional];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Clients::Table)
                        .add_column(boolean(column).default(false))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Clients::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
