//! The HTML screens (CONTRACT §5): plain forms that work without JavaScript,
//! 303 after every successful POST, `return_to` only as a same-origin path.

use actix_web::http::header;
use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::error::{ApiError, PageError};
use crate::http::body::{PageBody, SCREEN_FORM};
use crate::http::extract::{
    CurrentSession, client_info, csrf_token, csrf_valid, origin_allowed, session_token,
    state as app_state,
};
use crate::http::fields::{self, Field};
use crate::http::{cookies, form_action, pages};
use crate::login::assurance::PWD;
use crate::login::{email_password, session, two_factor};
use crate::oauth::redirect::safe_return_to;
use crate::state::AppState;
use crate::store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login_submit))
        .route("/signup", web::get().to(signup_form))
        .route("/signup", web::post().to(signup_submit))
        .route("/logout", web::post().to(logout))
        .route("/login/magic", web::get().to(magic_form))
        .route("/login/magic", web::post().to(magic_submit))
        .route("/forgot-password", web::get().to(forgot_form))
        .route("/forgot-password", web::post().to(forgot_submit))
        .route("/reset-password", web::get().to(reset_form))
        .route("/reset-password", web::post().to(reset_submit))
        .route("/login/2fa", web::get().to(second_factor_form))
        .route("/login/2fa", web::post().to(second_factor_submit))
        .route("/static/css/portcullis.css", web::get().to(css))
        .route("/static/js/passkey.js", web::get().to(passkey_js));
}

const CSS: &str = include_str!("../../../../static/css/portcullis.css");

const PASSKEY_JS: &str = include_str!("../../../../static/js/passkey.js");

async fn passkey_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(PASSKEY_JS)
}

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(CSS)
}

pub(crate) fn html(
    status: u16,
    body: String,
    cookie: Option<actix_web::cookie::Cookie<'static>>,
) -> HttpResponse {
    let mut res = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK),
    );
    res.content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(c) = cookie {
        res.cookie(c);
    }
    res.body(body)
}

/// A sign-in page whose form may end at the client of the authorization
/// request `return_to` leads back to (see [`form_action`]).
async fn leading_to(state: &AppState, return_to: &str, mut res: HttpResponse) -> HttpResponse {
    let targets = form_action::return_to_targets(state, return_to).await;
    form_action::allow(&mut res, &targets);
    res
}

/// 303 See Other: after a form POST the browser must GET the target.
pub(crate) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .finish()
}

/// Parses an urlencoded form body into `T`, or a readable page.
pub(crate) fn parse_form<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, PageError> {
    serde_urlencoded::from_bytes(body)
        .map_err(|_| PageError::bad_request("The form was incomplete. Go back and try again."))
}

/// CSRF token and origin must both check out for a form POST.
pub(crate) fn check_form(req: &HttpRequest, state: &AppState, csrf: &str) -> Result<(), PageError> {
    if !origin_allowed(req, state) {
        return Err(PageError::forbidden(
            "This form was submitted from another site.",
        ));
    }
    if !csrf_valid(req, state, csrf) {
        return Err(PageError::forbidden(
            "This form has expired. Go back, reload the page and try again.",
        ));
    }
    Ok(())
}

#[derive(Deserialize, Default)]
struct ReturnTo {
    return_to: Option<String>,
    /// `login` forces the form even with a session (re-authentication).
    prompt: Option<String>,
}

async fn home(req: HttpRequest, current: CurrentSession) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let Some(info) = current.0 else {
        return Ok(see_other("/login"));
    };
    let org = match &info.session.active_organization_id {
        Some(id) => store::orgs::find(&state.db, id)
            .await?
            .map(|o| o.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let (csrf, cookie) = csrf_token(&req, &state);
    let page = pages::Home {
        name: &info.user.name,
        email: &info.user.email,
        organization: &org,
        csrf_token: &csrf,
        passkeys: store::passkeys::for_user(&state.db, &info.user.id)
            .await?
            .len(),
        two_factor: store::two_factors::is_enabled(&state.db, &info.user.id).await?,
    };
    Ok(html(200, pages::render(&page), cookie))
}

async fn render_login(
    req: &HttpRequest,
    state: &AppState,
    status: u16,
    return_to: &str,
    email: &str,
    error: Option<&str>,
) -> HttpResponse {
    let (csrf, cookie) = csrf_token(req, state);
    let page = pages::Login {
        csrf_token: &csrf,
        return_to,
        return_query: pages::return_query(return_to),
        email,
        error,
    };
    leading_to(state, return_to, html(status, pages::render(&page), cookie)).await
}

async fn login_form(
    req: HttpRequest,
    query: web::Query<ReturnTo>,
    current: CurrentSession,
) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let return_to = safe_return_to(query.return_to.as_deref());
    if current.0.is_some() && query.prompt.as_deref() != Some("login") {
        return Ok(see_other(return_to.as_deref().unwrap_or("/")));
    }
    Ok(render_login(
        &req,
        &state,
        200,
        return_to.as_deref().unwrap_or(""),
        "",
        None,
    )
    .await)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
    return_to: Option<String>,
}

async fn login_submit(
    req: HttpRequest,
    body: PageBody<SCREEN_FORM>,
) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let form: LoginForm = parse_form(&body.0)?;
    fields::check(&[
        (Field::Email, &form.email),
        (Field::Password, &form.password),
    ])?;
    check_form(&req, &state, &form.csrf_token)?;
    let return_to = safe_return_to(form.return_to.as_deref());
    let rt = return_to.as_deref().unwrap_or("");
    let user = match email_password::sign_in(
        &state,
        &client_info(&req).ip.unwrap_or_default(),
        &form.email,
        &form.password,
    )
    .await
    {
        Ok(u) => u,
        Err(e) if matches!(e.status, 401 | 429) => {
            return Ok(render_login(
                &req,
                &state,
                e.status,
                rt,
                form.email.trim(),
                Some(&e.message),
            )
            .await);
        }
        Err(e) => return Err(api_to_page(e)),
    };
    signed_in_redirect(&req, &state, user, return_to.as_deref(), false).await
}

/// Starts a password session and sends the browser on (303) with its cookie.
/// `after_sign_up`: the account was just created (the creator's session).
async fn signed_in_redirect(
    req: &HttpRequest,
    state: &AppState,
    user: entities::users::Model,
    return_to: Option<&str>,
    after_sign_up: bool,
) -> Result<HttpResponse, PageError> {
    let (token, info) = if after_sign_up {
        session::start_after_sign_up(state, user, &[PWD], client_info(req)).await?
    } else {
        session::start(state, user, &[PWD], client_info(req)).await?
    };
    let to = return_to.unwrap_or("/");
    let mut res = if info.pending() {
        see_other(&second_factor_path(to))
    } else {
        see_other(to)
    };
    res.add_cookie(&cookies::session(&state.settings, token))
        .map_err(|_| PageError::bad_request("cookie"))?;
    Ok(res)
}

fn api_to_page(e: ApiError) -> PageError {
    PageError::new(e.status, "This request cannot be completed", e.message)
}

async fn render_signup(
    req: &HttpRequest,
    state: &AppState,
    status: u16,
    return_to: &str,
    name: &str,
    email: &str,
    error: Option<&str>,
) -> HttpResponse {
    let (csrf, cookie) = csrf_token(req, state);
    let page = pages::Signup {
        csrf_token: &csrf,
        return_to,
        return_query: pages::return_query(return_to),
        name,
        email,
        error,
    };
    leading_to(state, return_to, html(status, pages::render(&page), cookie)).await
}

async fn signup_form(
    req: HttpRequest,
    query: web::Query<ReturnTo>,
) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let return_to = safe_return_to(query.return_to.as_deref());
    Ok(render_signup(
        &req,
        &state,
        200,
        return_to.as_deref().unwrap_or(""),
        "",
        "",
        None,
    )
    .await)
}

#[derive(Deserialize)]
struct SignupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
    return_to: Option<String>,
}

async fn signup_submit(
    req: HttpRequest,
    body: PageBody<SCREEN_FORM>,
) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let form: SignupForm = parse_form(&body.0)?;
    fields::check(&[
        (Field::Email, &form.email),
        (Field::Password, &form.password),
        (Field::Name, &form.name),
    ])?;
    check_form(&req, &state, &form.csrf_token)?;
    let return_to = safe_return_to(form.return_to.as_deref());
    let rt = return_to.as_deref().unwrap_or("");
    let started = std::time::Instant::now();
    let signed_up = match email_password::sign_up(
        &state,
        &client_info(&req).ip.unwrap_or_default(),
        &form.email,
        &form.password,
        &form.name,
    )
    .await
    {
        Ok(s) => s,
        Err(e) if e.status < 500 => {
            return Ok(render_signup(
                &req,
                &state,
                e.status,
                rt,
                form.name.trim(),
                form.email.trim(),
                Some(&e.message),
            )
            .await);
        }
        Err(e) => return Err(api_to_page(e)),
    };
    match signed_up {
        email_password::SignedUp::Created(user) => {
            let res = signed_in_redirect(&req, &state, user, return_to.as_deref(), true).await;
            crate::login::pace::SIGN_UP.heavy(started);
            res
        }
        // The same answer as a new account's (its owner was told by mail): on
        // with a cookie that opens nothing.
        email_password::SignedUp::AddressTaken(_) => {
            crate::login::pace::SIGN_UP.light(started).await;
            let mut res = see_other(return_to.as_deref().unwrap_or("/"));
            res.add_cookie(&cookies::session(
                &state.settings,
                crate::tokens::opaque::new_secret(),
            ))
            .map_err(|_| PageError::bad_request("cookie"))?;
            Ok(res)
        }
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf_token: String,
}

async fn logout(req: HttpRequest, body: PageBody<SCREEN_FORM>) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let form: LogoutForm = parse_form(&body.0)?;
    check_form(&req, &state, &form.csrf_token)?;
    if let Some(token) = session_token(&req, &state) {
        session::end(&state, &token).await?;
    }
    let mut res = see_other("/login");
    res.add_cookie(&cookies::clear_session(&state.settings))
        .map_err(|_| PageError::bad_request("cookie"))?;
    Ok(res)
}

#[derive(Deserialize)]
struct ResetQuery {
    #[serde(default)]
    token: String,
}

fn render_reset(
    req: &HttpRequest,
    state: &AppState,
    status: u16,
    token: &str,
    error: Option<&str>,
) -> HttpResponse {
    let (csrf, cookie) = csrf_token(req, state);
    html(
        status,
        pages::render(&pages::Reset {
            csrf_token: &csrf,
            token,
            error,
        }),
        cookie,
    )
}

/// The page the reset mail links to.
async fn reset_form(
    req: HttpRequest,
    q: web::Query<ResetQuery>,
) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    Ok(render_reset(&req, &state, 200, &q.token, None))
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
}

async fn reset_submit(
    req: HttpRequest,
    body: PageBody<SCREEN_FORM>,
) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let form: ResetForm = parse_form(&body.0)?;
    fields::check(&[
        (Field::Token, &form.token),
        (Field::Password, &form.password),
    ])?;
    check_form(&req, &state, &form.csrf_token)?;
    match crate::login::password_reset::reset(&state, &form.token, &form.password).await {
        Ok(()) => Ok(html(
            200,
            pages::render(&pages::Message {
                title: "Password changed",
                message: "Your password is changed and you are signed out everywhere. Sign in with the new password.",
            }),
            None,
        )),
        Err(e) if e.status < 500 => Ok(render_reset(
            &req,
            &state,
            e.status,
            &form.token,
            Some(&e.message),
        )),
        Err(e) => Err(api_to_page(e)),
    }
}

async fn magic_form(
    req: HttpRequest,
    query: web::Query<ReturnTo>,
) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let return_to = safe_return_to(query.return_to.as_deref()).unwrap_or_default();
    let (csrf, cookie) = csrf_token(&req, &state);
    let page = pages::MagicLink {
        csrf_token: &csrf,
        return_to: &return_to,
        return_query: pages::return_query(&return_to),
    };
    Ok(html(200, pages::render(&page), cookie))
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    csrf_token: String,
    return_to: Option<String>,
}

/// Limits a mail-sending form by address and account, answering with a page.
fn limit_page(
    req: &HttpRequest,
    state: &AppState,
    family: crate::ratelimit::Family,
    email: &str,
) -> Result<(), PageError> {
    let ip = client_info(req).ip.unwrap_or_default();
    Ok(state.limit(
        family,
        &[
            crate::ratelimit::ip_key(&ip),
            crate::ratelimit::account_key(email),
        ],
    )?)
}

/// The same page whether or not the address has an account.
fn check_your_mail() -> HttpResponse {
    let page = pages::Message {
        title: "Check your email",
        message: "If the address can sign in here, a link is on its way.",
    };
    html(200, pages::render(&page), None)
}

async fn magic_submit(
    req: HttpRequest,
    body: PageBody<SCREEN_FORM>,
) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let form: EmailForm = parse_form(&body.0)?;
    fields::check(&[(Field::Email, &form.email)])?;
    check_form(&req, &state, &form.csrf_token)?;
    limit_page(
        &req,
        &state,
        crate::ratelimit::Family::MagicLink,
        &form.email,
    )?;
    crate::login::magic_link::request(&state, &form.email, form.return_to.as_deref()).await?;
    Ok(check_your_mail())
}

async fn forgot_form(req: HttpRequest) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let (csrf, cookie) = csrf_token(&req, &state);
    Ok(html(
        200,
        pages::render(&pages::Forgot { csrf_token: &csrf }),
        cookie,
    ))
}

async fn forgot_submit(
    req: HttpRequest,
    body: PageBody<SCREEN_FORM>,
) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let form: EmailForm = parse_form(&body.0)?;
    fields::check(&[(Field::Email, &form.email)])?;
    check_form(&req, &state, &form.csrf_token)?;
    limit_page(&req, &state, crate::ratelimit::Family::Mail, &form.email)?;
    crate::login::password_reset::request(&state, &form.email).await?;
    Ok(check_your_mail())
}

/// `/login/2fa?return_to=…`: where a sign-in that owes a second factor goes.
pub(crate) fn second_factor_path(return_to: &str) -> String {
    format!(
        "/login/2fa{}",
        pages::return_query(safe_return_to(Some(return_to)).as_deref().unwrap_or(""))
    )
}

async fn render_second_factor(
    req: &HttpRequest,
    state: &AppState,
    status: u16,
    return_to: &str,
    error: Option<&str>,
) -> HttpResponse {
    let (csrf, cookie) = csrf_token(req, state);
    let page = pages::SecondFactor {
        csrf_token: &csrf,
        return_to,
        error,
    };
    leading_to(state, return_to, html(status, pages::render(&page), cookie)).await
}

/// The session behind the cookie, pending or full (step-up).
async fn any_session(
    req: &HttpRequest,
    state: &AppState,
) -> Result<Option<std::sync::Arc<session::SessionInfo>>, PageError> {
    match session_token(req, state) {
        Some(t) => Ok(session::lookup_any(state, &t).await?),
        None => Ok(None),
    }
}

/// `GET /login/2fa`: asks for a TOTP or backup code.
async fn second_factor_form(
    req: HttpRequest,
    query: web::Query<ReturnTo>,
) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let return_to = safe_return_to(query.return_to.as_deref());
    if any_session(&req, &state).await?.is_none() {
        return Ok(see_other(&format!(
            "/login{}",
            pages::return_query(return_to.as_deref().unwrap_or(""))
        )));
    }
    Ok(render_second_factor(&req, &state, 200, return_to.as_deref().unwrap_or(""), None).await)
}

#[derive(Deserialize)]
struct SecondFactorForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf_token: String,
    return_to: Option<String>,
}

/// `POST /login/2fa`: a valid code completes the sign-in (or the step-up).
async fn second_factor_submit(
    req: HttpRequest,
    body: PageBody<SCREEN_FORM>,
) -> Result<HttpResponse, PageError> {
    let state = app_state(&req)?;
    let form: SecondFactorForm = parse_form(&body.0)?;
    fields::check(&[(Field::Code, &form.code)])?;
    check_form(&req, &state, &form.csrf_token)?;
    let return_to = safe_return_to(form.return_to.as_deref());
    let rt = return_to.as_deref().unwrap_or("");
    let Some(info) = any_session(&req, &state).await? else {
        return Ok(see_other(&format!("/login{}", pages::return_query(rt))));
    };
    let ip = client_info(&req).ip.unwrap_or_default();
    match two_factor::check_code(&state, &info.user, &ip, &form.code).await {
        Ok(method) => {
            let Some((token, _)) =
                session::elevate(&state, &info, two_factor::amr_of(method)).await?
            else {
                return Ok(see_other(&format!("/login{}", pages::return_query(rt))));
            };
            let mut res = see_other(return_to.as_deref().unwrap_or("/"));
            res.add_cookie(&cookies::session(&state.settings, token))
                .map_err(|_| PageError::bad_request("cookie"))?;
            Ok(res)
        }
        Err(e) if e.status < 500 => {
            Ok(render_second_factor(&req, &state, e.status, rt, Some(&e.message)).await)
        }
        Err(e) => Err(api_to_page(e)),
    }
}
