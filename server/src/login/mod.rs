//! Signing people in: passwords, sessions, and (later) magic links, social
//! login, passkeys and TOTP.

pub mod email;
pub mod email_code;
pub mod email_password;
pub mod email_verification;
pub mod magic_link;
pub mod one_time;
pub mod password;
pub mod password_reset;
pub mod session;
