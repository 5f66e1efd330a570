//! The records of one served zone (SOA, NS, glue) and of its nameserver
//! hosts, built once per zone; the SOA serial is filled in per answer, as
//! it follows the steering's version without the zone being built again.

use std::net::IpAddr;

use hickory_proto::rr::rdata::{A, AAAA, NS, SOA};
use hickory_proto::rr::{Name, RData, Record};

use crate::zones::ZoneSettings;

/// One served zone.
#[derive(Debug)]
pub(crate) struct Zone {
    /// The SOA, serial 0; [`Zone::soa`] sets the serial.
    soa: Record,
    /// TTL of the SOA in negative answers: min(SOA TTL, MINIMUM) (RFC 2308
    /// section 3).
    negative_ttl: u32,
    /// The apex NS RRset.
    pub(crate) ns: Vec<Record>,
    /// A/AAAA of the nameservers whose closest zone this is, for the
    /// additional section of NS and ANY answers.
    pub(crate) glue: Vec<Record>,
}

impl Zone {
    /// The zone at `apex` with the SOA and NS values of `settings` and the
    /// addresses of `hosts` as glue.
    pub(crate) fn new<'h>(
        settings: &ZoneSettings,
        apex: &Name,
        hosts: impl IntoIterator<Item = &'h Host>,
    ) -> Self {
        let nameservers = settings.nameservers_of(apex);
        let mname = nameservers
            .first()
            .map_or_else(|| apex.clone(), |(name, _)| name.clone());
        let rname = settings.hostmaster_name().cloned().unwrap_or_else(|| {
            Name::from_ascii("hostmaster")
                .and_then(|label| label.append_domain(apex))
                .unwrap_or_else(|_| apex.clone())
        });
        let soa = SOA::new(
            mname,
            rname,
            0,
            settings.refresh,
            settings.retry,
            settings.expire,
            settings.negative_ttl,
        );
        let ns = nameservers
            .iter()
            .map(|(name, _)| {
                Record::from_rdata(apex.clone(), settings.ns_ttl, RData::NS(NS(name.clone())))
            })
            .collect();
        Self {
            soa: Record::from_rdata(apex.clone(), settings.soa_ttl, RData::SOA(soa)),
            negative_ttl: settings.soa_ttl.min(settings.negative_ttl),
            ns,
            glue: hosts
                .into_iter()
                .flat_map(|h| h.any.iter().cloned())
                .collect(),
        }
    }

    /// The SOA with `serial`, for the answer section.
    pub(crate) fn soa(&self, serial: u32) -> Record {
        let mut record = self.soa.clone();
        if let RData::SOA(soa) = &mut record.data {
            soa.serial = serial;
        }
        record
    }

    /// The SOA with `serial` for the authority section of NXDOMAIN and
    /// NODATA answers.
    pub(crate) fn negative_soa(&self, serial: u32) -> Record {
        let mut record = self.soa(serial);
        record.ttl = self.negative_ttl;
        record
    }

    /// SOA then NS, for ANY at the apex.
    pub(crate) fn any(&self, serial: u32) -> Vec<Record> {
        let mut records = Vec::with_capacity(1 + self.ns.len());
        records.push(self.soa(serial));
        records.extend(self.ns.iter().cloned());
        records
    }
}

/// Address records of one nameserver host.
#[derive(Debug, Default)]
pub(crate) struct Host {
    pub(crate) a: Vec<Record>,
    pub(crate) aaaa: Vec<Record>,
    pub(crate) any: Vec<Record>,
}

impl Host {
    pub(crate) fn new(name: &Name, addresses: &[IpAddr], ttl: u32) -> Self {
        let mut host = Self::default();
        for address in addresses {
            match address {
                IpAddr::V4(v4) => {
                    host.a
                        .push(Record::from_rdata(name.clone(), ttl, RData::A(A(*v4))))
                }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soa_defaults_serial_and_negative_ttl() {
        let settings = ZoneSettings::new().negative_ttl(30);
        let apex = Name::from_ascii("example.com.").unwrap();
        let zone = Zone::new(&settings, &apex, []);
        let record = zone.soa(7);
        let RData::SOA(soa) = &record.data else {
            panic!("SOA expected")
        };
        assert_eq!(soa.mname.to_ascii(), "ns1.example.com.");
        assert_eq!(soa.rname.to_ascii(), "hostmaster.example.com.");
        assert_eq!(soa.serial, 7);
        assert_eq!(record.ttl, 3600);
        let negative = zone.negative_soa(8);
        assert_eq!(negative.ttl, 30);
        assert!(matches!(&negative.data, RData::SOA(soa) if soa.serial == 8));
        assert_eq!(zone.ns.len(), 1);
        assert_eq!(zone.any(9).len(), 2);
        assert!(zone.glue.is_empty());
    }
}
