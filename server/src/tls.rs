//! TLS for the connections Portcullis opens itself. reqwest is built with
//! `rustls-no-provider`: a client built without a provider of its own and
//! without a process default panics, which is how the shipped binary used to
//! refuse every metadata-document client. So each outgoing client names ring
//! itself: the metadata fetcher through [`http_client_config`], lettre
//! through its `ring` feature (`mail`), sqlx through its `ring` TLS feature.
//! [`install_default`] is a second line for any library added later that
//! asks rustls for the process default.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// The crypto provider of every outgoing TLS connection.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes ring the process-wide default. Called first thing by every CLI
/// command; a second call (or a default installed by an embedding program)
/// is left as it is.
pub fn install_default() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client configuration on [`provider`] for public https servers: trust in
/// the public web's roots (webpki-roots, as lettre uses for SMTP) rather than
/// the host's CA files, since metadata documents may only live on public
/// addresses and a slim container image may have no CA files at all; speaking
/// HTTP/1.1 (small documents: no need for h2).
pub fn http_client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outgoing_http_client_needs_no_process_default() {
        // Nothing in the library's unit tests installs a default provider.
        let config = http_client_config().expect("TLS configuration");
        reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .no_proxy()
            .build()
            .expect("an HTTP client");
    }
}
