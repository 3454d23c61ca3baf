//! Signing in through an upstream provider: GitHub (OAuth 2.0 and its API),
//! Google, Microsoft and any OpenID Connect provider (discovery, `nonce`,
//! PKCE), and organisations' SSO connections.
//!
//! ```text
//! sign-in/<id> ─► flow::start ─► upstream ─► callback/<id> ─► flow::finish
//!   (row: state hash, browser binding,          (row taken once, binding and
//!    nonce, PKCE verifier, return_to)            expiry checked, code redeemed,
//!                                                ID token verified)
//!                                                     │ UpstreamIdentity
//!                                                     ▼
//!                                              accounts::land: sign in, link,
//!                                              create, refuse or offer a transfer
//! ```
//! An address the upstream gives is trusted only when it says the address is
//! verified, and it is matched to an existing account only when that account's
//! address is verified too: an unverified address takes over nothing.

pub mod accounts;
pub mod flow;
pub mod github;
pub mod http;
pub mod microsoft;
pub mod notices;
pub mod oidc;
pub mod providers;

pub use providers::{Provider, Providers, Upstreams};

/// An address from an upstream, normalised; only ASCII ones are taken:
/// lowercasing folds some non-ASCII letters into ASCII ones (KELVIN SIGN into
/// `k`), which would match an upstream's address to another person's here.
pub fn upstream_email(raw: &str) -> Option<String> {
    if !raw.is_ascii() {
        return None;
    }
    crate::login::email::Email::parse(raw).map(|e| e.as_str().to_string())
}

/// Who the upstream says signed in.
#[derive(Debug, Clone)]
pub struct UpstreamIdentity {
    pub provider: String,
    /// The upstream's stable id for the account.
    pub subject: String,
    /// Normalised (lowercase) when present.
    pub email: Option<String>,
    /// Whether the upstream vouches for the address (see each protocol).
    pub email_verified: bool,
    pub name: Option<String>,
    /// The upstream's `amr` had `mfa` and this provider is trusted for it.
    pub mfa: bool,
}

/// Why a sign-in through an upstream ended without one: each is a readable
/// page with a way back (`http::routes::social`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    UnknownProvider,
    /// The person said no at the upstream.
    Denied,
    /// No, an unknown, a used or another browser's `state`.
    BadState,
    Expired,
    /// The upstream could not be reached in time, or failed.
    Unavailable(String),
    /// The upstream's answer failed a check (token, issuer, nonce, signature).
    Rejected(String),
    NoEmail,
    UnverifiedEmail,
    /// An account has this address; its owner must sign in and connect.
    SignInFirst,
    /// The signed-in user has another identity of this provider.
    ProviderAlreadyLinked,
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::UnknownProvider => 404,
            Refusal::Unavailable(_) => 502,
            Refusal::ProviderAlreadyLinked => 409,
            _ => 400,
        }
    }

    /// What the page says (never upstream detail beyond a short reason).
    pub fn message(&self, provider: &str) -> String {
        match self {
            Refusal::UnknownProvider => "There is no such sign-in provider here.".into(),
            Refusal::Denied => format!("Signing in with {provider} was cancelled."),
            Refusal::BadState => format!(
                "This sign-in with {provider} was not started in this browser, or was already used. Start again."
            ),
            Refusal::Expired => format!("This sign-in with {provider} took too long. Start again."),
            Refusal::Unavailable(_) => {
                format!("{provider} did not answer in time. Try again in a moment.")
            }
            Refusal::Rejected(_) => {
                format!("{provider}'s answer could not be verified. Start again.")
            }
            Refusal::NoEmail => format!(
                "{provider} did not share an email address, which a new account needs. Sign up with email instead."
            ),
            Refusal::UnverifiedEmail => format!(
                "{provider} has not verified your email address. Verify it there, or sign up with email and connect {provider} afterwards."
            ),
            Refusal::SignInFirst => format!(
                "An account with this email address exists. Sign in to it first, then connect {provider} from your account page."
            ),
            Refusal::ProviderAlreadyLinked => format!(
                "Your account is connected to another {provider} account. Disconnect it first."
            ),
        }
    }

    /// The first-party API's error code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::UnknownProvider => "PROVIDER_NOT_FOUND",
            Refusal::Denied => "ACCESS_DENIED",
            Refusal::BadState => "STATE_MISMATCH",
            Refusal::Expired => "EXPIRED",
            Refusal::Unavailable(_) => "UPSTREAM_UNAVAILABLE",
            Refusal::Rejected(_) => "UPSTREAM_REJECTED",
            Refusal::NoEmail => "EMAIL_MISSING",
            Refusal::UnverifiedEmail => "EMAIL_NOT_VERIFIED",
            Refusal::SignInFirst => "ACCOUNT_EXISTS",
            Refusal::ProviderAlreadyLinked => "PROVIDER_ALREADY_LINKED",
        }
    }
}

impl From<http::UpstreamError> for Refusal {
    fn from(e: http::UpstreamError) -> Self {
        tracing::warn!(error = %e, "upstream sign-in failed");
        match e {
            http::UpstreamError::Unavailable(why) => Refusal::Unavailable(why),
            http::UpstreamError::Invalid(why) => Refusal::Rejected(why),
        }
    }
}

/// A refusal to show, or an internal error (a 500).
#[derive(Debug)]
pub enum Failed {
    Refused(Refusal),
    Internal(crate::error::Error),
}

impl From<Refusal> for Failed {
    fn from(r: Refusal) -> Self {
        Failed::Refused(r)
    }
}

impl From<crate::error::Error> for Failed {
    fn from(e: crate::error::Error) -> Self {
        Failed::Internal(e)
    }
}

impl From<http::UpstreamError> for Failed {
    fn from(e: http::UpstreamError) -> Self {
        Failed::Refused(e.into())
    }
}
