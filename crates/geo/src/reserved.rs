//! Special-purpose address ranges (IANA registries): private, loopback,
//! link-local, documentation, benchmarking, multicast and other reserved
//! space, and the IPv6 tunnelling prefixes (Teredo `2001::/32`, 6to4
//! `2002::/16`) that MaxMind databases alias to their IPv4 data. Real
//! databases never locate them; only custom lines can name them.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::RangeMap;

/// IPv4 special-purpose ranges `(first, last)`, sorted.
const RESERVED_V4: &[(u32, u32)] = &[
    v4(0, 0, 0, 0, 8),       // "this network"
    v4(10, 0, 0, 0, 8),      // private
    v4(100, 64, 0, 0, 10),   // shared address space (carrier-grade NAT)
    v4(127, 0, 0, 0, 8),     // loopback
    v4(169, 254, 0, 0, 16),  // link-local
    v4(172, 16, 0, 0, 12),   // private
    v4(192, 0, 0, 0, 24),    // IETF protocol assignments
    v4(192, 0, 2, 0, 24),    // documentation (TEST-NET-1)
    v4(192, 88, 99, 0, 24),  // deprecated 6to4 relay anycast
    v4(192, 168, 0, 0, 16),  // private
    v4(198, 18, 0, 0, 15),   // benchmarking
    v4(198, 51, 100, 0, 24), // documentation (TEST-NET-2)
    v4(203, 0, 113, 0, 24),  // documentation (TEST-NET-3)
    v4(224, 0, 0, 0, 4),     // multicast
    v4(240, 0, 0, 0, 4),     // reserved, limited broadcast
];

/// IPv6 special-purpose ranges, sorted.
const RESERVED_V6: &[(u128, u128)] = &[
    v6(0x0000, 8),       // ::/8: unspecified, loopback, IPv4-mapped, NAT64 64:ff9b::/96
    v6(0x0100_0000, 32), // discard-only 100::/64, whole /32 (rest unassigned)
    v6(0x2001_0000, 32), // Teredo: MaxMind databases alias it to IPv4
    v6(0x2001_0002, 32), // benchmarking 2001:2::/48, whole /32
    v6(0x2001_0db8, 32), // documentation
    v6(0x2002_0000, 16), // 6to4: MaxMind databases alias it to IPv4
    v6(0x3fff_0000, 20), // documentation (RFC 9637)
    v6(0x5f00_0000, 16), // SRv6 SIDs
    v6(0xfc00_0000, 7),  // unique local
    v6(0xfe80_0000, 10), // link-local
    v6(0xfec0_0000, 10), // deprecated site-local
    v6(0xff00_0000, 8),  // multicast
];

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u32) -> (u32, u32) {
    let start = u32::from_be_bytes([a, b, c, d]);
    (start, start | (u32::MAX >> len))
}

/// `top32` holds the first 32 bits of the prefix.
const fn v6(top32: u32, len: u32) -> (u128, u128) {
    let start = (top32 as u128) << 96;
    (start, start | (u128::MAX >> len))
}

/// Whether `ip` (after turning IPv4-mapped IPv6 into IPv4) is in a
/// special-purpose range that no geolocation database can place.
pub fn is_reserved(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let ip = u32::from(v4);
            RESERVED_V4.iter().any(|&(s, e)| s <= ip && ip <= e)
        }
        IpAddr::V6(v6) => {
            let ip = u128::from(v6);
            RESERVED_V6.iter().any(|&(s, e)| s <= ip && ip <= e)
        }
    }
}

/// The reserved range around `ip`, if any, as `(first, last)` addresses.
pub(crate) fn reserved_range(ip: IpAddr) -> Option<(IpAddr, IpAddr)> {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let ip = u32::from(v4);
            RESERVED_V4
                .iter()
                .find(|&&(s, e)| s <= ip && ip <= e)
                .map(|&(s, e)| (IpAddr::from(s.to_be_bytes()), IpAddr::from(e.to_be_bytes())))
        }
        IpAddr::V6(v6) => {
            let ip = u128::from(v6);
            RESERVED_V6
                .iter()
                .find(|&&(s, e)| s <= ip && ip <= e)
                .map(|&(s, e)| (IpAddr::from(s.to_be_bytes()), IpAddr::from(e.to_be_bytes())))
        }
    }
}

/// `network` (which contains the unreserved address `ip`) narrowed to the
/// widest prefix around `ip` that overlaps no reserved range, so an answer
/// reported over it is not contradicted by the reserved-range rule.
pub(crate) fn narrow_to_unreserved(ip: IpAddr, network: IpNet) -> IpNet {
    match (ip, network) {
        (IpAddr::V4(ip), IpNet::V4(net)) => {
            let ip = u32::from(ip);
            let mut len = net.prefix_len();
            while len < 32 && overlaps(RESERVED_V4, ip, len, 32) {
                len += 1;
            }
            Ipv4Net::new(ip.into(), len).map_or(network, |n| IpNet::V4(n.trunc()))
        }
        (IpAddr::V6(ip), IpNet::V6(net)) => {
            let ip = u128::from(ip);
            let mut len = net.prefix_len();
            while len < 128 && overlaps(RESERVED_V6, ip, len, 128) {
                len += 1;
            }
            Ipv6Net::new(ip.into(), len).map_or(network, |n| IpNet::V6(n.trunc()))
        }
        _ => network,
    }
}

/// Whether the `/len` around `ip` overlaps a range of `list`.
fn overlaps<K>(list: &[(K, K)], ip: K, len: u8, bits: u32) -> bool
where
    K: Copy
        + Ord
        + std::ops::Shl<u32, Output = K>
        + std::ops::Not<Output = K>
        + std::ops::BitAnd<Output = K>
        + std::ops::BitOr<Output = K>
        + From<u8>,
{
    let all = !K::from(0u8);
    let host = bits - u32::from(len);
    let mask = if host == bits {
        K::from(0u8)
    } else {
        all << host
    };
    let first = ip & mask;
    let last = first | !mask;
    list.iter().any(|&(s, e)| s <= last && first <= e)
}

/// IPv4 map: `true` on reserved addresses.
pub(crate) fn reserved_map_v4() -> RangeMap<u32, bool> {
    let ranges = RESERVED_V4.iter().map(|&(s, e)| (s, e, true));
    // The constant list is sorted and disjoint (checked by a unit test).
    RangeMap::from_sorted(false, ranges).unwrap_or_else(|_| RangeMap::constant(false))
}

/// IPv6 map: `true` on reserved addresses.
pub(crate) fn reserved_map_v6() -> RangeMap<u128, bool> {
    let ranges = RESERVED_V6.iter().map(|&(s, e)| (s, e, true));
    RangeMap::from_sorted(false, ranges).unwrap_or_else(|_| RangeMap::constant(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_disjoint_and_build() {
        assert!(
            RangeMap::from_sorted(false, RESERVED_V4.iter().map(|&(s, e)| (s, e, true))).is_ok()
        );
        assert!(
            RangeMap::from_sorted(false, RESERVED_V6.iter().map(|&(s, e)| (s, e, true))).is_ok()
        );
    }

    #[test]
    fn networks_are_narrowed_off_reserved_ranges() {
        let narrow = |ip: &str, net: &str| {
            narrow_to_unreserved(ip.parse().unwrap(), net.parse().unwrap()).to_string()
        };
        assert_eq!(narrow("3.43.43.85", "0.0.0.0/4"), "2.0.0.0/7");
        assert_eq!(narrow("8.8.8.8", "8.0.0.0/8"), "8.0.0.0/8");
        assert_eq!(narrow("11.0.0.1", "0.0.0.0/0"), "11.0.0.0/8");
        assert_eq!(narrow("2400::1", "::/0"), "2400::/6");
    }

    #[test]
    fn classic_examples() {
        for ip in [
            "10.1.2.3",
            "127.0.0.1",
            "169.254.1.1",
            "172.31.255.255",
            "192.168.0.1",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.255",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "0.0.0.0",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "2001:db8::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "64:ff9b::1",
        ] {
            assert!(is_reserved(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "1.2.4.8",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2001:da8::1",
            "240e::1",
            "::ffff:1.2.4.8",
        ] {
            assert!(!is_reserved(ip.parse().unwrap()), "{ip}");
        }
        let (s, e) = reserved_range("10.9.9.9".parse().unwrap()).unwrap();
        assert_eq!(
            (s.to_string(), e.to_string()),
            ("10.0.0.0".into(), "10.255.255.255".into())
        );
    }
}
