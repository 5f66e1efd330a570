//! The zones the handler is authoritative for: their SOA and NS data, and which
//! names exist in them.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use hickory_proto::rr::rdata::{A, AAAA, NS, SOA};
use hickory_proto::rr::{Name, RData, Record};

use crate::DnsError;

/// How the handler's zones look: which zones, their nameservers and SOA values.
///
/// Without explicit zones the handler serves, for every steered name, its parent
/// (`www.example.com` -> `example.com`); a parent inside another such parent is
/// merged into it, and single-label names get no zone. With explicit zones it
/// serves exactly those, and steered names outside them are refused.
///
/// Defaults, per zone: one nameserver `ns1.<zone>` without addresses, hostmaster
/// `hostmaster.<zone>`, serial = the steering configuration's version (it changes
/// on every applied change), refresh 3600, retry 600, expire 604800, negative
/// TTL 60, SOA and NS TTL 3600.
///
/// ```
/// use steerage_dns::ZoneSettings;
///
/// let settings = ZoneSettings::new()
///     .zone("example.com")?
///     .nameserver("ns1.example.com", ["192.0.2.53".parse()?])?
///     .hostmaster("dns-admin.example.com")?
///     .negative_ttl(30);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ZoneSettings {
    zones: Vec<Name>,
    nameservers: Vec<(Name, Vec<IpAddr>)>,
    hostmaster: Option<Name>,
    serial: Option<u32>,
    refresh: i32,
    retry: i32,
    expire: i32,
    negative_ttl: u32,
    soa_ttl: u32,
    ns_ttl: u32,
}

impl Default for ZoneSettings {
    fn default() -> Self {
        Self::new()
    }
}

impl ZoneSettings {
    /// Zones derived from the steered names, default SOA and NS values.
    pub fn new() -> Self {
        Self {
            zones: Vec::new(),
            nameservers: Vec::new(),
            hostmaster: None,
            serial: None,
            refresh: 3600,
            retry: 600,
            expire: 604_800,
            negative_ttl: 60,
            soa_ttl: 3600,
            ns_ttl: 3600,
        }
    }

    /// Adds an explicit zone (then only explicit zones are served).
    pub fn zone(mut self, apex: &str) -> Result<Self, DnsError> {
        let name = parse_name("zone", apex)?;
        if name.is_root() {
            return Err(DnsError::RootZone);
        }
        if !self.zones.contains(&name) {
            self.zones.push(name);
        }
        Ok(self)
    }

    /// Adds a nameserver for every zone (replacing the `ns1.<zone>` default),
    /// with the addresses to answer for it when it lies inside a zone (glue).
    pub fn nameserver(
        mut self,
        name: &str,
        addresses: impl IntoIterator<Item = IpAddr>,
    ) -> Result<Self, DnsError> {
        let name = parse_name("nameserver", name)?;
        self.nameservers
            .push((name, addresses.into_iter().collect()));
        Ok(self)
    }

    /// The SOA RNAME (the hostmaster's mailbox as a name) for every zone.
    pub fn hostmaster(mut self, mailbox: &str) -> Result<Self, DnsError> {
        self.hostmaster = Some(parse_name("hostmaster", mailbox)?);
        Ok(self)
    }

    /// A fixed SOA serial instead of the configuration version.
    pub fn serial(mut self, serial: u32) -> Self {
        self.serial = Some(serial);
        self
    }

    /// SOA MINIMUM: how long resolvers cache NXDOMAIN and NODATA (RFC 2308).
    pub fn negative_ttl(mut self, seconds: u32) -> Self {
        self.negative_ttl = seconds;
        self
    }

    /// TTL of the SOA and NS records.
    pub fn record_ttl(mut self, seconds: u32) -> Self {
        self.soa_ttl = seconds;
        self.ns_ttl = seconds;
        self
    }

    /// SOA REFRESH, RETRY and EXPIRE, in seconds.
    pub fn timers(mut self, refresh: i32, retry: i32, expire: i32) -> Self {
        self.refresh = refresh;
        self.retry = retry;
        self.expire = expire;
        self
    }

    /// Checks what can only be checked against the zones: glue addresses for
    /// a nameserver outside every explicit zone are an error.
    pub(crate) fn validate(&self) -> Result<(), DnsError> {
        if self.zones.is_empty() {
            return Ok(());
        }
        for (name, addresses) in &self.nameservers {
            if !addresses.is_empty() && !self.zones.iter().any(|z| z.zone_of(name)) {
                return Err(DnsError::GlueOutsideZones {
                    name: name.to_ascii(),
                });
            }
        }
        Ok(())
    }
}

fn parse_name(role: &'static str, text: &str) -> Result<Name, DnsError> {
    let mut name = Name::from_ascii(text)
        .map_err(|source| DnsError::InvalidName {
            role,
            name: text.to_owned(),
            source,
        })?
        .to_lowercase();
    name.set_fqdn(true);
    Ok(name)
}

/// The key a name is looked up by: lower case, no trailing dot (the form the
/// engine uses for domain names).
pub(crate) fn key_of(name: &Name) -> String {
    let text = name.to_lowercase().to_ascii();
    text.strip_suffix('.').unwrap_or(&text).to_owned()
}

/// One served zone, its records built once.
#[derive(Debug)]
pub(crate) struct Zone {
    /// SOA for the answer section.
    pub(crate) soa: Record,
    /// SOA for negative answers: TTL min(SOA TTL, MINIMUM) (RFC 2308 section 3).
    pub(crate) negative_soa: Record,
    /// The apex NS RRset.
    pub(crate) ns: Vec<Record>,
    /// SOA then NS, for ANY at the apex.
    pub(crate) any: Vec<Record>,
    /// A/AAAA of in-zone nameservers, for the additional section of NS answers.
    pub(crate) glue: Vec<Record>,
}

/// Address records of one in-zone nameserver host.
#[derive(Debug, Default)]
pub(crate) struct Host {
    pub(crate) a: Vec<Record>,
    pub(crate) aaaa: Vec<Record>,
    pub(crate) any: Vec<Record>,
}

/// What a name is, inside the zones.
#[derive(Debug)]
pub(crate) enum Place<'t> {
    /// Outside every zone.
    Outside,
    /// The apex of this zone.
    Apex(&'t Zone),
    /// A nameserver host with addresses.
    Host(&'t Zone, &'t Host),
    /// Inside the zone; whether it exists depends on the steering (a steered
    /// name) or on `interior` (an empty non-terminal).
    Inside {
        zone: &'t Zone,
        /// An ancestor of a steered name or of a nameserver: it exists with no data.
        interior: bool,
    },
}

/// The zones for one steering configuration version, looked up per query.
#[derive(Debug)]
pub(crate) struct ZoneTable {
    version: u64,
    zones: Vec<Zone>,
    by_apex: HashMap<String, usize, Seeded>,
    interior: HashSet<String, Seeded>,
    hosts: HashMap<String, (usize, Host), Seeded>,
}

/// The hasher of the zone maps: every query looks names up in them several
/// times (each suffix of the name, then the host and interior sets), and
/// SipHash made that the largest part of answering. foldhash is several
/// times faster and still seeded per process, so which names collide cannot
/// be predicted from outside; the maps are built from the configuration and
/// never grow from queries.
type Seeded = foldhash::fast::RandomState;

impl ZoneTable {
    /// Builds the table for `steered` names (lower case, no trailing dot) of
    /// configuration `version`.
    pub(crate) fn build<'a>(
        settings: &ZoneSettings,
        version: u64,
        steered: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let steered: Vec<Name> = steered
            .into_iter()
            .filter_map(|d| Name::from_ascii(d).ok())
            .map(|mut n| {
                n.set_fqdn(true);
                n.to_lowercase()
            })
            .collect();
        let apexes = if settings.zones.is_empty() {
            derived_zones(&steered)
        } else {
            settings.zones.clone()
        };
        let serial = settings.serial.unwrap_or(version as u32);
        let mut table = Self {
            version,
            zones: Vec::with_capacity(apexes.len()),
            by_apex: HashMap::with_capacity_and_hasher(apexes.len(), Seeded::default()),
            interior: HashSet::default(),
            hosts: HashMap::default(),
        };
        for apex in &apexes {
            let index = table.zones.len();
            table.zones.push(build_zone(settings, apex, serial));
            table.by_apex.insert(key_of(apex), index);
        }
        // Nameserver hosts inside a zone: answer their addresses.
        for apex in &apexes {
            for (name, addresses) in nameservers_of(settings, apex) {
                if addresses.is_empty() || !apex.zone_of(&name) || &name == apex {
                    continue;
                }
                let Some(index) = table.closest_zone(&name) else {
                    continue;
                };
                let host = build_host(&name, &addresses, settings.ns_ttl);
                table.mark_interior(&name, index);
                table.zones[index].glue.extend(host.any.iter().cloned());
                table.hosts.insert(key_of(&name), (index, host));
            }
        }
        for name in &steered {
            if let Some(index) = table.closest_zone(name) {
                table.mark_interior(name, index);
            }
        }
        table
    }

    /// The configuration version this table was built for.
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// Number of zones served.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.zones.len()
    }

    /// Where `name` (lower case, no trailing dot) lies.
    pub(crate) fn place(&self, name: &str) -> Place<'_> {
        let Some((zone_index, is_apex)) = self.zone_index(name) else {
            return Place::Outside;
        };
        let zone = &self.zones[zone_index];
        if is_apex {
            return Place::Apex(zone);
        }
        if let Some((index, host)) = self.hosts.get(name)
            && *index == zone_index
        {
            return Place::Host(zone, host);
        }
        Place::Inside {
            zone,
            interior: self.interior.contains(name),
        }
    }

    /// The closest enclosing zone of `name`, and whether `name` is its apex.
    fn zone_index(&self, name: &str) -> Option<(usize, bool)> {
        if let Some(&index) = self.by_apex.get(name) {
            return Some((index, true));
        }
        let mut rest = name;
        while let Some(dot) = rest.find('.') {
            rest = &rest[dot + 1..];
            if let Some(&index) = self.by_apex.get(rest) {
                return Some((index, false));
            }
        }
        None
    }

    fn closest_zone(&self, name: &Name) -> Option<usize> {
        self.zone_index(&key_of(name)).map(|(index, _)| index)
    }

    /// Marks the ancestors of `name` strictly below its zone's apex as existing.
    fn mark_interior(&mut self, name: &Name, zone: usize) {
        let apex_labels = self.zones[zone].soa.name.num_labels();
        let mut ancestor = name.base_name();
        while ancestor.num_labels() > apex_labels {
            self.interior.insert(key_of(&ancestor));
            ancestor = ancestor.base_name();
        }
    }
}

/// Parents of the steered names, without those inside another parent.
fn derived_zones(steered: &[Name]) -> Vec<Name> {
    let mut parents: Vec<Name> = steered
        .iter()
        .filter(|n| n.num_labels() >= 2)
        .map(Name::base_name)
        .collect();
    parents.sort();
    parents.dedup();
    let outer: Vec<Name> = parents
        .iter()
        .filter(|p| !parents.iter().any(|q| q != *p && q.zone_of(p)))
        .cloned()
        .collect();
    outer
}

fn nameservers_of(settings: &ZoneSettings, apex: &Name) -> Vec<(Name, Vec<IpAddr>)> {
    if settings.nameservers.is_empty() {
        let default = Name::from_ascii("ns1")
            .and_then(|label| label.append_domain(apex))
            .unwrap_or_else(|_| apex.clone());
        vec![(default, Vec::new())]
    } else {
        settings.nameservers.clone()
    }
}

fn build_zone(settings: &ZoneSettings, apex: &Name, serial: u32) -> Zone {
    let nameservers = nameservers_of(settings, apex);
    let mname = nameservers
        .first()
        .map_or_else(|| apex.clone(), |(name, _)| name.clone());
    let rname = settings.hostmaster.clone().unwrap_or_else(|| {
        Name::from_ascii("hostmaster")
            .and_then(|label| label.append_domain(apex))
            .unwrap_or_else(|_| apex.clone())
    });
    let soa_data = SOA::new(
        mname,
        rname,
        serial,
        settings.refresh,
        settings.retry,
        settings.expire,
        settings.negative_ttl,
    );
    let soa = Record::from_rdata(apex.clone(), settings.soa_ttl, RData::SOA(soa_data.clone()));
    let negative_soa = Record::from_rdata(
        apex.clone(),
        settings.soa_ttl.min(settings.negative_ttl),
        RData::SOA(soa_data),
    );
    let ns: Vec<Record> = nameservers
        .iter()
        .map(|(name, _)| {
            Record::from_rdata(apex.clone(), settings.ns_ttl, RData::NS(NS(name.clone())))
        })
        .collect();
    let mut any = vec![soa.clone()];
    any.extend(ns.iter().cloned());
    Zone {
        soa,
        negative_soa,
        ns,
        any,
        glue: Vec::new(),
    }
}

fn build_host(name: &Name, addresses: &[IpAddr], ttl: u32) -> Host {
    let mut host = Host::default();
    for address in addresses {
        match address {
            IpAddr::V4(v4) => host
                .a
                .push(Record::from_rdata(name.clone(), ttl, RData::A(A(*v4)))),
            IpAddr::V6(v6) => host.aaaa.push(Record::from_rdata(
                name.clone(),
                ttl,
                RData::AAAA(AAAA(*v6)),
            )),
        }
    }
    host.any = host.a.iter().chain(&host.aaaa).cloned().collect();
    host
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(settings: &ZoneSettings, steered: &[&str]) -> ZoneTable {
        ZoneTable::build(settings, 7, steered.iter().copied())
    }

    #[test]
    fn derives_parent_zones_and_merges_nested_ones() {
        let t = table(
            &ZoneSettings::new(),
            &[
                "www.example.com",
                "a.b.example.com",
                "api.example.org",
                "localhost",
            ],
        );
        assert_eq!(t.len(), 2);
        assert!(matches!(t.place("example.com"), Place::Apex(_)));
        assert!(matches!(t.place("example.org"), Place::Apex(_)));
        assert!(matches!(
            t.place("b.example.com"),
            Place::Inside { interior: true, .. }
        ));
        assert!(matches!(
            t.place("nope.example.com"),
            Place::Inside {
                interior: false,
                ..
            }
        ));
        assert!(matches!(t.place("example.net"), Place::Outside));
        assert!(matches!(t.place("com"), Place::Outside));
        assert!(matches!(t.place("localhost"), Place::Outside));
    }

    #[test]
    fn explicit_zones_replace_derived_ones() {
        let settings = ZoneSettings::new().zone("Example.COM.").unwrap();
        let t = table(&settings, &["www.example.com", "api.example.org"]);
        assert_eq!(t.len(), 1);
        assert!(matches!(t.place("example.com"), Place::Apex(_)));
        assert!(matches!(t.place("api.example.org"), Place::Outside));
    }

    #[test]
    fn soa_defaults_and_negative_ttl() {
        let settings = ZoneSettings::new().negative_ttl(30);
        let t = table(&settings, &["www.example.com"]);
        let Place::Apex(zone) = t.place("example.com") else {
            panic!("apex expected")
        };
        let RData::SOA(soa) = &zone.soa.data else {
            panic!("SOA expected")
        };
        assert_eq!(soa.mname.to_ascii(), "ns1.example.com.");
        assert_eq!(soa.rname.to_ascii(), "hostmaster.example.com.");
        assert_eq!(soa.serial, 7);
        assert_eq!(zone.soa.ttl, 3600);
        assert_eq!(zone.negative_soa.ttl, 30);
        assert_eq!(zone.ns.len(), 1);
        assert!(zone.glue.is_empty());
    }

    #[test]
    fn in_zone_nameserver_gets_addresses_and_glue() {
        let settings = ZoneSettings::new()
            .zone("example.com")
            .unwrap()
            .nameserver(
                "ns1.dns.example.com",
                ["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()],
            )
            .unwrap()
            .nameserver("ns.other.net", [])
            .unwrap();
        settings.validate().unwrap();
        let t = table(&settings, &["www.example.com"]);
        let Place::Host(zone, host) = t.place("ns1.dns.example.com") else {
            panic!("host expected")
        };
        assert_eq!((host.a.len(), host.aaaa.len()), (1, 1));
        assert_eq!(zone.glue.len(), 2);
        assert_eq!(zone.ns.len(), 2);
        assert!(matches!(
            t.place("dns.example.com"),
            Place::Inside { interior: true, .. }
        ));
    }

    #[test]
    fn glue_outside_zones_and_root_are_errors() {
        let settings = ZoneSettings::new()
            .zone("example.com")
            .unwrap()
            .nameserver("ns1.example.net", ["192.0.2.1".parse().unwrap()])
            .unwrap();
        assert!(matches!(
            settings.validate(),
            Err(DnsError::GlueOutsideZones { .. })
        ));
        assert!(matches!(
            ZoneSettings::new().zone("."),
            Err(DnsError::RootZone)
        ));
        assert!(matches!(
            ZoneSettings::new().zone("a..b"),
            Err(DnsError::InvalidName { role: "zone", .. })
        ));
    }
}
