//! MaxMind's official test databases (nested GeoIP2 schema, ASN and ISP):
//! every network listed in the `*.source.json` files resolves to the codes
//! listed there; the compiled tables agree.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use serde_json::Value;
use steerage_geo::{
    Continent, Country, Isp, Locator, MmdbLocator, MmdbSchema, RangeSource, Subdivision,
    is_reserved,
};

use crate::mmdb_fixtures::assert_same_answer;
use crate::real_data;

/// The networks of a source.json file with their records, IPv4-in-IPv6
/// notation (`::1.0.128.0/113`) turned into IPv4.
fn source_networks(path: &Path) -> Vec<(IpNet, Value)> {
    let list: Vec<serde_json::Map<String, Value>> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for entry in list {
        for (network, record) in entry {
            let net: IpNet = network.parse().unwrap();
            let net = match net {
                IpNet::V6(v6) if v6.prefix_len() >= 96 && u128::from(v6.network()) >> 32 == 0 => {
                    let v4 = std::net::Ipv4Addr::from(u128::from(v6.network()) as u32);
                    IpNet::V4(ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).unwrap())
                }
                other => other,
            };
            out.push((net, record));
        }
    }
    out
}

/// The record that decides `ip`: the most specific listed network holding it
/// (the later one among equals, as later inserts win).
fn deciding(networks: &[(IpNet, Value)], ip: IpAddr) -> Option<&Value> {
    let mut best: Option<&(IpNet, Value)> = None;
    for entry in networks {
        if entry.0.contains(&ip) && best.is_none_or(|b| entry.0.prefix_len() >= b.0.prefix_len()) {
            best = Some(entry);
        }
    }
    best.map(|b| &b.1)
}

fn str_at<'a>(record: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = record;
    for key in path {
        v = v.get(*key)?;
    }
    v.as_str()
}

fn probes(net: IpNet) -> [IpAddr; 2] {
    [net.network(), net.broadcast()]
}

#[test]
#[ignore = "needs STEERAGE_GEO_DATA"]
fn city_test_database_resolves_as_its_source() {
    let dir = real_data::dir();
    let db = MmdbLocator::open(dir.join("maxmind-test/GeoIP2-City-Test.mmdb")).unwrap();
    assert_eq!(db.schema(), MmdbSchema::Nested);
    let table = db.compile().unwrap();
    let networks = source_networks(&dir.join("maxmind-test/GeoIP2-City-Test.source.json"));
    let (mut checked, mut with_subdivision) = (0, 0);
    for &(net, _) in &networks {
        for ip in probes(net) {
            let record = deciding(&networks, ip).unwrap();
            let location = db.locate(ip);
            assert_same_answer(&db, &table, ip);
            if is_reserved(ip) {
                assert_eq!(location.country, None, "{ip} is reserved");
                continue;
            }
            checked += 1;
            let country = str_at(record, &["country", "iso_code"]).and_then(Country::from_code);
            assert_eq!(location.country, country, "{ip}");
            let continent = str_at(record, &["continent", "code"])
                .and_then(Continent::from_code)
                .or(country.map(Country::continent));
            assert_eq!(location.continent, continent, "{ip}");
            let subdivision = record
                .get("subdivisions")
                .and_then(|s| s.get(0))
                .and_then(|s| s.get("iso_code"))
                .and_then(Value::as_str)
                .zip(country)
                .and_then(|(code, c)| Subdivision::from_country_and_code(c, code));
            assert_eq!(location.subdivision, subdivision, "{ip}");
            with_subdivision += usize::from(subdivision.is_some());
        }
    }
    eprintln!(
        "GeoIP2-City-Test: {checked} addresses checked, {with_subdivision} with a known subdivision"
    );
    // Only China, the US and India have subdivision lines.
    assert!(
        checked > 300 && with_subdivision > 10,
        "{checked} {with_subdivision}"
    );
}

fn check_asn_database(file: &str, source: &str) {
    let dir = real_data::dir();
    let db = MmdbLocator::open(dir.join("maxmind-test").join(file)).unwrap();
    assert_eq!(db.schema(), MmdbSchema::Asn, "{file}");
    let table = db.compile().unwrap();
    let networks = source_networks(&dir.join("maxmind-test").join(source));
    let (mut checked, mut carriers) = (0, 0);
    for &(net, _) in &networks {
        for ip in probes(net) {
            let record = deciding(&networks, ip).unwrap();
            assert_same_answer(&db, &table, ip);
            let expected = if is_reserved(ip) {
                None
            } else {
                record
                    .get("autonomous_system_number")
                    .and_then(Value::as_u64)
                    .and_then(|asn| u32::try_from(asn).ok())
                    .and_then(Isp::from_asn)
            };
            assert_eq!(db.locate(ip).isp, expected, "{file} {ip}");
            checked += 1;
            carriers += usize::from(expected.is_some());
        }
    }
    eprintln!("{file}: {checked} addresses checked, {carriers} in carrier ASNs");
    assert!(checked > 1000);
}

#[test]
#[ignore = "needs STEERAGE_GEO_DATA"]
fn asn_test_database_resolves_as_its_source() {
    check_asn_database("GeoLite2-ASN-Test.mmdb", "GeoLite2-ASN-Test.source.json");
}

#[test]
#[ignore = "needs STEERAGE_GEO_DATA"]
fn isp_test_database_resolves_as_its_source() {
    check_asn_database("GeoIP2-ISP-Test.mmdb", "GeoIP2-ISP-Test.source.json");
}

#[test]
#[ignore = "needs STEERAGE_GEO_DATA"]
fn other_test_databases_open_with_the_nested_schema() {
    let dir = real_data::dir();
    for file in [
        "GeoIP2-Country-Test.mmdb",
        "GeoLite2-City-Test.mmdb",
        "GeoLite2-Country-Test.mmdb",
    ] {
        let db = MmdbLocator::open(dir.join("maxmind-test").join(file)).unwrap();
        assert_eq!(db.schema(), MmdbSchema::Nested, "{file}");
        // 2.125.160.216 is GB in every MaxMind test database.
        let gb = db.locate("2.125.160.216".parse().unwrap());
        assert_eq!(gb.country.map(Country::code), Some("GB"), "{file}");
        assert_eq!(gb.continent, Some(Continent::Europe));
        let table = db.compile().unwrap();
        assert_same_answer(&db, &table, "2.125.160.216".parse().unwrap());
    }
}
