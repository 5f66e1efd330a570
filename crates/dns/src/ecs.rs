//! EDNS Client Subnet (RFC 7871): reading the option from a query, checking it,
//! and the client network the decision is made for.
//!
//! hickory-proto decodes the option but does not check it (a source prefix above
//! the family's width, address bits set beyond the source prefix, or extra address
//! octets all decode), so the option is read again here from the raw message,
//! where its exact length is known.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// OPT pseudo-RR type (RFC 6891).
const TYPE_OPT: u16 = 41;
/// ECS option code (RFC 7871 section 6).
const OPTION_SUBNET: u16 = 8;
/// Address family numbers (IANA) used by ECS.
const FAMILY_IPV4: u16 = 1;
const FAMILY_IPV6: u16 = 2;

/// A valid ECS option from a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientSubnet {
    /// The address as sent, all bits beyond the source prefix zero.
    pub(crate) address: IpAddr,
    /// SOURCE PREFIX-LENGTH as sent.
    pub(crate) source_prefix: u8,
}

impl ClientSubnet {
    /// The network to decide for: the option's network when its source prefix
    /// is above 0 (RFC 7871 section 7.1.1), else `None` (the client opted out and
    /// the source address is used instead).
    pub(crate) fn network(&self) -> Option<IpNet> {
        if self.source_prefix == 0 {
            return None;
        }
        IpNet::new(self.address, self.source_prefix).ok()
    }

    /// The option to echo in the response (RFC 7871 section 7.2.1): FAMILY,
    /// SOURCE PREFIX-LENGTH and ADDRESS as sent, SCOPE as decided. A source of
    /// 0 always gets scope 0.
    pub(crate) fn echo(&self, scope_prefix: u8) -> hickory_proto::rr::rdata::opt::ClientSubnet {
        let scope = if self.source_prefix == 0 {
            0
        } else {
            scope_prefix.min(max_prefix(self.address))
        };
        hickory_proto::rr::rdata::opt::ClientSubnet::new(self.address, self.source_prefix, scope)
    }
}

/// Why an ECS option was rejected; each is answered with FORMERR
/// (RFC 7871 section 7.1.2 says SHOULD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EcsViolation {
    /// The message structure could not be walked to the OPT record.
    Unreadable,
    /// Fewer than the 4 fixed octets.
    TooShort,
    /// FAMILY is neither 1 (IPv4) nor 2 (IPv6).
    UnknownFamily(u16),
    /// SOURCE PREFIX-LENGTH above 32 (IPv4) or 128 (IPv6).
    SourceTooLong(u8),
    /// ADDRESS is not exactly ceil(SOURCE / 8) octets.
    AddressLength { expected: usize, found: usize },
    /// ADDRESS has bits set beyond SOURCE PREFIX-LENGTH.
    BitsBeyondSource,
    /// More than one ECS option in the query.
    Duplicate,
}

/// Finds and checks the ECS option of a raw DNS query.
///
/// `Ok(None)`: no OPT record or no ECS option in it.
pub(crate) fn client_subnet(message: &[u8]) -> Result<Option<ClientSubnet>, EcsViolation> {
    let Some(data) = find_option(message)? else {
        return Ok(None);
    };
    parse_option(data).map(Some)
}

/// The ECS option data (after code and length) of the query's OPT record.
fn find_option(message: &[u8]) -> Result<Option<&[u8]>, EcsViolation> {
    let mut reader = Reader {
        buf: message,
        pos: 0,
    };
    let header = reader.take(12)?;
    let count = |i: usize| usize::from(u16::from_be_bytes([header[i], header[i + 1]]));
    let questions = count(4);
    let records = count(6) + count(8) + count(10);
    for _ in 0..questions {
        reader.skip_name()?;
        reader.take(4)?;
    }
    let mut found = None;
    for _ in 0..records {
        reader.skip_name()?;
        let fixed = reader.take(10)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let rdata = reader.take(rdlen)?;
        if rtype != TYPE_OPT {
            continue;
        }
        let mut options = Reader { buf: rdata, pos: 0 };
        while options.pos < rdata.len() {
            let head = options.take(4)?;
            let code = u16::from_be_bytes([head[0], head[1]]);
            let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
            let data = options.take(len)?;
            if code == OPTION_SUBNET {
                if found.is_some() {
                    return Err(EcsViolation::Duplicate);
                }
                found = Some(data);
            }
        }
    }
    Ok(found)
}

/// Checks one ECS option's data against RFC 7871 section 6.
pub(crate) fn parse_option(data: &[u8]) -> Result<ClientSubnet, EcsViolation> {
    let [f0, f1, source_prefix, _scope, address @ ..] = data else {
        return Err(EcsViolation::TooShort);
    };
    let source_prefix = *source_prefix;
    // SCOPE PREFIX-LENGTH "MUST be set to 0" in queries, but nothing tells the
    // server to reject it, so a non-zero value is ignored.
    let family = u16::from_be_bytes([*f0, *f1]);
    let width: u8 = match family {
        FAMILY_IPV4 => 32,
        FAMILY_IPV6 => 128,
        other => return Err(EcsViolation::UnknownFamily(other)),
    };
    if source_prefix > width {
        return Err(EcsViolation::SourceTooLong(source_prefix));
    }
    let expected = usize::from(source_prefix).div_ceil(8);
    if address.len() != expected {
        return Err(EcsViolation::AddressLength {
            expected,
            found: address.len(),
        });
    }
    let mut octets = [0u8; 16];
    octets[..expected].copy_from_slice(address);
    if let Some(last) = address.last() {
        let used_bits = source_prefix % 8;
        if used_bits != 0 && last & (0xff >> used_bits) != 0 {
            return Err(EcsViolation::BitsBeyondSource);
        }
    }
    let address = if family == FAMILY_IPV4 {
        IpAddr::V4(Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(octets))
    };
    Ok(ClientSubnet {
        address,
        source_prefix,
    })
}

/// The host network of an address: /32 or /128.
pub(crate) fn host_network(address: IpAddr) -> IpNet {
    match address {
        IpAddr::V4(v4) => IpNet::V4(Ipv4Net::from(v4)),
        IpAddr::V6(v6) => IpNet::V6(Ipv6Net::from(v6)),
    }
}

fn max_prefix(address: IpAddr) -> u8 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// A bounds-checked cursor over wire bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], EcsViolation> {
        let end = self.pos.checked_add(len).ok_or(EcsViolation::Unreadable)?;
        let slice = self
            .buf
            .get(self.pos..end)
            .ok_or(EcsViolation::Unreadable)?;
        self.pos = end;
        Ok(slice)
    }

    /// Skips a (possibly compressed) name; a pointer ends the name in place.
    fn skip_name(&mut self) -> Result<(), EcsViolation> {
        // A name has at most 127 labels; the bound keeps a hostile message from
        // making this loop long even though each step advances.
        for _ in 0..128 {
            let len = self.take(1)?[0];
            match len & 0xc0 {
                0x00 if len == 0 => return Ok(()),
                0x00 => {
                    self.take(usize::from(len))?;
                }
                0xc0 => {
                    self.take(1)?;
                    return Ok(());
                }
                _ => return Err(EcsViolation::Unreadable),
            }
        }
        Err(EcsViolation::Unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query for www.example.com A with an OPT record holding `options`.
    fn query_with_options(options: &[u8]) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
        m.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
        m.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
        m.extend_from_slice(&u16::try_from(options.len()).unwrap().to_be_bytes());
        m.extend_from_slice(options);
        m
    }

    fn ecs(data: &[u8]) -> Vec<u8> {
        let mut o = vec![0, 8];
        o.extend_from_slice(&u16::try_from(data.len()).unwrap().to_be_bytes());
        o.extend_from_slice(data);
        o
    }

    #[test]
    fn reads_ipv4_subnet() {
        let m = query_with_options(&ecs(&[0, 1, 24, 0, 203, 0, 113]));
        let cs = client_subnet(&m).unwrap().unwrap();
        assert_eq!(cs.address, "203.0.113.0".parse::<IpAddr>().unwrap());
        assert_eq!(cs.source_prefix, 24);
        assert_eq!(cs.network(), Some("203.0.113.0/24".parse().unwrap()));
        let echo = cs.echo(16);
        assert_eq!((echo.source_prefix(), echo.scope_prefix()), (24, 16));
    }

    #[test]
    fn reads_ipv6_subnet_with_partial_octet() {
        let m = query_with_options(&ecs(&[0, 2, 20, 0, 0x20, 0x01, 0xd0]));
        let cs = client_subnet(&m).unwrap().unwrap();
        assert_eq!(cs.network(), Some("2001:d000::/20".parse().unwrap()));
    }

    #[test]
    fn source_zero_means_no_network_and_scope_zero() {
        let m = query_with_options(&ecs(&[0, 1, 0, 0]));
        let cs = client_subnet(&m).unwrap().unwrap();
        assert_eq!(cs.network(), None);
        assert_eq!(cs.echo(24).scope_prefix(), 0);
    }

    #[test]
    fn no_opt_or_no_ecs_is_none() {
        let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
        assert_eq!(client_subnet(&m), Ok(None));
        // a cookie option only
        let m = query_with_options(&[0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(client_subnet(&m), Ok(None));
    }

    #[test]
    fn rejects_what_rfc_7871_rejects() {
        let cases: &[(&[u8], EcsViolation)] = &[
            (&[0, 1, 24], EcsViolation::TooShort),
            (&[0, 3, 24, 0, 1, 2, 3], EcsViolation::UnknownFamily(3)),
            (
                &[0, 1, 33, 0, 1, 2, 3, 4, 5],
                EcsViolation::SourceTooLong(33),
            ),
            (
                &[0, 2, 129, 0, 1, 2, 3, 4, 5],
                EcsViolation::SourceTooLong(129),
            ),
            (
                &[0, 1, 24, 0, 203, 0, 113, 7],
                EcsViolation::AddressLength {
                    expected: 3,
                    found: 4,
                },
            ),
            (
                &[0, 1, 24, 0, 203, 0],
                EcsViolation::AddressLength {
                    expected: 3,
                    found: 2,
                },
            ),
            (&[0, 1, 23, 0, 203, 0, 113], EcsViolation::BitsBeyondSource),
        ];
        for (data, violation) in cases {
            let m = query_with_options(&ecs(data));
            assert_eq!(client_subnet(&m), Err(*violation), "{data:?}");
        }
    }

    #[test]
    fn rejects_duplicate_option() {
        let mut options = ecs(&[0, 1, 24, 0, 203, 0, 113]);
        options.extend(ecs(&[0, 1, 16, 0, 10, 0]));
        let m = query_with_options(&options);
        assert_eq!(client_subnet(&m), Err(EcsViolation::Duplicate));
    }

    #[test]
    fn truncated_message_is_unreadable_not_a_panic() {
        let m = query_with_options(&ecs(&[0, 1, 24, 0, 203, 0, 113]));
        for len in 0..m.len() {
            let _ = client_subnet(&m[..len]);
        }
        assert_eq!(client_subnet(&m[..20]), Err(EcsViolation::Unreadable));
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            /// Whatever the option bytes, parsing never panics, and what it
            /// accepts obeys RFC 7871: source within the family, the address
            /// truncated to it, and echoing gives the same option back.
            #[test]
            fn any_option_bytes_parse_safely(data in proptest::collection::vec(any::<u8>(), 0..24)) {
                let m = query_with_options(&ecs(&data));
                if let Ok(Some(cs)) = client_subnet(&m) {
                    let width = if cs.address.is_ipv4() { 32 } else { 128 };
                    prop_assert!(cs.source_prefix <= width);
                    if let Some(net) = cs.network() {
                        prop_assert_eq!(net.trunc().addr(), cs.address);
                    }
                    let echo = cs.echo(width);
                    prop_assert_eq!(echo.addr(), cs.address);
                    prop_assert_eq!(echo.source_prefix(), cs.source_prefix);
                    prop_assert!(echo.scope_prefix() <= width);
                }
            }

            /// Every well-formed option is accepted with the network it carries.
            #[test]
            fn valid_options_round_trip(v4 in any::<bool>(), bits in any::<u128>(), source in 0u8..=128) {
                let (family, width) = if v4 { (1u16, 32u8) } else { (2, 128) };
                let source = source.min(width);
                let address: IpAddr = if v4 {
                    IpAddr::V4(Ipv4Addr::from(bits as u32))
                } else {
                    IpAddr::V6(Ipv6Addr::from(bits))
                };
                let net = IpNet::new(address, source).unwrap().trunc();
                let octets: Vec<u8> = match net.addr() {
                    IpAddr::V4(a) => a.octets().to_vec(),
                    IpAddr::V6(a) => a.octets().to_vec(),
                };
                let mut data = family.to_be_bytes().to_vec();
                data.extend([source, 0]);
                data.extend(&octets[..usize::from(source).div_ceil(8)]);
                let cs = client_subnet(&query_with_options(&ecs(&data))).unwrap().unwrap();
                prop_assert_eq!(cs.address, net.addr());
                prop_assert_eq!(cs.network(), (source > 0).then_some(net));
            }

            /// Truncated or corrupted messages never panic the walk.
            #[test]
            fn any_message_bytes_are_walked_safely(m in proptest::collection::vec(any::<u8>(), 0..128)) {
                let _ = client_subnet(&m);
            }
        }
    }
}
