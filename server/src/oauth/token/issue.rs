//! Minting the token response: an RFC 9068 access token (ES256), an OpenID
//! Connect ID token (RS256 unless the client registered another alg) and an
//! opaque rotating refresh token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entities::{refresh_tokens, users};
use ring::digest::{SHA256, SHA512, digest};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::domain::ids::{GrantId, OrgId};
use crate::domain::scope::Scopes;
use crate::error::Error;
use crate::oauth::client::Client;
use crate::state::AppState;
use crate::tokens::keys::{Alg, KeySet};
use crate::tokens::{jws, opaque};

/// Everything a grant carries into the tokens.
pub struct Grant<'a> {
    pub client: &'a Client,
    pub user: Option<&'a users::Model>,
    pub scope: Scopes,
    pub resources: Vec<String>,
    pub grant_id: GrantId,
    pub session_id: Option<String>,
    pub auth_time: Option<i64>,
    pub amr: Vec<String>,
    pub acr: Option<String>,
    pub org_id: Option<OrgId>,
    pub nonce: Option<String>,
}

/// RFC 6749 §5.1 success body. No `Debug`: it holds the tokens.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id_token: Option<String>,
}

impl TokenResponse {
    /// The JSON body, as serde would write it. By hand because this is the
    /// hottest answer there is, and serde escapes string by string, byte by
    /// byte, while tokens never need escaping (figures: tests/perf/RESULTS.md,
    /// "Design notes").
    pub fn to_json(&self) -> String {
        let tokens = self.access_token.len()
            + self.refresh_token.as_ref().map_or(0, String::len)
            + self.id_token.as_ref().map_or(0, String::len);
        let mut out = String::with_capacity(tokens + self.scope.len() + 128);
        out.push_str("{\"access_token\":");
        push_json_string(&mut out, &self.access_token);
        out.push_str(",\"token_type\":");
        push_json_string(&mut out, &self.token_type);
        out.push_str(",\"expires_in\":");
        out.push_str(itoa::Buffer::new().format(self.expires_in));
        if !self.scope.is_empty() {
            out.push_str(",\"scope\":");
            push_json_string(&mut out, &self.scope);
        }
        if let Some(t) = &self.refresh_token {
            out.push_str(",\"refresh_token\":");
            push_json_string(&mut out, t);
        }
        if let Some(t) = &self.id_token {
            out.push_str(",\"id_token\":");
            push_json_string(&mut out, t);
        }
        out.push('}');
        out
    }
}

/// Appends `s` as a JSON string (RFC 8259 §7). Tokens, scopes and
/// identifiers never need escaping; that is checked in one pass without
/// early exit (which the compiler vectorises), and anything else is left to
/// serde_json.
fn push_json_string(out: &mut String, s: &str) {
    let plain = s
        .bytes()
        .fold(true, |ok, b| ok & (b >= 0x20) & (b != b'"') & (b != b'\\'));
    if plain {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&Value::from(s).to_string());
    }
}

/// The response, and the refresh-token row to store with it.
pub struct Minted {
    pub response: TokenResponse,
    pub refresh_row: Option<refresh_tokens::Model>,
}

/// The audience: the resources asked for, or the issuer (CONTRACT §3); one
/// value as a string, several as an array (RFC 7519 §4.1.3).
#[derive(Serialize)]
#[serde(untagged)]
enum Audience<'a> {
    One(&'a str),
    Many(&'a [String]),
}

impl<'a> Audience<'a> {
    fn of(issuer: &'a str, resources: &'a [String]) -> Self {
        match resources {
            [] => Audience::One(issuer),
            [one] => Audience::One(one),
            many => Audience::Many(many),
        }
    }
}

/// RFC 9068 access-token claims, serialised straight from borrowed fields
/// (the hot path of every grant: no map, no copies).
#[derive(Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: Audience<'a>,
    client_id: &'a str,
    scope: &'a str,
    iat: i64,
    exp: i64,
    jti: &'a str,
    gid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    org_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
}

/// `at_hash`: left half of the hash of the access token, with the hash of the
/// ID token's alg (OIDC Core §3.1.3.6; SHA-512 for Ed25519).
fn at_hash(alg: Alg, access_token: &str) -> String {
    let d = match alg {
        Alg::EdDsa => digest(&SHA512, access_token.as_bytes()),
        _ => digest(&SHA256, access_token.as_bytes()),
    };
    let bytes = d.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

pub async fn mint(
    state: &AppState,
    grant: &Grant<'_>,
    with_refresh: bool,
    parent_hash: Option<String>,
) -> Result<Minted, Error> {
    let now = state.now();
    let ttl = state.settings.tokens.access_token_ttl;
    let keys = state.keys.get(now).await?;
    let scope = grant.scope.join(" ");
    let sub = grant
        .user
        .map_or(grant.client.id.as_str(), |u| u.id.as_str());

    let jti = opaque::new_id();
    let at = AccessClaims {
        iss: &state.settings.issuer,
        sub,
        aud: Audience::of(&state.settings.issuer, &grant.resources),
        client_id: grant.client.id.as_str(),
        scope: &scope,
        iat: now,
        exp: now + ttl,
        jti: &jti,
        gid: grant.grant_id.as_str(),
        org_id: grant.org_id.as_ref().map(OrgId::as_str),
        auth_time: grant.auth_time,
        sid: grant.session_id.as_deref(),
    };
    let access_token = jws::sign(keys.active(Alg::Es256)?, "at+jwt", &at)?;

    let id_token = match grant.user {
        Some(user) if grant.scope.iter().any(|s| s == "openid") => {
            Some(id_token(state, &keys, grant, user, &access_token, now)?)
        }
        _ => None,
    };

    let (refresh_token, refresh_row) = if with_refresh && grant.user.is_some() {
        let token = opaque::new_ordered_secret(state.clock.now_ms());
        let row = refresh_tokens::Model {
            token_hash: opaque::ordered_hash(&token),
            grant_id: grant.grant_id.clone(),
            parent_hash,
            client_id: grant.client.id.clone(),
            user_id: grant.user.map(|u| u.id.clone()),
            session_id: grant.session_id.clone(),
            scope: scope.clone(),
            resources: grant.resources.join(" "),
            auth_time: grant.auth_time.unwrap_or(now),
            amr: serde_json::to_string(&grant.amr).unwrap_or_else(|_| "[]".into()),
            acr: grant.acr.clone(),
            organization_id: grant.org_id.clone(),
            created_at: now,
            expires_at: now + state.settings.tokens.refresh_token_ttl,
            used_at: None,
            revoked_at: None,
            successor: None,
        };
        (Some(token), Some(row))
    } else {
        (None, None)
    };

    Ok(Minted {
        response: TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: ttl,
            scope,
            refresh_token,
            id_token,
        },
        refresh_row,
    })
}

/// The claims about the user that the granted scopes release (OIDC Core §5.4).
pub fn user_claims(user: &users::Model, scope: &[String], out: &mut Map<String, Value>) {
    if scope.iter().any(|s| s == "profile") {
        out.insert("name".into(), json!(user.name));
        if let Some(img) = &user.image {
            out.insert("picture".into(), json!(img));
        }
        out.insert("updated_at".into(), json!(user.updated_at));
    }
    if scope.iter().any(|s| s == "email") {
        out.insert("email".into(), json!(user.email));
        out.insert("email_verified".into(), json!(user.email_verified));
    }
}

fn id_token(
    state: &AppState,
    keys: &KeySet,
    grant: &Grant<'_>,
    user: &users::Model,
    access_token: &str,
    now: i64,
) -> Result<String, Error> {
    let alg = grant
        .client
        .metadata
        .id_token_signed_response_alg
        .as_deref()
        .and_then(Alg::parse)
        .unwrap_or(Alg::Rs256);
    let mut c = Map::new();
    c.insert("iss".into(), json!(state.settings.issuer));
    c.insert("sub".into(), json!(user.id));
    c.insert("aud".into(), json!(grant.client.id));
    c.insert("azp".into(), json!(grant.client.id));
    c.insert("iat".into(), json!(now));
    c.insert(
        "exp".into(),
        json!(now + state.settings.tokens.id_token_ttl),
    );
    c.insert("auth_time".into(), json!(grant.auth_time.unwrap_or(now)));
    if let Some(n) = &grant.nonce {
        c.insert("nonce".into(), json!(n));
    }
    c.insert("at_hash".into(), json!(at_hash(alg, access_token)));
    if let Some(sid) = &grant.session_id {
        c.insert("sid".into(), json!(sid));
    }
    if !grant.amr.is_empty() {
        c.insert("amr".into(), json!(grant.amr));
    }
    if let Some(acr) = &grant.acr {
        c.insert("acr".into(), json!(acr));
    }
    if let Some(org) = &grant.org_id {
        c.insert("org_id".into(), json!(org));
    }
    user_claims(user, &grant.scope, &mut c);
    jws::sign(keys.active(alg)?, "JWT", &c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(scope: &str, refresh: Option<&str>, id: Option<&str>) -> TokenResponse {
        TokenResponse {
            access_token: "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_".into(),
            token_type: "Bearer".into(),
            expires_in: 900,
            scope: scope.into(),
            refresh_token: refresh.map(Into::into),
            id_token: id.map(Into::into),
        }
    }

    #[test]
    fn hand_written_json_is_what_serde_writes() {
        for r in [
            response("", None, None),
            response("openid profile", Some("0190abcdef12xyz"), Some("a.b.c")),
            // Nothing we issue looks like this, but the output must stay JSON.
            response("quote\" back\\slash tab\t é \u{7f}", Some("r\n"), None),
        ] {
            let ours = r.to_json();
            assert_eq!(ours, serde_json::to_string(&r).expect("serde"));
            let back: TokenResponse = serde_json::from_str(&ours).expect("valid JSON");
            assert_eq!(back.scope, r.scope);
            assert_eq!(back.refresh_token, r.refresh_token);
        }
    }
}
