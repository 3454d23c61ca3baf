//! The client's address, the one every rate limit and session row uses: the
//! peer's, unless the peer is a configured trusted proxy
//! (`PORTCULLIS_TRUSTED_PROXIES`); then the forwarding header is read from
//! the right, skipping trusted hops, and the first address not in a trusted
//! range is the client. Entries left of it were written by the client itself
//! and are never believed.

use std::net::IpAddr;

use actix_web::{HttpRequest, web};
use ipnet::IpNet;

use crate::config::ProxyHeader;
use crate::state::AppState;

/// The address of the client behind this request (`None` only when the
/// connection has no peer address, as in unit tests of handlers).
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Some(peer);
    };
    let settings = &state.settings;
    if settings.trusted_proxy_nets.is_empty() {
        return Some(peer);
    }
    let name = match settings.trusted_proxy_header {
        ProxyHeader::XForwardedFor => "x-forwarded-for",
        ProxyHeader::Forwarded => "forwarded",
    };
    // Several header lines form one list, in order. A line that is not text
    // counts as one hop nobody can read, so the walk stops there.
    let hops = req
        .headers()
        .get_all(name)
        .flat_map(|v| match v.to_str() {
            Ok(text) => text
                .split(',')
                .map(|e| hop(e, settings.trusted_proxy_header))
                .collect(),
            Err(_) => vec![None],
        })
        .collect::<Vec<_>>();
    Some(walk(peer, &hops, &settings.trusted_proxy_nets))
}

/// From the peer leftwards: while the address at hand is a trusted proxy,
/// believe the hop it reports. A hop that cannot be read (`unknown`, an
/// obfuscated identifier, garbage) ends the walk at the proxy that wrote it.
fn walk(peer: IpAddr, hops: &[Option<IpAddr>], trusted: &[IpNet]) -> IpAddr {
    let mut client = peer;
    for hop in hops.iter().rev() {
        if !trusted.iter().any(|n| n.contains(&client)) {
            break;
        }
        match hop {
            Some(ip) => client = *ip,
            None => break,
        }
    }
    client
}

/// One list entry of the header as an address.
fn hop(entry: &str, header: ProxyHeader) -> Option<IpAddr> {
    let value = match header {
        ProxyHeader::XForwardedFor => entry.trim(),
        // `for=192.0.2.60;proto=http;by=203.0.113.43`, `for="[2001:db8::17]:4711"`
        ProxyHeader::Forwarded => entry.split(';').find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            k.trim().eq_ignore_ascii_case("for").then_some(v.trim())
        })?,
    };
    address(value.trim_matches('"'))
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:4711`.
fn address(value: &str) -> Option<IpAddr> {
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = value.strip_prefix('[') {
        let (ip, _port) = rest.split_once(']')?;
        return ip.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    }
    let (ip, port) = value.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(peer: &str, header: &str, trusted: &[&str]) -> IpAddr {
        let hops: Vec<_> = header
            .split(',')
            .map(|e| hop(e, ProxyHeader::XForwardedFor))
            .collect();
        walk(ip(peer), &hops, &nets(trusted))
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(
            xff("203.0.113.9", "198.51.100.1", &["10.0.0.0/8"]),
            ip("203.0.113.9")
        );
        assert_eq!(xff("203.0.113.9", "198.51.100.1", &[]), ip("203.0.113.9"));
    }

    #[test]
    fn the_walk_skips_trusted_hops_from_the_right() {
        // The client wrote "1.1.1.1" itself; the two proxies appended the rest.
        let header = "1.1.1.1, 198.51.100.7, 10.0.0.5";
        assert_eq!(xff("10.0.0.2", header, &["10.0.0.0/8"]), ip("198.51.100.7"));
        // Everything trusted: the leftmost address is the client.
        assert_eq!(
            xff("10.0.0.2", "10.1.1.1, 10.0.0.5", &["10.0.0.0/8"]),
            ip("10.1.1.1")
        );
        // Unreadable hop: stop at the proxy that wrote it.
        assert_eq!(
            xff("10.0.0.2", "1.1.1.1, unknown", &["10.0.0.0/8"]),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn forwarded_elements_are_read_like_rfc_7239_writes_them() {
        let hops: Vec<_> = r#"for=192.0.2.43:47011, For="[2001:db8:cafe::17]:4711";proto=https, for=_hidden, by=10.0.0.1"#
            .split(',')
            .map(|e| hop(e, ProxyHeader::Forwarded))
            .collect();
        assert_eq!(
            hops,
            vec![
                Some(ip("192.0.2.43")),
                Some(ip("2001:db8:cafe::17")),
                None,
                None
            ]
        );
        let hops = [Some(ip("192.0.2.43")), Some(ip("2001:db8:cafe::17"))];
        assert_eq!(
            walk(ip("10.0.0.2"), &hops, &nets(&["10.0.0.0/8"])),
            ip("2001:db8:cafe::17")
        );
    }

    #[test]
    fn mapped_ipv4_addresses_are_ipv4() {
        assert_eq!(address("::ffff:192.0.2.1"), Some(ip("192.0.2.1")));
        assert_eq!(address("[::ffff:192.0.2.1]:80"), Some(ip("192.0.2.1")));
        assert_eq!(address("192.0.2.1:x"), None);
    }
}
