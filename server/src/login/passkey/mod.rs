//! Passkeys (WebAuthn Level 2, via webauthn-rs).
//!
//! ```text
//! register/options ─► ceremony row (state, 5 min) ─► browser creates key
//!      │ signed in: add to the account      register ─► take ceremony ─► verify ─► store passkey
//!      │ email, no account: passkey-first sign-up ─► account + personal org + session
//!
//! authenticate/options ─► always discoverable (usernameless), whatever the
//!      │                  email: the answer says nothing about the address
//!      ▼
//! authenticate ─► take ceremony ─► find credential ─► verify signature, UV and
//!                 counter ─► counter moves forward ─► session (amr hwk|swk + mfa)
//! ```
//! The challenge state never leaves the server: the browser holds a random
//! handle to a row that is deleted when it is answered. RP ID and origin come
//! from the issuer, so an issuer on an IP address has no passkeys
//! ([`RelyingParty`]).

mod authenticate;
mod ceremony;
mod info;
mod register;
pub mod relying_party;

pub use self::authenticate::{amr_of, authenticate, authenticate_options};
pub use self::ceremony::user_handle;
pub use self::info::PasskeyInfo;
pub use self::register::{Registered, clean_name, register, register_options};
pub use self::relying_party::RelyingParty;
