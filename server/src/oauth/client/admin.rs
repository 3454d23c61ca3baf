//! Admin registration (`portcullis client create`): the command's flags
//! become requested metadata, checked by the same rules as every other
//! origin (`rules`), plus what only an administrator can set.

use entities::clients;

use crate::domain::client_origin::ClientOrigin;
use crate::domain::ids::ClientId;
use crate::oauth::client::model::{AUTH_CLIENT_SECRET_BASIC, AUTH_NONE, Client};
use crate::oauth::client::rules::{self, Policy, Requested};
use crate::tokens::opaque;

/// What an admin asks for with `portcullis client create`.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub name: String,
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub scope: Option<String>,
    pub public: bool,
    pub trusted: bool,
    /// Resources (RFC 8707) the client is narrowed to; empty = all of the deployment's.
    pub resources: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// `id_token_signed_response_alg`: RS256 (OIDC's default) when unset.
    pub id_token_alg: Option<String>,
    /// May introspect other clients' tokens (a protected resource); confidential only.
    pub resource_server: bool,
    /// Exempt from PKCE in the code flow; confidential only.
    pub pkce_optional: bool,
}

/// A checked client ready to store, and its secret (shown once).
pub struct Registered {
    pub client: Client,
    pub row: clients::Model,
    pub secret: Option<String>,
}

impl NewClient {
    /// The flags as requested metadata (RFC 7591 §2 names).
    fn requested(&self) -> Requested {
        let method = if self.public {
            AUTH_NONE
        } else {
            AUTH_CLIENT_SECRET_BASIC
        };
        Requested {
            client_name: Some(self.name.clone()),
            redirect_uris: Some(self.redirect_uris.clone()),
            post_logout_redirect_uris: Some(self.post_logout_redirect_uris.clone()),
            grant_types: Some(self.grant_types.clone()),
            token_endpoint_auth_method: Some(method.to_string()),
            scope: self.scope.clone(),
            id_token_signed_response_alg: self.id_token_alg.clone(),
            resources: self.resources.clone(),
            ..Requested::default()
        }
    }

    /// What only an administrator sets: introspection and the PKCE
    /// exemption, for confidential clients only.
    fn check_privileges(&self) -> Result<(), String> {
        // A public client cannot prove who introspects, and without PKCE its
        // codes could be redeemed by whoever intercepts them.
        if self.public && self.resource_server {
            return Err("a --public client cannot be a --resource-server".into());
        }
        // Introspection answers a resource server only about tokens for it.
        if self.resource_server && self.resources.is_empty() {
            return Err(
                "a --resource-server needs a --resource: the audience of the tokens it may introspect"
                    .into(),
            );
        }
        if self.public && self.pkce_optional {
            return Err("a --public client cannot be --pkce-optional".into());
        }
        Ok(())
    }
}

/// Validates an admin's request and builds the client. Confidential clients get
/// a 256-bit secret, stored as SHA-256.
pub fn build_admin_client(req: NewClient, now: i64) -> Result<Registered, String> {
    req.check_privileges()?;
    let checked = rules::check(&req.requested(), &Policy::admin()).map_err(|v| v.message)?;
    let secret = (!req.public).then(|| opaque::new_prefixed_secret("pcs_"));
    let row = clients::Model {
        id: ClientId::from(opaque::new_id()),
        name: checked.name,
        secret_hash: secret.as_deref().map(opaque::hash_secret),
        metadata: serde_json::to_string(&checked.metadata).map_err(|e| e.to_string())?,
        origin: ClientOrigin::Admin,
        trusted: req.trusted,
        registration_token_hash: None,
        created_at: now,
        resource_server: req.resource_server,
        pkce_optional: req.pkce_optional,
    };
    let client = Client::from_row(row.clone()).map_err(|e| e.to_string())?;
    Ok(Registered {
        client,
        row,
        secret,
    })
}
