//! What to answer for one question: the DNS rules, apart from wire encoding.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{DNSClass, Record, RecordType};
use ipnet::IpNet;

use crate::zone::Zone;
use crate::zone_table::{Place, ZoneTable};

/// A steering decision, as far as DNS needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Steered<'s> {
    /// CNAME target, lower case, no trailing dot.
    pub(crate) cname: &'s str,
    pub(crate) ttl: u32,
    /// ECS scope prefix length for the answer.
    pub(crate) scope_prefix: u8,
    /// The rule that matched and the provider picked, for observers.
    pub(crate) rule: &'s str,
    pub(crate) provider: &'s str,
    /// No data: every provider is down and the policy fails closed.
    pub(crate) nodata: bool,
}

/// Where decisions come from: the steering snapshot of this query.
pub(crate) trait DecisionSource {
    /// The decision for `domain` (lower case, no trailing dot) and the client
    /// network; `None` when the name is not steered.
    fn decide(&self, domain: &str, client: IpNet) -> Option<Steered<'_>>;
}

/// The answer to one question.
#[derive(Debug)]
pub(crate) enum Outcome<'t, 's> {
    /// An error response with no records.
    Error(ResponseCode),
    /// The steered name's CNAME.
    Cname(Steered<'s>),
    /// The zone's SOA (its serial is the answer's).
    Soa(&'t Zone),
    /// The zone's SOA and NS, with glue: ANY at the apex.
    Any(&'t Zone),
    /// Records from the zone data: answer section and additional section.
    Records {
        answers: &'t [Record],
        additionals: &'t [Record],
    },
    /// The name exists without data of this type: NOERROR, SOA in authority.
    NoData(&'t Zone),
    /// The name does not exist: NXDOMAIN, SOA in authority.
    NxDomain(&'t Zone),
}

/// Decides the answer for `name` (lower case, no trailing dot, from
/// [`name_key`]) of type `qtype` and class `qclass`.
pub(crate) fn answer<'t, 's, S: DecisionSource>(
    table: &'t ZoneTable,
    source: &'s S,
    name: &str,
    qtype: RecordType,
    qclass: DNSClass,
    client: IpNet,
) -> Outcome<'t, 's> {
    match u16::from(qtype) {
        // Type 0 is reserved and OPT cannot be asked for (RFC 6891 section 6.1.1).
        0 | 41 => return Outcome::Error(ResponseCode::FormErr),
        // Zone transfers are not offered.
        251 | 252 => return Outcome::Error(ResponseCode::Refused),
        // ANY is answered below; the other meta-types (TSIG, TKEY, MAILA,
        // MAILB, unassigned 128-254) are not implemented.
        255 => {}
        128..=254 => return Outcome::Error(ResponseCode::NotImp),
        _ => {}
    }
    if !matches!(qclass, DNSClass::IN | DNSClass::ANY) {
        // Only class IN data is served; other classes are someone else's.
        return Outcome::Error(ResponseCode::Refused);
    }
    let place = table.place(name);
    let zone = match place {
        Place::Outside => return Outcome::Error(ResponseCode::Refused),
        Place::Apex(zone) | Place::Host(zone, _) | Place::Inside { zone, .. } => zone,
    };
    if let Place::Apex(zone) = place {
        // Never a CNAME at the apex (RFC 1034 section 3.6.2): a steered
        // name there is refused, or served as the zone only (see
        // `SteeredApex`).
        return match qtype {
            RecordType::SOA => Outcome::Soa(zone),
            RecordType::NS => records(&zone.ns, &zone.glue),
            RecordType::ANY => Outcome::Any(zone),
            _ => Outcome::NoData(zone),
        };
    }
    if let Some(steered) = source.decide(name, client) {
        if steered.nodata {
            // Failed closed (every provider down, `on_all_down =
            // "nodata"`): the name exists, with no data of any type.
            return Outcome::NoData(zone);
        }
        return match qtype {
            // RRSIG and NSEC may sit beside a CNAME (RFC 2181 section 10.1,
            // RFC 4035 section 2.5), so they are not aliased; the zones are
            // unsigned, so there are none: NODATA.
            RecordType::RRSIG | RecordType::NSEC => Outcome::NoData(zone),
            // Every other type, CNAME, ANY and DS included, gets the CNAME
            // (RFC 1034 section 3.6.2; a CNAME is never at a zone cut, so a
            // DS query at this name is this zone's to answer).
            _ => Outcome::Cname(steered),
        };
    }
    match place {
        Place::Host(_, host) => match qtype {
            RecordType::A if !host.a.is_empty() => records(&host.a, &[]),
            RecordType::AAAA if !host.aaaa.is_empty() => records(&host.aaaa, &[]),
            RecordType::ANY => records(&host.any, &[]),
            _ => Outcome::NoData(zone),
        },
        Place::Apex(_) | Place::Inside { interior: true, .. } => Outcome::NoData(zone),
        Place::Inside {
            interior: false, ..
        }
        | Place::Outside => Outcome::NxDomain(zone),
    }
}

fn records<'t, 's>(answers: &'t [Record], additionals: &'t [Record]) -> Outcome<'t, 's> {
    Outcome::Records {
        answers,
        additionals,
    }
}

/// Longest name in presentation form without the trailing dot.
pub(crate) const NAME_KEY_CAPACITY: usize = 256;

/// One byte of a name key: lower case; `\x01` for bytes that cannot be in a
/// hostname label.
pub(crate) fn name_key_byte(byte: u8) -> u8 {
    match byte {
        b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'*' => byte,
        b'A'..=b'Z' => byte.to_ascii_lowercase(),
        _ => 0x01,
    }
}

/// Writes the lower-case labels of `labels`, joined by dots, into `buf`, and
/// returns them as text: the form steered names and zones are keyed by.
///
/// A byte that cannot appear in a hostname label (a dot inside a label,
/// non-ASCII, spaces, ...) becomes `\x01`, which no configured name contains: such
/// a name can still fall inside a zone (and get NXDOMAIN) but never matches a
/// steered name or a zone apex by accident.
pub(crate) fn name_key<'b, 'l>(
    labels: impl Iterator<Item = &'l [u8]>,
    buf: &'b mut [u8; NAME_KEY_CAPACITY],
) -> &'b str {
    let mut len = 0;
    for label in labels {
        if len != 0 && len < buf.len() {
            buf[len] = b'.';
            len += 1;
        }
        for &byte in label {
            if len == buf.len() {
                break;
            }
            buf[len] = name_key_byte(byte);
            len += 1;
        }
    }
    // Only ASCII was written, so this cannot fail.
    std::str::from_utf8(&buf[..len]).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::zone_state::table_for;
    use crate::zones::ZoneSettings;

    /// A fixed table of steered names for the DNS rules alone.
    struct Fixed(HashMap<&'static str, &'static str>);

    impl DecisionSource for Fixed {
        fn decide(&self, domain: &str, client: IpNet) -> Option<Steered<'_>> {
            self.0.get(domain).map(|cname| Steered {
                cname,
                ttl: 60,
                scope_prefix: client.prefix_len().min(16),
                rule: "default",
                provider: "fixed",
                nodata: false,
            })
        }
    }

    fn setup() -> (ZoneTable, Fixed) {
        let steered = HashMap::from([
            ("www.example.com", "cdn-a.example.net"),
            ("img.static.example.com", "cdn-b.example.net"),
        ]);
        let settings = ZoneSettings::new()
            .zone("example.com")
            .unwrap()
            .nameserver("ns1.example.com", ["192.0.2.53".parse().unwrap()])
            .unwrap();
        let names: Vec<&str> = steered.keys().copied().collect();
        let table = table_for(&settings, &names).unwrap();
        (table, Fixed(steered))
    }

    fn ask(name: &str, qtype: RecordType) -> String {
        let (table, source) = setup();
        let client: IpNet = "203.0.113.0/24".parse().unwrap();
        let outcome = answer(&table, &source, name, qtype, DNSClass::IN, client);
        match outcome {
            Outcome::Error(code) => format!("error {code:?}"),
            Outcome::Cname(s) => {
                format!("cname {} ttl {} scope {}", s.cname, s.ttl, s.scope_prefix)
            }
            Outcome::Records {
                answers,
                additionals,
            } => format!(
                "records {} {} + {}",
                answers.len(),
                answers
                    .first()
                    .map(|r| r.record_type().to_string())
                    .unwrap_or_default(),
                additionals.len()
            ),
            Outcome::Soa(_) => "soa".into(),
            Outcome::Any(zone) => format!("any {} + {}", 1 + zone.ns.len(), zone.glue.len()),
            Outcome::NoData(_) => "nodata".into(),
            Outcome::NxDomain(_) => "nxdomain".into(),
        }
    }

    #[test]
    fn steered_name_gets_its_cname_for_every_aliased_type() {
        for qtype in [
            RecordType::A,
            RecordType::AAAA,
            RecordType::CNAME,
            RecordType::ANY,
            RecordType::DS,
            RecordType::MX,
            RecordType::TXT,
            RecordType::HTTPS,
        ] {
            assert_eq!(
                ask("www.example.com", qtype),
                "cname cdn-a.example.net ttl 60 scope 16",
                "{qtype}"
            );
        }
        assert_eq!(ask("www.example.com", RecordType::RRSIG), "nodata");
        assert_eq!(ask("www.example.com", RecordType::NSEC), "nodata");
    }

    #[test]
    fn apex_has_soa_and_ns_only() {
        assert_eq!(ask("example.com", RecordType::SOA), "soa");
        assert_eq!(ask("example.com", RecordType::NS), "records 1 NS + 1");
        assert_eq!(ask("example.com", RecordType::ANY), "any 2 + 1");
        assert_eq!(ask("example.com", RecordType::A), "nodata");
    }

    #[test]
    fn existence_decides_nodata_or_nxdomain() {
        assert_eq!(ask("static.example.com", RecordType::A), "nodata");
        assert_eq!(ask("nope.example.com", RecordType::A), "nxdomain");
        assert_eq!(ask("a.www.example.com", RecordType::A), "nxdomain");
        assert_eq!(ask("ns1.example.com", RecordType::A), "records 1 A + 0");
        assert_eq!(ask("ns1.example.com", RecordType::AAAA), "nodata");
    }

    #[test]
    fn outside_zones_meta_types_and_classes() {
        assert_eq!(ask("www.example.org", RecordType::A), "error Refused");
        assert_eq!(ask("com", RecordType::NS), "error Refused");
        assert_eq!(ask("example.com", RecordType::AXFR), "error Refused");
        assert_eq!(ask("example.com", RecordType::IXFR), "error Refused");
        assert_eq!(ask("example.com", RecordType::OPT), "error FormErr");
        assert_eq!(ask("example.com", RecordType::TSIG), "error NotImp");
        let (table, source) = setup();
        let client: IpNet = "203.0.113.0/24".parse().unwrap();
        let outcome = answer(
            &table,
            &source,
            "www.example.com",
            RecordType::A,
            DNSClass::CH,
            client,
        );
        assert!(matches!(outcome, Outcome::Error(ResponseCode::Refused)));
    }

    #[test]
    fn name_key_lowercases_and_masks_odd_bytes() {
        let mut buf = [0u8; NAME_KEY_CAPACITY];
        let labels: [&[u8]; 3] = [b"WwW", b"Exa.mple", b"com"];
        assert_eq!(
            name_key(labels.into_iter(), &mut buf),
            "www.exa\x01mple.com"
        );
        let mut buf = [0u8; NAME_KEY_CAPACITY];
        assert_eq!(name_key(std::iter::empty(), &mut buf), "");
        let long = vec![b"a".repeat(63); 5];
        let mut buf = [0u8; NAME_KEY_CAPACITY];
        assert_eq!(
            name_key(long.iter().map(Vec::as_slice), &mut buf).len(),
            NAME_KEY_CAPACITY
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            /// The key is lower case, dot-joined, at most 256 bytes, and
            /// holds no dot that was inside a label.
            #[test]
            fn name_key_shape(labels in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..20), 0..12)) {
                let mut buf = [0u8; NAME_KEY_CAPACITY];
                let key = name_key(labels.iter().map(Vec::as_slice), &mut buf);
                prop_assert!(key.len() <= NAME_KEY_CAPACITY);
                prop_assert!(!key.bytes().any(|b| b.is_ascii_uppercase()));
                let expected: usize = labels.iter().map(Vec::len).sum::<usize>() + labels.len().saturating_sub(1);
                if expected <= NAME_KEY_CAPACITY {
                    prop_assert_eq!(key.len(), expected);
                    prop_assert_eq!(key.split('.').count(), labels.len().max(1));
                }
            }

            /// With derived zones a steered name is inside a zone (never
            /// refused) unless its parent is a public suffix or the root; a
            /// steered name is never a zone's apex (the table is refused);
            /// no zone is a public suffix or inside another.
            #[test]
            fn steered_names_are_in_a_zone_unless_under_a_public_suffix(names in proptest::collection::vec("(www|[a-c]{1,2})(\\.[a-c]{1,2}){0,2}\\.(com|co\\.uk|io|zz)", 1..8)) {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                let Ok(table) = table_for(&ZoneSettings::new(), &names) else {
                    // Refused: some steered name must be a parent of another.
                    prop_assert!(names.iter().any(|n| names.iter().any(|m| m.split_once('.').is_some_and(|(_, p)| p == *n))));
                    return Ok(());
                };
                for name in &names {
                    let under_suffix = crate::derivation::candidate_parent(name).is_none();
                    match table.place(name) {
                        Place::Outside => prop_assert!(under_suffix, "{}", name),
                        Place::Apex(_) => prop_assert!(false, "{} at an apex", name),
                        _ => {}
                    }
                }
                let apexes: Vec<&str> = table.apexes().collect();
                for apex in &apexes {
                    prop_assert!(!crate::derivation::is_public_suffix(apex), "{}", apex);
                    prop_assert!(!apexes.iter().any(|other| apex.ends_with(&format!(".{other}"))), "{} nested", apex);
                }
            }
        }
    }
}
