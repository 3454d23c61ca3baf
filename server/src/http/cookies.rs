//! Cookie names and attributes. On an https issuer cookies are `Secure` and
//! `__Host-` prefixed (bound to this exact origin, path `/`).

use actix_web::cookie::{Cookie, SameSite, time::Duration};

use crate::config::Settings;

const SESSION: &str = "portcullis_session";
const CSRF: &str = "portcullis_csrf";

fn name(settings: &Settings, base: &'static str) -> String {
    if settings.issuer_is_https() {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

pub fn session_name(settings: &Settings) -> String {
    name(settings, SESSION)
}

pub fn csrf_name(settings: &Settings) -> String {
    name(settings, CSRF)
}

fn build(
    settings: &Settings,
    name: String,
    value: String,
    max_age: Option<i64>,
) -> Cookie<'static> {
    let mut c = Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.issuer_is_https())
        .finish();
    if let Some(secs) = max_age {
        c.set_max_age(Duration::seconds(secs));
    }
    c
}

pub fn session(settings: &Settings, token: String) -> Cookie<'static> {
    build(
        settings,
        session_name(settings),
        token,
        Some(settings.session.ttl),
    )
}

pub fn clear_session(settings: &Settings) -> Cookie<'static> {
    let mut c = build(settings, session_name(settings), String::new(), Some(0));
    c.make_removal();
    c
}

/// The double-submit CSRF cookie for forms shown before a session exists.
pub fn csrf(settings: &Settings, value: String) -> Cookie<'static> {
    build(settings, csrf_name(settings), value, None)
}

const UPSTREAM: &str = "portcullis_upstream";

pub fn upstream_name(settings: &Settings) -> String {
    name(settings, UPSTREAM)
}

/// Binds sign-ins started at an upstream provider to this browser (its hash
/// is stored with each attempt). `Lax`: the upstream sends the browser back
/// with a top-level GET.
pub fn upstream(settings: &Settings, value: String) -> Cookie<'static> {
    build(settings, upstream_name(settings), value, Some(3600))
}
