//! The layered locator: custom lines, then city/country databases, plus an
//! ISP source, merged into one [`Location`].

use std::net::IpAddr;
use std::sync::Arc;

use crate::cidr::narrower;
use crate::location_table::zip_tables;
use crate::{Country, CustomLineTable, Location, LocationTable, Locator, RangeSource, SourceError};

/// Combines sources into one answer per address:
///
/// - custom lines ([`CustomLineTable`]) give [`Location::custom`];
/// - the first region source (city/country database) that places the
///   address gives continent, country and subdivision (so a DB-IP IPv4 file
///   and its IPv6 file can be stacked);
/// - the first ISP source (ASN CSV, ASN/ISP database) that names a China
///   carrier gives [`Location::isp`], kept only when the region is China
///   mainland (`CN`) or unknown: a carrier's address that the region source
///   places abroad is no China mainland ISP client (when no ISP source
///   names one, the region source's own ISP field is used, as in the
///   sample data);
/// - the network is the narrowest (the intersection) of the networks of every
///   source consulted, so the whole answer holds over it.
///
/// [`RangeSource::compile`] builds the [`LocationTable`] that answers the
/// same for every address.
///
/// ```
/// use steerage_geo::{AsnCsv, CustomLineName, CustomLineTable, LayeredLocator, LocationTable, Locator, RangeSource};
/// let asn = AsnCsv::from_text("198.51.100.0,198.51.100.127,4134,Chinanet\n", "asn.csv")?;
/// let lines = CustomLineTable::new([(CustomLineName::new("office")?, vec!["203.0.113.0/28".parse()?])]);
/// let layered = LayeredLocator::new()
///     .with_custom_lines(lines)
///     .with_region(LocationTable::sample())
///     .with_isp(asn);
/// let at = layered.locate("203.0.113.7".parse()?);
/// assert_eq!(at.subdivision.map(|s| s.code()), Some("CN-SH"));
/// assert!(!at.custom.is_empty());
/// assert_eq!(at.network, Some("203.0.113.0/28".parse()?));
/// let table = layered.compile()?;
/// assert_eq!(table.locate("203.0.113.7".parse()?), at);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct LayeredLocator {
    custom: Option<Arc<CustomLineTable>>,
    regions: Vec<Arc<dyn RangeSource>>,
    isps: Vec<Arc<dyn RangeSource>>,
}

impl std::fmt::Debug for LayeredLocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayeredLocator")
            .field("description", &self.describe())
            .finish()
    }
}

impl LayeredLocator {
    /// A locator with no sources (every address unknown).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the custom lines.
    #[must_use]
    pub fn with_custom_lines(mut self, lines: CustomLineTable) -> Self {
        self.custom = Some(Arc::new(lines));
        self
    }

    /// Adds a region source (consulted after those added before).
    #[must_use]
    pub fn with_region(mut self, source: impl RangeSource + 'static) -> Self {
        self.regions.push(Arc::new(source));
        self
    }

    /// Adds an ISP source (consulted after those added before).
    #[must_use]
    pub fn with_isp(mut self, source: impl RangeSource + 'static) -> Self {
        self.isps.push(Arc::new(source));
        self
    }
}

/// The merge rule shared by [`Locator::locate`] and the compiled table, so
/// both answer the same.
fn merge(custom: &Location, region: &Location, isp: &Location) -> Location {
    let china = Country::from_code("CN");
    // A region source may know the ISP too (the sample data does).
    let carrier = isp.isp.or(region.isp);
    let isp = match region.country {
        None => carrier,
        Some(country) if Some(country) == china => carrier,
        Some(_) => None,
    };
    Location {
        continent: region.continent,
        country: region.country,
        subdivision: region.subdivision,
        isp,
        custom: custom.custom.clone(),
        network: None,
    }
}

fn places(location: &Location) -> bool {
    location.continent.is_some() || location.country.is_some()
}

/// The first answer that `decides`, with the network narrowed over every
/// source consulted up to it.
fn first_deciding(
    sources: &[Arc<dyn RangeSource>],
    ip: IpAddr,
    decides: impl Fn(&Location) -> bool,
) -> Location {
    let mut network = None;
    for source in sources {
        let mut location = source.locate(ip);
        network = narrower(network, location.network);
        if decides(&location) {
            location.network = network;
            return location;
        }
    }
    Location {
        network,
        ..Location::default()
    }
}

impl Locator for LayeredLocator {
    fn locate(&self, ip: IpAddr) -> Location {
        let ip = ip.to_canonical();
        let custom = self
            .custom
            .as_ref()
            .map(|c| c.locate(ip))
            .unwrap_or_default();
        let region = first_deciding(&self.regions, ip, places);
        let isp = first_deciding(&self.isps, ip, |l| l.isp.is_some());
        let mut location = merge(&custom, &region, &isp);
        location.network = narrower(narrower(custom.network, region.network), isp.network);
        location
    }

    fn describe(&self) -> String {
        let parts: Vec<String> = self
            .regions
            .iter()
            .chain(&self.isps)
            .map(|s| s.describe())
            .chain(self.custom.as_ref().map(|c| c.describe()))
            .collect();
        if parts.is_empty() {
            "no location data".to_owned()
        } else {
            parts.join(" + ")
        }
    }
}

/// Compiles a list of sources into one table where the first deciding
/// source wins.
fn compile_first(
    sources: &[Arc<dyn RangeSource>],
    decides: impl Fn(&Location) -> bool,
) -> Result<LocationTable, SourceError> {
    let mut compiled: Option<LocationTable> = None;
    for source in sources {
        let table = source.compile()?;
        compiled = Some(match compiled {
            None => table,
            Some(before) => {
                let description = format!("{} + {}", before.describe(), table.describe());
                zip_tables(&before, &table, description, |a, b| {
                    if decides(a) { a.clone() } else { b.clone() }
                })
            }
        });
    }
    Ok(compiled.unwrap_or_else(|| LocationTable::empty("")))
}

impl RangeSource for LayeredLocator {
    fn compile(&self) -> Result<LocationTable, SourceError> {
        let custom = match &self.custom {
            Some(custom) => custom.compile()?,
            None => LocationTable::empty(""),
        };
        let regions = compile_first(&self.regions, places)?;
        let isps = compile_first(&self.isps, |l| l.isp.is_some())?;
        let with_region = zip_tables(&custom, &regions, String::new(), |c, r| {
            merge(c, r, &Location::default())
        });
        let table = zip_tables(&with_region, &isps, self.describe(), |cr, i| {
            merge(cr, cr, i)
        });
        // Every temporary goes before the copy that keeps the table low in
        // the heap (see `LocationTable::compacted`).
        drop((custom, regions, isps, with_region));
        Ok(table.compacted())
    }
}

#[cfg(test)]
mod tests {
    use ipnet::IpNet;

    use super::*;
    use crate::{AsnCsv, CustomLineName, Isp, Subdivision};

    fn region() -> LocationTable {
        let mut builder = crate::TableBuilder::new("regions");
        for (net, country, subdivision) in [
            ("1.2.4.0/24", "CN", Some("CN-BJ")),
            ("5.5.5.0/24", "DE", None),
            ("8.8.8.0/24", "US", Some("US-CA")),
        ] {
            let country = Country::from_code(country);
            let location = Location {
                continent: country.map(Country::continent),
                country,
                subdivision: subdivision.and_then(Subdivision::from_code),
                ..Location::default()
            };
            builder
                .push_network(net.parse().unwrap(), &location)
                .unwrap();
        }
        builder.finish().unwrap()
    }

    fn layered() -> LayeredLocator {
        let asn = AsnCsv::from_text(
            "1.2.4.0,1.2.4.255,4134,Chinanet\n8.8.8.0,8.8.8.255,4837,China Unicom\n\
             5.5.5.0,5.5.5.127,9808,China Mobile\n9.9.9.0,9.9.9.255,9808,China Mobile\n",
            "asn.csv",
        )
        .unwrap();
        let lines = CustomLineTable::new([(
            CustomLineName::new("edge").unwrap(),
            vec!["1.2.4.64/26".parse().unwrap()],
        )]);
        LayeredLocator::new()
            .with_custom_lines(lines)
            .with_region(region())
            .with_region(LocationTable::sample())
            .with_isp(asn)
    }

    #[test]
    fn merges_fields_and_narrows_the_network() {
        let l = layered();
        let at = l.locate("1.2.4.70".parse().unwrap());
        assert_eq!(at.subdivision, Subdivision::from_code("CN-BJ"));
        assert_eq!(at.isp, Some(Isp::Telecom));
        assert_eq!(at.custom.iter().count(), 1);
        assert_eq!(at.network, Some("1.2.4.64/26".parse().unwrap()));
        let us = l.locate("8.8.8.8".parse().unwrap());
        assert_eq!(us.country.map(|c| c.code()), Some("US"));
        assert_eq!(
            us.isp, None,
            "a carrier ASN outside China is no China ISP line"
        );
        assert_eq!(l.locate("5.5.5.1".parse().unwrap()).isp, None);
        // No region known: the carrier stays.
        let unplaced = l.locate("9.9.9.9".parse().unwrap());
        assert_eq!((unplaced.country, unplaced.isp), (None, Some(Isp::Mobile)));
        // The second region source answers where the first does not, with
        // its own ISP field.
        let sample = l.locate("192.0.2.200".parse().unwrap());
        assert_eq!(sample.isp, Some(Isp::Unicom));
        assert_eq!(sample.network, Some("192.0.2.128/25".parse().unwrap()));
        assert_eq!(
            l.describe(),
            "regions + sample data (built in) + asn.csv + 1 custom line"
        );
    }

    #[test]
    fn compiled_table_answers_the_same() {
        let l = layered();
        let table = l.compile().unwrap();
        for ip in [
            "1.2.4.1",
            "1.2.4.70",
            "1.2.5.1",
            "5.5.5.1",
            "5.5.5.200",
            "8.8.8.8",
            "9.9.9.9",
            "192.0.2.200",
            "203.0.113.7",
            "2001:db8:100::1",
            "2001:db8:1::1",
            "::ffff:1.2.4.70",
            "10.0.0.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let direct = l.locate(ip);
            let compiled = table.locate(ip);
            assert_eq!(
                Location {
                    network: None,
                    ..compiled.clone()
                },
                Location {
                    network: None,
                    ..direct.clone()
                },
                "{ip}"
            );
            let (d, c) = (direct.network.unwrap(), compiled.network.unwrap());
            assert!(
                c.contains(&d.network()) && c.prefix_len() <= d.prefix_len(),
                "{ip}: {d} vs {c}"
            );
        }
    }

    fn prefix(addr: u32, len: u8) -> ipnet::Ipv4Net {
        ipnet::Ipv4Net::new(addr.into(), len).unwrap().trunc()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn compiled_layered_table_answers_as_the_layered_locator(
            regions in proptest::collection::vec((proptest::prelude::any::<u32>(), 4u8..=24, 0usize..4), 0..12),
            asns in proptest::collection::vec((proptest::prelude::any::<u32>(), 6u8..=24, 0usize..4), 0..12),
            lines in proptest::collection::vec((proptest::prelude::any::<u32>(), 8u8..=28, 0usize..3), 0..6),
            probes in proptest::collection::vec(proptest::prelude::any::<u32>(), 16),
        ) {
            let countries = ["CN", "US", "DE", "ZZ"];
            let carriers = [4134u32, 4837, 9808, 37963];
            let names = ["a", "b", "c"];
            // Region source: later prefixes override earlier ones.
            let region_ranges: Vec<(u32, u32, usize)> = regions
                .iter()
                .map(|&(a, l, c)| {
                    let p = prefix(a, l);
                    (u32::from(p.network()), u32::from(p.broadcast()), c + 1)
                })
                .collect();
            let painted = crate::RangeMap::from_overlapping(0usize, region_ranges).unwrap();
            let mut builder = crate::TableBuilder::new("regions");
            for (start, end, c) in painted.iter() {
                let location = match c {
                    0 => Location::default(),
                    c => {
                        let country = Country::from_code(countries[c - 1]);
                        Location { continent: country.map(Country::continent), country, ..Location::default() }
                    }
                };
                let id = builder.intern(&location);
                builder.push_v4(start, end, id).unwrap();
            }
            let region = builder.finish().unwrap();
            let csv: String = asns
                .iter()
                .map(|&(a, l, n)| {
                    let p = prefix(a, l);
                    format!("{},{},{},org\n", p.network(), p.broadcast(), carriers[n])
                })
                .collect();
            let isp = AsnCsv::from_text(&csv, "asn.csv").unwrap();
            let custom = CustomLineTable::new(
                lines.iter().map(|&(a, l, n)| (CustomLineName::new(names[n]).unwrap(), vec![IpNet::V4(prefix(a, l))])),
            );
            let layered = LayeredLocator::new().with_custom_lines(custom).with_region(region).with_isp(isp);
            let table = layered.compile().unwrap();
            let mut ips: Vec<u32> = probes;
            for &(a, l, _) in regions.iter().chain(&asns).chain(&lines) {
                let p = prefix(a, l);
                ips.extend([u32::from(p.network()), u32::from(p.broadcast())]);
            }
            for ip in ips {
                let ip = IpAddr::from(ip.to_be_bytes());
                let direct = layered.locate(ip);
                let compiled = table.locate(ip);
                let (mut d, mut c) = (direct.clone(), compiled.clone());
                d.network = None;
                c.network = None;
                proptest::prop_assert_eq!(c, d, "{}", ip);
                let (dn, cn) = (direct.network.unwrap(), compiled.network.unwrap());
                proptest::prop_assert!(cn.contains(&dn), "{}: {} vs {}", ip, dn, cn);
            }
        }
    }

    #[test]
    fn empty_layered_locator_is_unknown() {
        let l = LayeredLocator::new();
        assert_eq!(l.locate("1.2.3.4".parse().unwrap()).country, None);
        assert_eq!(l.describe(), "no location data");
        assert_eq!(l.compile().unwrap().stats().locations, 1);
    }
}
