//! Who is asking (OIDC Core §3.1.2.3): a session fresh enough for `prompt`
//! and `max_age`, with a second factor when `acr_values` asks for one.

use super::outcome::Outcome;
use super::params::{AUTH_AFTER, Params};
use super::request::{Request, Stop};
use crate::error::{Error, OAuthErrorCode};
use crate::login::assurance;
use crate::login::session::SessionInfo;
use crate::state::AppState;
use crate::store;
use crate::tokens::keys::KeySet;

/// A signed-in session, authenticated recently enough: `prompt=login` and
/// `max_age` (OIDC Core §3.1.2.1) send the user to sign in again, unless
/// they are just back from doing so. `prompt=none` answers `login_required`
/// instead of asking (§3.1.2.6).
pub(super) async fn check_session<'s>(
    state: &AppState,
    request: &Request,
    session: Option<&'s SessionInfo>,
) -> Result<&'s SessionInfo, Stop> {
    let issuer = state.settings.issuer.as_str();
    let now = state.now();
    let keys = state.keys.get(now).await?;
    let Some(session) = session else {
        if request.prompt.none {
            return Err(request.refuse(
                issuer,
                OAuthErrorCode::LoginRequired,
                "the user is not signed in",
            ));
        }
        return Err(Stop::Answer(Outcome::Login {
            return_to: return_to(&request.params),
            force: false,
        }));
    };
    let fresh_enough =
        verified_auth_after(&keys, &request.params).is_some_and(|t| session.session.auth_time >= t);
    let stale = request
        .max_age
        .is_some_and(|m| now - session.session.auth_time > m);
    if fresh_enough || !(request.prompt.login || stale) {
        return Ok(session);
    }
    if request.prompt.none {
        return Err(request.refuse(
            issuer,
            OAuthErrorCode::LoginRequired,
            "the user is not signed in",
        ));
    }
    Err(Stop::Answer(sign_in_again(&keys, &request.params, now)?))
}

/// Back through `/login`, forced to authenticate, returning with proof of
/// when it did (a MAC'd `pc_auth_after`) and without `prompt=login`, which
/// would otherwise send the user round again.
fn sign_in_again(keys: &KeySet, p: &Params, now: i64) -> Result<Outcome, Error> {
    let mut again = p.clone();
    again.auth_after = Some(format!(
        "{now}.{}",
        keys.mac(&format!("{AUTH_AFTER}:{now}"))?
    ));
    again.prompt = p
        .prompt
        .as_deref()
        .map(|pr| {
            pr.split(' ')
                .filter(|x| *x != "login")
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|s| !s.is_empty());
    Ok(Outcome::Login {
        return_to: return_to(&again),
        force: true,
    })
}

/// This endpoint again, with the same request.
fn return_to(p: &Params) -> String {
    format!("/oauth2/authorize?{}", p.to_query())
}

/// The time a `pc_auth_after` names, if we issued it.
fn verified_auth_after(keys: &KeySet, p: &Params) -> Option<i64> {
    let (t, tag) = p.auth_after.as_deref()?.split_once('.')?;
    keys.verify_mac(&format!("{AUTH_AFTER}:{t}"), tag)
        .then(|| t.parse().ok())
        .flatten()
}

/// Step-up: a client asking for multi-factor (`acr_values`, OIDC Core
/// §3.1.2.1) gets it whenever the user has a second factor to give; it is a
/// preference, so a user without one still gets a token, with acr "1".
/// `prompt=none` answers `interaction_required` instead (§3.1.2.6).
pub(super) async fn check_second_factor(
    state: &AppState,
    request: &Request,
    session: &SessionInfo,
) -> Result<(), Stop> {
    if !assurance::wants_multi_factor(request.params.acr_values.as_deref())
        || assurance::satisfies(&session.amr(), assurance::ACR_MULTI)
        || !store::two_factors::is_enabled(&state.db, &session.user.id).await?
    {
        return Ok(());
    }
    if request.prompt.none {
        return Err(request.refuse(
            state.settings.issuer.as_str(),
            OAuthErrorCode::InteractionRequired,
            "a second factor is required",
        ));
    }
    Err(Stop::Answer(Outcome::SecondFactor {
        return_to: return_to(&request.params),
    }))
}
