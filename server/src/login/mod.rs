//! Signing people in: passwords, magic links, passkeys, TOTP, and the
//! sessions they start.

pub mod assurance;
pub mod email;
pub mod email_code;
pub mod email_password;
pub mod email_verification;
pub mod magic_link;
pub mod mailbox;
pub mod one_time;
pub mod pace;
pub mod passkey;
pub mod password;
pub mod password_reset;
pub mod reclaim;
pub mod session;
pub mod social;
pub mod sso;
pub mod two_factor;
