//! How strongly a session was authenticated: RFC 8176 `amr` values, and the
//! `acr` (authentication context class) a client may ask for with
//! `acr_values`.
//!
//! | acr | satisfied by |
//! |---|---|
//! | `1` | any sign-in (password, magic link, one factor) |
//! | `2`, or PAPE's multi-factor URI | two factors: password or link + TOTP, or a user-verified passkey |
//! | `phr` (OpenID EAP ACR values) | a passkey: phishing-resistant |
//!
//! The numeric levels follow Keycloak's convention; the URI is the one most
//! relying parties already send for step-up.

pub use crate::domain::amr::Amr;

/// A password (RFC 8176).
pub const PWD: Amr = Amr::Pwd;
/// A one-time code: TOTP, a backup code, or a mailed link.
pub const OTP: Amr = Amr::Otp;
/// Proof of possession of a hardware-bound key (a device-bound passkey).
pub const HWK: Amr = Amr::Hwk;
/// Proof of possession of a software-secured key (a synced passkey).
pub const SWK: Amr = Amr::Swk;
/// More than one factor.
pub const MFA: Amr = Amr::Mfa;

pub const ACR_SINGLE: &str = "1";
pub const ACR_MULTI: &str = "2";
pub const ACR_PAPE_MULTI: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
pub const ACR_PHISHING_RESISTANT: &str = "phr";

/// Advertised as `acr_values_supported`.
pub const ACR_VALUES: [&str; 4] = [
    ACR_SINGLE,
    ACR_MULTI,
    ACR_PAPE_MULTI,
    ACR_PHISHING_RESISTANT,
];

/// Whether a session with these `amr` values satisfies `acr`.
pub fn satisfies(amr: &[Amr], acr: &str) -> bool {
    let has = |m: Amr| amr.contains(&m);
    match acr {
        ACR_SINGLE => true,
        ACR_MULTI | ACR_PAPE_MULTI => has(MFA),
        ACR_PHISHING_RESISTANT => has(HWK) || has(SWK),
        _ => false,
    }
}

/// Whether any of the space-separated `acr_values` asks for more than one factor.
pub fn wants_multi_factor(acr_values: Option<&str>) -> bool {
    acr_values
        .unwrap_or("")
        .split(' ')
        .any(|v| matches!(v, ACR_MULTI | ACR_PAPE_MULTI))
}

/// The `acr` claim: the first requested value the session satisfies (OIDC
/// Core §3.1.2.1 treats `acr_values` as preferences, in order), else the
/// strongest level it reaches.
pub fn acr(amr: &[Amr], acr_values: Option<&str>) -> String {
    acr_values
        .unwrap_or("")
        .split(' ')
        .find(|v| ACR_VALUES.contains(v) && satisfies(amr, v))
        .map(str::to_string)
        .unwrap_or_else(|| {
            if satisfies(amr, ACR_MULTI) {
                ACR_MULTI
            } else {
                ACR_SINGLE
            }
            .to_string()
        })
}

/// The `amr` after a second factor: the first factor's methods, the new one,
/// and `mfa`, without repeats.
pub fn add_factor(amr: &[Amr], method: Amr) -> Vec<Amr> {
    let mut out = amr.to_vec();
    for m in [method, MFA] {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

/// The `amr` of a sign-in through an upstream: `fed`, and `mfa` when the
/// upstream reported more than one factor and is trusted to (`trust_mfa`).
pub fn federated(upstream_mfa: bool) -> Vec<Amr> {
    if upstream_mfa {
        vec![Amr::Fed, MFA]
    } else {
        vec![Amr::Fed]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: &[&str]) -> Vec<Amr> {
        let amr = Amr::parse_all(x);
        assert_eq!(amr.len(), x.len());
        amr
    }

    #[test]
    fn levels() {
        assert_eq!(acr(&v(&["pwd"]), None), "1");
        assert_eq!(acr(&v(&["pwd", "otp", "mfa"]), None), "2");
        assert_eq!(acr(&v(&["pwd"]), Some(ACR_PAPE_MULTI)), "1");
        assert_eq!(
            acr(&v(&["pwd", "otp", "mfa"]), Some(ACR_PAPE_MULTI)),
            ACR_PAPE_MULTI
        );
        assert_eq!(acr(&v(&["hwk", "mfa"]), Some("phr 2")), "phr");
        assert_eq!(acr(&v(&["pwd", "otp", "mfa"]), Some("phr 2")), "2");
        assert!(wants_multi_factor(Some("phr 2")));
        assert!(!wants_multi_factor(Some("1 phr")));
        assert_eq!(add_factor(&v(&["otp"]), OTP), v(&["otp", "mfa"]));
        assert_eq!(add_factor(&v(&["pwd"]), OTP), v(&["pwd", "otp", "mfa"]));
    }
}
