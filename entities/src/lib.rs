//! sea-orm entities for Portcullis' database tables.
//!
//! Conventions: ids are string newtypes (`ids`) stored as plain strings,
//! keys are strings, times are unix seconds (`i64`), JSON documents are
//! stored as text and (de)serialised by the server.

pub mod attempt_counters;
pub mod authorization_codes;
pub mod clients;
pub mod consent_requests;
pub mod consents;
pub mod credentials;
pub mod device_authorizations;
pub mod identity_transfers;
pub mod ids;
pub mod linked_identities;
pub mod memberships;
pub mod one_time_tokens;
pub mod organizations;
pub mod passkeys;
pub mod refresh_tokens;
pub mod revoked_grants;
pub mod server_secrets;
pub mod sessions;
pub mod signing_keys;
pub mod sso_connections;
pub mod two_factors;
pub mod upstream_logins;
pub mod used_assertions;
pub mod users;
pub mod webauthn_ceremonies;

pub mod prelude {
    pub use super::attempt_counters::Entity as AttemptCounters;
    pub use super::authorization_codes::Entity as AuthorizationCodes;
    pub use super::clients::Entity as Clients;
    pub use super::consent_requests::Entity as ConsentRequests;
    pub use super::consents::Entity as Consents;
    pub use super::credentials::Entity as Credentials;
    pub use super::device_authorizations::Entity as DeviceAuthorizations;
    pub use super::identity_transfers::Entity as IdentityTransfers;
    pub use super::linked_identities::Entity as LinkedIdentities;
    pub use super::memberships::Entity as Memberships;
    pub use super::one_time_tokens::Entity as OneTimeTokens;
    pub use super::organizations::Entity as Organizations;
    pub use super::passkeys::Entity as Passkeys;
    pub use super::refresh_tokens::Entity as RefreshTokens;
    pub use super::revoked_grants::Entity as RevokedGrants;
    pub use super::server_secrets::Entity as ServerSecrets;
    pub use super::sessions::Entity as Sessions;
    pub use super::signing_keys::Entity as SigningKeys;
    pub use super::sso_connections::Entity as SsoConnections;
    pub use super::two_factors::Entity as TwoFactors;
    pub use super::upstream_logins::Entity as UpstreamLogins;
    pub use super::used_assertions::Entity as UsedAssertions;
    pub use super::users::Entity as Users;
    pub use super::webauthn_ceremonies::Entity as WebauthnCeremonies;
}
