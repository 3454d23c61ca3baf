//! Identifiers as types, down to the columns: a `UserId` cannot be passed
//! where a `ClientId` is expected. Each wraps the string stored in the
//! database, unchanged.

use std::fmt;

use sea_orm::DeriveValueType;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, DeriveValueType)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        /// As the string it wraps, so logs read as they did.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        /// So a borrowed id can be compared with a column (`Column::UserId.eq(id)`).
        impl From<&$name> for sea_orm::Value {
            fn from(id: &$name) -> Self {
                id.0.as_str().into()
            }
        }

        /// Ids are generated strings, never database sequences.
        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($name)))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <String as serde::Deserialize>::deserialize(d).map($name)
            }
        }
    };
}

id_type!(
    /// A person's account (`users.id`; the `sub` claim).
    UserId
);
id_type!(
    /// An OAuth client (`clients.id`; RFC 6749 §2.2 `client_id`).
    ClientId
);
id_type!(
    /// An organisation (`organizations.id`; the `org_id` claim).
    OrgId
);
id_type!(
    /// One grant and everything issued under it: codes, refresh-token
    /// families, device authorizations (`grant_id` columns).
    GrantId
);
