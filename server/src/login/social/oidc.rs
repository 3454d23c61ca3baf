//! OpenID Connect upstreams (Google, Microsoft, `[[oidc_providers]]`, SSO
//! connections): discovery, the authorization request, the code exchange and
//! the ID token, verified by the `openidconnect` crate (signature on the
//! provider's published keys, `aud`, `azp`, `exp`, `iat`, `nonce`, `iss`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreClientAuthMethod, CoreGenderClaim, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AdditionalClaims, ClientId, ClientSecret, IdToken, IdTokenVerifier, IssuerUrl, Nonce,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::http::{Auth, Reach, UpstreamError};
use super::microsoft::{self, Tenant};
use super::providers::{Discovered, Protocol, Provider, Upstreams, authorization_request};
use super::{Refusal, UpstreamIdentity};
use crate::config::providers::upstream_url_allowed;

/// Claims beyond OIDC Core's that the checks read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpstreamClaims {
    /// Microsoft: the tenant that issued the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tid: Option<String>,
    /// Microsoft: the address's domain owner is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    xms_edov: Option<Value>,
}
impl AdditionalClaims for UpstreamClaims {}

type UpstreamIdToken = IdToken<
    UpstreamClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

fn oidc_parts(provider: &Provider) -> Result<(&str, &[String], Option<&Tenant>), Refusal> {
    match &provider.protocol {
        Protocol::Oidc {
            issuer,
            scopes,
            tenant,
        } => Ok((issuer, scopes, tenant.as_ref())),
        Protocol::Github { .. } => Err(Refusal::UnknownProvider),
    }
}

/// The provider's metadata and keys, from the cache or fetched (`refresh`
/// skips the cache: a key the cached set lacks may be a new one).
pub async fn discover(
    up: &Upstreams,
    provider: &Provider,
    refresh: bool,
) -> Result<Arc<Discovered>, Refusal> {
    let (issuer, _, tenant) = oidc_parts(provider)?;
    // Per provider: providers sharing an issuer may differ in reach and
    // tenant rules, and SSO connections must not evict configured ones.
    let key = format!("{} {issuer}", provider.id);
    if !refresh && let Some(found) = up.discovered.get(&key).await {
        return Ok(found);
    }
    let reach = provider.reach(up.allow_loopback);
    let found = Arc::new(fetch_discovery(up, issuer, tenant, reach).await?);
    up.discovered.insert(key, found.clone()).await;
    Ok(found)
}

async fn fetch_discovery(
    up: &Upstreams,
    issuer: &str,
    tenant: Option<&Tenant>,
    reach: Reach,
) -> Result<Discovered, Refusal> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let raw: Value = up
        .http
        .get_json(&url, reach, Auth::None, "application/json")
        .await?;
    let iss_in_response = raw
        .get("authorization_response_iss_parameter_supported")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let published = raw
        .get("issuer")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    // OIDC Discovery §4.3: the document must name the issuer it was fetched for.
    let issuer_ok = match tenant {
        Some(t) => t.metadata_issuer_ok(issuer, &published),
        None => published == issuer,
    };
    if !issuer_ok {
        return Err(Refusal::Rejected(format!(
            "discovery at {url} names issuer {published:?}, not {issuer:?}"
        )));
    }
    let metadata: CoreProviderMetadata = serde_json::from_value(raw)
        .map_err(|e| Refusal::Rejected(format!("discovery at {url}: {e}")))?;
    let allowed =
        |u: &str| Url::parse(u).is_ok_and(|u| upstream_url_allowed(&u, up.allow_loopback));
    let token = metadata.token_endpoint().map(|t| t.url().to_string());
    if !allowed(metadata.authorization_endpoint().url().as_str())
        || !token.as_deref().is_some_and(allowed)
        || !allowed(metadata.jwks_uri().url().as_str())
    {
        return Err(Refusal::Rejected(format!(
            "discovery at {url}: endpoints must be https"
        )));
    }
    let jwks: CoreJsonWebKeySet = up
        .http
        .get_json(
            metadata.jwks_uri().url().as_str(),
            reach,
            Auth::None,
            "application/json",
        )
        .await?;
    Ok(Discovered {
        metadata,
        jwks,
        issuer: published,
        iss_in_response,
    })
}

/// The upstream authorization request (OIDC Core §3.1.2.1, with PKCE).
pub fn authorize_url(
    found: &Discovered,
    provider: &Provider,
    redirect_uri: &str,
    state: &str,
    nonce: &str,
    challenge: &str,
) -> Result<String, Refusal> {
    let (_, scopes, _) = oidc_parts(provider)?;
    let endpoint = found.metadata.authorization_endpoint().url().clone();
    let mut url = authorization_request(
        endpoint,
        provider,
        redirect_uri,
        &scopes.join(" "),
        state,
        challenge,
    );
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("nonce", nonce);
    Ok(url.to_string())
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    error: Option<String>,
}

/// Redeems the code and verifies the ID token it brings.
pub async fn redeem(
    up: &Upstreams,
    provider: &Provider,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
    nonce: &str,
    now: i64,
) -> Result<UpstreamIdentity, Refusal> {
    let found = discover(up, provider, false).await?;
    let token_url = found
        .metadata
        .token_endpoint()
        .map(|t| t.url().to_string())
        .ok_or_else(|| Refusal::Rejected("no token endpoint".into()))?;
    // OIDC Core §9: client_secret_basic unless the provider lists only post.
    let basic = found
        .metadata
        .token_endpoint_auth_methods_supported()
        .is_none_or(|m| m.contains(&CoreClientAuthMethod::ClientSecretBasic));
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    let auth = if basic {
        Auth::Basic(&provider.client_id, &provider.client_secret)
    } else {
        form.push(("client_id", &provider.client_id));
        form.push(("client_secret", &provider.client_secret));
        Auth::None
    };
    let reach = provider.reach(up.allow_loopback);
    let (status, answer): (u16, TokenAnswer) =
        up.http.post_form(&token_url, reach, &form, auth).await?;
    let raw = match (status, answer) {
        (
            200,
            TokenAnswer {
                id_token: Some(t), ..
            },
        ) => t,
        (_, TokenAnswer { error, .. }) => {
            return Err(UpstreamError::Invalid(format!(
                "token endpoint answered {status} {}",
                error.unwrap_or_default()
            ))
            .into());
        }
    };
    let token: UpstreamIdToken = raw
        .parse()
        .map_err(|e| Refusal::Rejected(format!("ID token: {e}")))?;
    match verify(&found, provider, &token, nonce, now) {
        Ok(identity) => Ok(identity),
        // Perhaps signed with a key published since the set was cached.
        Err(Refusal::Rejected(why)) if why.contains("signature") || why.contains("key") => {
            let fresh = discover(up, provider, true).await?;
            verify(&fresh, provider, &token, nonce, now)
        }
        Err(e) => Err(e),
    }
}

fn verify(
    found: &Discovered,
    provider: &Provider,
    token: &UpstreamIdToken,
    nonce: &str,
    now: i64,
) -> Result<UpstreamIdentity, Refusal> {
    let (_, _, tenant) = oidc_parts(provider)?;
    let templated = tenant.is_some() && Tenant::templated(&found.issuer);
    let issuer = IssuerUrl::new(found.issuer.clone())
        .map_err(|e| Refusal::Rejected(format!("issuer: {e}")))?;
    let algs: Vec<CoreJwsSigningAlgorithm> = found
        .metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .filter(|a| ACCEPTED_ALGS.contains(a))
        .cloned()
        .collect();
    let verifier: IdTokenVerifier<'_, _> = IdTokenVerifier::new_confidential_client(
        ClientId::new(provider.client_id.clone()),
        ClientSecret::new(provider.client_secret.clone()),
        issuer,
        found.jwks.clone(),
    )
    .set_allowed_algs(if algs.is_empty() {
        vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]
    } else {
        algs
    })
    .require_issuer_match(!templated)
    .set_time_fn(move || DateTime::<Utc>::from_timestamp(now, 0).unwrap_or_default());
    let claims = token
        .claims(&verifier, &Nonce::new(nonce.to_string()))
        .map_err(|e| Refusal::Rejected(format!("ID token: {e}")))?;
    let extra = claims.additional_claims();
    if let Some(t) = tenant
        && !t.token_issuer_ok(
            &found.issuer,
            claims.issuer().as_str(),
            extra.tid.as_deref(),
        )
    {
        return Err(Refusal::Rejected(
            "ID token: issuer does not match its tenant".into(),
        ));
    }
    let email_verified = match (tenant, &provider.sso_domain) {
        (Some(_), _) => microsoft::email_verified(extra.xms_edov.as_ref()),
        // An organisation's provider speaks for its proved domain (checked
        // in `flow`), unless it says itself that the address is unconfirmed
        // (a self-registered account at that provider).
        (None, Some(_)) => claims.email_verified() != Some(false),
        (None, None) => claims.email_verified() == Some(true),
    };
    let mfa = claims
        .auth_method_refs()
        .is_some_and(|amr| amr.iter().any(|a| a.as_str() == "mfa"));
    Ok(UpstreamIdentity {
        provider: provider.id.clone(),
        subject: claims.subject().as_str().to_string(),
        email: claims
            .email()
            .and_then(|e| super::upstream_email(e.as_str())),
        email_verified,
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string()),
        mfa: mfa && provider.trust_mfa,
    })
}

/// Asymmetric algorithms only: an HMAC-signed ID token would be keyed with
/// the client secret, which more parties than the provider may hold.
const ACCEPTED_ALGS: [CoreJwsSigningAlgorithm; 7] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// RFC 9207: whether an authorization response's `iss` (or its absence) fits
/// the provider. On Microsoft's multi-tenant endpoints the issuer is the
/// published template with some tenant's id.
pub fn response_issuer_ok(found: &Discovered, provider: &Provider, iss: Option<&str>) -> bool {
    let tenant = match &provider.protocol {
        Protocol::Oidc { tenant, .. } => tenant.as_ref(),
        Protocol::Github { .. } => None,
    };
    match iss {
        None => !found.iss_in_response,
        Some(iss) if tenant.is_some() && Tenant::templated(&found.issuer) => {
            microsoft::fills_template(&found.issuer, iss)
        }
        Some(iss) => iss == found.issuer,
    }
}
