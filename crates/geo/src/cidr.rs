//! CIDR arithmetic on address ranges: the widest prefix around an address
//! inside a range, and ranges of prefixes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// The widest IPv4 prefix that contains `ip` and lies inside `[start, end]`
/// (`start <= ip <= end`). This is the ECS scope an answer for the range
/// may be cached for.
pub fn widest_v4(ip: u32, start: u32, end: u32) -> Ipv4Net {
    debug_assert!(start <= ip && ip <= end);
    Ipv4Net::new(Ipv4Addr::from(ip), widest_len_v4(ip, start, end))
        .map_or_else(|_| Ipv4Net::default(), |n| n.trunc())
}

/// The widest IPv6 prefix that contains `ip` and lies inside `[start, end]`.
pub fn widest_v6(ip: u128, start: u128, end: u128) -> Ipv6Net {
    debug_assert!(start <= ip && ip <= end);
    Ipv6Net::new(Ipv6Addr::from(ip), widest_len_v6(ip, start, end))
        .map_or_else(|_| Ipv6Net::default(), |n| n.trunc())
}

// The prefix lengths alone, for the engine's `select`, which computes a
// scope per answer and builds no network until it needs one.
//
// The block of `ip` with prefix length `l` starts after `start - 1` exactly
// when `ip` and `start - 1` differ in their first `l` bits, that is when
// `l` is past their highest differing bit; the same at the top end with
// `end + 1`. No loop and no data-dependent branch.

/// The length of [`widest_v4`]`(ip, start, end)`.
#[doc(hidden)]
#[inline]
pub fn widest_len_v4(ip: u32, start: u32, end: u32) -> u8 {
    let mut len = 0u32;
    if let Some(before) = start.checked_sub(1) {
        len = len.max((ip ^ before).leading_zeros() + 1);
    }
    if let Some(after) = end.checked_add(1) {
        len = len.max((ip ^ after).leading_zeros() + 1);
    }
    len.min(32) as u8
}

/// The length of [`widest_v6`]`(ip, start, end)`.
#[doc(hidden)]
#[inline]
pub fn widest_len_v6(ip: u128, start: u128, end: u128) -> u8 {
    let mut len = 0u32;
    if let Some(before) = start.checked_sub(1) {
        len = len.max((ip ^ before).leading_zeros() + 1);
    }
    if let Some(after) = end.checked_add(1) {
        len = len.max((ip ^ after).leading_zeros() + 1);
    }
    len.min(128) as u8
}

/// The widest prefix that contains `ip` and lies inside `[start, end]`, all
/// three of one family; `None` if the families differ or `ip` is outside.
pub fn widest_network(ip: IpAddr, start: IpAddr, end: IpAddr) -> Option<IpNet> {
    match (ip, start, end) {
        (IpAddr::V4(ip), IpAddr::V4(s), IpAddr::V4(e)) => {
            let (ip, s, e) = (u32::from(ip), u32::from(s), u32::from(e));
            (s <= ip && ip <= e).then(|| IpNet::V4(widest_v4(ip, s, e)))
        }
        (IpAddr::V6(ip), IpAddr::V6(s), IpAddr::V6(e)) => {
            let (ip, s, e) = (u128::from(ip), u128::from(s), u128::from(e));
            (s <= ip && ip <= e).then(|| IpNet::V6(widest_v6(ip, s, e)))
        }
        _ => None,
    }
}

/// First and last address of an IPv4 prefix as integers.
pub(crate) fn v4_bounds(net: Ipv4Net) -> (u32, u32) {
    (u32::from(net.network()), u32::from(net.broadcast()))
}

/// First and last address of an IPv6 prefix as integers.
pub(crate) fn v6_bounds(net: Ipv6Net) -> (u128, u128) {
    (u128::from(net.network()), u128::from(net.broadcast()))
}

/// The longer (narrower) of two prefixes that both contain the same address.
pub(crate) fn narrower(a: Option<IpNet>, b: Option<IpNet>) -> Option<IpNet> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.prefix_len() > a.prefix_len() {
            b
        } else {
            a
        }),
        (a, None) => a,
        (None, b) => b,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn widest_prefix_examples() {
        let s = u32::from(Ipv4Addr::new(10, 0, 0, 0));
        let e = u32::from(Ipv4Addr::new(10, 0, 2, 255));
        let ip = u32::from(Ipv4Addr::new(10, 0, 1, 9));
        assert_eq!(widest_v4(ip, s, e).to_string(), "10.0.0.0/23");
        let ip = u32::from(Ipv4Addr::new(10, 0, 2, 9));
        assert_eq!(widest_v4(ip, s, e).to_string(), "10.0.2.0/24");
        assert_eq!(widest_v4(7, 0, u32::MAX).to_string(), "0.0.0.0/0");
        assert_eq!(widest_v6(7, 0, u128::MAX).to_string(), "::/0");
        assert_eq!(widest_v4(5, 5, 5).prefix_len(), 32);
        assert_eq!(widest_len_v4(5, 0, u32::MAX), 0);
        assert_eq!(widest_len_v4(0x0a00_0109, 0x0a00_0000, 0x0a00_02ff), 23);
        assert_eq!(widest_len_v4(0x0a00_0209, 0x0a00_0000, 0x0a00_02ff), 24);
        assert_eq!(widest_len_v6(1, 0, u128::MAX), 0);
        assert_eq!(widest_len_v6(u128::MAX, u128::MAX, u128::MAX), 128);
    }

    /// The widest prefix by trying every length from the widest: the
    /// reference the branch-free lengths are checked against.
    fn naive_len(ip: u128, start: u128, end: u128, bits: u32) -> u8 {
        (0..=bits)
            .find(|&len| {
                let host = bits - len;
                let first = if host == 128 { 0 } else { ip >> host << host };
                let last = if host == 0 {
                    ip
                } else {
                    first | (u128::MAX >> (128 - host))
                };
                start <= first && last <= end
            })
            .map_or(bits as u8, |len| len as u8)
    }

    proptest! {
        #[test]
        fn widest_v6_is_inside_and_maximal(a in any::<u128>(), b in any::<u128>(), c in any::<u128>(), small in 0u128..300) {
            for v in [[a, b, c], [a, a.saturating_add(small / 3), a.saturating_add(small)]] {
                let mut v = v;
                v.sort();
                let [s, ip, e] = v;
                let net = widest_v6(ip, s, e);
                let (ns, ne) = v6_bounds(net);
                prop_assert!(ns <= ip && ip <= ne && s <= ns && ne <= e);
                if net.prefix_len() > 0 {
                    let (ws, we) = v6_bounds(net.supernet().unwrap());
                    prop_assert!(ws < s || we > e);
                }
            }
        }

        #[test]
        fn lengths_equal_the_naive_search(a in any::<u32>(), b in any::<u32>(), c in any::<u32>(), wide in any::<[u128; 3]>(), shift in 0u32..128, small in 0u32..600) {
            for v in [[a, b, c], [a, a.saturating_add(small / 3), a.saturating_add(small)]] {
                let mut v = v;
                v.sort_unstable();
                let [s, ip, e] = v;
                prop_assert_eq!(widest_len_v4(ip, s, e), naive_len(ip.into(), s.into(), e.into(), 32));
            }
            let mut v = wide.map(|x| x >> shift);
            v.sort_unstable();
            let [s, ip, e] = v;
            prop_assert_eq!(widest_len_v6(ip, s, e), naive_len(ip, s, e, 128));
        }

        #[test]
        fn widest_v4_is_inside_and_maximal(a in any::<u32>(), b in any::<u32>(), c in any::<u32>()) {
            let mut v = [a, b, c];
            v.sort();
            let [s, ip, e] = v;
            let net = widest_v4(ip, s, e);
            let (ns, ne) = v4_bounds(net);
            prop_assert!(ns <= ip && ip <= ne && s <= ns && ne <= e);
            if net.prefix_len() > 0 {
                let wider = net.supernet().unwrap();
                let (ws, we) = v4_bounds(wider);
                prop_assert!(ws < s || we > e);
            }
        }
    }
}
