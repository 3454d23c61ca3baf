//! The screens' templates (askama: compile-time checked, auto-escaped).

use askama::Template;

/// `page!(Name = "file.html" { field: Type, … })`: a template whose fields
/// the handler lends it for `'a`.
macro_rules! page {
    ($(#[$doc:meta])* $name:ident = $path:tt { $($(#[$fdoc:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Template)]
        #[template(path = $path)]
        pub struct $name<'a> {
            $($(#[$fdoc])* pub $field: $ty,)*
        }
    };
}

/// A "Continue with …" button: an upstream provider's sign-in link.
pub struct ProviderLink {
    pub id: String,
    pub name: String,
    pub href: String,
}

/// A connected upstream account on the account page.
pub struct Connection {
    pub provider: String,
    pub name: String,
    pub email: String,
}

page!(Login = "login.html" {
    csrf_token: &'a str,
    return_to: &'a str,
    return_query: String,
    email: &'a str,
    error: Option<&'a str>,
    providers: &'a [ProviderLink],
});

page!(Signup = "signup.html" {
    csrf_token: &'a str,
    return_to: &'a str,
    return_query: String,
    name: &'a str,
    email: &'a str,
    error: Option<&'a str>,
    providers: &'a [ProviderLink],
});

page!(Home = "home.html" {
    name: &'a str,
    email: &'a str,
    organization: &'a str,
    csrf_token: &'a str,
    passkeys: usize,
    two_factor: bool,
    connections: &'a [Connection],
    /// Providers not connected yet.
    connectable: &'a [ProviderLink],
});

page!(Consent = "consent.html" {
    /// Cleaned for display; quoted on the page unless `verified`.
    client_name: &'a str,
    /// The host the answer is sent to; `None` on the device flow.
    destination: Option<&'a str>,
    /// Created by an administrator; otherwise it described itself.
    verified: bool,
    /// The host that served a metadata-document client's description.
    published_by: Option<&'a str>,
    /// Who did not verify a self-described client (the issuer).
    issuer: &'a str,
    email: &'a str,
    scopes: Vec<String>,
    resources: &'a [String],
    /// The form's target and the hidden field naming the request.
    action: &'a str,
    id_field: &'a str,
    id_value: &'a str,
    csrf_token: &'a str,
    /// The device's user code, for the person to compare (device flow).
    user_code: Option<&'a str>,
});

page!(DeviceEntry = "device.html" { csrf_token: &'a str, user_code: &'a str, error: Option<&'a str> });

page!(Message = "message.html" { title: &'a str, message: &'a str });

page!(LogoutConfirm = "logout.html" {
    csrf_token: &'a str,
    /// Someone is signed in here (otherwise there is only the way back).
    signed_in: bool,
    /// The host the browser goes to afterwards, if any.
    destination: Option<&'a str>,
    client_id: &'a str,
    post_logout_redirect_uri: &'a str,
    state: &'a str,
});

page!(Reset = "reset.html" { csrf_token: &'a str, token: &'a str, error: Option<&'a str> });

page!(MagicLink = "magic.html" { csrf_token: &'a str, return_to: &'a str, return_query: String });

page!(Forgot = "forgot.html" { csrf_token: &'a str });

page!(SecondFactor = "second_factor.html" { csrf_token: &'a str, return_to: &'a str, error: Option<&'a str> });

page!(
    /// The page a state-changing mail link opens: it names the account and
    /// changes nothing until its button is pressed (a POST with a CSRF token).
    ConfirmLink = "confirm_link.html" {
        title: &'a str,
        lead: &'a str,
        account: &'a str,
        notes: Vec<&'a str>,
        action: &'a str,
        token: &'a str,
        return_to: &'a str,
        button: &'a str,
        csrf_token: &'a str,
    }
);

page!(Continue = "continue.html" {
    title: &'a str,
    message: &'a str,
    href: &'a str,
    label: &'a str,
    /// The other way out.
    back_href: &'a str,
    back_label: &'a str,
});

page!(Transfer = "transfer.html" {
    provider: &'a str,
    /// The other account's address, masked.
    other_account: &'a str,
    transfer_token: &'a str,
    csrf_token: &'a str,
});
