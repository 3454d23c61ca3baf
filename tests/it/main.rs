//! End-to-end tests: each starts the real server on an ephemeral port and
//! speaks HTTP to it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod binary;
mod harness;
mod html;
mod rp;

mod accounts;
mod authorize;
mod cimd;
mod cli;
mod client_auth;
mod client_credentials;
mod code_flow;
mod concurrent_secrets;
mod consent;
mod device;
mod discovery;
mod enumeration;
mod flow;
mod headers;
mod housekeeping;
mod introspection;
mod keys;
mod limits;
mod load;
mod logout;
mod magic_link;
mod mail;
mod mail_links;
mod mcp;
mod ops;
mod outgoing;
mod passkeys;
mod password_reset;
mod proxies;
mod refresh_token;
mod registration;
mod revocation;
mod scopes;
mod screens;
mod secrets;
mod self_described;
mod statements;
mod structure;
mod takeover;
mod token;
mod token_policy;
mod two_factor;
mod userinfo;
mod verification;
