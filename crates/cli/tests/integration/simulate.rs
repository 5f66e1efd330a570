//! `steerage simulate` on the sample data: exact shares over the address
//! space and over a client list, random and sticky.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use serde_json::Value;
use steerage_cli::data::{self, DataArgs};

use crate::common::{json, steerage, testdata};

/// `{provider: clients}` of a row or a population.
fn clients(providers: &Value) -> BTreeMap<String, f64> {
    providers
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["provider"].as_str().unwrap().to_owned(),
                p["clients"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn map(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[test]
fn random_shares_over_ipv4_are_exact_expectations() {
    let report = json(
        steerage()
            .arg("simulate")
            .arg(testdata("design.toml"))
            .args(["--family", "ipv4"]),
        0,
    );
    let v4 = &report["domains"][0]["populations"][0];
    assert_eq!(v4["population"], "ipv4");
    assert_eq!(v4["clients"], 4_294_967_296.0);
    assert_eq!(v4["estimated"], false);
    let rows = v4["rows"].as_array().unwrap();
    let row = |rule: &str| rows.iter().find(|r| r["rule"] == rule).unwrap();
    // Beijing: 192.0.2.0/24; China: 198.18.0-3.0/24 and 203.0.113.0/24.
    assert_eq!(row("beijing")["line"], "CN-BJ");
    assert_eq!(
        clients(&row("beijing")["providers"]),
        map(&[("origin", 256.0)])
    );
    assert_eq!(
        clients(&row("china")["providers"]),
        map(&[("builtin", 1280.0 * 0.3), ("cdn-a", 1280.0 * 0.7)])
    );
    assert_eq!(
        clients(&row("default")["providers"]),
        map(&[("cdn-b", 4_294_967_296.0 - 1536.0)])
    );
    let rules: Vec<&str> = rows.iter().map(|r| r["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["beijing", "china", "default"]);
}

#[test]
fn a_client_list_weights_by_its_counts() {
    let report = json(
        steerage()
            .arg("simulate")
            .arg(testdata("design.toml"))
            .arg("--clients")
            .arg(testdata("clients.txt")),
        0,
    );
    let p = &report["domains"][0]["populations"][0];
    assert_eq!(p["population"], "clients");
    assert_eq!(p["clients"], 2000.0);
    assert_eq!(
        clients(&p["providers"]),
        map(&[
            ("builtin", 90.0),
            ("cdn-a", 210.0),
            ("cdn-b", 1150.0),
            ("origin", 550.0)
        ])
    );
}

#[test]
fn sticky_shares_are_what_select_picks() {
    let report = json(
        steerage()
            .arg("simulate")
            .arg(testdata("design-sticky.toml"))
            .args(["--family", "ipv4"]),
        0,
    );
    let rows = report["domains"][0]["populations"][0]["rows"]
        .as_array()
        .unwrap();
    let china = rows.iter().find(|r| r["rule"] == "china").unwrap();
    // Every /24 of China in the sample data, through `select`.
    let set = data::load_config(&testdata("design-sticky.toml")).unwrap();
    let ip_data = DataArgs::default().load().unwrap();
    let snapshot = data::compile(&set, &ip_data, &testdata("design-sticky.toml")).unwrap();
    let mut expected: BTreeMap<String, f64> = BTreeMap::new();
    for net in [
        "198.18.0.0",
        "198.18.1.0",
        "198.18.2.0",
        "198.18.3.0",
        "203.0.113.0",
    ] {
        let ip: Ipv4Addr = net.parse().unwrap();
        let d = snapshot.select("www.example.com", IpAddr::V4(ip)).unwrap();
        *expected.entry(d.provider().to_owned()).or_default() += 256.0;
    }
    assert_eq!(clients(&china["providers"]), expected);
}

#[test]
fn text_output_reads_as_a_table() {
    steerage()
        .arg("simulate")
        .arg(testdata("design.toml"))
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "IPv4, by address (4,294,967,296 addresses, exact)",
        ))
        .stdout(
            predicates::str::is_match(r"china\s+CN\s+1,280\s+0\.000030%\s+30\.00%\s+70\.00%")
                .unwrap(),
        );
}

#[test]
fn bad_client_lists_and_domains_exit_2_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clients.txt");
    std::fs::write(&path, "192.0.2.0/24 10\n192.0.2.300 5\n").unwrap();
    steerage()
        .arg("simulate")
        .arg(testdata("design.toml"))
        .arg("--clients")
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "clients.txt:2: `192.0.2.300` is not an IP address",
        ));
    std::fs::write(&path, "192.0.2.0/24 0\n").unwrap();
    steerage()
        .arg("simulate")
        .arg(testdata("design.toml"))
        .arg("--clients")
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "count `0` is not a positive whole number",
        ));
    steerage()
        .arg("simulate")
        .arg(testdata("design.toml"))
        .args(["--domain", "api.example.com"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "`api.example.com` is not steered",
        ));
}
