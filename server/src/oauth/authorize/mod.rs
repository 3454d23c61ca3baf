//! The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2), code flow only.
//!
//! ```text
//! request ─► client + redirect_uri valid? ──no──► error page (never redirect)
//!               │yes
//!               ▼
//!            parameters valid? ──no──► redirect with error (+ state, iss);
//!               │yes                 self-described client the user has not
//!               │                    approved: error page instead (RFC 9700 §4.11.2)
//!               ▼
//!            session fresh enough? ──no──► /login?return_to=… (prompt=none: login_required)
//!               │yes
//!               ▼
//!            acr_values asks for two factors, session has one, user has TOTP?
//!               │yes ──► /login/2fa?return_to=… (step-up; prompt=none: interaction_required)
//!               ▼
//!            consent on record / trusted? ──no──► consent screen (prompt=none: consent_required)
//!               │yes                                  │ allow ─► code   │ deny ─► access_denied
//!               ▼
//!            code ─► redirect with code, state, iss (RFC 9207)
//! ```
//!
//! Each box is a named step: `checks.rs` (client, redirect URI, response
//! type, scope, PKCE, resource, prompt and max_age), `session.rs` (sign-in,
//! second factor), `consent.rs`, then the code. The checks run once: the
//! consent screen keeps the checked request (`request::Request`) for its
//! answer, which reads again only what may have changed meanwhile (the
//! session, the client and its redirect URI).

mod checks;
mod consent;
mod outcome;
mod params;
mod request;
mod session;

use entities::authorization_codes;

use self::consent::ConsentMode;
use self::request::{Request, Stop, settle};
use crate::domain::ids::GrantId;
use crate::error::Error;
use crate::login::assurance;
use crate::login::session::SessionInfo;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

pub use self::outcome::{ConsentScreen, Outcome};
pub use self::params::Params;

/// Runs the authorization request to its next step: the named checks in
/// order (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.2), then session, consent and
/// the code.
pub async fn decide(
    state: &AppState,
    p: &Params,
    session: Option<&SessionInfo>,
) -> Result<Outcome, Error> {
    let mut to = match checks::check_recipient(state, p).await? {
        Ok(to) => to,
        Err(page) => return Ok(Outcome::Page(page)),
    };
    to.errors_redirect = checks::errors_may_redirect(state, &to.client, session).await?;
    let checked = match checks::check_parameters(state, p, &to.client) {
        Ok(checked) => checked,
        Err(refusal) => return Ok(to.error(state.settings.issuer.as_str(), refusal)),
    };
    let request = Request {
        to,
        scopes: checked.scopes,
        resources: checked.resources,
        code_challenge: checked.code_challenge,
        prompt: checked.prompt,
        max_age: checked.max_age,
        params: p.clone(),
    };
    settle(proceed(state, &request, session, ConsentMode::Check).await)
}

/// The user's answer on the consent screen, to the request it carried.
pub async fn answer_consent(
    state: &AppState,
    request_id: &str,
    session: &SessionInfo,
    allow: bool,
) -> Result<Outcome, Error> {
    let request = match consent::take(state, request_id, session, allow).await? {
        Ok(request) => request,
        Err(stop) => return Ok(stop),
    };
    let mode = if allow {
        consent::remember(state, &request, session).await?;
        ConsentMode::Given
    } else {
        ConsentMode::Denied
    };
    settle(proceed(state, &request, Some(session), mode).await)
}

/// The steps after the parameter checks: who is asking, then consent, then
/// the code. The session is read afresh on the consent screen's answer too.
async fn proceed(
    state: &AppState,
    request: &Request,
    session: Option<&SessionInfo>,
    mode: ConsentMode,
) -> Result<Outcome, Stop> {
    let session = session::check_session(state, request, session).await?;
    session::check_second_factor(state, request, session).await?;
    consent::check_consent(state, request, session, mode).await?;
    Ok(issue_code(state, request, session).await?)
}

/// The authorization response (RFC 6749 §4.1.2): a single-use code, with
/// `state` and `iss` (RFC 9207).
async fn issue_code(
    state: &AppState,
    request: &Request,
    session: &SessionInfo,
) -> Result<Outcome, Error> {
    let now = state.now();
    let code = opaque::new_ordered_secret(state.clock.now_ms());
    let row = authorization_codes::Model {
        code_hash: opaque::ordered_hash(&code),
        client_id: request.to.client.id.clone(),
        user_id: session.user.id.clone(),
        session_id: Some(session.session.id.clone()),
        redirect_uri: request.params.redirect_uri.clone().unwrap_or_default(),
        scope: request.scopes.to_string(),
        resources: request.resources.to_string(),
        nonce: request.params.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        auth_time: session.session.auth_time,
        amr: session.session.amr.clone(),
        acr: Some(assurance::acr(
            &session.amr(),
            request.params.acr_values.as_deref(),
        )),
        organization_id: session.session.active_organization_id.clone(),
        created_at: now,
        expires_at: now + state.settings.tokens.code_ttl,
        consumed_at: None,
        grant_id: GrantId::from(opaque::new_id()),
    };
    store::grants::insert_code(&state.db, row).await?;
    Ok(Outcome::Redirect(request.to.redirect_with(
        &[("code", &code)],
        state.settings.issuer.as_str(),
    )))
}

/// Plain words for a scope on the consent screen.
pub fn describe_scope(s: &str) -> String {
    match s {
        "openid" => "Confirm who you are".into(),
        "profile" => "See your name and profile picture".into(),
        "email" => "See your email address".into(),
        "offline_access" => "Keep access while you are away (stay signed in)".into(),
        other => format!("Use \u{201c}{other}\u{201d}"),
    }
}
