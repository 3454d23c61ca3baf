//! RP-Initiated Logout (OpenID Connect RP-Initiated Logout 1.0 §2–3).
//!
//! With a valid `id_token_hint` for this very session the session ends at
//! once; otherwise the user is asked to confirm with a POST form (a
//! cross-site link must not sign people out, and a GET never changes state).
//!
//! `post_logout_redirect_uri` is honoured only when registered, byte for byte,
//! for the client the hint (or `client_id`) names, and only when something
//! vouches for sending the browser there (RFC 9700 §4.11.2: otherwise anyone
//! who registers a client has an open redirector on our origin):
//! - a hint issued to that client for the current session: the user signed
//!   in to that client here, so going back to it is expected;
//! - for a client an administrator created (its URIs vetted by the operator):
//!   any valid hint, or the user's confirmation on our page, which names the
//!   destination.
//!
//! A self-described client (dynamic registration, metadata document) without
//! a hint for the current session gets no redirect at all: the user is
//! signed out (after confirming) and stays on our page.

use url::Url;

use crate::domain::ids::ClientId;
use crate::error::{Error, PageError};
use crate::login::session::SessionInfo;
use crate::oauth::client;
use crate::state::AppState;
use crate::tokens::jwt;

#[derive(Debug, Default, Clone)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

/// What to do: end the session (after asking, unless the hint names this
/// session), then go to `redirect` or show the signed-out page.
#[derive(Debug)]
pub struct Plan {
    /// Ask on a page first; its POST carries on.
    pub confirm_first: bool,
    /// The client named by `client_id` or by the hint's audience.
    pub client_id: Option<ClientId>,
    /// Where to go once signed out (with `state`).
    pub redirect: Option<String>,
    /// The host of `redirect`, for the confirmation page.
    pub destination: Option<String>,
}

/// A step's result: a value, or the page that answers instead (RFC 9700
/// §4.11.2: we never redirect to an unvalidated address).
type Checked<T> = Result<Result<T, PageError>, Error>;

/// A valid `id_token_hint` (§2): the client it was issued to, and whether
/// it speaks for the current session.
struct Hint {
    audience: ClientId,
    this_session: bool,
}

/// Validates the request in the order of §2 (`id_token_hint`, `client_id`,
/// `post_logout_redirect_uri`) and decides whether to ask first (§3).
pub async fn plan(
    state: &AppState,
    req: &LogoutRequest,
    session: Option<&SessionInfo>,
) -> Checked<Plan> {
    let hint = match check_id_token_hint(state, req.id_token_hint.as_deref(), session).await? {
        Ok(hint) => hint,
        Err(page) => return Ok(Err(page)),
    };
    let client_id = match check_client_id(req.client_id.as_deref(), hint.as_ref()) {
        Ok(id) => id,
        Err(page) => return Ok(Err(page)),
    };
    // Only a hint naming the signed-in user (and this session, when it says)
    // skips the question: anyone can hold some ID token of ours.
    let this_session = hint.as_ref().is_some_and(|h| h.this_session);
    let (redirect, destination) =
        match check_post_logout_redirect_uri(state, req, client_id.as_ref(), this_session).await? {
            Ok(Some((redirect, destination))) => (Some(redirect), destination),
            Ok(None) => (None, None),
            Err(page) => return Ok(Err(page)),
        };
    // Straight through only with a hint for this session, or, with nobody
    // signed in, a hint vouching for the redirect; everything else is asked
    // on a page whose POST carries on (and may then use `redirect`).
    let confirm_first =
        !this_session && (session.is_some() || (redirect.is_some() && req.id_token_hint.is_none()));
    Ok(Ok(Plan {
        confirm_first,
        client_id,
        redirect,
        destination,
    }))
}

/// `id_token_hint` (§2): an ID token this server issued (an expired one is
/// still a fine hint; a forged one, or an access token, is not).
async fn check_id_token_hint(
    state: &AppState,
    hint: Option<&str>,
    session: Option<&SessionInfo>,
) -> Checked<Option<Hint>> {
    let Some(hint) = hint else {
        return Ok(Ok(None));
    };
    let keys = state.keys.get(state.now()).await?;
    let parsed = jwt::parse(hint).filter(|p| {
        p.verify_own(&keys)
            && p.str_claim("iss") == Some(state.settings.issuer.as_str())
            && !p
                .header
                .typ
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("at+jwt"))
    });
    let Some((parsed, audience)) = parsed.and_then(|p| {
        p.audiences()
            .first()
            .map(|a| ClientId::from(*a))
            .map(|a| (p, a))
    }) else {
        return Ok(Err(PageError::bad_request(
            "The id_token_hint is not an ID token issued here.",
        )));
    };
    let this_session = names_this_session(state, &parsed, &audience, session).await?;
    Ok(Ok(Some(Hint {
        audience,
        this_session,
    })))
}

/// Whether the hint names the signed-in user and this session. An ID token
/// without `sid` (the device flow's) names no session: it speaks for this
/// one only when an administrator vouches for its client; from anyone else
/// it could be from any earlier sign-in.
async fn names_this_session(
    state: &AppState,
    hint: &jwt::Parsed<'_>,
    audience: &ClientId,
    session: Option<&SessionInfo>,
) -> Result<bool, Error> {
    let sid = hint.str_claim("sid");
    let sidless_counts = match (sid, session) {
        (None, Some(_)) => client::find(state, audience)
            .await?
            .is_some_and(|c| c.is_verified()),
        _ => false,
    };
    Ok(session.is_some_and(|s| {
        hint.str_claim("sub") == Some(s.user.id.as_str())
            && match sid {
                Some(sid) => sid == s.session.id,
                None => sidless_counts,
            }
    }))
}

/// `client_id` (§2): when sent with a hint, the hint's audience.
fn check_client_id(
    client_id: Option<&str>,
    hint: Option<&Hint>,
) -> Result<Option<ClientId>, PageError> {
    match hint {
        Some(h) if client_id.is_some_and(|c| h.audience != c) => Err(PageError::bad_request(
            "client_id does not match the id_token_hint.",
        )),
        Some(h) => Ok(Some(h.audience.clone())),
        None => Ok(client_id.map(ClientId::from)),
    }
}

/// `post_logout_redirect_uri` (§2, §3): registered byte for byte for the
/// client, and followed (with `state`) only when something vouches for it
/// (see the module docs): the redirect and its host, or `None`.
async fn check_post_logout_redirect_uri(
    state: &AppState,
    req: &LogoutRequest,
    client_id: Option<&ClientId>,
    this_session: bool,
) -> Checked<Option<(String, Option<String>)>> {
    let Some(uri) = req.post_logout_redirect_uri.as_deref() else {
        return Ok(Ok(None));
    };
    let Some(id) = client_id else {
        return Ok(Err(PageError::bad_request(
            "post_logout_redirect_uri needs id_token_hint or client_id.",
        )));
    };
    let Some(c) = client::find(state, id).await? else {
        return Ok(Err(PageError::bad_request("Unknown client.")));
    };
    if !c
        .metadata
        .post_logout_redirect_uris
        .iter()
        .any(|r| r == uri)
    {
        return Ok(Err(PageError::bad_request(
            "This post_logout_redirect_uri is not registered for the client.",
        )));
    }
    if !(this_session || c.is_verified()) {
        // Registered, but by a client nobody here vouches for.
        return Ok(Ok(None));
    }
    let mut url = Url::parse(uri).map_err(|_| Error::internal("registered URI does not parse"))?;
    let destination = url.host_str().map(str::to_string);
    if let Some(s) = &req.state {
        url.query_pairs_mut().append_pair("state", s);
    }
    Ok(Ok(Some((url.to_string(), destination))))
}
