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

use std::sync::Arc;

use entities::{authorization_codes, consent_requests};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, OAuthErrorCode, PageError};
use crate::login::assurance;
use crate::login::session::SessionInfo;
use crate::oauth::client::{self, Client, GRANT_AUTHORIZATION_CODE};
use crate::oauth::{pkce, redirect, resource, scope};
use crate::state::AppState;
use crate::store;
use crate::tokens::opaque;

/// How long the consent screen's request stays answerable.
const CONSENT_REQUEST_TTL: i64 = 600;

/// Internal parameter added to the return trip through `/login`: the session
/// must have authenticated at or after this time (`prompt=login`, `max_age`).
const AUTH_AFTER: &str = "pc_auth_after";

/// The authorization request's parameters (RFC 6749 §4.1.1 and extensions).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Params {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub response_mode: Option<String>,
    pub login_hint: Option<String>,
    pub acr_values: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    #[serde(default)]
    pub resource: Vec<String>,
    /// `pc_auth_after=<time>.<mac>`: set by us on the way to `/login`, only
    /// trusted when the MAC checks out (a forged one would skip re-authentication).
    pub auth_after: Option<String>,
    /// A parameter that appeared more than once (RFC 6749 §3.1 forbids it).
    #[serde(skip)]
    pub duplicate: Option<String>,
    /// The address the request came from (not a parameter): a metadata
    /// document it makes us fetch counts against that address's budget.
    #[serde(skip)]
    pub address: Option<String>,
}

impl Params {
    /// From decoded query or form pairs. Only `resource` may repeat (RFC 8707 §2).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Params {
        let mut p = Params::default();
        for (k, v) in pairs {
            let v = v.to_string();
            let slot = match k {
                "resource" => {
                    p.resource.push(v);
                    continue;
                }
                AUTH_AFTER => {
                    p.auth_after = Some(v);
                    continue;
                }
                "response_type" => &mut p.response_type,
                "client_id" => &mut p.client_id,
                "redirect_uri" => &mut p.redirect_uri,
                "scope" => &mut p.scope,
                "state" => &mut p.state,
                "nonce" => &mut p.nonce,
                "code_challenge" => &mut p.code_challenge,
                "code_challenge_method" => &mut p.code_challenge_method,
                "prompt" => &mut p.prompt,
                "max_age" => &mut p.max_age,
                "response_mode" => &mut p.response_mode,
                "login_hint" => &mut p.login_hint,
                "acr_values" => &mut p.acr_values,
                "request" => &mut p.request,
                "request_uri" => &mut p.request_uri,
                _ => continue, // unknown parameters are ignored (RFC 6749 §3.1)
            };
            if slot.is_some() && p.duplicate.is_none() {
                p.duplicate = Some(k.to_string());
            }
            *slot = Some(v);
        }
        p
    }

    /// Back into a query string (for the trip through `/login`).
    pub fn to_query(&self) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        let fields = [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("prompt", &self.prompt),
            ("max_age", &self.max_age),
            ("response_mode", &self.response_mode),
            ("login_hint", &self.login_hint),
            ("acr_values", &self.acr_values),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                s.append_pair(k, v);
            }
        }
        for r in &self.resource {
            s.append_pair("resource", r);
        }
        if let Some(t) = &self.auth_after {
            s.append_pair(AUTH_AFTER, t);
        }
        s.finish()
    }
}

/// What the endpoint answers.
#[derive(Debug)]
pub enum Outcome {
    /// Shown to the user; never a redirect (RFC 6749 §4.1.2.1).
    Page(PageError),
    /// A redirect to the client (code or error).
    Redirect(String),
    /// Sign in first, then come back to `return_to`.
    Login {
        return_to: String,
        force: bool,
    },
    /// Prove a second factor in this session (step-up), then come back.
    SecondFactor {
        return_to: String,
    },
    Consent(ConsentScreen),
}

/// What the consent screen shows: facts only, never the client's own
/// claims about itself as if they were facts.
#[derive(Debug, Clone)]
pub struct ConsentScreen {
    pub request_id: String,
    /// The client's name, cleaned for display (self-asserted unless verified).
    pub client_name: String,
    /// The host the browser is sent to with the answer (the redirect URI's).
    pub destination: String,
    /// Created by an administrator; otherwise it described itself.
    pub verified: bool,
    /// The host that served a metadata-document client's description.
    pub published_by: Option<String>,
    pub scopes: Vec<String>,
    pub resources: Vec<String>,
}

/// Where this request stands with respect to consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentMode {
    /// Look it up; ask if needed.
    Check,
    /// The user just allowed it on the consent screen.
    Given,
    /// The user just denied it.
    Denied,
}

/// A request whose redirect URI is registered for its client.
struct Checked {
    client: Arc<Client>,
    redirect_uri: String,
    state: Option<String>,
    /// Whether errors go back to the redirect URI ([`errors_may_redirect`]);
    /// otherwise they are shown here.
    errors_redirect: bool,
}

impl Checked {
    fn error(&self, issuer: &str, code: OAuthErrorCode, description: &str) -> Outcome {
        let code = serde_json::to_value(code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        if !self.errors_redirect {
            // The description can quote the request, which anyone can write.
            let description: String = crate::oauth::display_text::clean(description)
                .chars()
                .take(200)
                .collect();
            return Outcome::Page(PageError::bad_request(format!(
                "The application \u{201c}{}\u{201d} sent a request that cannot be completed \
                 ({code}: {description}). You were not sent back to it: nobody here has \
                 verified it, and you have not approved it.",
                self.client.display_name()
            )));
        }
        Outcome::Redirect(redirect_to(
            &self.redirect_uri,
            &[("error", &code), ("error_description", description)],
            self.state.as_deref(),
            issuer,
        ))
    }
}

/// The redirect URI with response parameters appended to its query, plus
/// `state` exactly as received and `iss` (RFC 9207 §2).
fn redirect_to(
    redirect_uri: &str,
    pairs: &[(&str, &str)],
    state: Option<&str>,
    issuer: &str,
) -> String {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return redirect_uri.to_string();
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", issuer);
    }
    url.to_string()
}

/// Client and redirect URI: problems here are shown, not redirected.
async fn check_client(state: &AppState, p: &Params) -> Result<Result<Checked, PageError>, Error> {
    if matches!(p.duplicate.as_deref(), Some("client_id" | "redirect_uri")) {
        return Ok(Err(PageError::bad_request(
            "The request repeats client_id or redirect_uri.",
        )));
    }
    let Some(client_id) = p.client_id.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(Err(PageError::bad_request(
            "The request names no client (client_id is missing).",
        )));
    };
    let Some(client) = client::find_for(state, client_id, p.address.as_deref()).await? else {
        return Ok(Err(PageError::bad_request(
            "The application that sent you here is not registered.",
        )));
    };
    let registered = &client.metadata.redirect_uris;
    let redirect_uri = match p.redirect_uri.as_deref() {
        Some(r) => match registered.iter().find(|reg| redirect::matches(reg, r)) {
            Some(_) => r.to_string(),
            None => {
                return Ok(Err(PageError::bad_request(
                    "The application asked to return to an address it has not registered.",
                )));
            }
        },
        None if registered.len() == 1 => registered[0].clone(),
        None => {
            return Ok(Err(PageError::bad_request(
                "The request has no redirect_uri.",
            )));
        }
    };
    Ok(Ok(Checked {
        client,
        redirect_uri,
        state: p.state.clone(),
        errors_redirect: false,
    }))
}

/// Whether an error may be sent to the client's redirect URI (RFC 6749
/// §4.1.2.1) rather than shown here. A self-described client (dynamic
/// registration, metadata document) chose its redirect URIs itself, so an
/// error redirect before the user has met it would make this server an open
/// redirector for anyone who registers (RFC 9700 §4.11.2): its errors go back
/// only once the signed-in user has approved it at least once, or as the
/// answer to the consent screen just shown, which named the destination.
async fn errors_may_redirect(
    state: &AppState,
    client: &Client,
    session: Option<&SessionInfo>,
    mode: ConsentMode,
) -> Result<bool, Error> {
    if client.is_verified() || mode != ConsentMode::Check {
        return Ok(true);
    }
    let Some(session) = session else {
        return Ok(false);
    };
    Ok(
        store::consents::find(&state.db, &session.user.id, &client.id)
            .await?
            .is_some(),
    )
}

/// Runs the authorization request to its next step.
pub async fn decide(
    state: &AppState,
    p: &Params,
    session: Option<&SessionInfo>,
    mode: ConsentMode,
) -> Result<Outcome, Error> {
    let issuer = state.settings.issuer.as_str();
    let mut checked = match check_client(state, p).await? {
        Ok(c) => c,
        Err(page) => return Ok(Outcome::Page(page)),
    };
    checked.errors_redirect = errors_may_redirect(state, &checked.client, session, mode).await?;
    let err = |code, d: &str| Ok(checked.error(issuer, code, d));
    let client = checked.client.clone();

    if let Some(d) = &p.duplicate {
        return err(
            OAuthErrorCode::InvalidRequest,
            &format!("parameter {d} repeated"),
        );
    }
    match p.response_type.as_deref() {
        None => return err(OAuthErrorCode::InvalidRequest, "response_type is required"),
        Some("code") => {}
        Some(_) => {
            return err(
                OAuthErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            );
        }
    }
    if p.request.is_some() || p.request_uri.is_some() {
        return err(
            OAuthErrorCode::InvalidRequest,
            "request objects are not supported",
        );
    }
    if p.response_mode.as_deref().is_some_and(|m| m != "query") {
        return err(
            OAuthErrorCode::InvalidRequest,
            "only response_mode=query is supported",
        );
    }
    if !client
        .metadata
        .grant_types
        .iter()
        .any(|g| g == GRANT_AUTHORIZATION_CODE)
    {
        return err(
            OAuthErrorCode::UnauthorizedClient,
            "this client may not use the authorization code grant",
        );
    }

    // Scope: the client's registered scope when none is asked for (RFC 6749 §3.3).
    let allowed = scope::parse(&client.metadata.scope);
    let asked = match p.scope.as_deref().map(scope::parse_requested).transpose() {
        Ok(asked) => asked,
        Err(why) => return err(OAuthErrorCode::InvalidScope, &why),
    };
    let scopes = match asked {
        Some(s) if !s.is_empty() => s,
        _ => allowed.clone(),
    };
    if let Some(bad) = scopes.iter().find(|s| !allowed.contains(s)) {
        return err(
            OAuthErrorCode::InvalidScope,
            &format!("scope {bad:?} is not allowed for this client"),
        );
    }

    // PKCE (RFC 7636): S256 only; required of every client (OAuth 2.1)
    // unless an administrator exempted it.
    match (
        p.code_challenge.as_deref(),
        p.code_challenge_method.as_deref(),
    ) {
        (Some(_), Some(m)) if m != "S256" => {
            return err(
                OAuthErrorCode::InvalidRequest,
                "code_challenge_method must be S256 (plain is not supported)",
            );
        }
        (Some(c), _) if !pkce::is_well_formed(c) => {
            return err(
                OAuthErrorCode::InvalidRequest,
                "code_challenge must be 43-128 characters of base64url",
            );
        }
        (None, Some(_)) => {
            return err(
                OAuthErrorCode::InvalidRequest,
                "code_challenge_method without code_challenge",
            );
        }
        (None, None) if client.requires_pkce() => {
            return err(
                OAuthErrorCode::InvalidRequest,
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            );
        }
        _ => {}
    }

    let resources = match resource::resolve(&p.resource, &state.settings.resources(), &client) {
        Ok(r) => r,
        Err(d) => return err(OAuthErrorCode::InvalidTarget, &d),
    };
    if let Err(d) = state.discovery.scopes.check(&client, &scopes, &resources) {
        return err(OAuthErrorCode::InvalidScope, &d);
    }

    let prompts: Vec<&str> = p
        .prompt
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if prompts
        .iter()
        .any(|x| !matches!(*x, "none" | "login" | "consent" | "select_account"))
    {
        return err(OAuthErrorCode::InvalidRequest, "unknown prompt value");
    }
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return err(
            OAuthErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other values",
        );
    }
    let max_age = match p.max_age.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(m)) if m >= 0 => Some(m),
        Some(_) => {
            return err(
                OAuthErrorCode::InvalidRequest,
                "max_age must be a non-negative integer",
            );
        }
    };

    // Authentication.
    let now = state.now();
    let keys = state.keys.get(now).await?;
    let auth_after_tag = format!("{now}.{}", keys.mac(&format!("{AUTH_AFTER}:{now}"))?);
    let login_required = |p: &Params| -> Outcome {
        if prompt_none {
            return checked.error(
                issuer,
                OAuthErrorCode::LoginRequired,
                "the user is not signed in",
            );
        }
        let mut again = p.clone();
        again.auth_after = Some(auth_after_tag);
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
        Outcome::Login {
            return_to: format!("/oauth2/authorize?{}", again.to_query()),
            force: true,
        }
    };
    let Some(session) = session else {
        if prompt_none {
            return err(OAuthErrorCode::LoginRequired, "the user is not signed in");
        }
        return Ok(Outcome::Login {
            return_to: format!("/oauth2/authorize?{}", p.to_query()),
            force: false,
        });
    };
    let fresh_enough =
        verified_auth_after(&keys, p).is_some_and(|t| session.session.auth_time >= t);
    if !fresh_enough {
        let stale = max_age.is_some_and(|m| now - session.session.auth_time > m);
        if prompts.contains(&"login") || stale {
            return Ok(login_required(p));
        }
    }

    // Step-up: a client asking for multi-factor gets it whenever the user has
    // a second factor to give (acr_values is a preference, OIDC Core §3.1.2.1,
    // so a user without one still gets a token, with acr "1").
    let amr = session.amr();
    if assurance::wants_multi_factor(p.acr_values.as_deref())
        && !assurance::satisfies(&amr, assurance::ACR_MULTI)
        && store::two_factors::is_enabled(&state.db, &session.user.id).await?
    {
        if prompt_none {
            return err(
                OAuthErrorCode::InteractionRequired,
                "a second factor is required",
            );
        }
        return Ok(Outcome::SecondFactor {
            return_to: format!("/oauth2/authorize?{}", p.to_query()),
        });
    }

    // Consent.
    match mode {
        ConsentMode::Denied => {
            return err(OAuthErrorCode::AccessDenied, "the user denied the request");
        }
        ConsentMode::Given => {}
        ConsentMode::Check => {
            let covered = client.trusted && !prompts.contains(&"consent")
                || (!prompts.contains(&"consent")
                    && consent_covers(state, &session.user.id, &client.id, &scopes, &resources)
                        .await?);
            if !covered {
                if prompt_none {
                    return err(
                        OAuthErrorCode::ConsentRequired,
                        "the user has not approved this client",
                    );
                }
                return Ok(Outcome::Consent(
                    ask_consent(
                        state,
                        p,
                        session,
                        &client,
                        &checked.redirect_uri,
                        scopes,
                        resources,
                    )
                    .await?,
                ));
            }
        }
    }

    // Issue the code.
    let code = opaque::new_ordered_secret();
    let row = authorization_codes::Model {
        code_hash: opaque::ordered_hash(&code),
        client_id: client.id.clone(),
        user_id: session.user.id.clone(),
        session_id: Some(session.session.id.clone()),
        redirect_uri: p.redirect_uri.clone().unwrap_or_default(),
        scope: scopes.join(" "),
        resources: resources.join(" "),
        nonce: p.nonce.clone(),
        code_challenge: p.code_challenge.clone(),
        auth_time: session.session.auth_time,
        amr: session.session.amr.clone(),
        acr: Some(assurance::acr(&amr, p.acr_values.as_deref())),
        organization_id: session.session.active_organization_id.clone(),
        created_at: now,
        expires_at: now + state.settings.tokens.code_ttl,
        consumed_at: None,
        grant_id: opaque::new_id(),
    };
    store::grants::insert_code(&state.db, row).await?;
    Ok(Outcome::Redirect(redirect_to(
        &checked.redirect_uri,
        &[("code", &code)],
        checked.state.as_deref(),
        issuer,
    )))
}

/// The time a `pc_auth_after` names, if we issued it.
fn verified_auth_after(keys: &crate::tokens::keys::KeySet, p: &Params) -> Option<i64> {
    let (t, tag) = p.auth_after.as_deref()?.split_once('.')?;
    keys.verify_mac(&format!("{AUTH_AFTER}:{t}"), tag)
        .then(|| t.parse().ok())
        .flatten()
}

async fn consent_covers(
    state: &AppState,
    user: &str,
    client: &str,
    scopes: &[String],
    resources: &[String],
) -> Result<bool, Error> {
    let Some(c) = store::consents::find(&state.db, user, client).await? else {
        return Ok(false);
    };
    let granted = scope::parse(&c.scopes);
    let granted_res = scope::parse(&c.resources);
    Ok(scopes.iter().all(|s| granted.contains(s))
        && resources.iter().all(|r| granted_res.contains(r)))
}

async fn ask_consent(
    state: &AppState,
    p: &Params,
    session: &SessionInfo,
    client: &Client,
    redirect_uri: &str,
    scopes: Vec<String>,
    resources: Vec<String>,
) -> Result<ConsentScreen, Error> {
    let now = state.now();
    let id = opaque::new_secret();
    let params =
        serde_json::to_string(p).map_err(|e| Error::internal(format!("consent params: {e}")))?;
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
        destination: destination(redirect_uri),
        verified: client.is_verified(),
        published_by: client.published_by(),
        scopes,
        resources,
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

/// The user's answer on the consent screen. The request is taken (deleted)
/// first, so each is decided once, and only by the session that saw it.
pub async fn answer_consent(
    state: &AppState,
    request_id: &str,
    session: &SessionInfo,
    allow: bool,
) -> Result<Outcome, Error> {
    let Some(req) = store::consents::take_request(&state.db, request_id).await? else {
        return Ok(Outcome::Page(PageError::bad_request(
            "This consent request has expired or was already answered. Start again from the application.",
        )));
    };
    if req.session_id != session.session.id
        || req.user_id != session.user.id
        || req.expires_at < state.now()
    {
        return Ok(Outcome::Page(PageError::bad_request(
            "This consent request has expired. Start again from the application.",
        )));
    }
    let p: Params = serde_json::from_str(&req.params)
        .map_err(|e| Error::internal(format!("consent params: {e}")))?;
    if allow {
        remember_consent(state, &p, session, &req.client_id).await?;
        decide(state, &p, Some(session), ConsentMode::Given).await
    } else {
        decide(state, &p, Some(session), ConsentMode::Denied).await
    }
}

/// Records what was allowed, widening any earlier consent.
async fn remember_consent(
    state: &AppState,
    p: &Params,
    session: &SessionInfo,
    client_id: &str,
) -> Result<(), Error> {
    let Some(client) = client::find(state, client_id).await? else {
        return Ok(());
    };
    let requested = match p.scope.as_deref().map(scope::parse) {
        Some(s) if !s.is_empty() => s,
        _ => scope::parse(&client.metadata.scope),
    };
    let resources =
        resource::resolve(&p.resource, &state.settings.resources(), &client).unwrap_or_default();
    let now = state.now();
    let (mut scopes, mut res) =
        match store::consents::find(&state.db, &session.user.id, client_id).await? {
            Some(c) => (scope::parse(&c.scopes), scope::parse(&c.resources)),
            None => (vec![], vec![]),
        };
    for s in requested {
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    for r in resources {
        if !res.contains(&r) {
            res.push(r);
        }
    }
    store::consents::upsert(
        &state.db,
        entities::consents::Model {
            user_id: session.user.id.clone(),
            client_id: client_id.to_string(),
            scopes: scopes.join(" "),
            resources: res.join(" "),
            created_at: now,
            updated_at: now,
        },
    )
    .await
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
