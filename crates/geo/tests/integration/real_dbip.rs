//! DB-IP city lite (flat schema), IPv4 and IPv6: for 100,000 seeded random
//! addresses each, the MMDB locator equals an independent decode of the raw
//! record, and the compiled table equals the locator.

use std::net::{IpAddr, Ipv6Addr};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::Value;
use steerage_geo::{
    Country, LocationId, Locator, MmdbLocator, MmdbSchema, Subdivision, is_reserved,
};

use crate::mmdb_fixtures::assert_same_answer;
use crate::real_data;

const SAMPLES: usize = 100_000;

/// What the raw record says, decoded with serde_json and mapped through the
/// taxonomy by hand: (country, subdivision).
fn independent(db: &MmdbLocator, ip: IpAddr) -> (Option<Country>, Option<Subdivision>) {
    if is_reserved(ip) {
        return (None, None);
    }
    let Ok(result) = db.reader().lookup(ip) else {
        return (None, None);
    };
    let Ok(Some(record)) = result.decode::<Value>() else {
        return (None, None);
    };
    let country = record
        .get("country_code")
        .and_then(Value::as_str)
        .and_then(Country::from_code);
    let subdivision = country.and_then(|c| {
        record
            .get("state1")
            .and_then(Value::as_str)
            .and_then(|name| Subdivision::from_english_name(c, name))
    });
    (country, subdivision)
}

fn check(compiled: &real_data::Compiled, ips: &[IpAddr]) -> (usize, usize) {
    let db = &compiled.locator;
    let (mut placed, mut with_subdivision) = (0, 0);
    for &ip in ips {
        let location = db.locate(ip);
        let (country, subdivision) = independent(db, ip);
        assert_eq!(
            (location.country, location.subdivision),
            (country, subdivision),
            "{ip}"
        );
        assert_eq!(location.continent, country.map(Country::continent), "{ip}");
        placed += usize::from(country.is_some());
        with_subdivision += usize::from(subdivision.is_some());
        assert_same_answer(db, &compiled.table, ip);
    }
    (placed, with_subdivision)
}

#[test]
#[ignore = "needs STEERAGE_GEO_DATA"]
fn dbip_ipv4_locator_and_table_agree_with_the_raw_records() {
    real_data::dir();
    let compiled = real_data::dbip_v4();
    assert_eq!(compiled.locator.schema(), MmdbSchema::Flat);
    let mut rng = StdRng::seed_from_u64(0x5EED_0004);
    let ips: Vec<IpAddr> = (0..SAMPLES)
        .map(|_| IpAddr::from(rng.random::<u32>().to_be_bytes()))
        .collect();
    let (placed, with_subdivision) = check(compiled, &ips);
    let stats = compiled.table.stats();
    eprintln!(
        "DB-IP IPv4: {SAMPLES} addresses, {placed} placed, {with_subdivision} with a subdivision; \
         table {} ranges, {} locations",
        stats.ranges_v4, stats.locations
    );
    assert!(
        placed > SAMPLES / 2,
        "most random IPv4 addresses are in DB-IP"
    );
    // Only China, the US and India have subdivision lines.
    assert!(with_subdivision > placed / 4);
    // IPv6 against this IPv4-only database: unknown, not an error.
    assert_eq!(
        compiled
            .locator
            .locate("2400:cb00::1".parse().unwrap())
            .country,
        None
    );
    assert_eq!(
        compiled.table.lookup("2400:cb00::1".parse().unwrap()).id,
        LocationId::UNKNOWN
    );
}

#[test]
#[ignore = "needs STEERAGE_GEO_DATA"]
fn dbip_ipv6_locator_and_table_agree_with_the_raw_records() {
    real_data::dir();
    let compiled = real_data::dbip_v6();
    let known: Vec<(u128, u128)> = compiled
        .table
        .v6()
        .iter()
        .filter(|r| r.2 != LocationId::UNKNOWN)
        .map(|r| (r.0, r.1))
        .collect();
    assert!(known.len() > 1000);
    let mut rng = StdRng::seed_from_u64(0x5EED_0006);
    // Half uniformly in 2000::/3 (mostly misses), half inside ranges with data.
    let ips: Vec<IpAddr> = (0..SAMPLES)
        .map(|i| {
            let v = if i % 2 == 0 {
                (0x2000u128 << 112) | (rng.random::<u128>() >> 3)
            } else {
                let (s, e) = known[rng.random_range(0..known.len())];
                s + rng.random::<u128>() % (e - s).saturating_add(1).max(1)
            };
            IpAddr::V6(Ipv6Addr::from(v))
        })
        .collect();
    let (placed, with_subdivision) = check(compiled, &ips);
    eprintln!(
        "DB-IP IPv6: {SAMPLES} addresses, {placed} placed, {with_subdivision} with a subdivision; table {} ranges",
        compiled.table.stats().ranges_v6
    );
    assert!(placed > SAMPLES / 3);
    // IPv4 against the IPv6-only file (no IPv4 subtree): unknown.
    assert_eq!(
        compiled.locator.locate("1.2.4.8".parse().unwrap()).country,
        None
    );
    assert_same_answer(
        &compiled.locator,
        &compiled.table,
        "1.2.4.8".parse().unwrap(),
    );
}
