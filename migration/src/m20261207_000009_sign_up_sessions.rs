//! `sessions.began_with_sign_up`: marks the session started by creating the
//! account. Verifying the address from that session keeps what it set up (a
//! password, a passkey); a proof of the mailbox from anywhere else takes an
//! unverified account back from whoever created it. Existing sessions get
//! `false`: the next verification of an unverified account from one of them
//! is treated as coming from elsewhere.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    BeganWithSignUp,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(boolean(Sessions::BeganWithSignUp).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .drop_column(Sessions::BeganWithSignUp)
                    .to_owned(),
            )
            .await
    }
}
