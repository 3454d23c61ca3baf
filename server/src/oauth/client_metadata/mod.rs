//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document),
//! as the MCP authorization spec recommends: a `client_id` that is an https
//! URL names a JSON document describing the client, fetched on first use.
//!
//! Fetching is SSRF-safe: https only; the host must resolve to public
//! addresses only and the connection is pinned to the vetted address (no DNS
//! rebinding between check and connect); never through a proxy (a proxy would
//! connect wherever the name points, past the address check); no redirects; a
//! size and a time limit; results cached for a bounded time, failures too;
//! fetches limited per document and per minute. Loopback `http` is allowed
//! only with `PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK` (tests, local
//! development).

mod fetch;
pub mod refused;

use std::sync::Arc;

use entities::clients;
use serde_json::{Map, Value};

use crate::domain::client_origin::ClientOrigin;
use crate::domain::ids::ClientId;
use crate::error::Error;
use crate::oauth::client::Client;
use crate::oauth::client::rules::{self, Policy, Requested};
use crate::oauth::scope::Allowlist;
use crate::ratelimit::{Family, ip_key};
use crate::state::AppState;
use crate::store;

pub use fetch::MAX_BYTES;
use fetch::{Refused, check_url, fetch, refuse};
pub use refused::{REFUSED_CACHE_SECS, Reach, RefusedDocuments};

/// How long a fetched document stays good enough to use when fetching it
/// again is refused by a budget or fails: a known client keeps working while
/// strangers spend the instance's budget or its host has a bad minute.
pub const CACHE_SECS: u64 = 300;

/// Whether a `client_id` is meant as a metadata document URL.
pub fn is_document_url(client_id: &ClientId) -> bool {
    let client_id = client_id.as_str();
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// Builds the client from a fetched document (§4): `client_id` must equal
/// the URL; unknown fields are ignored; public (`none`) unless it says
/// `private_key_jwt` with keys; shared secrets are impossible here. The
/// rules are every client's (`client::rules`), under the document policy:
/// scopes this deployment does not offer are dropped (a document is written
/// for many servers, and nobody is there to tell), and the name loses any
/// characters that would disguise it (`display_text`).
fn to_client(
    url: &str,
    doc: &Value,
    now: i64,
    offered: &Allowlist,
) -> Result<(Client, clients::Model), Refused> {
    let obj = doc
        .as_object()
        .ok_or_else(|| refuse(url, "not a JSON object"))?;
    if obj.get("client_id").and_then(Value::as_str) != Some(url) {
        return Err(refuse(url, "its client_id does not equal its URL"));
    }
    let checked = rules::check(&requested(url, obj)?, &Policy::document(url, offered))
        .map_err(|v| refuse(url, v.message))?;
    let row = clients::Model {
        id: ClientId::from(url),
        name: checked.name,
        secret_hash: None,
        metadata: serde_json::to_string(&checked.metadata)
            .map_err(|e| refuse(url, e.to_string()))?,
        origin: ClientOrigin::MetadataDocument,
        trusted: false,
        registration_token_hash: None,
        created_at: now,
        resource_server: false,
        pkce_optional: false,
    };
    let client = Client::from_row(row.clone()).map_err(|e| refuse(url, e.to_string()))?;
    Ok((client, row))
}

/// The metadata a document asks for. A list that is not a list of strings is
/// refused, not filtered: what is left after dropping entries is not what the
/// document says. Other members are read only if they are strings.
fn requested(url: &str, obj: &Map<String, Value>) -> Result<Requested, Refused> {
    let strings = |k: &str| -> Result<Option<Vec<String>>, Refused> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| refuse(url, format!("{k} must be an array of strings"))),
            Some(_) => Err(refuse(url, format!("{k} must be an array of strings"))),
        }
    };
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(Requested {
        redirect_uris: strings("redirect_uris")?,
        post_logout_redirect_uris: strings("post_logout_redirect_uris")?,
        grant_types: strings("grant_types")?,
        token_endpoint_auth_method: text("token_endpoint_auth_method"),
        scope: text("scope"),
        client_name: text("client_name"),
        client_uri: text("client_uri"),
        logo_uri: text("logo_uri"),
        jwks: obj.get("jwks").cloned(),
        ..Requested::default()
    })
}

/// Fetches (or re-fetches) the document and stores the client row (codes and
/// tokens reference it). `Ok(None)` when the document is refused. `address`
/// is the client address that caused the fetch, where there is one (the
/// authorization request): its own budget comes before the shared one.
pub async fn resolve(
    state: &AppState,
    client_id: &ClientId,
    address: Option<&str>,
) -> Result<Option<Arc<Client>>, Error> {
    let allow_loopback = state.settings.client_metadata.allow_loopback;
    let url = match check_url(client_id.as_str(), allow_loopback) {
        Ok(url) => url,
        Err(refused) => {
            tracing::warn!(%refused, "client metadata document refused");
            return Ok(None);
        }
    };
    let stored = store::clients::find(&state.db, client_id)
        .await?
        .filter(|row| row.origin == ClientOrigin::MetadataDocument);
    let attempt = async {
        if let Some((why, reach)) = state.caches.refused_documents.get(client_id.as_str()).await {
            return Err((
                refuse(client_id.as_str(), format!("refused recently ({why})")),
                reach,
            ));
        }
        may_fetch(state, client_id, address, stored.is_none())
            .map_err(|r| (r, Reach::Unreachable))?;
        let fetched = match fetch(&url, allow_loopback).await {
            Ok(doc) => to_client(
                client_id.as_str(),
                &doc,
                state.now(),
                &state.discovery.scopes,
            )
            .map_err(|r| (r, Reach::Refused)),
            Err(r) => Err((r, Reach::Unreachable)),
        };
        if let Err((refused, reach)) = &fetched {
            state
                .caches
                .refused_documents
                .insert(client_id.to_string(), (refused.why.as_str().into(), *reach))
                .await;
        }
        fetched
    };
    let (refused, reach) = match attempt.await {
        Ok((client, row)) => {
            store::clients::upsert_document_client(&state.db, row).await?;
            return Ok(Some(Arc::new(client)));
        }
        Err(failed) => failed,
    };
    // `created_at` is when the stored copy was last fetched.
    let recent = stored.filter(|row| state.now() - row.created_at < CACHE_SECS as i64);
    match (reach, recent) {
        (Reach::Unreachable, Some(row)) => {
            tracing::info!(%refused, "client metadata document: using the copy fetched recently");
            Ok(Some(Arc::new(Client::from_row(row)?)))
        }
        _ => {
            tracing::warn!(%refused, "client metadata document refused");
            Ok(None)
        }
    }
}

/// Takes a fetch from the causing address's budget, this document's, and,
/// for a document not seen before, the instance's: a stream of authorize
/// requests naming documents must not turn the server into a source of
/// outgoing requests, nor spend the budget known clients need.
fn may_fetch(
    state: &AppState,
    client_id: &ClientId,
    address: Option<&str>,
    new: bool,
) -> Result<(), Refused> {
    let by_address = || match address {
        Some(a) => state.limit(Family::DocumentFetchAddress, &[ip_key(a)]),
        None => Ok(()),
    };
    let shared = || match new {
        true => state.limit(Family::DocumentFetchTotal, &["all".to_string()]),
        false => Ok(()),
    };
    by_address()
        .and_then(|()| state.limit(Family::DocumentFetch, &[format!("document:{client_id}")]))
        .and_then(|()| shared())
        .map_err(|_| {
            refuse(
                client_id.as_str(),
                "too many fetches; try again in a minute",
            )
        })
}
