//! `steerage explain`: addresses, ECS subnets, and unsteered domains.

use predicates::prelude::*;

use crate::common::{json, steerage, testdata};

#[test]
fn explains_an_address() {
    steerage()
        .args(["explain", "WWW.example.com.", "192.0.2.10", "--config"])
        .arg(testdata("design.toml"))
        .assert()
        .success()
        .stdout(predicate::str::contains("beijing          CN-BJ"))
        .stdout(predicate::str::contains(
            "answer: origin -> origin.example.net, rule `beijing` via CN-BJ, TTL 60 s, ECS scope /24",
        ));
}

#[test]
fn explains_a_subnet_as_ecs_carries_it() {
    let report = json(
        steerage()
            .args(["explain", "www.example.com", "203.0.113.99/24", "--config"])
            .arg(testdata("design.toml")),
        0,
    );
    assert_eq!(report["subnet"], "203.0.113.0/24");
    assert_eq!(report["location"]["subdivision"], "CN-SH");
    assert_eq!(report["answer"]["rule"], "china");
    assert_eq!(report["rules"][1]["outcome"], "chosen");
    let weights: Vec<(String, u64)> = report["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["provider"].as_str().unwrap().to_owned(),
                w["effective"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        weights,
        [("cdn-a".to_owned(), 70), ("builtin".to_owned(), 30)]
    );
}

#[test]
fn an_unsteered_domain_is_a_finding() {
    steerage()
        .args(["explain", "api.example.com", "192.0.2.10", "--config"])
        .arg(testdata("design.toml"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`api.example.com` is not steered"));
}

#[test]
fn an_invalid_configuration_exits_2_naming_it() {
    steerage()
        .args([
            "explain",
            "www.example.com",
            "192.0.2.10",
            "--config",
            "missing.json",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "steerage: cannot read configuration `missing.json`",
        ));
}
