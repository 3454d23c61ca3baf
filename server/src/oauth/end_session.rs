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
    pub client_id: Option<String>,
    /// Where to go once signed out (with `state`).
    pub redirect: Option<String>,
    /// The host of `redirect`, for the confirmation page.
    pub destination: Option<String>,
}

/// Validates the request. Errors are pages: we never redirect to an
/// unvalidated address.
pub async fn plan(
    state: &AppState,
    req: &LogoutRequest,
    session: Option<&SessionInfo>,
) -> Result<Result<Plan, PageError>, Error> {
    let mut client_id = req.client_id.clone();
    // Only a hint naming the signed-in user (and this session, when it says)
    // skips the question: anyone can hold some ID token of ours.
    let mut hint_is_this_session = false;
    let hinted = req.id_token_hint.is_some();
    if let Some(hint) = req.id_token_hint.as_deref() {
        let keys = state.keys.get(state.now()).await?;
        // An expired ID token is still a fine hint (§2); a forged one is not.
        let parsed = jwt::parse(hint).filter(|p| {
            p.verify_own(&keys)
                && p.str_claim("iss") == Some(state.settings.issuer.as_str())
                && !p
                    .header
                    .typ
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case("at+jwt"))
        });
        let Some(parsed) = parsed else {
            return Ok(Err(PageError::bad_request(
                "The id_token_hint is not an ID token issued here.",
            )));
        };
        let Some(aud) = parsed.audiences().first().map(|a| a.to_string()) else {
            return Ok(Err(PageError::bad_request(
                "The id_token_hint is not an ID token issued here.",
            )));
        };
        // An ID token without `sid` (the device flow's) names no session: it
        // speaks for this one only when an administrator vouches for its
        // client; from anyone else it could be from any earlier sign-in.
        let sid = parsed.str_claim("sid");
        let sidless_counts = match (sid, session) {
            (None, Some(_)) => client::find(state, &aud)
                .await?
                .is_some_and(|c| c.is_verified()),
            _ => false,
        };
        hint_is_this_session = session.is_some_and(|s| {
            parsed.str_claim("sub") == Some(s.user.id.as_str())
                && match sid {
                    Some(sid) => sid == s.session.id,
                    None => sidless_counts,
                }
        });
        if client_id.as_deref().is_some_and(|c| c != aud) {
            return Ok(Err(PageError::bad_request(
                "client_id does not match the id_token_hint.",
            )));
        }
        client_id = Some(aud);
    }
    let mut destination = None;
    let redirect = match req.post_logout_redirect_uri.as_deref() {
        None => None,
        Some(uri) => {
            let Some(id) = client_id.as_deref() else {
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
            if !(hint_is_this_session || c.is_verified()) {
                // Registered, but by a client nobody here vouches for.
                None
            } else {
                let mut url = Url::parse(uri)
                    .map_err(|_| Error::internal("registered URI does not parse"))?;
                destination = url.host_str().map(str::to_string);
                if let Some(s) = &req.state {
                    url.query_pairs_mut().append_pair("state", s);
                }
                Some(url.to_string())
            }
        }
    };
    // Straight through only with a hint for this session, or, with nobody
    // signed in, a hint vouching for the redirect; everything else is asked
    // on a page whose POST carries on (and may then use `redirect`).
    let confirm_first =
        !hint_is_this_session && (session.is_some() || (redirect.is_some() && !hinted));
    Ok(Ok(Plan {
        confirm_first,
        client_id,
        redirect,
        destination,
    }))
}
