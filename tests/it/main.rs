//! End-to-end tests: each starts the real server on an ephemeral port and
//! speaks HTTP to it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;
mod html;
mod rp;

mod accounts;
mod cimd;
mod cli;
mod client_auth;
mod code_flow;
mod concurrent_secrets;
mod device;
mod discovery;
mod flow;
mod headers;
mod housekeeping;
mod keys;
mod limits;
mod load;
mod logout;
mod mail;
mod mcp;
mod ops;
mod passkeys;
mod registration;
mod scopes;
mod screens;
mod self_described;
mod statements;
mod token_policy;
mod two_factor;
