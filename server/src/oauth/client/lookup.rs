//! Clients by `client_id`, through this instance's short-lived cache.

use std::sync::Arc;

use crate::domain::ids::ClientId;
use crate::error::Error;
use crate::oauth::client::model::Client;
use crate::oauth::client_metadata;
use crate::state::AppState;

/// A registered client by `client_id`.
pub async fn find(state: &AppState, id: &ClientId) -> Result<Option<Arc<Client>>, Error> {
    find_for(state, id, None).await
}

/// [`find`] for a request from `address` (the client address, where the
/// caller has one): a metadata document fetched for it is counted against
/// that address first.
pub async fn find_for(
    state: &AppState,
    id: &ClientId,
    address: Option<&str>,
) -> Result<Option<Arc<Client>>, Error> {
    if let Some(c) = state.caches.clients.get(id).await {
        return Ok(Some(c));
    }
    // A URL names its own metadata: always fetched, never trusted from the
    // table alone (the row exists for the tokens that reference it).
    if client_metadata::is_document_url(id) {
        let found = client_metadata::resolve(state, id, address).await?;
        if let Some(c) = &found {
            state.caches.clients.insert(id.clone(), c.clone()).await;
        }
        return Ok(found);
    }
    let Some(row) = crate::store::clients::find(&state.db, id).await? else {
        return Ok(None);
    };
    let client = Arc::new(Client::from_row(row)?);
    state
        .caches
        .clients
        .insert(id.clone(), client.clone())
        .await;
    Ok(Some(client))
}

/// Drops a client from this instance's cache after it changed.
pub async fn forget(state: &AppState, id: &ClientId) {
    state.caches.clients.invalidate(id).await;
}
