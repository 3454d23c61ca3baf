//! Core tables: users, organisations, sessions, clients, signing keys,
//! consents, authorization codes, refresh tokens and revoked grants.
//!
//! Conventions (portable across SQLite and PostgreSQL):
//! - every id / key is a string column;
//! - every time is a big integer of unix seconds;
//! - JSON documents are stored as text;
//! - binary data is a blob (BLOB on SQLite, BYTEA on PostgreSQL).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Name,
    EmailVerified,
    Image,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Credentials {
    Table,
    UserId,
    PasswordHash,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Name,
    Slug,
    PersonalOwnerId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    OrganizationId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    TokenHash,
    UserId,
    ActiveOrganizationId,
    Amr,
    AuthTime,
    CreatedAt,
    ExpiresAt,
    Ip,
    UserAgent,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    Name,
    SecretHash,
    Metadata,
    Origin,
    Trusted,
    RegistrationTokenHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    Alg,
    Status,
    PrivateKey,
    PublicJwk,
    CreatedAt,
    RetiredAt,
    NotAfter,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    UserId,
    ClientId,
    Scopes,
    Resources,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuthorizationCodes {
    Table,
    CodeHash,
    ClientId,
    UserId,
    SessionId,
    RedirectUri,
    Scope,
    Resources,
    Nonce,
    CodeChallenge,
    AuthTime,
    Amr,
    Acr,
    OrganizationId,
    CreatedAt,
    ExpiresAt,
    ConsumedAt,
    GrantId,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    TokenHash,
    GrantId,
    ParentHash,
    ClientId,
    UserId,
    SessionId,
    Scope,
    Resources,
    AuthTime,
    Amr,
    Acr,
    OrganizationId,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    RevokedAt,
    Successor,
}

#[derive(DeriveIden)]
enum RevokedGrants {
    Table,
    GrantId,
    RevokedAt,
    ExpiresAt,
}

/// A foreign key from `from_table.from_col` to `to_table.to_col`, ON DELETE CASCADE.
fn fk<A, B, C, D>(
    name: &str,
    from_table: A,
    from_col: B,
    to_table: C,
    to_col: D,
) -> ForeignKeyCreateStatement
where
    A: IntoIden,
    B: IntoIden,
    C: IntoIden,
    D: IntoIden,
{
    ForeignKey::create()
        .name(name)
        .from(from_table, from_col)
        .to(to_table, to_col)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// A plain (non-unique) index on one column.
fn index<T: IntoIden, C: IntoIden>(name: &str, table: T, col: C) -> IndexCreateStatement {
    Index::create().name(name).table(table).col(col).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // 1. users
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(string(Users::Id).primary_key())
                    .col(string_uniq(Users::Email))
                    .col(string(Users::Name))
                    .col(boolean(Users::EmailVerified).default(false))
                    .col(string_null(Users::Image))
                    .col(big_integer(Users::CreatedAt))
                    .col(big_integer(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        // 2. credentials
        manager
            .create_table(
                Table::create()
                    .table(Credentials::Table)
                    .col(string(Credentials::UserId).primary_key())
                    .col(string(Credentials::PasswordHash))
                    .col(big_integer(Credentials::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_credentials_user_id",
                        Credentials::Table,
                        Credentials::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;

        // 3. organizations
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(string(Organizations::Id).primary_key())
                    .col(string(Organizations::Name))
                    .col(string_uniq(Organizations::Slug))
                    .col(string_null(Organizations::PersonalOwnerId).unique_key())
                    .col(big_integer(Organizations::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_organizations_personal_owner_id",
                        Organizations::Table,
                        Organizations::PersonalOwnerId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;

        // 4. memberships
        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(string(Memberships::OrganizationId))
                    .col(string(Memberships::UserId))
                    .col(string(Memberships::Role))
                    .col(big_integer(Memberships::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(Memberships::OrganizationId)
                            .col(Memberships::UserId),
                    )
                    .foreign_key(&mut fk(
                        "fk_memberships_organization_id",
                        Memberships::Table,
                        Memberships::OrganizationId,
                        Organizations::Table,
                        Organizations::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_memberships_user_id",
                        Memberships::Table,
                        Memberships::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_memberships_user_id",
                Memberships::Table,
                Memberships::UserId,
            ))
            .await?;

        // 5. sessions
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(string(Sessions::Id).primary_key())
                    .col(string_uniq(Sessions::TokenHash))
                    .col(string(Sessions::UserId))
                    .col(string_null(Sessions::ActiveOrganizationId))
                    .col(text(Sessions::Amr))
                    .col(big_integer(Sessions::AuthTime))
                    .col(big_integer(Sessions::CreatedAt))
                    .col(big_integer(Sessions::ExpiresAt))
                    .col(string_null(Sessions::Ip))
                    .col(text_null(Sessions::UserAgent))
                    .foreign_key(&mut fk(
                        "fk_sessions_user_id",
                        Sessions::Table,
                        Sessions::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_active_organization_id")
                            .from(Sessions::Table, Sessions::ActiveOrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_sessions_user_id",
                Sessions::Table,
                Sessions::UserId,
            ))
            .await?;

        // 6. clients
        manager
            .create_table(
                Table::create()
                    .table(Clients::Table)
                    .col(string(Clients::Id).primary_key())
                    .col(string(Clients::Name))
                    .col(string_null(Clients::SecretHash))
                    .col(text(Clients::Metadata))
                    .col(string(Clients::Origin))
                    .col(boolean(Clients::Trusted).default(false))
                    .col(string_null(Clients::RegistrationTokenHash))
                    .col(big_integer(Clients::CreatedAt))
                    .to_owned(),
            )
            .await?;

        // 7. signing_keys
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(string(SigningKeys::Kid).primary_key())
                    .col(string(SigningKeys::Alg))
                    .col(string(SigningKeys::Status))
                    .col(blob(SigningKeys::PrivateKey))
                    .col(text(SigningKeys::PublicJwk))
                    .col(big_integer(SigningKeys::CreatedAt))
                    .col(big_integer_null(SigningKeys::RetiredAt))
                    .col(big_integer_null(SigningKeys::NotAfter))
                    .to_owned(),
            )
            .await?;
        // At most one active key per algorithm. sea-query has no portable
        // partial-index builder; this statement is valid on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX signing_keys_one_active_per_alg \
                 ON signing_keys (alg) WHERE status = 'active'",
            )
            .await?;

        // 8. consents
        manager
            .create_table(
                Table::create()
                    .table(Consents::Table)
                    .col(string(Consents::UserId))
                    .col(string(Consents::ClientId))
                    .col(text(Consents::Scopes))
                    .col(text(Consents::Resources))
                    .col(big_integer(Consents::CreatedAt))
                    .col(big_integer(Consents::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(Consents::UserId)
                            .col(Consents::ClientId),
                    )
                    .foreign_key(&mut fk(
                        "fk_consents_user_id",
                        Consents::Table,
                        Consents::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_consents_client_id",
                        Consents::Table,
                        Consents::ClientId,
                        Clients::Table,
                        Clients::Id,
                    ))
                    .to_owned(),
            )
            .await?;

        // 9. authorization_codes
        manager
            .create_table(
                Table::create()
                    .table(AuthorizationCodes::Table)
                    .col(string(AuthorizationCodes::CodeHash).primary_key())
                    .col(string(AuthorizationCodes::ClientId))
                    .col(string(AuthorizationCodes::UserId))
                    .col(string_null(AuthorizationCodes::SessionId))
                    .col(text(AuthorizationCodes::RedirectUri))
                    .col(text(AuthorizationCodes::Scope))
                    .col(text(AuthorizationCodes::Resources))
                    .col(text_null(AuthorizationCodes::Nonce))
                    .col(string_null(AuthorizationCodes::CodeChallenge))
                    .col(big_integer(AuthorizationCodes::AuthTime))
                    .col(text(AuthorizationCodes::Amr))
                    .col(string_null(AuthorizationCodes::Acr))
                    .col(string_null(AuthorizationCodes::OrganizationId))
                    .col(big_integer(AuthorizationCodes::CreatedAt))
                    .col(big_integer(AuthorizationCodes::ExpiresAt))
                    .col(big_integer_null(AuthorizationCodes::ConsumedAt))
                    .col(string(AuthorizationCodes::GrantId))
                    .foreign_key(&mut fk(
                        "fk_authorization_codes_client_id",
                        AuthorizationCodes::Table,
                        AuthorizationCodes::ClientId,
                        Clients::Table,
                        Clients::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_authorization_codes_user_id",
                        AuthorizationCodes::Table,
                        AuthorizationCodes::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_authorization_codes_grant_id",
                AuthorizationCodes::Table,
                AuthorizationCodes::GrantId,
            ))
            .await?;

        // 10. refresh_tokens
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(string(RefreshTokens::TokenHash).primary_key())
                    .col(string(RefreshTokens::GrantId))
                    .col(string_null(RefreshTokens::ParentHash))
                    .col(string(RefreshTokens::ClientId))
                    .col(string_null(RefreshTokens::UserId))
                    .col(string_null(RefreshTokens::SessionId))
                    .col(text(RefreshTokens::Scope))
                    .col(text(RefreshTokens::Resources))
                    .col(big_integer(RefreshTokens::AuthTime))
                    .col(text(RefreshTokens::Amr))
                    .col(string_null(RefreshTokens::Acr))
                    .col(string_null(RefreshTokens::OrganizationId))
                    .col(big_integer(RefreshTokens::CreatedAt))
                    .col(big_integer(RefreshTokens::ExpiresAt))
                    .col(big_integer_null(RefreshTokens::UsedAt))
                    .col(big_integer_null(RefreshTokens::RevokedAt))
                    .col(blob_null(RefreshTokens::Successor))
                    .foreign_key(&mut fk(
                        "fk_refresh_tokens_client_id",
                        RefreshTokens::Table,
                        RefreshTokens::ClientId,
                        Clients::Table,
                        Clients::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_refresh_tokens_user_id",
                        RefreshTokens::Table,
                        RefreshTokens::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_refresh_tokens_grant_id",
                RefreshTokens::Table,
                RefreshTokens::GrantId,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_refresh_tokens_user_id",
                RefreshTokens::Table,
                RefreshTokens::UserId,
            ))
            .await?;

        // 11. revoked_grants
        manager
            .create_table(
                Table::create()
                    .table(RevokedGrants::Table)
                    .col(string(RevokedGrants::GrantId).primary_key())
                    .col(big_integer(RevokedGrants::RevokedAt))
                    .col(big_integer(RevokedGrants::ExpiresAt))
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Reverse order of creation so that no foreign key is left dangling.
        // Indexes (including the partial one) go with their tables.
        let tables: [DynIden; 11] = [
            RevokedGrants::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            AuthorizationCodes::Table.into_iden(),
            Consents::Table.into_iden(),
            SigningKeys::Table.into_iden(),
            Clients::Table.into_iden(),
            Sessions::Table.into_iden(),
            Memberships::Table.into_iden(),
            Organizations::Table.into_iden(),
            Credentials::Table.into_iden(),
            Users::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
