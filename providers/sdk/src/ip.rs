//! Address classification for the guarded client.
//!
//! One classifier decides for literal hosts, every resolved address and every redirect
//! hop, so the three checks cannot drift apart. It works from explicit range tables
//! (IANA's special-purpose registries, RFC 6890 and successors) rather than std's
//! `is_*` predicates: those miss CGNAT, benchmarking and reserved space, and treat
//! `::ffff:127.0.0.1` as neither loopback nor private.
//!
//! IPv6 forms that embed an IPv4 address (IPv4-mapped `::ffff:0:0/96`, IPv4-compatible
//! `::/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the embedded address:
//! public only when it is. Teredo (`2001::/32`) is refused outright: its client address
//! is obfuscated and its server is a relay, so no embedded address is worth trusting.
//! Outside those, IPv6 must be global unicast (`2000::/3`), which also refuses space
//! IANA has not assigned yet.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// What the classifier made of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Globally routable: the guarded client may connect.
    Public,
    /// Special-purpose space; the name of the range, for logs.
    NonPublic(&'static str),
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

const fn v6(segments: [u16; 8], len: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

/// IPv4 ranges that are never fetched. Order matters only for the reported name.
const V4_REFUSED: &[(Ipv4Net, &str)] = &[
    (v4(0, 0, 0, 0, 8), "unspecified (this network)"),
    (v4(10, 0, 0, 0, 8), "private (RFC 1918)"),
    (v4(100, 64, 0, 0, 10), "shared address space (CGNAT)"),
    (v4(127, 0, 0, 0, 8), "loopback"),
    (v4(169, 254, 0, 0, 16), "link-local (cloud metadata)"),
    (v4(172, 16, 0, 0, 12), "private (RFC 1918)"),
    (v4(192, 0, 0, 0, 24), "IETF protocol assignments"),
    (v4(192, 0, 2, 0, 24), "documentation"),
    (v4(192, 88, 99, 0, 24), "6to4 relay anycast (deprecated)"),
    (v4(192, 168, 0, 0, 16), "private (RFC 1918)"),
    (v4(198, 18, 0, 0, 15), "benchmarking"),
    (v4(198, 51, 100, 0, 24), "documentation"),
    (v4(203, 0, 113, 0, 24), "documentation"),
    (v4(224, 0, 0, 0, 4), "multicast"),
    (v4(255, 255, 255, 255, 32), "broadcast"),
    (v4(240, 0, 0, 0, 4), "reserved"),
];

/// IPv6 ranges refused outright (the IPv4-embedding forms are handled before these).
const V6_REFUSED: &[(Ipv6Net, &str)] = &[
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 128), "unspecified"),
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), "loopback"),
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), "local-use NAT64"),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), "discard-only"),
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32), "Teredo"),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), "documentation"),
    // The rest of 2001::/23 is benchmarking, ORCHID and anycast protocol services:
    // nothing a link preview needs.
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
        "IETF protocol assignments",
    ),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), "documentation"),
    (v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16), "SRv6 SIDs"),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), "unique local"),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), "link-local"),
    (
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
        "site-local (deprecated)",
    ),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), "multicast"),
];

const IPV4_MAPPED: Ipv6Net = v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96);
const IPV4_COMPATIBLE: Ipv6Net = v6([0, 0, 0, 0, 0, 0, 0, 0], 96);
const NAT64: Ipv6Net = v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);
const SIX_TO_FOUR: Ipv6Net = v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16);
const GLOBAL_UNICAST: Ipv6Net = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// Classifies `ip`; IPv6 forms embedding IPv4 are judged by the embedded address.
pub fn classify(ip: IpAddr) -> Verdict {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

/// Whether `ip` is globally routable.
pub fn is_public(ip: IpAddr) -> bool {
    classify(ip) == Verdict::Public
}

/// Whether the guarded client may connect to `ip`: public, or inside one of the
/// operator's `allow` networks (`UNFURL_FETCH_ALLOW`), the only exception there is.
///
/// The allow-list is matched against the address and its canonical form, so allowing
/// `127.0.0.1/32` also admits `::ffff:127.0.0.1`, which reaches the same socket.
pub fn permitted(ip: IpAddr, allow: &[IpNet]) -> bool {
    is_public(ip) || in_allow_list(ip, allow)
}

/// Whether `ip` (or its canonical form) is inside one of the `allow` networks.
pub fn in_allow_list(ip: IpAddr, allow: &[IpNet]) -> bool {
    let canonical = ip.to_canonical();
    allow
        .iter()
        .any(|net| net.contains(&ip) || net.contains(&canonical))
}

fn classify_v4(ip: Ipv4Addr) -> Verdict {
    V4_REFUSED
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map_or(Verdict::Public, |&(_, name)| Verdict::NonPublic(name))
}

fn classify_v6(ip: Ipv6Addr) -> Verdict {
    // `::` and `::1` sit inside the IPv4-compatible block; name them for what they are.
    if ip.is_unspecified() {
        return Verdict::NonPublic("unspecified");
    }
    if ip.is_loopback() {
        return Verdict::NonPublic("loopback");
    }
    if let Some(embedded) = embedded_v4(ip) {
        return classify_v4(embedded);
    }
    if let Some(&(_, name)) = V6_REFUSED.iter().find(|(net, _)| net.contains(&ip)) {
        return Verdict::NonPublic(name);
    }
    if !GLOBAL_UNICAST.contains(&ip) {
        return Verdict::NonPublic("not global unicast");
    }
    Verdict::Public
}

/// The IPv4 address carried by an IPv4-embedding IPv6 form, if `ip` is one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = ip.to_bits();
    if IPV4_MAPPED.contains(&ip) || IPV4_COMPATIBLE.contains(&ip) || NAT64.contains(&ip) {
        // The low 32 bits; truncation is the point.
        return Some(Ipv4Addr::from_bits(bits as u32));
    }
    if SIX_TO_FOUR.contains(&ip) {
        // 2002:AABB:CCDD::/48 carries AA.BB.CC.DD in bits 16..48.
        return Some(Ipv4Addr::from_bits((bits >> 80) as u32));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// Classifies the host of `url` the way the guarded client does: the parsed host.
    fn url_host(url: &str) -> IpAddr {
        let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        match parsed.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            other => panic!("{url}: not an IP host: {other:?}"),
        }
    }

    #[track_caller]
    fn assert_refused(addrs: &[&str]) {
        for a in addrs {
            assert!(
                !is_public(ip(a)),
                "{a} must be refused, got {:?}",
                classify(ip(a))
            );
            assert!(!permitted(ip(a), &[]), "{a} must not be permitted");
        }
    }

    #[test]
    fn public_addresses_are_public() {
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700::1111",
            "2a00:1450:4001:80e::200e",
            "::ffff:8.8.8.8",
            "::8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(classify(ip(a)), Verdict::Public, "{a}");
            assert!(permitted(ip(a), &[]), "{a}");
        }
    }

    #[test]
    fn loopback_and_unspecified_are_refused() {
        assert_refused(&[
            "127.0.0.1",
            "127.255.255.254",
            "::1",
            "0.0.0.0",
            "0.1.2.3",
            "::",
        ]);
    }

    #[test]
    fn private_shared_and_link_local_v4_are_refused() {
        assert_refused(&[
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "192.168.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "169.254.0.1",
            "169.254.169.254",
        ]);
    }

    #[test]
    fn benchmark_documentation_and_reserved_v4_are_refused() {
        assert_refused(&[
            "198.18.0.1",
            "198.19.255.255",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "192.0.0.8",
            "192.0.0.170",
            "240.0.0.1",
            "254.255.255.255",
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.250",
        ]);
    }

    #[test]
    fn special_v6_ranges_are_refused() {
        assert_refused(&[
            "fe80::1",
            "febf:ffff::1",
            "fc00::1",
            "fd12:3456:789a::1",
            "fec0::1",
            "ff02::1",
            "ff05::1:3",
            "2001:db8::1",
            "3fff::1",
            "100::1",
            "64:ff9b:1::1",
            "5f00::1",
            "2001:2::1",
            "4000::1",
            "::2:1:0:0:1",
        ]);
    }

    #[test]
    fn v6_forms_embedding_a_non_public_v4_are_refused() {
        assert_refused(&[
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::127.0.0.1",
            "::10.0.0.1",
            "::0.0.0.2",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2002:a00:1::1",
            "2002:a9fe:a9fe::1",
        ]);
    }

    #[test]
    fn teredo_is_refused_whatever_it_embeds() {
        // Server 8.8.8.8, client 8.8.8.8 (obfuscated): still refused.
        assert_refused(&["2001:0:808:808::f7f7:f7f7", "2001::1"]);
    }

    #[test]
    fn the_embedded_v4_is_what_gets_reported() {
        assert_eq!(
            classify(ip("::ffff:127.0.0.1")),
            Verdict::NonPublic("loopback")
        );
        assert_eq!(
            classify(ip("2002:a9fe:a9fe::")),
            Verdict::NonPublic("link-local (cloud metadata)")
        );
    }

    #[test]
    fn the_allow_list_is_the_only_exception() {
        let allow = [net("127.0.0.1/32"), net("fd00::/8")];
        assert!(permitted(ip("127.0.0.1"), &allow));
        assert!(permitted(ip("::ffff:127.0.0.1"), &allow));
        assert!(permitted(ip("fd00::5"), &allow));
        assert!(!permitted(ip("127.0.0.2"), &allow));
        assert!(!permitted(ip("::1"), &allow));
        assert!(!permitted(ip("10.0.0.1"), &allow));
        assert!(permitted(ip("8.8.8.8"), &allow));
    }

    #[test]
    fn url_spellings_of_loopback_normalise_to_a_refused_address() {
        for u in [
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://127.0.0.1./",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::1]/",
        ] {
            let host = url_host(u);
            assert_eq!(classify(host), Verdict::NonPublic("loopback"), "{u}");
        }
        assert_eq!(url_host("http://2130706433/"), ip("127.0.0.1"));
        assert_eq!(url_host("http://0x7f.1/"), ip("127.0.0.1"));
        assert_eq!(url_host("http://0177.0.0.1/"), ip("127.0.0.1"));
        assert_eq!(url_host("http://127.1/"), ip("127.0.0.1"));
    }

    #[test]
    fn url_spellings_of_unspecified_and_metadata_are_refused() {
        assert_eq!(url_host("http://0/"), ip("0.0.0.0"));
        for u in [
            "http://0/",
            "http://[::]/",
            "http://169.254.169.254/",
            "http://0xa9fea9fe/",
            "http://[fe80::1]/",
        ] {
            assert!(!is_public(url_host(u)), "{u}");
        }
    }
}
