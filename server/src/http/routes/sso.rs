//! Enterprise SSO (`login::sso`): `sso/register` (an organisation's owner
//! connects an OpenID provider for a domain), `sso/list`, `sign-in/sso`
//! (where an address signs in), and the domain proof's confirm page.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::domain::ids::OrgId;
use crate::error::{ApiError, PageError};
use crate::http::api_json::iso;
use crate::http::cache_control::no_store;
use crate::http::extract::{ApiJson, CsrfForm, SignedIn, TrustedOrigin, client_ip, screen_form};
use crate::http::fields::bounded;
use crate::http::pages;
use crate::login::social::accounts;
use crate::login::sso::{self, Registration};
use crate::ratelimit::{Family, account_key, ip_key};
use crate::state::AppState;
use crate::store;

/// Routes inside the first-party API's scope.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.route("/sso/register", web::post().to(register))
        .route("/sso/list", web::get().to(list))
        .route("/sign-in/sso", web::post().to(sign_in_sso));
}

/// The proof's confirm page.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(sso::PROOF_PATH, web::get().to(proof_page))
        .route(sso::PROOF_PATH, web::post().to(proof_confirm));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterBody {
    domain: String,
    issuer: String,
    client_id: String,
    client_secret: String,
    #[serde(default)]
    scopes: Vec<String>,
    organization_id: Option<String>,
    /// The administrator mailbox the proof goes to (default `postmaster`).
    #[serde(default)]
    mailbox: Option<String>,
}

bounded!(RegisterBody {
    domain: Email,
    issuer: Token,
    client_id: Token,
    client_secret: Token
});

fn connection_json(c: &entities::sso_connections::Model) -> serde_json::Value {
    json!({
        "id": c.id,
        "providerId": format!("{}{}", sso::PREFIX, c.id),
        "organizationId": c.organization_id,
        "domain": c.domain,
        "issuer": c.issuer,
        "clientId": c.client_id,
        "scopes": c.scopes.split(' ').collect::<Vec<_>>(),
        "domainVerified": c.verified_at.is_some(),
        "createdAt": iso(c.created_at),
    })
}

/// `POST sso/register`: stores the connection and mails the domain proof.
async fn register(
    _: TrustedOrigin,
    req: HttpRequest,
    state: web::Data<AppState>,
    SignedIn(info): SignedIn,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    accounts::require_fresh(&state, &info)?;
    // Each call mails a domain's administrator and fetches from the issuer.
    state.limit(
        Family::Mail,
        &[account_key(&info.user.email), ip_key(&client_ip(&req))],
    )?;
    let organization_id = body
        .organization_id
        .map(OrgId::from)
        .or_else(|| info.session.active_organization_id.clone())
        .ok_or_else(|| ApiError::bad_request("ORGANIZATION_REQUIRED", "Name the organisation."))?;
    let reg = Registration {
        organization_id,
        domain: body.domain,
        issuer: body.issuer,
        client_id: body.client_id,
        client_secret: body.client_secret,
        scopes: body.scopes,
        mailbox: body.mailbox.unwrap_or_else(|| "postmaster".into()),
    };
    let (row, sent_to) = sso::register(&state, &info.user, reg).await?;
    let mut answer = connection_json(&row);
    answer["proofSentTo"] = json!(sent_to);
    Ok(no_store(&mut HttpResponse::Ok()).json(answer))
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "organizationId")]
    organization_id: Option<String>,
}

/// `GET sso/list[?organizationId=…]`: an organisation's connections, for
/// its owners.
async fn list(
    state: web::Data<AppState>,
    SignedIn(info): SignedIn,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let Some(org) = query
        .organization_id
        .clone()
        .map(OrgId::from)
        .or_else(|| info.session.active_organization_id.clone())
    else {
        return Ok(HttpResponse::Ok().json(json!([])));
    };
    if store::orgs::role_of(&state.db, &org, &info.user.id)
        .await?
        .as_deref()
        != Some("owner")
    {
        return Err(ApiError::forbidden(
            "FORBIDDEN",
            "Only an owner of the organisation can see its single sign-on.",
        ));
    }
    let rows = store::sso::for_org(&state.db, &org).await?;
    let list: Vec<_> = rows.iter().map(connection_json).collect();
    Ok(no_store(&mut HttpResponse::Ok()).json(list))
}

#[derive(Deserialize)]
struct SsoSignIn {
    email: String,
    #[serde(rename = "callbackURL", default)]
    callback_url: Option<String>,
}

bounded!(SsoSignIn { email: Email });

/// `POST sign-in/sso {email, callbackURL}`: the URL that signs the address
/// in through its domain's connection.
async fn sign_in_sso(
    _: TrustedOrigin,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<SsoSignIn>,
) -> Result<HttpResponse, ApiError> {
    let Some(route) = sso::route_for(&state, &body.email).await? else {
        return Err(ApiError::new(
            404,
            "SSO_NOT_FOUND",
            "This address's domain has no single sign-on here.",
        ));
    };
    let back = crate::domain::return_to::safe_return_to(body.callback_url.as_deref());
    let url = super::social::sign_in_path(&route.provider_id, back.as_deref());
    Ok(no_store(&mut HttpResponse::Ok())
        .json(json!({ "url": url, "redirect": true, "domain": route.domain })))
}

#[derive(Deserialize)]
struct ProofQuery {
    #[serde(default)]
    token: String,
}

/// The proof link's page: it names the domain and the organisation, and
/// changes nothing until confirmed.
async fn proof_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ProofQuery>,
) -> Result<HttpResponse, PageError> {
    let Some((domain, org)) = sso::peek_proof(&state, &query.token).await? else {
        return Err(PageError::bad_request(
            "This link was used, expired, or never issued.",
        ));
    };
    let lead = format!(
        "{org} asks that everyone with an address at this domain sign in through its single sign-on:"
    );
    Ok(pages::form(&req, &state, 200, |csrf| {
        pages::render(&pages::ConfirmLink {
            title: "Confirm single sign-on",
            lead: &lead,
            account: &domain,
            notes: vec!["Confirm only if you administer this domain."],
            action: sso::PROOF_PATH,
            token: &query.token,
            return_to: "",
            button: "Confirm single sign-on",
            csrf_token: csrf,
        })
    }))
}

#[derive(Deserialize)]
struct ProofForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf_token: String,
}

screen_form!(ProofForm { token: Token });

async fn proof_confirm(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ProofForm>,
) -> Result<HttpResponse, PageError> {
    sso::prove(&state, &form.token)
        .await
        .map_err(PageError::from_api)?;
    Ok(pages::message(
        "Single sign-on is on",
        "Addresses at this domain now sign in through the organisation's single sign-on.",
    ))
}
