//! The `openidconnect` crate as a relying party: an HTTP adapter over reqwest.

use openidconnect::{HttpRequest, HttpResponse};

/// openidconnect's async HTTP client contract, served by reqwest 0.13.
pub fn http_client(
    client: reqwest::Client,
) -> impl Fn(
    HttpRequest,
) -> std::pin::Pin<Box<dyn Future<Output = Result<HttpResponse, reqwest::Error>> + Send>> {
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
