//! Signing in through upstream providers (CONTRACT §4, Better Auth's names):
//! `sign-in/<provider>` (GET, a button's link; POST `sign-in/social` for
//! Better Auth's client), `callback/<provider>`, and the signed-in user's
//! `list-accounts`, `link-social`, `unlink-account`, `set-password`; plus
//! `login-methods`, what this deployment offers.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::domain::ids::UserId;
use crate::error::{ApiError, PageError};
use crate::http::api_json::status_ok;
use crate::http::cache_control::no_store;
use crate::http::extract::{
    ApiJson, CurrentSession, SignedIn, TrustedOrigin, client_info, client_ip,
};
use crate::http::fields::bounded;
use crate::http::{cookies, pages};
use crate::login::session;
use crate::login::social::accounts::{self, Landing};
use crate::login::social::flow::{self, Callback, Purpose, Started};
use crate::login::social::{Failed, Provider, Refusal};
use crate::ratelimit::{Family, RetryAfter, ip_key};
use crate::state::AppState;
use crate::store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sign-in/social", web::post().to(sign_in_social))
        .route("/sign-in/{provider}", web::get().to(sign_in))
        .route("/callback/{provider}", web::get().to(callback))
        .route("/list-accounts", web::get().to(list_accounts))
        .route("/link-social", web::post().to(link_social))
        .route("/unlink-account", web::post().to(unlink_account))
        .route("/set-password", web::post().to(set_password))
        .route("/login-methods", web::get().to(login_methods))
        .route("/providers", web::get().to(providers));
}

/// The sign-in screen, leading back to `return_to`.
fn login_back(return_to: Option<&str>) -> String {
    pages::login_path(return_to.unwrap_or(""))
}

/// A refusal as a page with a way back.
pub fn refusal_page(provider: &str, failed: Failed, return_to: Option<&str>) -> PageError {
    match failed {
        Failed::Refused(r) => {
            PageError::new(r.status(), "Sign-in did not complete", r.message(provider))
                .with_back(login_back(return_to))
        }
        Failed::Internal(e) => PageError::from(e).with_back(login_back(return_to)),
    }
}

fn refusal_json(failed: Failed) -> ApiError {
    match failed {
        Failed::Refused(r) => ApiError::new(r.status(), r.code(), r.message("The provider")),
        Failed::Internal(e) => e.into(),
    }
}

/// The browser's upstream binding cookie, if it has one.
pub fn binding(req: &HttpRequest, state: &AppState) -> Option<String> {
    req.cookie(&cookies::upstream_name(&state.settings))
        .map(|c| c.value().to_string())
}

/// A configured provider or a proved SSO connection.
async fn provider(state: &AppState, id: &str) -> Result<Arc<Provider>, Failed> {
    crate::login::sso::any_provider(state, id)
        .await?
        .ok_or(Failed::Refused(Refusal::UnknownProvider))
}

/// `sign-in/<id>[?callbackURL=…]`: where a button or hand-off sends the
/// browser to sign in through provider `id`, back to `return_to` after.
pub fn sign_in_path(id: &str, return_to: Option<&str>) -> String {
    let mut href = format!("{}/sign-in/{id}", super::api::PREFIX);
    if let Some(to) = return_to.filter(|t| !t.is_empty()) {
        href.push('?');
        href.push_str(&serde_urlencoded::to_string([("callbackURL", to)]).unwrap_or_default());
    }
    href
}

/// Each start stores a row: bounded per client address.
pub fn limit_starts(req: &HttpRequest, state: &AppState) -> Result<(), RetryAfter> {
    state.limit(Family::Upstream, &[ip_key(&client_ip(req))])
}

/// 303 to the upstream, binding the attempt to this browser.
fn to_upstream(state: &AppState, started: Started) -> HttpResponse {
    let mut res = pages::see_other(&started.url);
    let _ = res.add_cookie(&cookies::upstream(&state.settings, started.binding));
    no_store_response(res)
}

fn no_store_response(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    res
}

#[derive(Deserialize)]
struct SignInQuery {
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
}

/// `GET sign-in/<provider>?callbackURL=/…`: off to the upstream.
async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<SignInQuery>,
) -> Result<HttpResponse, PageError> {
    let back = query.callback_url.as_deref();
    limit_starts(&req, &state)?;
    let p = provider(&state, &path)
        .await
        .map_err(|f| refusal_page("this provider", f, back))?;
    if !started_here(&req) {
        return Ok(confirm_start(&req, &p.name));
    }
    let started = flow::start(
        &state,
        &p,
        back,
        Purpose::SignIn,
        binding(&req, &state).as_deref(),
    )
    .await
    .map_err(|f| refusal_page(&p.name, f, back))?;
    Ok(to_upstream(&state, started))
}

/// Whether this navigation began on our own pages (or was typed): a link
/// on another site must not sign the browser in unasked (login CSRF: an
/// upstream that approves at once would sign the victim in as whoever that
/// site chose). Browsers without Fetch Metadata are let through.
fn started_here(req: &HttpRequest) -> bool {
    match req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
    {
        None => true,
        Some(site) => site == "same-origin" || site == "none",
    }
}

/// The page a sign-in started from elsewhere stops at: the person clicks on
/// (a same-origin navigation) or leaves.
fn confirm_start(req: &HttpRequest, provider: &str) -> HttpResponse {
    let href = req.uri().to_string();
    let body = pages::render(&pages::Continue {
        title: &format!("Sign in with {provider}"),
        message: &format!("Continue to sign in here with your {provider} account."),
        href: &href,
        label: &format!("Continue with {provider}"),
        back_href: "/login",
        back_label: "Sign in another way",
    });
    pages::html(200, body, None)
}

#[derive(Deserialize)]
struct SocialBody {
    provider: String,
    #[serde(rename = "callbackURL", default)]
    callback_url: Option<String>,
}

bounded!(SocialBody { provider: Name });

/// Better Auth's `POST sign-in/social`: the URL to send the browser to.
async fn sign_in_social(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<SocialBody>,
) -> Result<HttpResponse, ApiError> {
    start_json(&req, &state, &body, Purpose::SignIn).await
}

/// Starts a round trip for the API: the URL to send the browser to.
async fn start_json(
    req: &HttpRequest,
    state: &AppState,
    body: &SocialBody,
    purpose: Purpose,
) -> Result<HttpResponse, ApiError> {
    limit_starts(req, state)?;
    let p = provider(state, &body.provider)
        .await
        .map_err(refusal_json)?;
    let binding = binding(req, state);
    let started = flow::start(
        state,
        &p,
        body.callback_url.as_deref(),
        purpose,
        binding.as_deref(),
    )
    .await
    .map_err(refusal_json)?;
    Ok(started_json(state, started))
}

fn started_json(state: &AppState, started: Started) -> HttpResponse {
    no_store(&mut HttpResponse::Ok())
        .cookie(cookies::upstream(&state.settings, started.binding))
        .json(json!({ "url": started.url, "redirect": true }))
}

/// `GET callback/<provider>`: the upstream sends the browser back here.
async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentSession,
    path: web::Path<String>,
    query: web::Query<Callback>,
) -> Result<HttpResponse, PageError> {
    let p = provider(&state, &path)
        .await
        .map_err(|f| refusal_page("this provider", f, None))?;
    let landed = flow::finish(&state, &p, &query, binding(&req, &state).as_deref())
        .await
        .map_err(|f| refusal_page(&p.name, f, None))?;
    let back = landed.return_to.as_deref();
    // A link finishes only in the session that asked for it.
    if let Some(asker) = &landed.link_user
        && current.0.as_ref().is_none_or(|s| s.user.id != *asker)
    {
        return Err(refusal_page(&p.name, Refusal::BadState.into(), back));
    }
    let landing = accounts::land(
        &state,
        &landed.identity,
        landed.link_user.as_ref(),
        p.sso_domain.is_some(),
    )
    .await
    .map_err(|f| refusal_page(&p.name, f, back))?;
    match landing {
        Landing::SignIn(user) => {
            let amr = crate::login::assurance::federated(landed.identity.mfa);
            let (token, info) = session::start(&state, user, &amr, client_info(&req)).await?;
            let to = back.unwrap_or("/");
            let res = if info.pending() {
                pages::see_other(&pages::second_factor_path(to))
            } else {
                pages::see_other(to)
            };
            pages::with_cookie(
                no_store_response(res),
                &cookies::session(&state.settings, token),
            )
        }
        Landing::Linked => Ok(no_store_response(pages::see_other(back.unwrap_or("/")))),
        Landing::TransferOffered { token } => {
            transfer_page(&req, &state, &p.name, &token, landed.link_user.as_ref()).await
        }
    }
}

/// `GET list-accounts`: Better Auth's account list; a password shows as
/// the `credential` provider.
async fn list_accounts(
    state: web::Data<AppState>,
    SignedIn(info): SignedIn,
) -> Result<HttpResponse, ApiError> {
    let mut accounts = Vec::new();
    if let Some((_, Some(_))) =
        store::users::find_with_password(&state.db, &info.user.email).await?
    {
        accounts.push(json!({
            "id": format!("credential-{}", info.user.id),
            "providerId": "credential",
            "accountId": info.user.id,
            "userId": info.user.id,
            "createdAt": crate::http::api_json::iso(info.user.created_at),
            "updatedAt": crate::http::api_json::iso(info.user.updated_at),
            "scopes": [],
        }));
    }
    for i in store::identities::for_user(&state.db, &info.user.id).await? {
        accounts.push(json!({
            "id": i.id,
            "providerId": i.provider,
            "accountId": i.subject,
            "userId": i.user_id,
            "email": i.email,
            "createdAt": crate::http::api_json::iso(i.created_at),
            "updatedAt": crate::http::api_json::iso(i.updated_at),
            "scopes": [],
        }));
    }
    Ok(no_store(&mut HttpResponse::Ok()).json(accounts))
}

/// `POST link-social {provider, callbackURL}`: the URL that links the
/// provider to the signed-in user (a recent sign-in needed).
async fn link_social(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    SignedIn(info): SignedIn,
    ApiJson(body): ApiJson<SocialBody>,
) -> Result<HttpResponse, ApiError> {
    accounts::require_fresh(&state, &info)?;
    start_json(&req, &state, &body, Purpose::Link(info.user.id.clone())).await
}

#[derive(Deserialize)]
struct Unlink {
    #[serde(rename = "providerId")]
    provider_id: String,
}

bounded!(Unlink { provider_id: Name });

/// `POST unlink-account {providerId}`: never the last way to sign in.
async fn unlink_account(
    _: TrustedOrigin,
    state: web::Data<AppState>,
    SignedIn(info): SignedIn,
    ApiJson(body): ApiJson<Unlink>,
) -> Result<HttpResponse, ApiError> {
    accounts::unlink(&state, &info.user.id, &body.provider_id).await?;
    Ok(status_ok())
}

#[derive(Deserialize)]
struct SetPassword {
    #[serde(rename = "newPassword")]
    new_password: String,
}

bounded!(SetPassword {
    new_password: Password
});

/// `POST set-password {newPassword}`: a first password for an account that
/// has none (a recent sign-in needed).
async fn set_password(
    _: TrustedOrigin,
    state: web::Data<AppState>,
    SignedIn(info): SignedIn,
    ApiJson(body): ApiJson<SetPassword>,
) -> Result<HttpResponse, ApiError> {
    accounts::require_fresh(&state, &info)?;
    accounts::set_password(&state, &info.user, &body.new_password).await?;
    Ok(status_ok())
}

#[derive(Deserialize)]
struct MethodsQuery {
    email: Option<String>,
}

/// The enabled upstream providers, as a sign-in screen or SDK needs them.
fn provider_list(state: &AppState) -> Vec<serde_json::Value> {
    state
        .upstreams
        .providers
        .all()
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "name": p.name,
                "type": p.kind(),
                "enabled": true,
                "signInUrl": sign_in_path(&p.id, None),
                "callbackUrl": flow::redirect_uri(state, p),
            })
        })
        .collect()
}

/// `GET providers` (seed 004): the sign-in providers, upstream ones and
/// passkeys; only enabled ones are listed.
async fn providers(state: web::Data<AppState>) -> HttpResponse {
    let mut list = provider_list(&state);
    list.push(json!({ "id": "passkey", "name": "Passkey", "type": "passkey", "enabled": true }));
    no_store(&mut HttpResponse::Ok()).json(list)
}

/// `GET login-methods[?email=…]`: what a sign-in screen may offer.
async fn login_methods(
    state: web::Data<AppState>,
    query: web::Query<MethodsQuery>,
) -> Result<HttpResponse, ApiError> {
    let providers = provider_list(&state);
    let mut body = json!({
        "password": true,
        "magicLink": true,
        "passkey": true,
        "providers": providers,
    });
    body["sso"] = match query.email.as_deref() {
        Some(email) => match crate::login::sso::route_for(&state, email).await? {
            Some(route) => json!({
                "required": true,
                "domain": route.domain,
                "providerId": route.provider_id,
                "signInUrl": sign_in_path(&route.provider_id, None),
            }),
            None => json!({ "required": false }),
        },
        None => json!(false),
    };
    Ok(no_store(&mut HttpResponse::Ok()).json(body))
}

/// The confirm page of an offered transfer (shown by the callback).
pub async fn transfer_page(
    req: &HttpRequest,
    state: &AppState,
    provider_name: &str,
    token: &str,
    to: Option<&UserId>,
) -> Result<HttpResponse, PageError> {
    let described = match to {
        Some(to) => accounts::describe_transfer(state, token, to).await?,
        None => None,
    };
    let Some((_, other)) = described else {
        return Err(PageError::bad_request("This transfer is no longer possible.").with_back("/"));
    };
    Ok(pages::form(req, state, 200, |csrf_token| {
        pages::render(&pages::Transfer {
            provider: provider_name,
            other_account: &other,
            transfer_token: token,
            csrf_token,
        })
    }))
}
