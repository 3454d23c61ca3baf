//! Passkeys, TOTP second factors, WebAuthn ceremony state, and the
//! "second factor still owed" mark on sessions.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Passkeys {
    Table,
    Id,
    UserId,
    UserHandle,
    Name,
    Credential,
    Counter,
    BackupEligible,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum TwoFactors {
    Table,
    UserId,
    Secret,
    Enabled,
    BackupCodes,
    LastUsedStep,
    Failures,
    LockedUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebauthnCeremonies {
    Table,
    IdHash,
    Kind,
    UserId,
    Email,
    State,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    SecondFactorPending,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

fn user_fk<T: IntoIden + 'static>(table: T, col: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Passkeys::Table)
                    .col(string(Passkeys::Id).primary_key())
                    .col(string(Passkeys::UserId))
                    .col(string(Passkeys::UserHandle))
                    .col(string(Passkeys::Name))
                    .col(text(Passkeys::Credential))
                    .col(big_integer(Passkeys::Counter))
                    .col(boolean(Passkeys::BackupEligible))
                    .col(big_integer(Passkeys::CreatedAt))
                    .col(big_integer_null(Passkeys::LastUsedAt))
                    .foreign_key(&mut user_fk(Passkeys::Table, Passkeys::UserId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("passkeys_user")
                    .table(Passkeys::Table)
                    .col(Passkeys::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TwoFactors::Table)
                    .col(string(TwoFactors::UserId).primary_key())
                    .col(string(TwoFactors::Secret))
                    .col(boolean(TwoFactors::Enabled))
                    .col(text(TwoFactors::BackupCodes))
                    .col(big_integer(TwoFactors::LastUsedStep))
                    .col(integer(TwoFactors::Failures).default(0))
                    .col(big_integer(TwoFactors::LockedUntil).default(0))
                    .col(big_integer(TwoFactors::CreatedAt))
                    .col(big_integer(TwoFactors::UpdatedAt))
                    .foreign_key(&mut user_fk(TwoFactors::Table, TwoFactors::UserId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebauthnCeremonies::Table)
                    .col(string(WebauthnCeremonies::IdHash).primary_key())
                    .col(string(WebauthnCeremonies::Kind))
                    .col(string_null(WebauthnCeremonies::UserId))
                    .col(string_null(WebauthnCeremonies::Email))
                    .col(text(WebauthnCeremonies::State))
                    .col(big_integer(WebauthnCeremonies::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(boolean(Sessions::SecondFactorPending).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .drop_column(Sessions::SecondFactorPending)
                    .to_owned(),
            )
            .await?;
        for t in [
            WebauthnCeremonies::Table.into_iden(),
            TwoFactors::Table.into_iden(),
            Passkeys::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
