//! The JWS algorithms we sign with (RFC 7518 §3.1 names), as stored in
//! `signing_keys.alg` and written in JWK and JWS headers.

/// JWS algorithms we sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Alg {
    Es256,
    Rs256,
    EdDsa,
}

impl Alg {
    pub const ALL: [Alg; 3] = [Alg::Es256, Alg::Rs256, Alg::EdDsa];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::Rs256 => "RS256",
            Alg::EdDsa => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == s)
    }
}
