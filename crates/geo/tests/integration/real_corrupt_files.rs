//! Every corrupt database in `maxmind-bad` and the broken ones in
//! `maxmind-test`: an error at open that names the file, or unknown
//! locations, never a panic.

use std::net::IpAddr;

use steerage_geo::{Locator, MmdbLocator, MmdbSchema, RangeSource};

use crate::real_data;

const PROBES: &[&str] = &[
    "1.1.1.1",
    "1.2.3.4",
    "2.125.160.216",
    "81.2.69.160",
    "89.160.20.128",
    "175.16.199.1",
    "216.160.83.56",
    "::1.1.1.1",
    "2001:218::1",
    "2001:480:10::1",
    "2a02:cf40::1",
    "::ffff:81.2.69.160",
    "255.255.255.255",
];

fn exercise(db: &MmdbLocator) {
    for probe in PROBES {
        let ip: IpAddr = probe.parse().unwrap();
        let _ = db.locate(ip);
    }
    let _ = db.compile();
}

#[test]
#[ignore = "needs STEERAGE_GEO_DATA"]
fn corrupt_databases_error_at_open_or_answer_unknown() {
    let dir = real_data::dir();
    let mut files: Vec<_> = std::fs::read_dir(dir.join("maxmind-bad"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for broken in [
        "GeoIP2-City-Test-Broken-Double-Format.mmdb",
        "GeoIP2-City-Test-Invalid-Node-Count.mmdb",
        "MaxMind-DB-test-broken-pointers-24.mmdb",
        "MaxMind-DB-test-broken-search-tree-24.mmdb",
    ] {
        files.push(dir.join("maxmind-test").join(broken));
    }
    files.sort();
    assert!(files.len() >= 25, "{files:?}");
    let (mut refused, mut opened) = (0, 0);
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        match MmdbLocator::open(file) {
            Err(err) => {
                refused += 1;
                assert!(err.to_string().contains(&name), "{name}: {err}");
            }
            Ok(db) => {
                opened += 1;
                exercise(&db);
            }
        }
        // Forcing each schema skips detection: lookups must still be safe.
        for schema in [MmdbSchema::Nested, MmdbSchema::Flat, MmdbSchema::Asn] {
            match MmdbLocator::open_as(file, schema) {
                Err(err) => assert!(err.to_string().contains(&name), "{name}: {err}"),
                Ok(db) => exercise(&db),
            }
        }
    }
    eprintln!(
        "corrupt databases: {refused} refused at open, {opened} opened (lookups unknown or partial)"
    );
}
