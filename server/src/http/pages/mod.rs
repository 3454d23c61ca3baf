//! What every screen answers with: its templates, an HTML page, the `303`
//! after a form POST, and the paths the screens send a browser between.

mod templates;

pub use templates::*;

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::error::PageError;
use crate::http::extract::csrf_token;
use crate::http::form_action;
use crate::oauth::redirect::safe_return_to;
use crate::state::AppState;

/// The verification link's confirm page.
pub const VERIFY_PATH: &str = "/verify-email";
/// The magic link's confirm page.
pub const MAGIC_PATH: &str = "/login/magic/confirm";

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    back: Option<&'a str>,
}

/// Renders a template; a rendering failure (a bug) becomes a plain page.
pub fn render(t: &impl Template) -> String {
    t.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "template failed");
        "<!doctype html><title>Error</title><p>Something went wrong.</p>".to_string()
    })
}

pub fn error_page(title: &str, message: &str, back: Option<&str>) -> String {
    render(&ErrorPage {
        title,
        message,
        back,
    })
}

/// An uncached HTML page, with the CSRF cookie when the form on it set one.
pub fn html(status: u16, body: String, cookie: Option<Cookie<'static>>) -> HttpResponse {
    let mut res = HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK));
    res.content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(c) = cookie {
        res.cookie(c);
    }
    res.body(body)
}

/// A page with a form: `render_with` gets the CSRF token the form must
/// carry; the answer sets the CSRF cookie when the browser had none.
pub fn form(
    req: &HttpRequest,
    state: &AppState,
    status: u16,
    render_with: impl FnOnce(&str) -> String,
) -> HttpResponse {
    let (csrf, cookie) = csrf_token(req, state);
    html(status, render_with(&csrf), cookie)
}

/// A page that only says something (done, check your mail, signed out).
pub fn message(title: &str, message: &str) -> HttpResponse {
    html(200, render(&Message { title, message }), None)
}

/// 303 See Other: after a form POST the browser must GET the target.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .finish()
}

/// `res` setting `cookie` (a new session, or its removal).
pub fn with_cookie(mut res: HttpResponse, cookie: &Cookie) -> Result<HttpResponse, PageError> {
    res.add_cookie(cookie)
        .map_err(|_| PageError::bad_request("cookie"))?;
    Ok(res)
}

/// A sign-in page whose form may end at the client of the authorization
/// request `return_to` leads back to (see [`form_action`]).
pub async fn leading_to(state: &AppState, return_to: &str, mut res: HttpResponse) -> HttpResponse {
    let targets = form_action::return_to_targets(state, return_to).await;
    form_action::allow(&mut res, &targets);
    res
}

/// `?return_to=…` for links between the sign-in and sign-up screens.
pub fn return_query(return_to: &str) -> String {
    if return_to.is_empty() {
        String::new()
    } else {
        format!(
            "?{}",
            serde_urlencoded::to_string([("return_to", return_to)]).unwrap_or_default()
        )
    }
}

/// `/login?return_to=…`: the sign-in screen, then back to `return_to`.
pub fn login_path(return_to: &str) -> String {
    format!("/login{}", return_query(return_to))
}

/// `/login/2fa?return_to=…`: where a sign-in that owes a second factor goes.
pub fn second_factor_path(return_to: &str) -> String {
    format!(
        "/login/2fa{}",
        return_query(safe_return_to(Some(return_to)).as_deref().unwrap_or(""))
    )
}

/// `<path>?token=…[&return_to=…]`: a mail link's confirm page, as the API's
/// links redirect to it.
pub fn link_page_path(path: &str, token: &str, return_to: Option<&str>) -> String {
    let mut query = vec![("token", token)];
    if let Some(to) = return_to {
        query.push(("return_to", to));
    }
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(query).unwrap_or_default()
    )
}
