//! Signing keys get a pre-publication phase: `next` keys are published in the
//! JWKS before they sign, from `activates_at` on (DESIGN §4). Existing keys
//! were active from their creation. At most one `next` key per algorithm, as
//! for `active` ones, so two rotations at once cannot both start.
//!
//! Sealing the private keys (and the other secrets) is not done here: a
//! migration cannot see the key-encryption key, so the server seals whatever
//! is still plaintext at its start, after migrations (`store::sealing`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    ActivatesAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SigningKeys::Table)
                    .add_column(big_integer_null(SigningKeys::ActivatesAt))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(SigningKeys::Table)
                    .value(SigningKeys::ActivatesAt, Expr::col(SigningKeys::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // sea-query has no portable partial-index builder; this statement is
        // valid on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX signing_keys_one_next_per_alg \
                 ON signing_keys (alg) WHERE status = 'next'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS signing_keys_one_next_per_alg")
            .await?;
        manager
            .get_connection()
            .execute_unprepared("DELETE FROM signing_keys WHERE status = 'next'")
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SigningKeys::Table)
                    .drop_column(SigningKeys::ActivatesAt)
                    .to_owned(),
            )
            .await
    }
}
