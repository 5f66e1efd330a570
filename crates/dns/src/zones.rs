//! How the handler's zones are chosen and what their SOA and NS records
//! hold: the settings users give, checked.

use std::net::IpAddr;

use hickory_proto::rr::Name;

use crate::DnsError;

/// How the handler's zones look: which zones, their nameservers and SOA values.
///
/// **Derived zones** (no [`zone`](Self::zone) given): the handler serves, for
/// every steered name, its parent (`www.example.com` -> `example.com`); a
/// parent inside another such parent is merged into it (`a.b.example.com`
/// and `www.example.com` give the one zone `example.com`). A parent that is
/// a public suffix is never a zone: no TLD (`com`, `co.uk`, and every
/// unlisted single label under the list's default rule) and no suffix of the
/// list's private section either (`github.io`, `blogspot.com`: names under
/// them belong to many parties, and serving the suffix would claim all of
/// them). A steered name whose parent is a public suffix (`example.com`,
/// `alice.github.io`), or the root (`localhost`), so gets no zone and is
/// refused like any name outside the zones; serve it with an explicit zone
/// (its own apex cannot hold it, see below). The list is the Public Suffix
/// List as compiled into the `psl` crate of this build.
///
/// **Explicit zones**: the handler serves exactly those (public suffixes
/// included: the operator says so), and steered names outside them are
/// refused.
///
/// **No CNAME at an apex**: a zone's apex holds its SOA and NS, and a name
/// with a CNAME can hold nothing else (RFC 1034 section 3.6.2), so a steered
/// name at the apex of a served zone (`example.com` steered with the
/// explicit zone `example.com`, or with `www.example.com` steered too, which
/// derives it) is refused: creating the handler fails, and so does, as a
/// whole and with nothing published, a change to the steering that would
/// create the conflict ([`DnsError::SteeredApex`], inside
/// `SteeringError::Refused`). [`steered_apex`](Self::steered_apex) opts in to
/// serving the zone instead.
///
/// Defaults, per zone: one nameserver `ns1.<zone>` without addresses, hostmaster
/// `hostmaster.<zone>`, serial = the steering configuration's version (read per
/// answer: it changes on every published change without the zones being built
/// again), refresh 3600, retry 600, expire 604800, negative TTL 60, SOA and NS
/// TTL 3600.
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
    pub(crate) zones: Vec<Name>,
    nameservers: Vec<(Name, Vec<IpAddr>)>,
    hostmaster: Option<Name>,
    pub(crate) serial: Option<u32>,
    pub(crate) refresh: i32,
    pub(crate) retry: i32,
    pub(crate) expire: i32,
    pub(crate) negative_ttl: u32,
    pub(crate) soa_ttl: u32,
    pub(crate) ns_ttl: u32,
    pub(crate) steered_apex: SteeredApex,
}

/// What to do with a steered name at the apex of a served zone (see
/// [`ZoneSettings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SteeredApex {
    /// Refuse it: creating the handler fails, and so does a change that
    /// would steer an apex (the default).
    #[default]
    Refuse,
    /// Serve the zone: the apex answers as every apex does (SOA, NS, NODATA
    /// for other types), never with the steered name's CNAME, which only
    /// `Steering::select` then returns. For a steering shared with another
    /// consumer (an HTTP redirector, say) that steers apex names the DNS
    /// cannot alias.
    ServeZone,
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
            steered_apex: SteeredApex::Refuse,
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

    /// What to do with a steered name at a zone's apex (default
    /// [`SteeredApex::Refuse`]).
    pub fn steered_apex(mut self, choice: SteeredApex) -> Self {
        self.steered_apex = choice;
        self
    }

    /// The nameservers of the zone at `apex`: the configured ones, or
    /// `ns1.<apex>` without addresses.
    pub(crate) fn nameservers_of(&self, apex: &Name) -> Vec<(Name, Vec<IpAddr>)> {
        if self.nameservers.is_empty() {
            let default = Name::from_ascii("ns1")
                .and_then(|label| label.append_domain(apex))
                .unwrap_or_else(|_| apex.clone());
            vec![(default, Vec::new())]
        } else {
            self.nameservers.clone()
        }
    }

    /// The configured nameservers that have addresses: the hosts answered
    /// (and given as glue) inside a zone.
    pub(crate) fn hosts(&self) -> impl Iterator<Item = (&Name, &[IpAddr])> + '_ {
        self.nameservers
            .iter()
            .filter(|(_, addresses)| !addresses.is_empty())
            .map(|(name, addresses)| (name, addresses.as_slice()))
    }

    /// The configured hostmaster mailbox.
    pub(crate) fn hostmaster_name(&self) -> Option<&Name> {
        self.hostmaster.as_ref()
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn default_nameserver_is_ns1_in_the_zone() {
        let apex = Name::from_ascii("example.com.").unwrap();
        let ns = ZoneSettings::new().nameservers_of(&apex);
        assert_eq!(ns.len(), 1);
        assert_eq!(ns[0].0.to_ascii(), "ns1.example.com.");
        assert!(ns[0].1.is_empty());
        assert_eq!(ZoneSettings::new().hosts().count(), 0);
    }
}
