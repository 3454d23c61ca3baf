//! The round trip through an upstream: [`start`] stores the attempt and
//! builds the upstream's URL; [`finish`] takes the attempt back once, checks
//! it came back to the browser that started it in time, and redeems the code.
//!
//! `state` is 256 random bits, stored only as its hash, and single-use; the
//! browser binding is a cookie whose hash is stored with the attempt, so a
//! callback URL carried to another browser (login CSRF, a leaked link) is
//! refused. The nonce and PKCE verifier come from `openidconnect`'s
//! generators and never leave the server except as the upstream expects.

use entities::upstream_logins;
use openidconnect::{Nonce, PkceCodeChallenge};

use super::providers::{Protocol, Provider};
use super::{Refusal, UpstreamIdentity, github, oidc};
use crate::domain::ids::UserId;
use crate::domain::return_to::safe_return_to;
use crate::error::Error;
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

/// How long a person may spend at the upstream.
pub const TTL: i64 = 600;
pub const CALLBACK_PATH: &str = "/.auth/api/v1/auth/callback/";

/// Where the upstream sends the browser back to.
pub fn redirect_uri(state: &AppState, provider: &Provider) -> String {
    format!(
        "{}{CALLBACK_PATH}{}",
        state.settings.issuer.trim_end_matches('/'),
        provider.id
    )
}

/// A started sign-in: the upstream URL, and the binding cookie's value.
pub struct Started {
    pub url: String,
    pub binding: String,
}

/// What a sign-in is for: signing in (maybe creating the account), or
/// linking the provider to a signed-in user.
pub enum Purpose {
    SignIn,
    Link(UserId),
}

/// A cookie value that can be a binding (ours are 43 base64url characters).
fn usable_binding(value: Option<&str>) -> Option<&str> {
    value.filter(|v| {
        v.len() == 43
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

pub async fn start(
    state: &AppState,
    provider: &Provider,
    return_to: Option<&str>,
    purpose: Purpose,
    binding: Option<&str>,
) -> Result<Started, super::Failed> {
    let binding = usable_binding(binding).map_or_else(opaque::new_secret, str::to_string);
    let state_param = opaque::new_secret();
    let nonce = Nonce::new_random();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let redirect = redirect_uri(state, provider);
    let url = match &provider.protocol {
        Protocol::Github { .. } => {
            github::authorize_url(provider, &redirect, &state_param, challenge.as_str())?
        }
        Protocol::Oidc { .. } => {
            let found = oidc::discover(&state.upstreams, provider, false).await?;
            oidc::authorize_url(
                &found,
                provider,
                &redirect,
                &state_param,
                nonce.secret(),
                challenge.as_str(),
            )?
        }
    };
    let now = state.now();
    let row = upstream_logins::Model {
        state_hash: opaque::hash_secret(&state_param),
        binding_hash: opaque::hash_secret(&binding),
        provider: provider.id.clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        return_to: safe_return_to(return_to),
        link_user_id: match purpose {
            Purpose::SignIn => None,
            Purpose::Link(user) => Some(user),
        },
        created_at: now,
        expires_at: now + TTL,
    };
    store::upstream_logins::insert(&state.db, row).await?;
    Ok(Started { url, binding })
}

/// The callback's query (RFC 6749 §4.1.2 and §4.1.2.1, RFC 9207 `iss`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub iss: Option<String>,
}

/// A finished round trip: who signed in upstream, and what for.
pub struct Landed {
    pub identity: UpstreamIdentity,
    pub return_to: Option<String>,
    pub link_user: Option<UserId>,
}

/// The attempt a callback belongs to, taken once; `Err` says why not.
async fn take_attempt(
    state: &AppState,
    provider: &Provider,
    callback: &Callback,
    binding: Option<&str>,
) -> Result<Result<upstream_logins::Model, Refusal>, Error> {
    let Some(state_param) = callback
        .state
        .as_deref()
        .filter(|s| !s.is_empty() && s.len() <= 256)
    else {
        return Ok(Err(Refusal::BadState));
    };
    // Hashes compared by the database: the binding is 256 random bits, so
    // equality on its hash leaks nothing usable through timing.
    let Some(binding) = usable_binding(binding) else {
        return Ok(Err(Refusal::BadState));
    };
    let taken = store::upstream_logins::take(
        &state.db,
        &opaque::hash_secret(state_param),
        &opaque::hash_secret(binding),
    )
    .await?;
    let Some(row) = taken.filter(|r| r.provider == provider.id) else {
        return Ok(Err(Refusal::BadState));
    };
    if row.expires_at <= state.now() {
        return Ok(Err(Refusal::Expired));
    }
    Ok(Ok(row))
}

pub async fn finish(
    state: &AppState,
    provider: &Provider,
    callback: &Callback,
    binding: Option<&str>,
) -> Result<Landed, super::Failed> {
    let row = take_attempt(state, provider, callback, binding).await??;
    if let Some(error) = &callback.error {
        tracing::info!(provider = %provider.id, error = %error, "upstream sign-in refused upstream");
        return Err(match error.as_str() {
            "access_denied" => Refusal::Denied,
            other => Refusal::Rejected(format!("upstream error {other}")),
        }
        .into());
    }
    let Some(code) = callback.code.as_deref().filter(|c| !c.is_empty()) else {
        return Err(Refusal::BadState.into());
    };
    let redirect = redirect_uri(state, provider);
    let identity: UpstreamIdentity = match &provider.protocol {
        Protocol::Github { .. } => {
            github::redeem(
                &state.upstreams,
                provider,
                code,
                &redirect,
                &row.pkce_verifier,
            )
            .await?
        }
        Protocol::Oidc { .. } => {
            // RFC 9207: an `iss` in the response must be this provider's (a
            // mix-up attack sends another provider's code here), and one
            // that promises `iss` must send it.
            let found = oidc::discover(&state.upstreams, provider, false).await?;
            if !oidc::response_issuer_ok(&found, provider, callback.iss.as_deref()) {
                return Err(
                    Refusal::Rejected("the response's iss is not this provider's".into()).into(),
                );
            }
            oidc::redeem(
                &state.upstreams,
                provider,
                code,
                &redirect,
                &row.pkce_verifier,
                &row.nonce,
                state.now(),
            )
            .await?
        }
    };
    let identity = within_sso_domain(provider, identity)?;
    Ok(Landed {
        identity,
        return_to: row.return_to,
        link_user: row.link_user_id,
    })
}

/// An SSO connection speaks for addresses in its proved domain, and only
/// those: outside it, it vouches for nothing and signs nobody in.
fn within_sso_domain(
    provider: &Provider,
    identity: UpstreamIdentity,
) -> Result<UpstreamIdentity, Refusal> {
    let Some(domain) = &provider.sso_domain else {
        return Ok(identity);
    };
    let in_domain = identity
        .email
        .as_deref()
        .and_then(|e| e.rsplit_once('@'))
        .is_some_and(|(_, d)| d == domain);
    if !in_domain {
        return Err(Refusal::Rejected(format!(
            "the address is outside {domain}"
        )));
    }
    Ok(identity)
}
