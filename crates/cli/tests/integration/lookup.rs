//! `steerage lookup`: locations, the deciding network, which file said so.

use predicates::prelude::*;

use crate::common::{country_db, json, steerage, testdata};

#[test]
fn sample_addresses_are_located_with_their_network() {
    let report = json(
        steerage().args([
            "lookup",
            "192.0.2.10",
            "::ffff:203.0.113.7",
            "2001:db8:100::1",
            "8.8.8.8",
        ]),
        0,
    );
    let a = &report["addresses"];
    assert_eq!(a[0]["location"]["subdivision"], "CN-BJ");
    assert_eq!(a[0]["location"]["isp"], "telecom");
    assert_eq!(a[0]["location"]["continent"], "AS");
    assert_eq!(a[0]["location"]["network"], "192.0.2.0/25");
    assert_eq!(a[0]["sources"][0]["verdict"], "decided");
    assert_eq!(a[1]["location"]["subdivision"], "CN-SH");
    assert_eq!(a[2]["location"]["country"], "CN");
    assert_eq!(a[3]["location"]["country"], serde_json::Value::Null);
    assert_eq!(a[3]["sources"][0]["verdict"], "consulted");
}

#[test]
fn custom_lines_come_from_the_configuration() {
    steerage()
        .args(["lookup", "198.51.100.200", "--config"])
        .arg(testdata("warnings.toml"))
        .assert()
        .success()
        .stdout(predicate::str::contains("cidr:lab, cidr:office"))
        .stdout(predicate::str::contains("network:  198.51.100.128/25"));
}

#[test]
fn each_file_says_what_it_knows_and_which_one_decided() {
    let dir = tempfile::tempdir().unwrap();
    let countries = country_db(dir.path());
    let asn = dir.path().join("asn.csv");
    std::fs::write(
        &asn,
        "1.2.0.0,1.2.255.255,4134,Chinanet\n3.0.0.0,3.0.0.255,4134,\"Chinanet, abroad\"\n",
    )
    .unwrap();
    let report = json(
        steerage()
            .args(["lookup", "1.2.3.4", "3.0.0.1", "9.9.9.9", "--geo"])
            .arg(&countries)
            .arg("--asn")
            .arg(&asn),
        0,
    );
    let a = &report["addresses"];
    assert_eq!(a[0]["location"]["country"], "CN");
    assert_eq!(a[0]["location"]["isp"], "telecom");
    assert_eq!(a[0]["location"]["network"], "1.2.0.0/16");
    assert_eq!(a[0]["sources"][0]["verdict"], "decided");
    assert_eq!(a[0]["sources"][1]["asn"], 4134);
    assert_eq!(a[0]["sources"][1]["organisation"], "Chinanet");
    assert_eq!(a[0]["sources"][1]["verdict"], "decided");
    // A carrier's address that the region data puts abroad is no China ISP
    // line.
    assert_eq!(a[1]["location"]["isp"], serde_json::Value::Null);
    assert_eq!(
        a[1]["sources"][1]["verdict"],
        "overruled: outside China mainland"
    );
    assert_eq!(a[2]["sources"][0]["verdict"], "consulted");
}

#[test]
fn data_given_to_the_wrong_flag_or_broken_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let countries = country_db(dir.path());
    steerage()
        .args(["lookup", "1.2.3.4", "--asn"])
        .arg(&countries)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "is a city or country database: pass it with `--geo`",
        ));
    steerage()
        .args(["lookup", "1.2.3.4", "--geo", "no-such.mmdb"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot load IP data `no-such.mmdb`",
        ));
}
