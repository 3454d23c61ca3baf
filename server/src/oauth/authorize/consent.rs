//! Consent (OIDC Core §3.1.2.4): on record, given on the screen, or asked
//! for. The screen's request carries the checked request to its answer, so
//! the answer does not work the parameters out again.

use entities::consent_requests;
use serde::{Deserialize, Serialize};
use url::Url;

use super::checks;
use super::outcome::{ConsentScreen, Outcome};
use super::params::Params;
use super::request::{Prompt, Refusal, Request, Stop};
use crate::domain::resource::Resources;
use crate::domain::scope::Scopes;
use crate::error::{Error, OAuthErrorCode, PageError};
use crate::login::session::SessionInfo;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

/// How long the consent screen's request stays answerable.
const CONSENT_REQUEST_TTL: i64 = 600;

/// Where this request stands with respect to consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConsentMode {
    /// Look it up; ask if needed.
    Check,
    /// The user just allowed it on the consent screen.
    Given,
    /// The user just denied it (`access_denied`, RFC 6749 §4.1.2.1).
    Denied,
}

/// Consent covers the request: the client is trusted or the user's consent
/// on record names every scope and resource, and `prompt=consent` does not
/// ask anyway. Otherwise the screen, or `consent_required` for
/// `prompt=none` (OIDC Core §3.1.2.6).
pub(super) async fn check_consent(
    state: &AppState,
    request: &Request,
    session: &SessionInfo,
    mode: ConsentMode,
) -> Result<(), Stop> {
    let issuer = state.settings.issuer.as_str();
    match mode {
        ConsentMode::Denied => Err(request.refuse(
            issuer,
            OAuthErrorCode::AccessDenied,
            "the user denied the request",
        )),
        ConsentMode::Given => Ok(()),
        ConsentMode::Check => {
            let covered = !request.prompt.consent
                && (request.to.client.trusted || on_record(state, request, session).await?);
            if covered {
                return Ok(());
            }
            if request.prompt.none {
                return Err(request.refuse(
                    issuer,
                    OAuthErrorCode::ConsentRequired,
                    "the user has not approved this client",
                ));
            }
            Err(Stop::Answer(Outcome::Consent(
                ask(state, request, session).await?,
            )))
        }
    }
}

/// Whether the user's consent on record covers the request.
async fn on_record(
    state: &AppState,
    request: &Request,
    session: &SessionInfo,
) -> Result<bool, Error> {
    let Some(c) = store::consents::find(&state.db, &session.user.id, &request.to.client.id).await?
    else {
        return Ok(false);
    };
    let granted = Scopes::parse(&c.scopes);
    Ok(request.scopes.iter().all(|s| granted.contains(s))
        && request.resources.all_in(&Resources::parse(&c.resources)))
}

/// The checked request as the consent screen's row keeps it: the
/// parameters as received, for what the answer reads of them, and what
/// the checks made of them.
#[derive(Serialize, Deserialize)]
struct Carried {
    params: Params,
    scope: String,
    resources: Resources,
    code_challenge: Option<String>,
    prompt: Prompt,
    max_age: Option<i64>,
}

/// Keeps the request for the screen's answer and says what to show.
async fn ask(
    state: &AppState,
    request: &Request,
    session: &SessionInfo,
) -> Result<ConsentScreen, Error> {
    let now = state.now();
    let id = opaque::new_secret();
    let carried = Carried {
        params: request.params.clone(),
        scope: request.scopes.to_string(),
        resources: request.resources.clone(),
        code_challenge: request.code_challenge.clone(),
        prompt: request.prompt,
        max_age: request.max_age,
    };
    let params = serde_json::to_string(&carried)
        .map_err(|e| Error::internal(format!("consent params: {e}")))?;
    let client = &request.to.client;
    store::consents::insert_request(
        &state.db,
        consent_requests::Model {
            id: id.clone(),
            user_id: session.user.id.clone(),
            session_id: session.session.id.clone(),
            client_id: client.id.clone(),
            params,
            created_at: now,
            expires_at: now + CONSENT_REQUEST_TTL,
        },
    )
    .await?;
    // client_uri and logo_uri are only what the client says about itself,
    // so they are not shown at all.
    Ok(ConsentScreen {
        request_id: id,
        client_name: client.display_name(),
        destination: destination(&request.to.redirect_uri),
        verified: client.is_verified(),
        published_by: client.published_by(),
        scopes: request.scopes.clone(),
        resources: request.resources.clone(),
    })
}

/// Where answering the consent screen takes the browser, as a person reads
/// it: the redirect URI's host, or for a private-use scheme (RFC 8252 §7.1)
/// the scheme, which names an app on this device.
fn destination(redirect_uri: &str) -> String {
    match Url::parse(redirect_uri) {
        Ok(u) => match u.host_str().filter(|h| !h.is_empty()) {
            Some(host) => host.to_string(),
            None => format!("{}: (an app on this device)", u.scheme()),
        },
        Err(_) => redirect_uri.to_string(),
    }
}

/// The request the screen answered, taken (deleted) so each is decided
/// once, and only by the session that saw it. What may have changed since
/// the screen is read again: the client and its redirect URI must still be
/// registered, and the parameters must still pass against the client as it
/// is now ([`check_client_unchanged`]).
pub(super) async fn take(
    state: &AppState,
    request_id: &str,
    session: &SessionInfo,
    allow: bool,
) -> Result<Result<Request, Outcome>, Error> {
    let Some(row) = store::consents::take_request(&state.db, request_id).await? else {
        return Ok(Err(Outcome::Page(PageError::bad_request(
            "This consent request has expired or was already answered. Start again from the application.",
        ))));
    };
    let expired = || {
        PageError::bad_request(
            "This consent request has expired. Start again from the application.",
        )
    };
    if row.session_id != session.session.id
        || row.user_id != session.user.id
        || row.expires_at < state.now()
    {
        return Ok(Err(Outcome::Page(expired())));
    }
    // A row another version of this server wrote may not read as one.
    let Ok(carried) = serde_json::from_str::<Carried>(&row.params) else {
        return Ok(Err(Outcome::Page(expired())));
    };
    let mut to = match checks::check_recipient(state, &carried.params).await? {
        Ok(to) => to,
        Err(page) => return Ok(Err(Outcome::Page(page))),
    };
    // The screen named the destination: the answer may go there.
    to.errors_redirect = true;
    let scopes = Scopes::parse(&carried.scope);
    match check_client_unchanged(state, &to.client, &carried, &scopes) {
        Ok(()) => {}
        Err(Some(refusal)) => return Ok(Err(to.error(state.settings.issuer.as_str(), refusal))),
        // Declining what the screen showed needs no second look.
        Err(None) if !allow => {}
        Err(None) => return Ok(Err(Outcome::Page(expired()))),
    }
    Ok(Ok(Request {
        to,
        scopes,
        resources: carried.resources,
        code_challenge: carried.code_challenge,
        prompt: carried.prompt,
        max_age: carried.max_age,
        params: carried.params,
    }))
}

/// The client may have changed while the person read the screen (an
/// administrator narrowed its scope or resources, took away the code grant,
/// lifted a PKCE exemption, or the deployment stopped offering a scope): the
/// carried request must pass the parameter checks against the client as it
/// is now, and come to what the screen showed. `Err(Some)` is the refusal the
/// client gets (RFC 6749 §4.1.2.1); `Err(None)`: it now means something else,
/// so the person starts again.
fn check_client_unchanged(
    state: &AppState,
    client: &crate::oauth::client::Client,
    carried: &Carried,
    scopes: &Scopes,
) -> Result<(), Option<Refusal>> {
    let now = checks::check_parameters(state, &carried.params, client).map_err(Some)?;
    if now.scopes != *scopes
        || now.resources != carried.resources
        || now.code_challenge != carried.code_challenge
    {
        return Err(None);
    }
    Ok(())
}

/// Records what was allowed, widening any earlier consent.
pub(super) async fn remember(
    state: &AppState,
    request: &Request,
    session: &SessionInfo,
) -> Result<(), Error> {
    let client_id = &request.to.client.id;
    let (scopes, resources) =
        match store::consents::find(&state.db, &session.user.id, client_id).await? {
            Some(c) => (Scopes::parse(&c.scopes), Resources::parse(&c.resources)),
            None => Default::default(),
        };
    let mut widened = scopes.to_vec();
    widened.extend(
        request
            .scopes
            .iter()
            .filter(|s| !scopes.contains(s))
            .cloned(),
    );
    let now = state.now();
    store::consents::upsert(
        &state.db,
        entities::consents::Model {
            user_id: session.user.id.clone(),
            client_id: client_id.clone(),
            scopes: Scopes::from(widened).to_string(),
            resources: resources.union(&request.resources).to_string(),
            created_at: now,
            updated_at: now,
        },
    )
    .await
}
