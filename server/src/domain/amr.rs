//! Authentication method references (RFC 8176 §2): how a person proved who
//! they are. Sessions, codes, refresh tokens and device authorizations store
//! them as a JSON array of these strings, and ID tokens carry the same array
//! as the `amr` claim (OIDC Core §2), so the wire strings are the registry's.

use serde::{Deserialize, Serialize};

/// One registered `amr` value (RFC 8176 §2); the wire form is the lowercase
/// variant name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Amr {
    /// Biometric authentication using facial recognition.
    Face,
    /// Biometric authentication using a fingerprint.
    Fpt,
    /// Use of geolocation information.
    Geo,
    /// Proof of possession of a hardware-secured key (a device-bound passkey).
    Hwk,
    /// Biometric authentication using an iris scan.
    Iris,
    /// Knowledge-based authentication.
    Kba,
    /// Multiple-channel authentication.
    Mca,
    /// More than one factor.
    Mfa,
    /// A one-time password: TOTP, a backup code, or a mailed link or code.
    Otp,
    /// A personal identification number.
    Pin,
    /// A password.
    Pwd,
    /// Risk-based authentication.
    Rba,
    /// Biometric authentication using a retina scan.
    Retina,
    /// A smart card.
    Sc,
    /// Confirmation by text message.
    Sms,
    /// Proof of possession of a software-secured key (a synced passkey).
    Swk,
    /// Confirmation by telephone call.
    Tel,
    /// User presence test.
    User,
    /// Biometric authentication using a voiceprint.
    Vbm,
    /// Windows integrated authentication.
    Wia,
    /// A federated assertion: signed in through an upstream provider. Not in
    /// RFC 8176's registry; Microsoft's identity platform uses this value.
    Fed,
}

impl Amr {
    pub const ALL: [Amr; 21] = [
        Amr::Face,
        Amr::Fpt,
        Amr::Geo,
        Amr::Hwk,
        Amr::Iris,
        Amr::Kba,
        Amr::Mca,
        Amr::Mfa,
        Amr::Otp,
        Amr::Pin,
        Amr::Pwd,
        Amr::Rba,
        Amr::Retina,
        Amr::Sc,
        Amr::Sms,
        Amr::Swk,
        Amr::Tel,
        Amr::User,
        Amr::Vbm,
        Amr::Wia,
        Amr::Fed,
    ];

    /// The registered string.
    pub fn as_str(self) -> &'static str {
        match self {
            Amr::Face => "face",
            Amr::Fpt => "fpt",
            Amr::Geo => "geo",
            Amr::Hwk => "hwk",
            Amr::Iris => "iris",
            Amr::Kba => "kba",
            Amr::Mca => "mca",
            Amr::Mfa => "mfa",
            Amr::Otp => "otp",
            Amr::Pin => "pin",
            Amr::Pwd => "pwd",
            Amr::Rba => "rba",
            Amr::Retina => "retina",
            Amr::Sc => "sc",
            Amr::Sms => "sms",
            Amr::Swk => "swk",
            Amr::Tel => "tel",
            Amr::User => "user",
            Amr::Vbm => "vbm",
            Amr::Wia => "wia",
            Amr::Fed => "fed",
        }
    }

    /// A registered value, or `None`.
    pub fn parse(s: &str) -> Option<Amr> {
        Amr::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The registered values among `values`, in order (we only ever store
    /// registered ones).
    pub fn parse_all<S: AsRef<str>>(values: &[S]) -> Vec<Amr> {
        values
            .iter()
            .filter_map(|v| Amr::parse(v.as_ref()))
            .collect()
    }

    /// A stored `amr` column: a JSON array of strings (empty if unreadable).
    pub fn from_json(stored: &str) -> Vec<Amr> {
        let values: Vec<String> = serde_json::from_str(stored).unwrap_or_default();
        Amr::parse_all(&values)
    }

    /// The stored form of `amr`: a JSON array of its strings.
    pub fn to_json(amr: &[Amr]) -> String {
        serde_json::to_string(amr).unwrap_or_else(|_| "[]".into())
    }
}

impl std::fmt::Display for Amr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_strings_round_trip() {
        for a in Amr::ALL {
            assert_eq!(Amr::parse(a.as_str()), Some(a));
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{a}\""));
        }
        assert_eq!(Amr::parse("PWD"), None);
    }

    #[test]
    fn stored_form_is_unchanged() {
        let amr = [Amr::Pwd, Amr::Otp, Amr::Mfa];
        let old = serde_json::to_string(&["pwd", "otp", "mfa"]).unwrap();
        assert_eq!(Amr::to_json(&amr), old);
        assert_eq!(Amr::from_json(&old), amr);
        assert_eq!(Amr::to_json(&[]), "[]");
        assert_eq!(Amr::from_json("not json"), vec![]);
    }
}
