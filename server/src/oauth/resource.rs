//! Resource indicators (RFC 8707): which audiences a token may carry.

use url::Url;

use crate::oauth::client::Client;

/// Two resource URIs name the same resource when they parse to the same URL
/// (`https://x` ≡ `https://x/`).
pub fn same(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (Url::parse(a), Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Maps requested resources to their canonical (configured) spelling, or
/// names the first one this client may not use (`invalid_target`).
pub fn resolve(
    requested: &[String],
    deployment: &[String],
    client: &Client,
) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for r in requested {
        // The configured spelling itself needs no parsing: configuration
        // already checked it is absolute and has no fragment.
        let canonical = match deployment.iter().find(|d| *d == r) {
            Some(exact) => exact,
            None => {
                let parsed = Url::parse(r)
                    .map_err(|_| format!("{r:?} is not an absolute URI (RFC 8707 §2)"))?;
                if parsed.fragment().is_some() {
                    return Err(format!("{r:?} must not contain a fragment (RFC 8707 §2)"));
                }
                deployment
                    .iter()
                    .find(|d| same(d, r))
                    .ok_or_else(|| format!("{r:?} is not a resource of this server"))?
            }
        };
        let allowed = client.metadata.resources.is_empty()
            || client.metadata.resources.iter().any(|c| same(c, canonical));
        if !allowed {
            return Err(format!("this client may not request tokens for {r:?}"));
        }
        if !out.contains(canonical) {
            out.push(canonical.clone());
        }
    }
    Ok(out)
}

/// Narrowing at the token endpoint: every resource asked for must be among
/// those granted.
pub fn narrow(requested: &[String], granted: &[String]) -> Result<Vec<String>, String> {
    if requested.is_empty() {
        return Ok(granted.to_vec());
    }
    let mut out = Vec::new();
    for r in requested {
        let g = granted
            .iter()
            .find(|g| same(g, r))
            .ok_or_else(|| format!("{r:?} was not granted"))?;
        if !out.contains(g) {
            out.push(g.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn trailing_slash_on_the_root_is_the_same_resource() {
        assert!(same("https://x.example", "https://x.example/"));
        assert!(!same("https://x.example/mcp", "https://x.example/mcp/"));
    }
}
