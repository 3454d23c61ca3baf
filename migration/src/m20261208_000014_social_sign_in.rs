//! Social and enterprise sign-in (issue 21):
//! - `linked_identities`: an upstream account (provider, subject) linked to a
//!   user; one per provider per user, and each upstream account to one user.
//! - `upstream_logins`: a sign-in started at an upstream, keyed by the hash of
//!   its `state`, bound to the browser that started it (hash of a cookie), with
//!   the nonce and PKCE verifier; single-use, ten minutes.
//! - `identity_transfers`: an upstream account linked to one user that another
//!   user (who just proved control of it) asked to move to their account.
//! - `sso_connections`: an organisation's OIDC connection bound to an email
//!   domain once the domain is proved (DNS TXT); the client secret is sealed.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone)]
enum LinkedIdentities {
    Table,
    Id,
    UserId,
    Provider,
    Subject,
    Email,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UpstreamLogins {
    Table,
    StateHash,
    BindingHash,
    Provider,
    Nonce,
    PkceVerifier,
    ReturnTo,
    LinkUserId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum IdentityTransfers {
    Table,
    TokenHash,
    IdentityId,
    FromUserId,
    ToUserId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum SsoConnections {
    Table,
    Id,
    OrganizationId,
    Domain,
    Issuer,
    ClientId,
    ClientSecret,
    Scopes,
    VerificationToken,
    VerifiedAt,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

fn cascade(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn unique(
    name: &str,
    table: impl IntoIden,
    cols: Vec<impl IntoIden + Clone>,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table).unique();
    for col in cols {
        index.col(col);
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use LinkedIdentities as L;
        manager
            .create_table(
                Table::create()
                    .table(L::Table)
                    .col(string(L::Id).primary_key())
                    .col(string(L::UserId))
                    .col(string(L::Provider))
                    .col(string(L::Subject))
                    .col(string_null(L::Email))
                    .col(big_integer(L::CreatedAt))
                    .col(big_integer(L::UpdatedAt))
                    .foreign_key(&mut cascade(
                        (L::Table, L::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique(
                "linked_identities_provider_subject",
                L::Table,
                vec![L::Provider, L::Subject],
            ))
            .await?;
        manager
            .create_index(unique(
                "linked_identities_user_provider",
                L::Table,
                vec![L::UserId, L::Provider],
            ))
            .await?;

        use UpstreamLogins as U;
        manager
            .create_table(
                Table::create()
                    .table(U::Table)
                    .col(string(U::StateHash).primary_key())
                    .col(string(U::BindingHash))
                    .col(string(U::Provider))
                    .col(string(U::Nonce))
                    .col(string(U::PkceVerifier))
                    .col(text_null(U::ReturnTo))
                    .col(string_null(U::LinkUserId))
                    .col(big_integer(U::CreatedAt))
                    .col(big_integer(U::ExpiresAt))
                    .foreign_key(&mut cascade(
                        (U::Table, U::LinkUserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        use IdentityTransfers as T;
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(string(T::TokenHash).primary_key())
                    .col(string(T::IdentityId))
                    .col(string(T::FromUserId))
                    .col(string(T::ToUserId))
                    .col(big_integer(T::CreatedAt))
                    .col(big_integer(T::ExpiresAt))
                    .foreign_key(&mut cascade((T::Table, T::IdentityId), (L::Table, L::Id)))
                    .foreign_key(&mut cascade(
                        (T::Table, T::FromUserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (T::Table, T::ToUserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        use SsoConnections as S;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(string(S::Id).primary_key())
                    .col(string(S::OrganizationId))
                    .col(string(S::Domain))
                    .col(string(S::Issuer))
                    .col(string(S::ClientId))
                    .col(text(S::ClientSecret))
                    .col(text(S::Scopes))
                    .col(string(S::VerificationToken))
                    .col(big_integer_null(S::VerifiedAt))
                    .col(string(S::CreatedBy))
                    .col(big_integer(S::CreatedAt))
                    .foreign_key(&mut cascade(
                        (S::Table, S::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // One connection per domain, whoever proves it first; a pending
        // claim does not block another organisation (see `login::sso`).
        manager
            .create_index(
                Index::create()
                    .name("sso_connections_domain")
                    .table(S::Table)
                    .col(S::Domain)
                    .to_owned(),
            )
            .await?;
        // At most one proved connection per domain (both databases take a
        // partial unique index in this form).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX sso_connections_proved_domain \
                 ON sso_connections (domain) WHERE verified_at IS NOT NULL",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SsoConnections::Table.into_iden(),
            IdentityTransfers::Table.into_iden(),
            UpstreamLogins::Table.into_iden(),
            LinkedIdentities::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
