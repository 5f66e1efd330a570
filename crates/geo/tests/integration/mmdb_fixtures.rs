//! The MMDB locator on small databases written in the test with mmdb-writer:
//! both schemas and the ASN schema, detection and forcing, the address edge
//! cases, damaged records, and the compiled table against the locator.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use mmdb_writer::{IpVersion, Writer};
use proptest::prelude::*;
use serde_json::{Value, json};
use steerage_geo::{
    Continent, Country, Isp, Location, Locator, MmdbLocator, MmdbSchema, RangeSource, SourceError,
    Subdivision,
};

pub(crate) fn write_db(version: IpVersion, records: &[(&str, Value)]) -> Vec<u8> {
    let mut writer = Writer::builder("Steerage-Test")
        .description(&[("en", "steerage test fixture")])
        .ip_version(version)
        .build();
    for (network, record) in records {
        writer
            .insert(network.parse::<IpNet>().unwrap(), record)
            .unwrap();
    }
    writer.to_bytes().unwrap()
}

fn nested_db() -> MmdbLocator {
    let bytes = write_db(
        IpVersion::V6,
        &[
            (
                "1.2.3.0/24",
                json!({"continent": {"code": "AS", "names": {"en": "Asia"}}, "country": {"iso_code": "CN"},
                       "subdivisions": [{"iso_code": "BJ"}, {"iso_code": "ZZ"}], "city": {"names": {"en": "Beijing"}}}),
            ),
            ("2.0.0.0/8", json!({"country": {"iso_code": "DE"}})),
            (
                "3.0.0.0/8",
                json!({"country": {"iso_code": "US"}, "subdivisions": [{"iso_code": "CA"}]}),
            ),
            ("10.0.0.0/8", json!({"country": {"iso_code": "CN"}})),
            (
                "2001:250::/32",
                json!({"country": {"iso_code": "CN"}, "subdivisions": [{"iso_code": "SH"}]}),
            ),
        ],
    );
    MmdbLocator::from_bytes(bytes, "nested.mmdb", None).unwrap()
}

fn flat_v4_db() -> MmdbLocator {
    let bytes = write_db(
        IpVersion::V4,
        &[
            (
                "1.2.4.0/24",
                json!({"country_code": "CN", "state1": "Inner Mongolia", "city": "Hohhot"}),
            ),
            (
                "8.8.8.0/24",
                json!({"country_code": "US", "state1": "California", "latitude": 37.4}),
            ),
            (
                "8.8.9.0/24",
                json!({"country_code": "IN", "state1": "Maharashtra"}),
            ),
            ("9.0.0.0/8", json!({"country_code": "ZZ"})),
        ],
    );
    MmdbLocator::from_bytes(bytes, "flat.mmdb", None).unwrap()
}

fn at(locator: &impl Locator, ip: &str) -> Location {
    locator.locate(ip.parse().unwrap())
}

fn code(location: &Location) -> (Option<&str>, Option<&str>, Option<&str>) {
    (
        location.continent.map(Continent::code),
        location.country.map(Country::code),
        location.subdivision.map(Subdivision::code),
    )
}

#[test]
fn nested_schema_is_detected_and_read() {
    let db = nested_db();
    assert_eq!(db.schema(), MmdbSchema::Nested);
    assert_eq!(db.describe(), "nested.mmdb");
    let bj = at(&db, "1.2.3.4");
    assert_eq!(code(&bj), (Some("AS"), Some("CN"), Some("CN-BJ")));
    assert_eq!(bj.network, Some("1.2.3.0/24".parse().unwrap()));
    // Continent derived from the country when the record lacks it.
    assert_eq!(code(&at(&db, "2.3.4.5")), (Some("EU"), Some("DE"), None));
    assert_eq!(
        code(&at(&db, "3.1.1.1")),
        (Some("NA"), Some("US"), Some("US-CA"))
    );
    assert_eq!(
        code(&at(&db, "2001:250::1")),
        (Some("AS"), Some("CN"), Some("CN-SH"))
    );
}

#[test]
fn flat_schema_is_detected_and_read() {
    let db = flat_v4_db();
    assert_eq!(db.schema(), MmdbSchema::Flat);
    assert_eq!(
        code(&at(&db, "1.2.4.8")),
        (Some("AS"), Some("CN"), Some("CN-NM"))
    );
    assert_eq!(
        code(&at(&db, "8.8.8.8")),
        (Some("NA"), Some("US"), Some("US-CA"))
    );
    assert_eq!(
        code(&at(&db, "8.8.9.9")),
        (Some("AS"), Some("IN"), Some("IN-MH"))
    );
    // An unknown country code gives an unknown location, with its network.
    let zz = at(&db, "9.1.1.1");
    assert_eq!(code(&zz), (None, None, None));
    assert_eq!(zz.network, Some("9.0.0.0/8".parse().unwrap()));
}

#[test]
fn asn_schema_maps_carriers() {
    let bytes = write_db(
        IpVersion::V6,
        &[
            (
                "1.0.1.0/24",
                json!({"autonomous_system_number": 4134, "autonomous_system_organization": "Chinanet"}),
            ),
            (
                "1.0.2.0/24",
                json!({"autonomous_system_number": 37963, "autonomous_system_organization": "Alibaba"}),
            ),
            ("240e::/20", json!({"autonomous_system_number": 4134})),
            ("2409:8000::/20", json!({"autonomous_system_number": 9808})),
        ],
    );
    let db = MmdbLocator::from_bytes(bytes, "asn.mmdb", None).unwrap();
    assert_eq!(db.schema(), MmdbSchema::Asn);
    assert_eq!(at(&db, "1.0.1.1").isp, Some(Isp::Telecom));
    assert_eq!(at(&db, "1.0.2.1").isp, None);
    assert_eq!(at(&db, "240e::1").isp, Some(Isp::Telecom));
    assert_eq!(at(&db, "2409:8000::1").isp, Some(Isp::Mobile));
    assert_eq!(at(&db, "1.0.1.1").country, None);
}

#[test]
fn schema_can_be_forced() {
    let bytes = write_db(
        IpVersion::V4,
        &[(
            "1.2.4.0/24",
            json!({"country_code": "CN", "state1": "Beijing"}),
        )],
    );
    let forced =
        MmdbLocator::from_bytes(bytes.clone(), "flat.mmdb", Some(MmdbSchema::Nested)).unwrap();
    assert_eq!(forced.schema(), MmdbSchema::Nested);
    // Read with the wrong schema, the record has no field we know.
    assert_eq!(code(&at(&forced, "1.2.4.8")), (None, None, None));
    let right = MmdbLocator::from_bytes(bytes, "flat.mmdb", Some(MmdbSchema::Flat)).unwrap();
    assert_eq!(
        code(&at(&right, "1.2.4.8")),
        (Some("AS"), Some("CN"), Some("CN-BJ"))
    );
}

#[test]
fn address_edge_cases() {
    let nested = nested_db();
    // IPv4-mapped IPv6 is IPv4.
    assert_eq!(at(&nested, "::ffff:1.2.3.4"), at(&nested, "1.2.3.4"));
    let flat = flat_v4_db();
    assert_eq!(at(&flat, "::ffff:1.2.4.8"), at(&flat, "1.2.4.8"));
    // IPv6 against an IPv4-only database: unknown, no error.
    assert_eq!(at(&flat, "2001:250::1"), Location::default());
    // Reserved ranges are unknown even where the database has data.
    let private = at(&nested, "10.1.2.3");
    assert_eq!(private.country, None);
    assert_eq!(private.network, Some("10.0.0.0/8".parse().unwrap()));
    for ip in [
        "127.0.0.1",
        "169.254.1.1",
        "192.168.1.1",
        "192.0.2.1",
        "::1",
        "fe80::1",
        "2001:db8::1",
        "224.0.0.1",
    ] {
        assert_eq!(at(&nested, ip).country, None, "{ip}");
        assert_eq!(at(&flat, ip).country, None, "{ip}");
    }
    // The 6to4 alias of 1.2.3.4 is a tunnelling prefix: unknown.
    assert_eq!(at(&nested, "2002:102:304::1").country, None);
    // Outside every network: unknown, still with the database's network.
    let miss = at(&flat, "100.200.1.1");
    assert_eq!(miss.country, None);
    assert!(miss.network.is_some());
}

#[test]
fn damaged_records_give_partial_locations() {
    let bytes = write_db(
        IpVersion::V4,
        &[
            ("1.0.0.0/24", json!({"country": "CN"})),
            (
                "1.0.1.0/24",
                json!({"country": {"iso_code": 7}, "continent": {"code": "AS"}}),
            ),
            (
                "1.0.2.0/24",
                json!({"country": {"iso_code": "CN"}, "subdivisions": "BJ"}),
            ),
            (
                "1.0.3.0/24",
                json!({"country": {"iso_code": "CN"}, "subdivisions": [7, {"iso_code": "BJ"}]}),
            ),
            ("1.0.4.0/24", json!([1, 2, 3])),
            ("1.0.5.0/24", json!("just a string")),
            (
                "1.0.6.0/24",
                json!({"country": {"iso_code": ["CN"]}, "subdivisions": [{"iso_code": {"x": 1}}]}),
            ),
        ],
    );
    let db = MmdbLocator::from_bytes(bytes, "damaged.mmdb", Some(MmdbSchema::Nested)).unwrap();
    assert_eq!(code(&at(&db, "1.0.0.1")), (None, None, None));
    assert_eq!(code(&at(&db, "1.0.1.1")), (Some("AS"), None, None));
    assert_eq!(code(&at(&db, "1.0.2.1")), (Some("AS"), Some("CN"), None));
    assert_eq!(code(&at(&db, "1.0.3.1")), (Some("AS"), Some("CN"), None));
    assert_eq!(code(&at(&db, "1.0.4.1")), (None, None, None));
    assert_eq!(code(&at(&db, "1.0.5.1")), (None, None, None));
    assert_eq!(code(&at(&db, "1.0.6.1")), (None, None, None));
    let table = db.compile().unwrap();
    for i in 0..8u8 {
        let ip = IpAddr::from([1, 0, i, 1]);
        assert_eq!(code(&table.locate(ip)), code(&db.locate(ip)));
    }
}

#[test]
fn databases_without_a_known_field_are_refused_by_detection() {
    let bytes = write_db(
        IpVersion::V4,
        &[("1.0.0.0/24", json!({"something": "else"}))],
    );
    match MmdbLocator::from_bytes(bytes.clone(), "odd.mmdb", None) {
        Err(SourceError::UnrecognisedSchema {
            file,
            database_type,
        }) => {
            assert_eq!(file, PathBuf::from("odd.mmdb"));
            assert_eq!(database_type, "Steerage-Test");
        }
        other => panic!("{other:?}"),
    }
    // Forcing a schema opens it anyway.
    assert!(MmdbLocator::from_bytes(bytes, "odd.mmdb", Some(MmdbSchema::Flat)).is_ok());
}

/// `bytes` (a database written with 24-bit records) with its search tree
/// rewritten into a chain: nodes `0..depth` send both bits to the next node,
/// and node `depth` sends both to `last` (a node number, or `node_count` for
/// no data). Every node is reached by one path through a tree; here node `d`
/// is reached by 2^d, so a walk over the paths never ends.
fn chained_tree(mut bytes: Vec<u8>, depth: usize, last: usize) -> Vec<u8> {
    let reader = maxminddb::Reader::from_source(bytes.clone()).unwrap();
    assert_eq!(reader.metadata().record_size, 24);
    let node_count = reader.metadata().node_count as usize;
    assert!(node_count > depth && last <= node_count);
    let mut write = |node: usize, value: usize| {
        let record = u32::try_from(value).unwrap().to_be_bytes();
        for side in 0..2 {
            let at = node * 6 + side * 3;
            bytes[at..at + 3].copy_from_slice(&record[1..]);
        }
    };
    for node in 0..depth {
        write(node, node + 1);
    }
    write(depth, last);
    bytes
}

/// A hostile file whose search tree shares nodes (2^96 or 2^32 paths) is
/// refused at open and at compile after a bounded walk, not walked forever:
/// aliases of the IPv4 subtree (skipped by the walk without yielding) and
/// networks without data used to make the walk unbounded.
#[test]
fn search_trees_that_share_nodes_are_refused_not_walked() {
    // Host routes, so the trees have enough nodes to rewrite.
    let cn = json!({"country": {"iso_code": "CN"}});
    let v6 = write_db(IpVersion::V6, &[("2400::1/128", cn.clone())]);
    let v4 = write_db(IpVersion::V4, &[("1.2.3.4/32", cn)]);
    let node_count = |bytes: &[u8]| {
        maxminddb::Reader::from_source(bytes)
            .unwrap()
            .metadata()
            .node_count as usize
    };
    let hostile = [
        // Every path of 96 bits reaches node 96 (the IPv4 subtree); all but
        // `::/96` are aliases. No data anywhere.
        chained_tree(v6.clone(), 96, node_count(&v6)),
        // 2^32 networks without data.
        chained_tree(v4.clone(), 31, node_count(&v4)),
    ];
    for bytes in hostile {
        let started = std::time::Instant::now();
        match MmdbLocator::from_bytes(bytes.clone(), "chain.mmdb", None) {
            Err(SourceError::InvalidDatabase { file, source }) => {
                assert_eq!(file, PathBuf::from("chain.mmdb"));
                assert!(source.to_string().contains("shares nodes"), "{source}");
            }
            other => panic!("{other:?}"),
        }
        let forced =
            MmdbLocator::from_bytes(bytes, "chain.mmdb", Some(MmdbSchema::Nested)).unwrap();
        assert_eq!(forced.locate("1.2.3.4".parse().unwrap()).country, None);
        assert!(matches!(
            forced.compile(),
            Err(SourceError::InvalidDatabase { .. })
        ));
        // (Generous for a debug build: the bounded walk takes milliseconds.)
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }
}

#[test]
fn file_errors_name_the_file() {
    let missing = std::env::temp_dir().join("steerage-geo-no-such-file.mmdb");
    let err = MmdbLocator::open(&missing).unwrap_err();
    assert!(
        matches!(&err, SourceError::Read { file, .. } if *file == missing),
        "{err:?}"
    );
    // The message carries the cause, and the chain of sources repeats
    // nothing of it.
    let SourceError::Read { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        format!("cannot read `{}`: {source}", missing.display())
    );
    assert!(std::error::Error::source(&err).is_none());
    let err = MmdbLocator::from_bytes(b"not a database".to_vec(), "junk.mmdb", None).unwrap_err();
    let SourceError::InvalidDatabase { file, source } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(file.as_path(), std::path::Path::new("junk.mmdb"));
    assert_eq!(
        err.to_string(),
        format!("`junk.mmdb` is not a valid MaxMind DB file: {source}")
    );
    assert!(!source.to_string().is_empty());
    // A file written to disk opens by path.
    let path =
        std::env::temp_dir().join(format!("steerage-geo-fixture-{}.mmdb", std::process::id()));
    std::fs::write(
        &path,
        write_db(
            IpVersion::V4,
            &[("1.2.4.0/24", json!({"country_code": "CN"}))],
        ),
    )
    .unwrap();
    let db = MmdbLocator::open(&path).unwrap();
    assert_eq!(db.describe(), path.file_name().unwrap().to_string_lossy());
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn truncated_databases_never_panic() {
    let bytes = write_db(
        IpVersion::V6,
        &[
            (
                "1.2.3.0/24",
                json!({"country": {"iso_code": "CN"}, "subdivisions": [{"iso_code": "BJ"}]}),
            ),
            ("2001:250::/32", json!({"country": {"iso_code": "CN"}})),
        ],
    );
    for cut in (0..bytes.len()).step_by(7) {
        let mut damaged = bytes[..cut].to_vec();
        // Keep the metadata but cut the tree and data: the worst case.
        damaged.extend_from_slice(&bytes[bytes.len().saturating_sub(200)..]);
        if let Ok(db) = MmdbLocator::from_bytes(damaged, "cut.mmdb", Some(MmdbSchema::Nested)) {
            for ip in ["1.2.3.4", "2001:250::1", "8.8.8.8", "::ffff:1.2.3.4"] {
                let _ = db.locate(ip.parse().unwrap());
            }
            let _ = db.compile();
        }
    }
}

/// Compares the compiled table with the locator at `ip`: equal fields, and
/// the table's network contains the locator's.
pub(crate) fn assert_same_answer(source: &impl Locator, table: &impl Locator, ip: IpAddr) {
    let direct = source.locate(ip);
    let compiled = table.locate(ip);
    let strip = |l: &Location| {
        let mut l = l.clone();
        l.network = None;
        l
    };
    assert_eq!(strip(&compiled), strip(&direct), "{ip}");
    if let (Some(d), Some(c)) = (direct.network, compiled.network) {
        assert!(
            c.contains(&d) || c == d,
            "{ip}: locator network {d}, table network {c}"
        );
    }
}

fn arb_record() -> impl Strategy<Value = Value> {
    let countries = prop::sample::select(vec!["CN", "US", "DE", "IN", "JP", "ZZ"]);
    let states = prop::sample::select(vec![
        "Beijing",
        "Guangdong",
        "California",
        "Maharashtra",
        "Nowhere",
    ]);
    (countries, prop::option::of(states)).prop_map(|(c, s)| match s {
        Some(s) => json!({"country_code": c, "state1": s}),
        None => json!({"country_code": c}),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn compiled_table_answers_as_the_locator(
        nets in prop::collection::vec((any::<u32>(), 4u8..=28, arb_record()), 1..24),
        v6nets in prop::collection::vec((any::<u16>(), 16u8..=48, arb_record()), 0..8),
        probes in prop::collection::vec(any::<u32>(), 32),
    ) {
        let mut records: Vec<(String, Value)> = Vec::new();
        for (addr, len, rec) in &nets {
            let net = ipnet::Ipv4Net::new((*addr).into(), *len).unwrap().trunc();
            records.push((net.to_string(), rec.clone()));
        }
        for (top, len, rec) in &v6nets {
            let addr = std::net::Ipv6Addr::new(0x2400 | (top >> 4), *top, 0, 0, 0, 0, 0, 0);
            let net = ipnet::Ipv6Net::new(addr, *len).unwrap().trunc();
            records.push((net.to_string(), rec.clone()));
        }
        let borrowed: Vec<(&str, Value)> = records.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
        let db = MmdbLocator::from_bytes(write_db(IpVersion::V6, &borrowed), "p.mmdb", Some(MmdbSchema::Flat)).unwrap();
        let table = db.compile().unwrap();
        let mut ips: Vec<IpAddr> = probes.iter().map(|&p| IpAddr::from(p.to_be_bytes())).collect();
        for (n, _) in &records {
            let net: IpNet = n.parse().unwrap();
            ips.extend([net.network(), net.broadcast()]);
        }
        for ip in ips {
            assert_same_answer(&db, &table, ip);
        }
    }
}
