//! The ECS scope of an answer: the length of the widest prefix around the
//! client that lies inside the range over which the answer is the same.

/// The length of the widest IPv4 prefix that holds `ip` and lies inside
/// `[start, end]` (`start <= ip <= end`), in constant time.
///
/// A prefix of length `l` around `ip` stays inside the range exactly when it
/// holds neither `start - 1` nor `end + 1`, that is when `l` is longer than
/// the common prefix of `ip` with each of them.
#[inline]
pub(crate) fn widest_len_v4(ip: u32, start: u32, end: u32) -> u8 {
    let mut len = 0u32;
    if let Some(before) = start.checked_sub(1) {
        len = len.max((ip ^ before).leading_zeros() + 1);
    }
    if let Some(after) = end.checked_add(1) {
        len = len.max((ip ^ after).leading_zeros() + 1);
    }
    // At most 32 + 1 when ip equals a neighbour, which cannot happen for
    // ip inside the range; min keeps a misuse from overflowing the family.
    len.min(32) as u8
}

/// As [`widest_len_v4`] for IPv6.
#[inline]
pub(crate) fn widest_len_v6(ip: u128, start: u128, end: u128) -> u8 {
    let mut len = 0u32;
    if let Some(before) = start.checked_sub(1) {
        len = len.max((ip ^ before).leading_zeros() + 1);
    }
    if let Some(after) = end.checked_add(1) {
        len = len.max((ip ^ after).leading_zeros() + 1);
    }
    len.min(128) as u8
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use steerage_geo::{widest_v4, widest_v6};

    use super::*;

    #[test]
    fn examples() {
        assert_eq!(widest_len_v4(5, 0, u32::MAX), 0);
        assert_eq!(widest_len_v4(5, 5, 5), 32);
        // 10.0.0.0 - 10.0.2.255 around 10.0.1.9: 10.0.0.0/23.
        assert_eq!(widest_len_v4(0x0a00_0109, 0x0a00_0000, 0x0a00_02ff), 23);
        assert_eq!(widest_len_v4(0x0a00_0209, 0x0a00_0000, 0x0a00_02ff), 24);
        assert_eq!(widest_len_v6(1, 0, u128::MAX), 0);
        assert_eq!(widest_len_v6(u128::MAX, u128::MAX, u128::MAX), 128);
    }

    proptest! {
        #[test]
        fn equals_the_geo_crates_search_v4(a in any::<u32>(), b in any::<u32>(), c in any::<u32>()) {
            let mut v = [a, b, c];
            v.sort_unstable();
            let [s, ip, e] = v;
            prop_assert_eq!(widest_len_v4(ip, s, e), widest_v4(ip, s, e).prefix_len());
        }

        #[test]
        fn equals_the_geo_crates_search_v6(a in any::<u128>(), b in any::<u128>(), c in any::<u128>(), shift in 0u32..128) {
            let mut v = [a >> shift, b >> shift, c >> shift];
            v.sort_unstable();
            let [s, ip, e] = v;
            prop_assert_eq!(widest_len_v6(ip, s, e), widest_v6(ip, s, e).prefix_len());
        }
    }
}
