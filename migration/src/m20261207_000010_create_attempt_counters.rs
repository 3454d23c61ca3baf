//! `attempt_counters`: fixed-window counts kept in the database, so that a
//! budget (codes mailed to an account per day, wrong user codes per account)
//! holds across instances and cannot be outrun by parallel requests: each
//! attempt is counted by one conditional `UPDATE` before it is evaluated.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AttemptCounters {
    Table,
    Key,
    Count,
    WindowEnds,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AttemptCounters::Table)
                    .col(string(AttemptCounters::Key).primary_key())
                    .col(integer(AttemptCounters::Count))
                    .col(big_integer(AttemptCounters::WindowEnds))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AttemptCounters::Table).to_owned())
            .await
    }
}
