//! MaxMind DB files: bytes -> `MmdbLocator` (open, schema detection) ->
//! `locate` -> compiled `LocationTable`.
//!
//! Beyond "no panic" on any file: a database that opens answers every address
//! with a location or unknown, the same each time; a location's network
//! contains the address and answers the same location (and network) at both
//! its ends; a subdivision comes with its country, a country with a
//! continent, an ISP only from an ASN database; reserved addresses are
//! unknown; opening with the detected schema forced answers alike; and a
//! table compiled from the database answers as the database does.
//!
//! Seeds are read at run time, never copied into the repository:
//! `cargo fuzz run mmdb_locate --sanitizer none corpus/mmdb_locate
//! $STEERAGE_GEO_DATA/maxmind-test $STEERAGE_GEO_DATA/maxmind-bad --
//! -max_len=131072 -max_total_time=60`
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use steerage_geo::{
    Continent, Country, Isp, Location, Locator, MmdbLocator, MmdbSchema, RangeSource, Subdivision,
    is_reserved,
};

/// Addresses in MaxMind's test databases, both families' edges, reserved
/// ranges, IPv4-mapped and 6to4 forms, and China's carriers.
const ADDRESSES: &[&str] = &[
    "0.0.0.0",
    "1.0.0.1",
    "1.2.3.4",
    "2.125.160.216",
    "10.0.0.1",
    "36.110.0.1",
    "67.43.156.1",
    "81.2.69.142",
    "89.160.20.112",
    "127.0.0.1",
    "149.101.100.1",
    "175.16.199.1",
    "192.0.2.1",
    "202.196.224.1",
    "216.160.83.56",
    "223.255.255.255",
    "255.255.255.255",
    "::",
    "::1",
    "::1.2.3.4",
    "::ffff:81.2.69.142",
    "2001:218::1",
    "2001:480::1",
    "2001:db8::1",
    "2002:5102:458e::1",
    "240e::1",
    "2a02:cf40::1",
    "2c0f:ff00::1",
    "fe80::1",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
];

fuzz_target!(|data: &[u8]| {
    let mut addresses: Vec<IpAddr> = ADDRESSES
        .iter()
        .map(|a| a.parse().expect("valid address"))
        .collect();
    // Two addresses the input chooses (its first bytes, the tree's first node).
    let mut head = [0u8; 16];
    let n = data.len().min(16);
    head[..n].copy_from_slice(&data[..n]);
    addresses.push(IpAddr::V6(Ipv6Addr::from(head)));
    addresses.push(IpAddr::V4(Ipv4Addr::new(
        head[3], head[2], head[1], head[0],
    )));

    let Ok(detected) = MmdbLocator::from_bytes(data.to_vec(), "fuzz.mmdb", None) else {
        return;
    };
    check(&detected, &addresses);
    // The detected schema, forced, reads the same.
    let forced = MmdbLocator::from_bytes(data.to_vec(), "fuzz.mmdb", Some(detected.schema()))
        .expect("opened once, opens again");
    for &ip in &addresses {
        assert_eq!(forced.locate(ip), detected.locate(ip), "{ip}");
    }
    // Another schema forced still answers within the rules.
    let other = match detected.schema() {
        MmdbSchema::Nested => MmdbSchema::Flat,
        MmdbSchema::Flat => MmdbSchema::Asn,
        _ => MmdbSchema::Nested,
    };
    let other = MmdbLocator::from_bytes(data.to_vec(), "fuzz.mmdb", Some(other))
        .expect("opened once, opens with any schema");
    check(&other, &addresses);
});

/// The fields of a location other than its network.
fn fields(
    l: &Location,
) -> (
    Option<Continent>,
    Option<Country>,
    Option<Subdivision>,
    Option<Isp>,
) {
    (l.continent, l.country, l.subdivision, l.isp)
}

fn check(locator: &MmdbLocator, addresses: &[IpAddr]) {
    let schema = locator.schema();
    for &ip in addresses {
        let location = locator.locate(ip);
        assert_eq!(locator.locate(ip), location, "{ip}: locating twice differs");
        assert!(location.custom.is_empty());
        if let Some(sub) = location.subdivision {
            assert_eq!(location.country, Some(sub.country()), "{ip}: {location:?}");
        }
        if location.country.is_some() {
            assert!(location.continent.is_some(), "{ip}: {location:?}");
        }
        match schema {
            MmdbSchema::Asn => {
                assert_eq!(location.continent, None);
                assert_eq!(location.country, None);
            }
            _ => assert_eq!(location.isp, None, "{ip}: ISP from a {schema:?} database"),
        }
        if is_reserved(ip) {
            assert_eq!(fields(&location), fields(&Location::default()), "{ip}");
        }
        let canonical = ip.to_canonical();
        let Some(network) = location.network else {
            continue;
        };
        assert!(network.contains(&canonical), "{ip}: outside {network}");
        for end in [network.network(), network.broadcast()] {
            let there = locator.locate(end);
            assert_eq!(
                fields(&there),
                fields(&location),
                "{ip} in {network}, but {end} answers otherwise"
            );
            assert_eq!(there.network, Some(network), "{ip} in {network}, {end}");
        }
    }
    // Compiling walks the whole tree; a database that compiles answers alike.
    if let Ok(table) = locator.compile() {
        for &ip in addresses {
            let (ours, theirs) = (locator.locate(ip), table.locate(ip));
            assert_eq!(fields(&theirs), fields(&ours), "{ip}: table and database");
            if let Some(network) = theirs.network {
                assert!(
                    network.contains(&ip.to_canonical()),
                    "{ip}: table {network}"
                );
            }
        }
    }
}
