//! GitHub: OAuth 2.0 (with PKCE) and its REST API, since GitHub has no OpenID
//! Connect for people. The account is GitHub's numeric user id (logins can
//! be renamed and reused); the address is the primary one from
//! `/user/emails`, vouched for only when GitHub marks it verified.

use serde::Deserialize;

use super::http::{Auth, Reach, UpstreamError};
use super::providers::{Protocol, Provider, Upstreams, authorization_request};
use super::{Refusal, UpstreamIdentity};

/// `read:user` for the profile, `user:email` for the private addresses.
const SCOPE: &str = "read:user user:email";
const ACCEPT: &str = "application/vnd.github+json";

struct Endpoints<'a> {
    authorize_url: &'a str,
    token_url: &'a str,
    api_url: &'a str,
}

fn endpoints(provider: &Provider) -> Result<Endpoints<'_>, Refusal> {
    match &provider.protocol {
        Protocol::Github {
            authorize_url,
            token_url,
            api_url,
        } => Ok(Endpoints {
            authorize_url,
            token_url,
            api_url,
        }),
        Protocol::Oidc { .. } => Err(Refusal::UnknownProvider),
    }
}

pub fn authorize_url(
    provider: &Provider,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
) -> Result<String, Refusal> {
    let e = endpoints(provider)?;
    let endpoint = url::Url::parse(e.authorize_url)
        .map_err(|_| Refusal::Rejected("GitHub authorize URL".into()))?;
    let url = authorization_request(endpoint, provider, redirect_uri, SCOPE, state, challenge);
    Ok(url.to_string())
}

/// GitHub answers token errors with a 200 and an `error` member.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct User {
    id: u64,
    login: String,
    name: Option<String>,
}

#[derive(Deserialize)]
struct EmailEntry {
    email: String,
    primary: bool,
    verified: bool,
}

pub async fn redeem(
    up: &Upstreams,
    provider: &Provider,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<UpstreamIdentity, Refusal> {
    let e = endpoints(provider)?;
    let form = [
        ("client_id", provider.client_id.as_str()),
        ("client_secret", provider.client_secret.as_str()),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    let (status, answer): (u16, TokenAnswer) = up
        .http
        .post_form(e.token_url, Reach::Configured, &form, Auth::None)
        .await?;
    let token = match answer {
        TokenAnswer {
            access_token: Some(t),
            error: None,
        } if status == 200 => t,
        TokenAnswer { error, .. } => {
            return Err(UpstreamError::Invalid(format!(
                "GitHub token endpoint answered {status} {}",
                error.unwrap_or_default()
            ))
            .into());
        }
    };
    let user: User = up
        .http
        .get_json(
            &format!("{}/user", e.api_url),
            Reach::Configured,
            Auth::Bearer(&token),
            ACCEPT,
        )
        .await?;
    let emails: Vec<EmailEntry> = up
        .http
        .get_json(
            &format!("{}/user/emails", e.api_url),
            Reach::Configured,
            Auth::Bearer(&token),
            ACCEPT,
        )
        .await?;
    let primary = emails.into_iter().find(|m| m.primary);
    let (email, email_verified) = match primary {
        Some(m) => (super::upstream_email(&m.email), m.verified),
        None => (None, false),
    };
    Ok(UpstreamIdentity {
        provider: provider.id.clone(),
        subject: user.id.to_string(),
        email,
        email_verified,
        name: user
            .name
            .filter(|n| !n.trim().is_empty())
            .or(Some(user.login)),
        mfa: false,
    })
}
