//! The WebAuthn relying party, built once from the issuer: its RP ID and
//! origin come from the issuer, so an issuer on an IP address has no passkeys.

use webauthn_rs::prelude::{Url, Webauthn, WebauthnBuilder};

use crate::error::ApiError;

/// The relying party, when the issuer has a domain name.
pub struct RelyingParty(Option<Webauthn>);

impl RelyingParty {
    pub fn from_issuer(issuer: &str) -> Self {
        let built = Url::parse(issuer).ok().and_then(|origin| {
            let rp_id = origin.domain()?.to_string();
            WebauthnBuilder::new(&rp_id, &origin)
                .ok()?
                .rp_name("Portcullis")
                .build()
                .ok()
        });
        if built.is_none() {
            tracing::warn!(
                issuer,
                "passkeys are off: the issuer has no domain name to be the RP ID"
            );
        }
        RelyingParty(built)
    }

    pub(super) fn get(&self) -> Result<&Webauthn, ApiError> {
        self.0.as_ref().ok_or_else(|| {
            ApiError::new(
                501,
                "PASSKEYS_UNAVAILABLE",
                "Passkeys need the issuer to be served under a domain name.",
            )
        })
    }
}
