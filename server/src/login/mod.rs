//! Signing people in: passwords, sessions, and (later) magic links, social
//! login, passkeys and TOTP.

pub mod email;
pub mod email_password;
pub mod password;
pub mod session;
