//! The device authorization grant (RFC 8628).
//!
//! ```text
//! CLI ── POST /oauth2/device_authorization ──► device_code + user_code (pending)
//! person ── /device: enter code ─► sign in ─► allow / deny ──► approved | denied
//! CLI ── polls /oauth2/token ──► authorization_pending | slow_down | access_denied
//!                                | expired_token | tokens (exactly once)
//! ```
//!
//! Polls read the row and never write it: the pacing (`slow_down`,
//! [`pacer`]) is kept in memory per instance, so a thousand pending devices
//! cost reads only. New authorizations are written by the store's group
//! commit (`store::device_writer`); the token endpoint consumes an approved
//! one once (`store::redeem::consume_device`).

pub mod pacer;

use std::sync::Arc;

use entities::device_authorizations as devices;
use serde::Serialize;

use crate::domain::device::DeviceStatus;
use crate::domain::ids::GrantId;
use crate::domain::scope::Scopes;
use crate::error::{Error, OAuthError, OAuthErrorCode};
use crate::login::session::SessionInfo;
use crate::oauth::client::{self, Client};
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;
use crate::tokens::user_codes::UserCode;

/// The device authorization response (RFC 8628 §3.2).
#[derive(Serialize)]
pub struct DeviceAuthorization<'a> {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: &'a str,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// `POST /oauth2/device_authorization` (RFC 8628 §3.1–3.2).
pub async fn authorize<'a>(
    state: &'a AppState,
    client: &Client,
    scope_param: Option<&str>,
    resource_param: &[String],
) -> Result<DeviceAuthorization<'a>, OAuthError> {
    if !client.allows(crate::domain::grant_type::GrantType::DeviceCode) {
        return Err(OAuthError::new(
            OAuthErrorCode::UnauthorizedClient,
            "this client may not use the device grant",
        ));
    }
    let allowed = Scopes::parse(&client.metadata.scope);
    let asked = scope_param
        .map(Scopes::parse_requested)
        .transpose()
        .map_err(OAuthError::invalid_scope)?;
    let (scopes, resources) = crate::oauth::grant_scope::scopes_and_resources(
        state,
        client,
        asked,
        &allowed,
        resource_param,
    )?;
    let now = state.now();
    let ttl = state.settings.tokens.device_code_ttl;
    let device_code = opaque::new_ordered_secret(state.clock.now_ms());
    let device_code_hash = opaque::ordered_hash(&device_code);
    // A number another instance took is refused by the unique index: skip
    // past it and try again (see `user_codes`).
    for _ in 0..5 {
        let seq = state.user_codes.next_seq();
        let row = devices::Model {
            device_code_hash: device_code_hash.clone(),
            user_code_seq: seq as i64,
            client_id: client.id.clone(),
            scope: scopes.join(" "),
            resources: resources.join(" "),
            status: DeviceStatus::Pending,
            user_id: None,
            session_id: None,
            auth_time: None,
            amr: "[]".into(),
            organization_id: None,
            grant_id: GrantId::from(opaque::new_id()),
            created_at: now,
            expires_at: now + ttl,
            consumed_at: None,
        };
        if state.device_inserts.insert(row).await? {
            let verification_uri = &state.discovery.device_verification_uri;
            let user_code = state.user_codes.code(seq).display();
            return Ok(DeviceAuthorization {
                // The user code's alphabet and dash need no escaping in a query.
                verification_uri_complete: format!("{verification_uri}?user_code={user_code}"),
                verification_uri,
                device_code,
                user_code,
                expires_in: ttl,
                interval: state.settings.tokens.device_poll_interval,
            });
        }
        state.user_codes.skip(seq);
    }
    Err(OAuthError::server_error())
}

/// What the token endpoint should do with a device code poll.
pub enum Poll {
    Ready(devices::Model),
}

/// One poll (RFC 8628 §3.4–3.5): errors for every state but "approved and
/// not yet used", and no write to the database.
pub async fn poll(
    state: &AppState,
    client: &Client,
    device_code: &str,
) -> Result<Poll, OAuthError> {
    let hash = opaque::ordered_hash(device_code);
    let now = state.now();
    let row = store::devices::by_device_code(&state.db, &hash)
        .await?
        .filter(|r| r.client_id == client.id)
        .ok_or_else(|| OAuthError::invalid_grant("unknown device_code"))?;
    if row.consumed_at.is_some() {
        return Err(OAuthError::invalid_grant(
            "the device_code was already used",
        ));
    }
    if row.expires_at <= now {
        return Err(OAuthError::new(
            OAuthErrorCode::ExpiredToken,
            "the device_code has expired; start again",
        ));
    }
    match row.status {
        DeviceStatus::Denied => Err(OAuthError::new(
            OAuthErrorCode::AccessDenied,
            "the user denied the request",
        )),
        DeviceStatus::Approved => Ok(Poll::Ready(row)),
        DeviceStatus::Pending => {
            if let Err(interval) = state.limits.device_pacer.poll(
                &hash,
                now,
                state.settings.tokens.device_poll_interval,
            ) {
                return Err(OAuthError::new(
                    OAuthErrorCode::SlowDown,
                    format!("poll at most every {interval} seconds"),
                ));
            }
            Err(OAuthError::new(
                OAuthErrorCode::AuthorizationPending,
                "the user has not answered yet",
            ))
        }
    }
}

/// A pending device authorization as the person on `/device` is asked about
/// it (RFC 8628 §3.3): the client, the scopes and resources it asks for, and
/// the user code to compare with the device's. The row stays here, for
/// [`answer`].
pub struct DeviceRequest {
    row: devices::Model,
    pub client: Arc<Client>,
}

impl DeviceRequest {
    /// The user code's sequence number (`tokens::user_codes`).
    pub fn user_code_seq(&self) -> u64 {
        self.row.user_code_seq as u64
    }

    /// The scopes asked for, as stored (space-separated).
    pub fn scope(&self) -> &str {
        &self.row.scope
    }

    /// The resources asked for, as stored (space-separated).
    pub fn resources(&self) -> &str {
        &self.row.resources
    }
}

/// A pending, unexpired authorization for what a person typed on `/device`.
pub async fn lookup(state: &AppState, input: &str) -> Result<Option<DeviceRequest>, Error> {
    let Some(code) = UserCode::parse(input) else {
        return Ok(None);
    };
    let seqs = state.user_codes.seqs(&code);
    let Some(row) = store::devices::by_user_code_seq(&state.db, seqs).await? else {
        return Ok(None);
    };
    if row.status != DeviceStatus::Pending || row.expires_at <= state.now() {
        return Ok(None);
    }
    let Some(client) = client::find(state, &row.client_id).await? else {
        return Ok(None);
    };
    Ok(Some(DeviceRequest { row, client }))
}

/// Records the person's answer. False if it was already answered or expired.
pub async fn answer(
    state: &AppState,
    request: DeviceRequest,
    session: &SessionInfo,
    allow: bool,
) -> Result<bool, Error> {
    let decided = devices::Model {
        status: if allow {
            DeviceStatus::Approved
        } else {
            DeviceStatus::Denied
        },
        user_id: Some(session.user.id.clone()),
        session_id: Some(session.session.id.clone()),
        auth_time: Some(session.session.auth_time),
        amr: session.session.amr.clone(),
        organization_id: session.session.active_organization_id.clone(),
        ..request.row
    };
    store::devices::decide(&state.db, decided, state.now()).await
}
