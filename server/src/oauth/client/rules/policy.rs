//! What each origin may register ([`Policy`]).

use crate::domain::client_origin::ClientOrigin;
use crate::domain::grant_type::GrantType;
use crate::oauth::client::model::{
    AUTH_CLIENT_SECRET_BASIC, AUTH_NONE, AUTH_PRIVATE_KEY_JWT, TOKEN_ENDPOINT_AUTH_METHODS,
};
use crate::oauth::scope::Allowlist;

use super::SELF_DESCRIBED_GRANTS;

/// What a client of one origin may register, and how it is told.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub origin: ClientOrigin,
    /// The deployment's scopes; an administrator's client is not held to them.
    pub(super) offered: Option<&'a Allowlist>,
    /// The document URL, for a metadata document (its name falls back to the host).
    pub(super) document: Option<&'a str>,
}

impl<'a> Policy<'a> {
    /// `portcullis client create`.
    pub fn admin() -> Self {
        Policy {
            origin: ClientOrigin::Admin,
            offered: None,
            document: None,
        }
    }

    /// Dynamic registration (RFC 7591 §3), held to the scopes `offered`.
    pub fn dynamic(offered: &'a Allowlist) -> Self {
        Policy {
            origin: ClientOrigin::Dynamic,
            offered: Some(offered),
            document: None,
        }
    }

    /// The metadata document at `url`, narrowed to the scopes `offered`.
    pub fn document(url: &'a str, offered: &'a Allowlist) -> Self {
        Policy {
            origin: ClientOrigin::MetadataDocument,
            offered: Some(offered),
            document: Some(url),
        }
    }

    /// A stranger that gets an answer: lists de-duplicated and bounded,
    /// display strings refused rather than cleaned.
    pub(super) fn answers(&self) -> bool {
        self.origin == ClientOrigin::Dynamic
    }

    /// A metadata document names a client of the code flow.
    pub(super) fn code_flow_only(&self) -> bool {
        self.origin == ClientOrigin::MetadataDocument
    }

    pub(super) fn grants(&self) -> &'static [GrantType] {
        match self.origin {
            ClientOrigin::Admin => &GrantType::ALL,
            _ => SELF_DESCRIBED_GRANTS,
        }
    }

    /// `grant_types` when absent: RFC 7591 §2 says `authorization_code`; an
    /// administrator's client also refreshes.
    pub(super) fn default_grants(&self) -> &'static [GrantType] {
        match self.origin {
            ClientOrigin::Admin => &[GrantType::AuthorizationCode, GrantType::RefreshToken],
            _ => &[GrantType::AuthorizationCode],
        }
    }

    /// Methods allowed, and the one when absent: RFC 7591 §2's default for
    /// registration; a document cannot hold a shared secret.
    pub(super) fn auth_methods(&self) -> (&'static [&'static str], &'static str) {
        match self.origin {
            ClientOrigin::Admin => (
                &[AUTH_NONE, AUTH_CLIENT_SECRET_BASIC],
                AUTH_CLIENT_SECRET_BASIC,
            ),
            ClientOrigin::Dynamic => (TOKEN_ENDPOINT_AUTH_METHODS, AUTH_CLIENT_SECRET_BASIC),
            ClientOrigin::MetadataDocument => (&[AUTH_NONE, AUTH_PRIVATE_KEY_JWT], AUTH_NONE),
        }
    }

    /// Keeps the first of each value where the origin's lists are de-duplicated.
    pub(super) fn list(&self, values: Option<&[String]>) -> Vec<String> {
        let values = values.unwrap_or_default();
        if !self.answers() {
            return values.to_vec();
        }
        let mut out: Vec<String> = Vec::with_capacity(values.len());
        for v in values {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        out
    }
}
