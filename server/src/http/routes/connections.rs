//! The account page's connected accounts (no JavaScript): connect a provider
//! (a recent sign-in needed, then on to the upstream), disconnect one (never
//! the last way in), and confirm moving an upstream account that another
//! account of this server holds.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::error::PageError;
use crate::http::extract::{CsrfForm, CurrentSession, screen_form};
use crate::http::{cookies, pages};
use crate::login::social::accounts;
use crate::login::social::flow::{self, Purpose};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/account/connections/link", web::post().to(link))
        .route("/account/connections/unlink", web::post().to(unlink))
        .route("/account/connections/transfer", web::post().to(transfer));
}

#[derive(Deserialize)]
struct ProviderForm {
    #[serde(default)]
    provider: String,
    #[serde(default)]
    csrf_token: String,
}

screen_form!(ProviderForm { provider: Name });

fn signed_in(
    current: CurrentSession,
) -> Result<std::sync::Arc<crate::login::session::SessionInfo>, PageError> {
    current
        .0
        .ok_or_else(|| PageError::forbidden("Sign in first.").with_back("/login"))
}

/// Starts linking; the page that follows links on to the upstream (a form
/// may not redirect to another site under this server's CSP).
async fn link(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentSession,
    CsrfForm(form): CsrfForm<ProviderForm>,
) -> Result<HttpResponse, PageError> {
    let info = signed_in(current)?;
    if !accounts::is_fresh(&state, &info) {
        return Ok(pages::see_other("/login?prompt=login&return_to=%2F"));
    }
    crate::http::routes::social::limit_starts(&req, &state)?;
    let provider = crate::login::sso::any_provider(&state, &form.provider)
        .await?
        .ok_or_else(|| PageError::bad_request("There is no such provider here.").with_back("/"))?;
    let binding = crate::http::routes::social::binding(&req, &state);
    let started = flow::start(
        &state,
        &provider,
        Some("/"),
        Purpose::Link(info.user.id.clone()),
        binding.as_deref(),
    )
    .await
    .map_err(|f| crate::http::routes::social::refusal_page(&provider.name, f, Some("/")))?;
    let body = pages::render(&pages::Continue {
        title: &format!("Connect {}", provider.name),
        message: &format!(
            "Continue to {} to confirm it is your account.",
            provider.name
        ),
        href: &started.url,
        label: &format!("Continue to {}", provider.name),
        back_href: "/",
        back_label: "Back to your account",
    });
    Ok(pages::html(
        200,
        body,
        Some(cookies::upstream(&state.settings, started.binding)),
    ))
}

async fn unlink(
    state: web::Data<AppState>,
    current: CurrentSession,
    CsrfForm(form): CsrfForm<ProviderForm>,
) -> Result<HttpResponse, PageError> {
    let info = signed_in(current)?;
    accounts::unlink(&state, &info.user.id, &form.provider)
        .await
        .map_err(|e| PageError::from_api(e).with_back("/"))?;
    Ok(pages::see_other("/"))
}

#[derive(Deserialize)]
struct TransferForm {
    #[serde(default)]
    transfer_token: String,
    #[serde(default)]
    csrf_token: String,
}

screen_form!(TransferForm {
    transfer_token: Token
});

async fn transfer(
    state: web::Data<AppState>,
    current: CurrentSession,
    CsrfForm(form): CsrfForm<TransferForm>,
) -> Result<HttpResponse, PageError> {
    let info = signed_in(current)?;
    accounts::confirm_transfer(&state, &form.transfer_token, &info.user.id)
        .await
        .map_err(|e| PageError::from_api(e).with_back("/"))?;
    Ok(pages::see_other("/"))
}
