//! Which IP addresses a server-side fetch of a URL someone else chose may
//! reach: public unicast only (SSRF).

use std::net::IpAddr;

/// Addresses a server-side fetch must never reach.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // CGNAT, RFC 6598
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19)) // benchmarking
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
                || (o[0] == 192 && o[1] == 88 && o[2] == 99) // 6to4 relay anycast, RFC 7526
                || (o[0] == 192 && o[1] == 31 && o[2] == 196) // AS112, RFC 7535
                || (o[0] == 192 && o[1] == 52 && o[2] == 193) // AMT, RFC 7450
                || (o[0] == 192 && o[1] == 175 && o[2] == 48) // AS112 direct delegation, RFC 7534
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            // Forms that carry an IPv4 address inside: IPv4-compatible
            // (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), NAT64
            // (64:ff9b::/96) and 6to4 (2002::/16).
            let embedded = |hi: u16, lo: u16| {
                IpAddr::V4(std::net::Ipv4Addr::from(((hi as u32) << 16) | lo as u32))
            };
            if s[..6] == [0; 6]
                || s[..6] == [0, 0, 0, 0, 0xffff, 0]
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4])
            {
                return is_public(embedded(s[6], s[7]));
            }
            if s[0] == 0x2002 {
                return is_public(embedded(s[1], s[2]));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated, still routed inside some networks)
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64, RFC 8215
                || (s[0] == 0x100 && s[1..4] == [0; 3]) // discard-only, RFC 6666
                || (s[0] == 0x2001 && s[1] < 0x200) // IETF protocol assignments: Teredo, benchmarking, ORCHID
                || (s[0] == 0x2001 && s[1] == 0xdb8) // documentation
                || (s[0] & 0xfff0) == 0x3ff0) // documentation, RFC 9637
        }
    }
}
