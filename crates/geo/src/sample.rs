//! The built-in sample dataset: a handful of made-up assignments in
//! documentation and benchmarking ranges, so examples, the quickstart and
//! tests run without any database file.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::{Country, Isp, Location, LocationTable, Subdivision, TableBuilder};

/// One range of the built-in sample dataset. **Made-up data**: these are
/// documentation (RFC 5737, RFC 3849) and benchmarking (RFC 2544) ranges that
/// no real client uses; the assignments only exist so steering can be tried
/// out without a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SampleRange {
    /// The prefix.
    pub network: IpNet,
    /// The country.
    pub country: Country,
    /// The first-level subdivision, if any.
    pub subdivision: Option<Subdivision>,
    /// The China ISP, if any.
    pub isp: Option<Isp>,
    /// An example client address inside the prefix, for quickstarts and tests.
    pub client: IpAddr,
}

/// A row of the table. The codes are looked up at compile time: a code the
/// catalogue lacks fails the build.
const fn row(
    network: IpNet,
    country: &str,
    subdivision: Option<&str>,
    isp: Option<Isp>,
    client: IpAddr,
) -> SampleRange {
    SampleRange {
        network,
        country: Country::known(country),
        subdivision: match subdivision {
            Some(code) => Some(Subdivision::known(code)),
            None => None,
        },
        isp,
        client,
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// `2001:db8:SUBNET::HOST`.
const fn v6(subnet: u16, host: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0x0db8, subnet, 0, 0, 0, 0, host))
}

/// `ip/prefix`; `ip` has no bits set past the prefix.
const fn net(ip: IpAddr, prefix: u8) -> IpNet {
    IpNet::new_assert(ip, prefix)
}

const BJ: Option<&str> = Some("CN-BJ");
const GD: Option<&str> = Some("CN-GD");
const TELECOM: Option<Isp> = Some(Isp::Telecom);
const UNICOM: Option<Isp> = Some(Isp::Unicom);
const MOBILE: Option<Isp> = Some(Isp::Mobile);

/// Every range of the sample dataset, in address order. Addresses outside
/// them are unknown. The same table is in the crate's
/// [IP lookup guide](crate::docs::geo).
///
/// | network | location | example client |
/// |---|---|---|
/// | `192.0.2.0/25` | CN, CN-BJ, telecom | `192.0.2.10` |
/// | `192.0.2.128/25` | CN, CN-BJ, unicom | `192.0.2.200` |
/// | `198.18.0.0/24` | CN, CN-GD, telecom | `198.18.0.7` |
/// | `198.18.1.0/24` | CN, CN-GD, unicom | `198.18.1.7` |
/// | `198.18.2.0/24` | CN, CN-GD, mobile | `198.18.2.7` |
/// | `198.18.3.0/24` | CN (no province), cernet | `198.18.3.7` |
/// | `198.18.4.0/24` | IN, IN-MH | `198.18.4.7` |
/// | `198.18.5.0/24` | DE | `198.18.5.7` |
/// | `198.18.6.0/24` | FR | `198.18.6.7` |
/// | `198.18.7.0/24` | JP | `198.18.7.7` |
/// | `198.51.100.0/24` | US, US-CA | `198.51.100.7` |
/// | `203.0.113.0/24` | CN, CN-SH, telecom | `203.0.113.7` |
/// | `2001:db8:100::/40` | CN, CN-BJ, telecom | `2001:db8:100::7` |
/// | `2001:db8:200::/40` | CN, CN-GD, mobile | `2001:db8:200::7` |
/// | `2001:db8:300::/40` | US, US-CA | `2001:db8:300::7` |
/// | `2001:db8:400::/40` | DE | `2001:db8:400::7` |
///
/// Continents follow from the countries (AS, EU, NA).
///
/// ```
/// use steerage_geo::{Isp, LocationTable, SAMPLE_RANGES};
///
/// let table = LocationTable::sample();
/// for range in SAMPLE_RANGES {
///     let location = table.locate(range.client);
///     assert_eq!(location.country, Some(range.country));
///     assert_eq!(location.network, Some(range.network));
/// }
/// assert_eq!(SAMPLE_RANGES[0].isp, Some(Isp::Telecom));
/// ```
pub const SAMPLE_RANGES: &[SampleRange] = &[
    row(
        net(v4(192, 0, 2, 0), 25),
        "CN",
        BJ,
        TELECOM,
        v4(192, 0, 2, 10),
    ),
    row(
        net(v4(192, 0, 2, 128), 25),
        "CN",
        BJ,
        UNICOM,
        v4(192, 0, 2, 200),
    ),
    row(
        net(v4(198, 18, 0, 0), 24),
        "CN",
        GD,
        TELECOM,
        v4(198, 18, 0, 7),
    ),
    row(
        net(v4(198, 18, 1, 0), 24),
        "CN",
        GD,
        UNICOM,
        v4(198, 18, 1, 7),
    ),
    row(
        net(v4(198, 18, 2, 0), 24),
        "CN",
        GD,
        MOBILE,
        v4(198, 18, 2, 7),
    ),
    row(
        net(v4(198, 18, 3, 0), 24),
        "CN",
        None,
        Some(Isp::Cernet),
        v4(198, 18, 3, 7),
    ),
    row(
        net(v4(198, 18, 4, 0), 24),
        "IN",
        Some("IN-MH"),
        None,
        v4(198, 18, 4, 7),
    ),
    row(
        net(v4(198, 18, 5, 0), 24),
        "DE",
        None,
        None,
        v4(198, 18, 5, 7),
    ),
    row(
        net(v4(198, 18, 6, 0), 24),
        "FR",
        None,
        None,
        v4(198, 18, 6, 7),
    ),
    row(
        net(v4(198, 18, 7, 0), 24),
        "JP",
        None,
        None,
        v4(198, 18, 7, 7),
    ),
    row(
        net(v4(198, 51, 100, 0), 24),
        "US",
        Some("US-CA"),
        None,
        v4(198, 51, 100, 7),
    ),
    row(
        net(v4(203, 0, 113, 0), 24),
        "CN",
        Some("CN-SH"),
        TELECOM,
        v4(203, 0, 113, 7),
    ),
    row(net(v6(0x100, 0), 40), "CN", BJ, TELECOM, v6(0x100, 7)),
    row(net(v6(0x200, 0), 40), "CN", GD, MOBILE, v6(0x200, 7)),
    row(
        net(v6(0x300, 0), 40),
        "US",
        Some("US-CA"),
        None,
        v6(0x300, 7),
    ),
    row(net(v6(0x400, 0), 40), "DE", None, None, v6(0x400, 7)),
];

/// The description of the sample table ([`crate::Locator::describe`]).
pub const SAMPLE_DESCRIPTION: &str = "sample data (built in)";

impl SampleRange {
    /// The location this range stands for (without a network).
    pub fn location(&self) -> Location {
        Location {
            continent: Some(self.country.continent()),
            country: Some(self.country),
            subdivision: self.subdivision,
            isp: self.isp,
            ..Location::default()
        }
    }
}

impl LocationTable {
    /// The built-in sample dataset ([`SAMPLE_RANGES`]), labelled
    /// `sample data (built in)`. Unlike real databases it deliberately
    /// places clients in documentation ranges.
    pub fn sample() -> Self {
        let mut builder = TableBuilder::new(SAMPLE_DESCRIPTION);
        for range in SAMPLE_RANGES {
            // Sixteen sorted, disjoint ranges: pushing cannot fail.
            let _ = builder.push_network(range.network, &range.location());
        }
        match builder.finish() {
            Ok(table) => table,
            // Sixteen ranges cannot exceed the range limit.
            Err(_) => Self::empty(SAMPLE_DESCRIPTION),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Continent;

    #[test]
    fn every_sample_row_is_valid_and_resolves() {
        let table = LocationTable::sample();
        for range in SAMPLE_RANGES {
            assert!(range.network.contains(&range.client), "{range:?}");
            assert_eq!(range.network, range.network.trunc(), "{range:?}");
            let location = table.locate(range.client);
            assert_eq!(location.country, Some(range.country));
            assert!(location.continent.is_some());
            assert_eq!(location.subdivision, range.subdivision);
            assert_eq!(location.isp, range.isp);
            assert_eq!(location.network, Some(range.network), "{range:?}");
            if let Some(subdivision) = range.subdivision {
                assert_eq!(subdivision.country(), range.country, "{range:?}");
            }
        }
        assert!(SAMPLE_RANGES.windows(2).all(|w| {
            w[0].network.broadcast() < w[1].network.network()
                || w[0].network.addr().is_ipv4() && w[1].network.addr().is_ipv6()
        }));
        assert_eq!(table.describe(), "sample data (built in)");
    }

    #[test]
    fn sample_covers_what_the_quickstart_needs() {
        let table = LocationTable::sample();
        let at = |ip: &str| table.locate(ip.parse().unwrap());
        assert_eq!(at("198.18.5.1").continent, Some(Continent::Europe));
        assert_eq!(at("192.0.2.1").isp, Isp::from_code("telecom"));
        assert_eq!(at("192.0.2.129").isp, Isp::from_code("unicom"));
        // Outside the sample ranges: unknown, but with the gap's network.
        let unknown = at("8.8.8.8");
        assert_eq!(unknown.country, None);
        assert!(unknown.network.is_some());
        // IPv4-mapped IPv6 is IPv4.
        assert_eq!(
            at("::ffff:203.0.113.7").subdivision,
            Subdivision::from_code("CN-SH")
        );
    }
}
