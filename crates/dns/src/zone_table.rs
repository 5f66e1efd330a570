//! The zones as queries read them: which names are apexes, nameserver hosts
//! or existing names inside a zone. Immutable once published; the writer
//! derives the next table from this one, copying only the shards of its
//! maps that a change touches.

use std::collections::HashMap;
use std::sync::Arc;

use hickory_proto::rr::Name;

use crate::shard_map::ShardMap;
use crate::zone::{Host, Zone};
use crate::zones::{ZoneSettings, key_of};

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

/// The zones for the names of one or more steering versions.
#[derive(Debug, Clone)]
pub(crate) struct ZoneTable {
    /// Apex (lower case, no trailing dot) -> zone.
    zones: ShardMap<Arc<Zone>>,
    /// Every proper ancestor of a steered name or of a nameserver host,
    /// with how many such names are under it. Kept whatever the zones: a
    /// name counts as existing only where it lies inside a zone.
    interior: ShardMap<u32>,
    /// The configured nameservers with addresses (few, fixed).
    hosts: Arc<HashMap<Box<str>, Host, foldhash::fast::RandomState>>,
    /// The SOA serial, when fixed rather than the version.
    fixed_serial: Option<u32>,
}

impl ZoneTable {
    /// A table with no zone and no steered name: the nameserver hosts of
    /// `settings` only.
    pub(crate) fn empty(settings: &ZoneSettings) -> Self {
        let mut table = Self {
            zones: ShardMap::default(),
            interior: ShardMap::default(),
            hosts: Arc::new(
                settings
                    .hosts()
                    .map(|(name, addresses)| {
                        let host = Host::new(name, addresses, settings.ns_ttl);
                        (key_of(name).into_boxed_str(), host)
                    })
                    .collect(),
            ),
            fixed_serial: settings.serial,
        };
        let hosts: Vec<String> = table.hosts.keys().map(|k| k.to_string()).collect();
        for host in &hosts {
            table.count_ancestors(host, 1);
        }
        table
    }

    /// The SOA serial of answers from the steering's `version`.
    pub(crate) fn serial(&self, version: u64) -> u32 {
        // The serial is 32 bits; versions past that wrap, as RFC 1982
        // serial arithmetic expects.
        self.fixed_serial.unwrap_or(version as u32)
    }

    /// Number of zones served.
    pub(crate) fn len(&self) -> usize {
        self.zones.len()
    }

    /// Where `name` (lower case, no trailing dot) lies.
    pub(crate) fn place(&self, name: &str) -> Place<'_> {
        let Some((zone, is_apex)) = self.zone_of(name) else {
            return Place::Outside;
        };
        if is_apex {
            return Place::Apex(zone);
        }
        if !self.hosts.is_empty()
            && let Some(host) = self.hosts.get(name)
        {
            return Place::Host(zone, host);
        }
        Place::Inside {
            zone,
            interior: self.interior.contains_key(name),
        }
    }

    /// The closest enclosing zone of `name`, and whether `name` is its apex.
    fn zone_of(&self, name: &str) -> Option<(&Zone, bool)> {
        if let Some(zone) = self.zones.get(name) {
            return Some((zone, true));
        }
        let mut rest = name;
        while let Some(dot) = rest.find('.') {
            rest = &rest[dot + 1..];
            if let Some(zone) = self.zones.get(rest) {
                return Some((zone, false));
            }
        }
        None
    }

    /// The apex of the closest zone strictly enclosing `name`.
    fn enclosing_zone<'n>(&self, name: &'n str) -> Option<&'n str> {
        let mut rest = name;
        while let Some(dot) = rest.find('.') {
            rest = &rest[dot + 1..];
            if self.zones.contains_key(rest) {
                return Some(rest);
            }
        }
        None
    }

    /// Counts `name`'s proper ancestors up (`by` 1) or down (`by` -1).
    pub(crate) fn count_ancestors(&mut self, name: &str, by: i8) {
        let mut rest = name;
        while let Some(dot) = rest.find('.') {
            rest = &rest[dot + 1..];
            if by > 0 {
                match self.interior.get_mut(rest) {
                    Some(count) => *count += 1,
                    None => {
                        self.interior.insert(rest.into(), 1);
                    }
                }
            } else if let Some(count) = self.interior.get_mut(rest) {
                *count -= 1;
                if *count == 0 {
                    self.interior.remove(rest);
                }
            }
        }
    }

    /// Adds the zones `added` and drops the zones `removed` (apexes, lower
    /// case, no trailing dot), moving the glue of the nameservers whose
    /// closest zone changes.
    pub(crate) fn change_zones(
        &mut self,
        settings: &ZoneSettings,
        added: &[String],
        removed: &[String],
    ) {
        let hosts: Vec<Box<str>> = self.hosts.keys().cloned().collect();
        let before: Vec<Option<String>> = hosts
            .iter()
            .map(|h| self.enclosing_zone(h).map(str::to_owned))
            .collect();
        for apex in removed {
            self.zones.remove(apex);
        }
        // The zones whose glue must be worked out.
        let mut rebuild: Vec<&str> = Vec::new();
        for apex in added {
            self.zones.insert(
                apex.as_str().into(),
                Arc::new(Zone::new(settings, &name_of(apex), [])),
            );
            rebuild.push(apex);
        }
        if hosts.is_empty() {
            return;
        }
        let mut moved: Vec<String> = Vec::new();
        for (host, before) in hosts.iter().zip(before) {
            let after = self.enclosing_zone(host).map(str::to_owned);
            if after != before {
                moved.extend(before);
                moved.extend(after);
            }
        }
        rebuild.extend(moved.iter().map(String::as_str));
        rebuild.sort_unstable();
        rebuild.dedup();
        for apex in rebuild {
            if !self.zones.contains_key(apex) {
                continue;
            }
            let glue: Vec<&Host> = self
                .hosts
                .iter()
                .filter(|(host, _)| self.enclosing_zone(host) == Some(apex))
                .map(|(_, host)| host)
                .collect();
            let zone = Arc::new(Zone::new(settings, &name_of(apex), glue));
            self.zones.insert(apex.into(), zone);
        }
    }

    /// The zones' apexes, in no particular order.
    #[cfg(test)]
    pub(crate) fn apexes(&self) -> impl Iterator<Item = &str> + '_ {
        self.zones.iter().map(|(apex, _)| &**apex)
    }

    /// The interior names and their counts.
    #[cfg(test)]
    pub(crate) fn interior(&self) -> impl Iterator<Item = (&str, u32)> + '_ {
        self.interior.iter().map(|(name, count)| (&**name, *count))
    }

    /// How many shards of its maps this table does not share with `other`.
    #[cfg(test)]
    pub(crate) fn unshared_with(&self, other: &Self) -> usize {
        self.zones.unshared_with(&other.zones) + self.interior.unshared_with(&other.interior)
    }
}

/// The name of a zone's apex from its key.
fn name_of(apex: &str) -> Name {
    // Keys come from validated names; the root stands in for the
    // impossible failure rather than a panic.
    let mut name = Name::from_ascii(apex).unwrap_or_else(|_| Name::root());
    name.set_fqdn(true);
    name
}
