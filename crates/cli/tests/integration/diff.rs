//! `steerage diff` on the sample data: the sticky 10 % -> 20 % step, client
//! lists, random policies, unchanged and added domains.

use std::net::{IpAddr, Ipv4Addr};

use predicates::prelude::*;
use serde_json::Value;
use steerage_cli::data::{self, DataArgs};

use crate::common::{json, steerage, testdata};

fn share(moves: &Value, from: &str, to: &str) -> f64 {
    moves
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["from"] == from && m["to"] == to)
        .map_or(0.0, |m| m["share"].as_f64().unwrap())
}

#[test]
fn a_sticky_ramp_step_moves_clients_onto_the_new_vendor_only() {
    let report = json(
        steerage()
            .arg("diff")
            .arg(testdata("ramp-10.toml"))
            .arg(testdata("ramp-20.toml"))
            .args(["--family", "ipv4"]),
        1,
    );
    let d = &report["domains"][0];
    assert_eq!(d["domain"], "www.example.com");
    let p = &d["populations"][0];
    // What select says, /24 by /24 (China is five /24s in the sample data).
    let load = |name: &str| {
        let set = data::load_config(&testdata(name)).unwrap();
        data::compile(&set, &DataArgs::default().load().unwrap(), &testdata(name)).unwrap()
    };
    let (old, new) = (load("ramp-10.toml"), load("ramp-20.toml"));
    let mut switching = 0;
    for net in [
        "198.18.0.0",
        "198.18.1.0",
        "198.18.2.0",
        "198.18.3.0",
        "203.0.113.0",
    ] {
        let ip = IpAddr::V4(net.parse::<Ipv4Addr>().unwrap());
        let (a, b) = (
            old.select("www.example.com", ip).unwrap().provider(),
            new.select("www.example.com", ip).unwrap().provider(),
        );
        assert!(!(a == "cdn-new" && b != "cdn-new"), "{net} moved back");
        switching += usize::from(a != b);
    }
    assert_eq!(p["switches"]["switching"], switching as f64);
    assert_eq!(p["switches"]["subnet"], "/24");
    let moved = p["moved"].as_f64().unwrap() * 4_294_967_296.0;
    assert!((moved - switching as f64 * 256.0).abs() < 1e-6, "{moved}");
    assert_eq!(share(&p["moves"], "cdn-new", "cdn-a"), 0.0);
    let china = &p["rules"][0];
    assert_eq!(china["old_rule"], "china");
    assert!((share(&china["moves"], "cdn-a", "cdn-new") - switching as f64 / 5.0).abs() < 1e-12);
}

#[test]
fn a_random_step_moves_the_difference_of_the_shares() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.toml");
    let new = dir.path().join("new.toml");
    let text = std::fs::read_to_string(testdata("ramp-10.toml")).unwrap();
    std::fs::write(&old, text.replace("mode = \"sticky\"", "mode = \"random\"")).unwrap();
    std::fs::write(
        &new,
        text.replace("mode = \"sticky\"", "mode = \"random\"")
            .replace("weight = 90 }", "weight = 80 }")
            .replace("weight = 10 }", "weight = 20 }"),
    )
    .unwrap();
    let report = json(
        steerage()
            .arg("diff")
            .arg(&old)
            .arg(&new)
            .arg("--clients")
            .arg(testdata("clients.txt")),
        1,
    );
    let p = &report["domains"][0]["populations"][0];
    // 300 of 2000 listed clients are in China; a tenth of them moves.
    assert!((p["moved"].as_f64().unwrap() - 30.0 / 2000.0).abs() < 1e-12);
    assert!((share(&p["moves"], "cdn-a", "cdn-new") - 30.0 / 2000.0).abs() < 1e-12);
    assert_eq!(p["switches"], Value::Null);
}

#[test]
fn identical_configurations_change_nothing() {
    steerage()
        .arg("diff")
        .arg(testdata("design.toml"))
        .arg(testdata("design.toml"))
        .assert()
        .success()
        .stdout(predicate::str::contains("no steered domain changed"));
}

#[test]
fn added_and_removed_domains_are_listed() {
    let report = json(
        steerage()
            .arg("diff")
            .arg(testdata("design.toml"))
            .arg(testdata("warnings.toml")),
        1,
    );
    let changes: Vec<(String, String)> = report["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["domain"].as_str().unwrap().to_owned(),
                d["change"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("example.com".to_owned(), "added".to_owned()),
            ("www.example.com".to_owned(), "removed".to_owned())
        ]
    );
}

#[test]
fn text_output_shows_the_matrix() {
    steerage()
        .arg("diff")
        .arg(testdata("ramp-10.toml"))
        .arg(testdata("ramp-20.toml"))
        .args(["--family", "ipv4"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("sticky: "))
        .stdout(predicate::str::contains("from \\ to"))
        .stdout(predicate::str::contains("rule china"));
}
