//! The sign-in screens (CONTRACT §5): home, sign-in, sign-up and sign-out.
//! Plain forms that work without JavaScript, 303 after every successful
//! POST, `return_to` only as a same-origin path.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::error::PageError;
use crate::http::extract::{
    CsrfForm, CurrentSession, client_info, client_ip, screen_form, session_token,
};
use crate::http::{cookies, pages};
use crate::login::assurance::PWD;
use crate::login::session::{self, SessionInfo};
use crate::login::{email_password, pace};
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
        .route("/static/css/portcullis.css", web::get().to(css))
        .route("/static/js/passkey.js", web::get().to(passkey_js));
}

const CSS: &str = include_str!("../../../../static/css/portcullis.css");

const PASSKEY_JS: &str = include_str!("../../../../static/js/passkey.js");

/// A static file, cacheable for an hour.
fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

async fn passkey_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", PASSKEY_JS)
}

async fn css() -> HttpResponse {
    asset("text/css; charset=utf-8", CSS)
}

#[derive(Deserialize, Default)]
struct ReturnTo {
    return_to: Option<String>,
    /// `login` forces the form even with a session (re-authentication).
    prompt: Option<String>,
}

async fn home(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentSession,
) -> Result<HttpResponse, PageError> {
    let Some(info) = current.0 else {
        return Ok(pages::see_other("/login"));
    };
    let org = match &info.session.active_organization_id {
        Some(id) => store::orgs::find(&state.db, id)
            .await?
            .map(|o| o.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let passkeys = store::passkeys::for_user(&state.db, &info.user.id)
        .await?
        .len();
    let two_factor = store::two_factors::is_enabled(&state.db, &info.user.id).await?;
    let (connections, connectable) =
        connections_of(&state, &info.user.id, &info.user.email).await?;
    Ok(pages::form(&req, &state, 200, |csrf| {
        pages::render(&pages::Home {
            name: &info.user.name,
            email: &info.user.email,
            organization: &org,
            csrf_token: csrf,
            passkeys,
            two_factor,
            connections: &connections,
            connectable: &connectable,
        })
    }))
}

/// The account's connected upstream accounts, and the providers it could
/// still connect.
async fn connections_of(
    state: &AppState,
    user_id: &crate::domain::ids::UserId,
    email: &str,
) -> Result<(Vec<pages::Connection>, Vec<pages::ProviderLink>), crate::error::Error> {
    let linked = store::identities::for_user(&state.db, user_id).await?;
    let providers = state.upstreams.providers.all();
    let name_of = |id: &str| {
        providers.iter().find(|p| p.id == id).map_or_else(
            || {
                if id.starts_with(crate::login::sso::PREFIX) {
                    "Single sign-on".to_string()
                } else {
                    id.to_string()
                }
            },
            |p| p.name.clone(),
        )
    };
    let connections = linked
        .iter()
        .map(|l| pages::Connection {
            provider: l.provider.clone(),
            name: name_of(&l.provider),
            email: l.email.clone().unwrap_or_default(),
        })
        .collect();
    let mut connectable: Vec<pages::ProviderLink> = providers
        .iter()
        .map(|p| pages::ProviderLink {
            id: p.id.clone(),
            name: p.name.clone(),
            href: String::new(),
        })
        .collect();
    // The organisation's SSO of the account's domain, connected only by
    // its owner, signed in (it links no existing account by address).
    if let Some(route) = crate::login::sso::route_for(state, email).await? {
        connectable.push(pages::ProviderLink {
            id: route.provider_id,
            name: format!("{} single sign-on", route.domain),
            href: String::new(),
        });
    }
    connectable.retain(|p| !linked.iter().any(|l| l.provider == p.id));
    Ok((connections, connectable))
}

/// "Continue with …" links for every enabled provider, leading back to
/// `return_to`.
fn provider_links(state: &AppState, return_to: &str) -> Vec<pages::ProviderLink> {
    state
        .upstreams
        .providers
        .all()
        .iter()
        .map(|p| {
            let href = crate::http::routes::social::sign_in_path(&p.id, Some(return_to));
            pages::ProviderLink {
                id: p.id.clone(),
                name: p.name.clone(),
                href,
            }
        })
        .collect()
}

/// The sign-in page, or with `name` the sign-up page: what was typed
/// (never the password) and why it was refused, the form leading back to
/// `return_to`.
async fn render_entry(
    req: &HttpRequest,
    state: &AppState,
    status: u16,
    return_to: &str,
    (name, email): (Option<&str>, &str),
    error: Option<&str>,
) -> HttpResponse {
    let return_query = pages::return_query(return_to);
    let providers = provider_links(state, return_to);
    let res = pages::form(req, state, status, |csrf_token| match name {
        None => pages::render(&pages::Login {
            csrf_token,
            return_to,
            return_query,
            email,
            error,
            providers: &providers,
        }),
        Some(name) => pages::render(&pages::Signup {
            csrf_token,
            return_to,
            return_query,
            name,
            email,
            error,
            providers: &providers,
        }),
    });
    pages::leading_to(state, return_to, res).await
}

async fn login_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ReturnTo>,
    current: CurrentSession,
) -> Result<HttpResponse, PageError> {
    let return_to = safe_return_to(query.return_to.as_deref());
    if current.0.is_some() && query.prompt.as_deref() != Some("login") {
        return Ok(pages::see_other(return_to.as_deref().unwrap_or("/")));
    }
    let return_to = return_to.as_deref().unwrap_or("");
    Ok(render_entry(&req, &state, 200, return_to, (None, ""), None).await)
}

/// The sign-in and the sign-up form (`name` only on sign-up).
#[derive(Deserialize)]
struct EntryForm {
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

screen_form!(EntryForm {
    email: Email,
    password: Password,
    name: Name
});

impl EntryForm {
    /// Where to go afterwards: a same-origin path only.
    fn return_to(&self) -> Option<String> {
        safe_return_to(self.return_to.as_deref())
    }
}

async fn login_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<EntryForm>,
) -> Result<HttpResponse, PageError> {
    let return_to = form.return_to();
    if let Some(route) = crate::login::sso::route_for(&state, &form.email).await? {
        return Ok(sso_hand_off(&route, return_to.as_deref().unwrap_or("")));
    }
    if form.password.is_empty() {
        let (rt, typed) = (
            return_to.as_deref().unwrap_or(""),
            (None, form.email.trim()),
        );
        return Ok(render_entry(&req, &state, 400, rt, typed, Some("Enter your password.")).await);
    }
    let signed_in =
        email_password::sign_in(&state, &client_ip(&req), &form.email, &form.password).await;
    let user = match signed_in {
        Ok(u) => u,
        Err(e) if matches!(e.status, 401 | 429) => {
            let (rt, typed) = (
                return_to.as_deref().unwrap_or(""),
                (None, form.email.trim()),
            );
            return Ok(render_entry(&req, &state, e.status, rt, typed, Some(&e.message)).await);
        }
        Err(e) => return Err(PageError::from_api(e)),
    };
    let signed_in = session::start(&state, user, &[PWD], client_info(&req)).await?;
    signed_in_redirect(&state, signed_in, return_to.as_deref())
}

/// The page that sends an address whose domain signs in through its
/// organisation's SSO on there (a link: the upstream is another site).
fn sso_hand_off(route: &crate::login::sso::SsoRoute, return_to: &str) -> HttpResponse {
    let href = crate::http::routes::social::sign_in_path(&route.provider_id, Some(return_to));
    let body = pages::render(&pages::Continue {
        title: "Single sign-on",
        message: &format!(
            "Addresses at {} sign in through their organisation's single sign-on.",
            route.domain
        ),
        href: &href,
        label: "Continue to single sign-on",
        back_href: "/login",
        back_label: "Use another address",
    });
    pages::html(200, body, None)
}

/// Sends the browser on (303) with the cookie of the password session just
/// started.
fn signed_in_redirect(
    state: &AppState,
    (token, info): (String, SessionInfo),
    return_to: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let to = return_to.unwrap_or("/");
    let res = if info.pending() {
        pages::see_other(&pages::second_factor_path(to))
    } else {
        pages::see_other(to)
    };
    pages::with_cookie(res, &cookies::session(&state.settings, token))
}

async fn signup_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ReturnTo>,
) -> Result<HttpResponse, PageError> {
    let return_to = safe_return_to(query.return_to.as_deref());
    let return_to = return_to.as_deref().unwrap_or("");
    Ok(render_entry(&req, &state, 200, return_to, (Some(""), ""), None).await)
}

async fn signup_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<EntryForm>,
) -> Result<HttpResponse, PageError> {
    let return_to = form.return_to();
    let rt = return_to.as_deref().unwrap_or("");
    let started = std::time::Instant::now();
    let ip = client_ip(&req);
    let signed_up =
        email_password::sign_up(&state, &ip, &form.email, &form.password, &form.name).await;
    let signed_up = match signed_up {
        Ok(s) => s,
        Err(e) if e.status < 500 => {
            let typed = (Some(form.name.trim()), form.email.trim());
            return Ok(render_entry(&req, &state, e.status, rt, typed, Some(&e.message)).await);
        }
        Err(e) => return Err(PageError::from_api(e)),
    };
    match signed_up {
        email_password::SignedUp::Created(user) => {
            // The creator's session (see `login::mailbox`).
            let res = session::start_after_sign_up(&state, user, &[PWD], client_info(&req))
                .await
                .map(|signed_in| signed_in_redirect(&state, signed_in, return_to.as_deref()));
            pace::SIGN_UP.heavy(started);
            res?
        }
        // The same answer as a new account's (its owner was told by mail): on
        // with a cookie that opens nothing.
        email_password::SignedUp::AddressTaken(_) => {
            pace::SIGN_UP.light(started).await;
            let res = pages::see_other(return_to.as_deref().unwrap_or("/"));
            let opens_nothing = crate::tokens::opaque::new_secret();
            pages::with_cookie(res, &cookies::session(&state.settings, opens_nothing))
        }
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf_token: String,
}

screen_form!(LogoutForm {});

async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    _: CsrfForm<LogoutForm>,
) -> Result<HttpResponse, PageError> {
    if let Some(token) = session_token(&req, &state) {
        session::end(&state, &token).await?;
    }
    let res = pages::see_other("/login");
    pages::with_cookie(res, &cookies::clear_session(&state.settings))
}
