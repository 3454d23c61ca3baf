//! The first-party API's answer bodies (CONTRACT §4; Better Auth's shapes),
//! shared by its resources' routes.

use actix_web::HttpResponse;
use serde_json::{Value, json};

use crate::account::profile::Profile;
use crate::http::cache_control::no_store;
use crate::http::cookies;
use crate::login::session::SessionInfo;
use crate::state::AppState;

/// Better Auth's success body for calls that answer nothing else.
pub fn status_ok() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": true }))
}

pub fn iso(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

pub fn user_json(u: &Profile) -> Value {
    json!({
        "id": u.id,
        "email": u.email,
        "name": u.name,
        "emailVerified": u.email_verified,
        "image": u.image,
        "createdAt": iso(u.created_at),
        "updatedAt": iso(u.updated_at),
    })
}

pub fn session_json(info: &SessionInfo) -> Value {
    let s = &info.session;
    json!({
        "session": {
            "id": s.id,
            "userId": s.user_id,
            "activeOrganizationId": s.active_organization_id,
            "expiresAt": iso(s.expires_at),
            "createdAt": iso(s.created_at),
            "updatedAt": iso(s.created_at),
            "ipAddress": s.ip,
            "userAgent": s.user_agent,
        },
        "user": user_json(&Profile::of(&info.user)),
    })
}

/// An uncached `200` with `body` that sets the session cookie to `token`.
pub fn with_session(state: &AppState, token: String, body: &Value) -> HttpResponse {
    no_store(&mut HttpResponse::Ok())
        .cookie(cookies::session(&state.settings, token))
        .json(body)
}

/// The answer to a successful sign-in: the session cookie and the user, or,
/// when a second factor is owed, Better Auth's `twoFactorRedirect`.
pub fn signed_in_response(state: &AppState, token: String, info: &SessionInfo) -> HttpResponse {
    signed_in_body(state, token, &Profile::of(&info.user), info.pending())
}

/// [`signed_in_response`] for a sign-up whose address had an account: the
/// same answer, with a stand-in user and a cookie that opens nothing.
pub fn stand_in_response(state: &AppState, stand_in: &Profile) -> HttpResponse {
    signed_in_body(state, crate::tokens::opaque::new_secret(), stand_in, false)
}

fn signed_in_body(state: &AppState, token: String, user: &Profile, pending: bool) -> HttpResponse {
    let body = if pending {
        json!({ "twoFactorRedirect": true })
    } else {
        json!({ "redirect": false, "token": null, "url": null, "user": user_json(user) })
    };
    with_session(state, token, &body)
}
