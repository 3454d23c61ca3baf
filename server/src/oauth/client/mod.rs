//! Registered clients and their metadata (RFC 7591 §2): the [`Client`] type
//! and its cache (`model`, which knows nothing of the application state), the
//! one set of metadata rules every origin is checked by (`rules`), the
//! administrator's builder (`admin`), and the cached look-up (`lookup`).

mod admin;
mod lookup;
pub mod model;
pub mod rules;

pub use admin::{NewClient, Registered, build_admin_client};
pub use lookup::{find, find_for, forget};
pub use model::{
    AUTH_CLIENT_SECRET_BASIC, AUTH_CLIENT_SECRET_POST, AUTH_NONE, AUTH_PRIVATE_KEY_JWT,
    CLIENT_CACHE_SECS, Client, ClientCache, ClientMetadata, TOKEN_ENDPOINT_AUTH_METHODS, new_cache,
    uses_client_secret,
};
