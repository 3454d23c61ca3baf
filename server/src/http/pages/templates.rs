//! The screens' templates (askama: compile-time checked, auto-escaped).

use askama::Template;

#[derive(Template)]
#[template(path = "login.html")]
pub struct Login<'a> {
    pub csrf_token: &'a str,
    pub return_to: &'a str,
    pub return_query: String,
    pub email: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "signup.html")]
pub struct Signup<'a> {
    pub csrf_token: &'a str,
    pub return_to: &'a str,
    pub return_query: String,
    pub name: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct Home<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub organization: &'a str,
    pub csrf_token: &'a str,
    pub passkeys: usize,
    pub two_factor: bool,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct Consent<'a> {
    /// Cleaned for display; quoted on the page unless `verified`.
    pub client_name: &'a str,
    /// The host the answer is sent to; `None` on the device flow.
    pub destination: Option<&'a str>,
    /// Created by an administrator; otherwise it described itself.
    pub verified: bool,
    /// The host that served a metadata-document client's description.
    pub published_by: Option<&'a str>,
    /// Who did not verify a self-described client (the issuer).
    pub issuer: &'a str,
    pub email: &'a str,
    pub scopes: Vec<String>,
    pub resources: &'a [String],
    /// The form's target and the hidden field naming the request.
    pub action: &'a str,
    pub id_field: &'a str,
    pub id_value: &'a str,
    pub csrf_token: &'a str,
    /// The device's user code, for the person to compare (device flow).
    pub user_code: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "device.html")]
pub struct DeviceEntry<'a> {
    pub csrf_token: &'a str,
    pub user_code: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct Message<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutConfirm<'a> {
    pub csrf_token: &'a str,
    /// Someone is signed in here (otherwise there is only the way back).
    pub signed_in: bool,
    /// The host the browser goes to afterwards, if any.
    pub destination: Option<&'a str>,
    pub client_id: &'a str,
    pub post_logout_redirect_uri: &'a str,
    pub state: &'a str,
}

#[derive(Template)]
#[template(path = "reset.html")]
pub struct Reset<'a> {
    pub csrf_token: &'a str,
    pub token: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "magic.html")]
pub struct MagicLink<'a> {
    pub csrf_token: &'a str,
    pub return_to: &'a str,
    pub return_query: String,
}

#[derive(Template)]
#[template(path = "forgot.html")]
pub struct Forgot<'a> {
    pub csrf_token: &'a str,
}

#[derive(Template)]
#[template(path = "second_factor.html")]
pub struct SecondFactor<'a> {
    pub csrf_token: &'a str,
    pub return_to: &'a str,
    pub error: Option<&'a str>,
}

/// The page a state-changing mail link opens: it names the account and
/// changes nothing until its button is pressed (a POST with a CSRF token).
#[derive(Template)]
#[template(path = "confirm_link.html")]
pub struct ConfirmLink<'a> {
    pub title: &'a str,
    pub lead: &'a str,
    pub account: &'a str,
    pub notes: Vec<&'a str>,
    pub action: &'a str,
    pub token: &'a str,
    pub return_to: &'a str,
    pub button: &'a str,
    pub csrf_token: &'a str,
}
