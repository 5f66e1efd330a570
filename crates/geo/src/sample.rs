//! The built-in sample dataset: a handful of made-up assignments in
//! documentation and benchmarking ranges, so examples, the quickstart and
//! tests run without any database file.

use ipnet::IpNet;

use crate::{Country, Isp, Location, LocationTable, Subdivision, TableBuilder};

/// One range of the built-in sample dataset. **Made-up data**: these are
/// documentation (RFC 5737, RFC 3849) and benchmarking (RFC 2544) ranges that
/// no real client uses; the assignments only exist so steering can be tried
/// out without a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleRange {
    /// The prefix.
    pub network: &'static str,
    /// ISO 3166-1 alpha-2 code.
    pub country: &'static str,
    /// ISO 3166-2 code, if any.
    pub subdivision: Option<&'static str>,
    /// China ISP code, if any.
    pub isp: Option<&'static str>,
    /// An example client address inside the prefix, for quickstarts and tests.
    pub client: &'static str,
}

const fn row(
    network: &'static str,
    country: &'static str,
    subdivision: Option<&'static str>,
    isp: Option<&'static str>,
    client: &'static str,
) -> SampleRange {
    SampleRange {
        network,
        country,
        subdivision,
        isp,
        client,
    }
}

/// Every range of the sample dataset, in address order. Addresses outside
/// them are unknown. The same table is in `docs/geo.md`.
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
pub const SAMPLE_RANGES: &[SampleRange] = &[
    row(
        "192.0.2.0/25",
        "CN",
        Some("CN-BJ"),
        Some("telecom"),
        "192.0.2.10",
    ),
    row(
        "192.0.2.128/25",
        "CN",
        Some("CN-BJ"),
        Some("unicom"),
        "192.0.2.200",
    ),
    row(
        "198.18.0.0/24",
        "CN",
        Some("CN-GD"),
        Some("telecom"),
        "198.18.0.7",
    ),
    row(
        "198.18.1.0/24",
        "CN",
        Some("CN-GD"),
        Some("unicom"),
        "198.18.1.7",
    ),
    row(
        "198.18.2.0/24",
        "CN",
        Some("CN-GD"),
        Some("mobile"),
        "198.18.2.7",
    ),
    row("198.18.3.0/24", "CN", None, Some("cernet"), "198.18.3.7"),
    row("198.18.4.0/24", "IN", Some("IN-MH"), None, "198.18.4.7"),
    row("198.18.5.0/24", "DE", None, None, "198.18.5.7"),
    row("198.18.6.0/24", "FR", None, None, "198.18.6.7"),
    row("198.18.7.0/24", "JP", None, None, "198.18.7.7"),
    row("198.51.100.0/24", "US", Some("US-CA"), None, "198.51.100.7"),
    row(
        "203.0.113.0/24",
        "CN",
        Some("CN-SH"),
        Some("telecom"),
        "203.0.113.7",
    ),
    row(
        "2001:db8:100::/40",
        "CN",
        Some("CN-BJ"),
        Some("telecom"),
        "2001:db8:100::7",
    ),
    row(
        "2001:db8:200::/40",
        "CN",
        Some("CN-GD"),
        Some("mobile"),
        "2001:db8:200::7",
    ),
    row(
        "2001:db8:300::/40",
        "US",
        Some("US-CA"),
        None,
        "2001:db8:300::7",
    ),
    row("2001:db8:400::/40", "DE", None, None, "2001:db8:400::7"),
];

/// The description of the sample table ([`crate::Locator::describe`]).
pub const SAMPLE_DESCRIPTION: &str = "sample data (built in)";

impl SampleRange {
    /// The location this range stands for (without a network).
    pub fn location(&self) -> Location {
        let country = Country::from_code(self.country);
        Location {
            continent: country.map(Country::continent),
            country,
            subdivision: self.subdivision.and_then(Subdivision::from_code),
            isp: self.isp.and_then(Isp::from_code),
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
            // The constant table parses (checked by the tests below); a row
            // that did not would only be left out.
            if let Ok(network) = range.network.parse::<IpNet>() {
                let _ = builder.push_network(network, &range.location());
            }
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
    use std::net::IpAddr;

    use super::*;
    use crate::{Continent, Locator};

    #[test]
    fn every_sample_row_is_valid_and_resolves() {
        let table = LocationTable::sample();
        for range in SAMPLE_RANGES {
            let network: IpNet = range.network.parse().unwrap();
            let client: IpAddr = range.client.parse().unwrap();
            assert!(network.contains(&client), "{range:?}");
            let location = table.locate(client);
            assert_eq!(location.country.map(Country::code), Some(range.country));
            assert!(location.continent.is_some());
            assert_eq!(
                location.subdivision.map(Subdivision::code),
                range.subdivision
            );
            assert_eq!(location.isp.map(Isp::code), range.isp);
            assert_eq!(location.network, Some(network), "{range:?}");
        }
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
