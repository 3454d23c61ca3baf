//! `/login/2fa` (CONTRACT §5): the screen a sign-in that owes a second
//! factor goes to, and a step-up of a full session.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::error::PageError;
use crate::http::extract::{AnySession, CsrfForm, client_ip, screen_form};
use crate::http::{cookies, pages};
use crate::login::{session, two_factor};
use crate::oauth::redirect::safe_return_to;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/login/2fa", web::get().to(second_factor_form))
        .route("/login/2fa", web::post().to(second_factor_submit));
}

#[derive(Deserialize)]
struct ReturnTo {
    return_to: Option<String>,
}

async fn render_second_factor(
    req: &HttpRequest,
    state: &AppState,
    status: u16,
    return_to: &str,
    error: Option<&str>,
) -> HttpResponse {
    let res = pages::form(req, state, status, |csrf| {
        pages::render(&pages::SecondFactor {
            csrf_token: csrf,
            return_to,
            error,
        })
    });
    pages::leading_to(state, return_to, res).await
}

/// `GET /login/2fa`: asks for a TOTP or backup code.
async fn second_factor_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ReturnTo>,
    current: AnySession,
) -> Result<HttpResponse, PageError> {
    let return_to = safe_return_to(query.return_to.as_deref());
    let return_to = return_to.as_deref().unwrap_or("");
    if current.0.is_none() {
        return Ok(pages::see_other(&pages::login_path(return_to)));
    }
    Ok(render_second_factor(&req, &state, 200, return_to, None).await)
}

#[derive(Deserialize)]
struct SecondFactorForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf_token: String,
    return_to: Option<String>,
}

screen_form!(SecondFactorForm { code: Code });

/// `POST /login/2fa`: a valid code completes the sign-in (or the step-up).
async fn second_factor_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<SecondFactorForm>,
    current: AnySession,
) -> Result<HttpResponse, PageError> {
    let return_to = safe_return_to(form.return_to.as_deref());
    let rt = return_to.as_deref().unwrap_or("");
    let Some(info) = current.0 else {
        return Ok(pages::see_other(&pages::login_path(rt)));
    };
    match two_factor::check_code(&state, &info.user, &client_ip(&req), &form.code).await {
        Ok(method) => {
            let Some((token, _)) =
                session::elevate(&state, &info, two_factor::amr_of(method)).await?
            else {
                return Ok(pages::see_other(&pages::login_path(rt)));
            };
            let res = pages::see_other(return_to.as_deref().unwrap_or("/"));
            pages::with_cookie(res, &cookies::session(&state.settings, token))
        }
        Err(e) if e.status < 500 => {
            Ok(render_second_factor(&req, &state, e.status, rt, Some(&e.message)).await)
        }
        Err(e) => Err(PageError::from_api(e)),
    }
}
