//! The `openidconnect` crate as a relying party: an HTTP adapter over reqwest,
//! and discovery against a test server.

use std::pin::Pin;

use openidconnect::core::CoreProviderMetadata;
use openidconnect::{HttpRequest, HttpResponse, IssuerUrl};

use crate::harness::TestServer;

/// One request of openidconnect's async HTTP client contract.
pub type Fetch = Pin<Box<dyn Future<Output = Result<HttpResponse, reqwest::Error>> + Send>>;

/// openidconnect's async HTTP client contract, served by reqwest 0.13.
pub fn http_client(client: reqwest::Client) -> impl Fn(HttpRequest) -> Fetch {
    move |req: HttpRequest| {
        let client = client.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let mut builder = client
                .request(parts.method, parts.uri.to_string())
                .body(body);
            for (name, value) in &parts.headers {
                builder = builder.header(name, value);
            }
            let res = builder.send().await?;
            let mut out = openidconnect::http::Response::builder().status(res.status());
            for (name, value) in res.headers() {
                out = out.header(name, value);
            }
            let body = res.bytes().await?.to_vec();
            Ok(out.body(body).expect("response"))
        })
    }
}

/// A relying party's HTTP client for `s`: no cookies, redirects not
/// followed, `localhost` pinned to the server.
pub fn http_for(s: &TestServer) -> impl Fn(HttpRequest) -> Fetch {
    http_client(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .resolve("localhost", s.addr)
            .build()
            .unwrap(),
    )
}

/// The provider metadata of `s`, discovered as a relying party does.
pub async fn discover(
    s: &TestServer,
    http: &impl Fn(HttpRequest) -> Fetch,
) -> CoreProviderMetadata {
    CoreProviderMetadata::discover_async(IssuerUrl::new(s.base.clone()).unwrap(), http)
        .await
        .unwrap()
}
