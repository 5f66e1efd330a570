//! `steerage check`: valid and invalid configurations, broken data, and
//! every kind of warning.

use predicates::prelude::*;

use crate::common::{country_db, json, steerage, testdata};

#[test]
fn a_valid_configuration_passes() {
    steerage()
        .arg("check")
        .arg(testdata("design.toml"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "valid (1 steered domain, 2 rules, 0 custom lines, lines not checked: no IP data given (--geo, --asn)); 0 errors, 0 warnings",
        ));
}

#[test]
fn a_syntax_error_names_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[builtin]\ncname = \"edge.example.org\"\n\n[[policy]]\ndomain = \"www.example.com\"\nttl = \"soon\"\n",
    )
    .unwrap();
    let report = json(steerage().arg("check").arg(&path), 1);
    assert_eq!(report["valid"], false);
    let error = report["errors"][0].as_str().unwrap();
    assert!(error.contains("bad.toml"), "{error}");
    assert!(error.contains("line 6, column 7"), "{error}");
}

#[test]
fn a_model_error_names_the_policy_rule_and_provider() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(testdata("design.toml"))
        .unwrap()
        .replace(
            "provider = \"cdn-a\", weight = 70",
            "provider = \"cdn-z\", weight = 70",
        );
    std::fs::write(&path, text).unwrap();
    let out = steerage().arg("check").arg(&path).assert().code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for part in ["bad.toml", "www.example.com", "china", "cdn-z"] {
        assert!(stdout.contains(part), "{part}: {stdout}");
    }
}

#[test]
fn unreadable_files_are_findings_naming_them() {
    steerage()
        .args(["check", "no-such-file.toml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "cannot read configuration `no-such-file.toml`",
        ));
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.mmdb");
    std::fs::write(&broken, b"not a database").unwrap();
    steerage()
        .arg("check")
        .arg(testdata("design.toml"))
        .arg("--geo")
        .arg(&broken)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("broken.mmdb"));
    let csv = dir.path().join("asn.csv");
    std::fs::write(
        &csv,
        "1.0.0.0,1.0.0.255,4134,Chinanet\n1.0.1.0,oops,4134,x\n",
    )
    .unwrap();
    steerage()
        .arg("check")
        .arg(testdata("design.toml"))
        .arg("--asn")
        .arg(&csv)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "asn.csv:2: column 2: `oops` is not an IP address",
        ));
}

#[test]
fn warnings_name_what_can_never_match_shadowing_and_apexes() {
    let dir = tempfile::tempdir().unwrap();
    let countries = country_db(dir.path());
    let report = json(
        steerage()
            .arg("check")
            .arg(testdata("warnings.toml"))
            .arg("--geo")
            .arg(&countries),
        1,
    );
    assert_eq!(report["valid"], true);
    let warnings = report["warnings"].as_array().unwrap();
    let find = |kind: &str, rule: Option<&str>| {
        warnings
            .iter()
            .find(|w| w["kind"] == kind && w["rule"].as_str() == rule)
            .unwrap_or_else(|| panic!("no {kind} warning for {rule:?}: {warnings:#?}"))["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(find("zone-apex", None).contains("`example.com` is a zone apex"));
    assert!(find("never-matches", Some("telecom")).contains("no ISP data is given"));
    assert!(
        find("never-matches", Some("maharashtra"))
            .contains("the IP data has no subdivisions of IN (India)")
    );
    assert!(find("shadowed", Some("lab")).contains("`office` answers"));
    assert_eq!(warnings.len(), 4, "{warnings:#?}");

    // With ASN data the ISP line can match; --allow-warnings passes.
    let asn = dir.path().join("asn.csv");
    std::fs::write(&asn, "1.0.0.0,1.0.255.255,4134,Chinanet\n").unwrap();
    let report = json(
        steerage()
            .arg("check")
            .arg(testdata("warnings.toml"))
            .arg("--geo")
            .arg(&countries)
            .arg("--asn")
            .arg(&asn)
            .arg("--allow-warnings"),
        0,
    );
    assert_eq!(report["warnings"].as_array().unwrap().len(), 3);

    // Without data, only what the configuration alone shows.
    let report = json(steerage().arg("check").arg(testdata("warnings.toml")), 1);
    assert_eq!(report["data"], serde_json::Value::Null);
    let kinds: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["zone-apex"]);
}
