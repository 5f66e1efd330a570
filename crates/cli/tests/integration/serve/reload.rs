//! Reloads: on SIGHUP and on a file change, of the configuration and of the
//! IP data; a bad file is logged with its error and the old one keeps
//! serving.

use super::dns::{scrape, series, target};
use super::{LOG_TIMEOUT, SHANGHAI, Served, replace_file};

/// China to `china`, everyone else to vendor-b.
fn config(china: &str) -> String {
    format!(
        r#"
[builtin]
cname = "edge.example.org"

[[policy]]
domain = "www.example.com"
ttl = 60

[[policy.provider]]
name = "vendor-a"
kind = "cdn"
cname = "a.cdn.example"

[[policy.provider]]
name = "vendor-b"
kind = "cdn"
cname = "b.cdn.example"

[[policy.rule]]
name = "china"
lines = ["CN"]
targets = [{{ provider = "{china}", weight = 100 }}]

[policy.default]
targets = [{{ provider = "vendor-b", weight = 100 }}]
"#
    )
}

#[test]
fn sighup_reloads_the_config_and_a_bad_one_keeps_the_old() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steering.toml");
    std::fs::write(&path, config("vendor-a")).unwrap();
    let served = Served::start(&[
        "--config",
        path.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--metrics",
        "127.0.0.1:0",
        "--no-watch",
    ]);
    let addr = served.addr();
    assert_eq!(target(addr, Some(SHANGHAI)), "a.cdn.example.");

    // SIGHUP with nothing changed publishes nothing.
    let mark = served.log_len();
    served.signal("HUP");
    let unchanged = served.wait_log("config unchanged", mark, LOG_TIMEOUT);
    assert_eq!(unchanged["version"], 1);
    assert_eq!(unchanged["trigger"], "SIGHUP");

    // Without a watcher, an edit waits for SIGHUP.
    std::fs::write(&path, config("vendor-b")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(target(addr, Some(SHANGHAI)), "a.cdn.example.");
    let mark = served.log_len();
    served.signal("HUP");
    let reloaded = served.wait_log("config reloaded", mark, LOG_TIMEOUT);
    assert_eq!(reloaded["version"], 2);
    assert_eq!(reloaded["previous"], 1);
    assert_eq!(reloaded["changes"], "changed www.example.com");
    assert_eq!(target(addr, Some(SHANGHAI)), "b.cdn.example.");

    // An invalid file: refused with its line and column, the old one serves.
    std::fs::write(
        &path,
        config("vendor-b").replace(
            "weight = 100 }]\n\n[policy.default]",
            "weight = 100 }\n\n[policy.default]",
        ),
    )
    .unwrap();
    let mark = served.log_len();
    served.signal("HUP");
    let refused = served.wait_log(
        "config reload refused; the previous configuration keeps serving",
        mark,
        LOG_TIMEOUT,
    );
    assert_eq!(refused["level"], "ERROR");
    assert_eq!(refused["version"], 2);
    let error = refused["error"].as_str().unwrap();
    assert!(
        error.contains("steering.toml") && error.contains("line "),
        "{error}"
    );
    assert_eq!(target(addr, Some(SHANGHAI)), "b.cdn.example.");

    // A valid file naming a provider that does not exist: refused by
    // validation, naming the policy and rule.
    std::fs::write(&path, config("vendor-z")).unwrap();
    let mark = served.log_len();
    served.signal("HUP");
    let refused = served.wait_log(
        "config reload refused; the previous configuration keeps serving",
        mark,
        LOG_TIMEOUT,
    );
    let error = refused["error"].as_str().unwrap();
    assert!(
        error.contains("vendor-z") && error.contains("www.example.com"),
        "{error}"
    );
    assert_eq!(target(addr, Some(SHANGHAI)), "b.cdn.example.");

    let (_, body) = scrape(served.metrics.unwrap());
    assert_eq!(series(&body, "steerage_config_version"), Some(2));
    assert_eq!(
        series(
            &body,
            r#"steerage_reloads_total{what="config",result="ok"}"#
        ),
        Some(2)
    );
    assert_eq!(
        series(
            &body,
            r#"steerage_reloads_total{what="config",result="failed"}"#
        ),
        Some(2)
    );
    let (status, _) = served.stop("TERM");
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_file_change_reloads_without_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steering.toml");
    std::fs::write(&path, config("vendor-a")).unwrap();
    let served = Served::start(&[
        "--config",
        path.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--watch-settle-ms",
        "100",
    ]);
    let addr = served.addr();
    assert_eq!(target(addr, Some(SHANGHAI)), "a.cdn.example.");

    // Written in place.
    let mark = served.log_len();
    std::fs::write(&path, config("vendor-b")).unwrap();
    let reloaded = served.wait_log("config reloaded", mark, LOG_TIMEOUT);
    assert_eq!(reloaded["trigger"], "file change");
    assert_eq!(reloaded["version"], 2);
    assert_eq!(target(addr, Some(SHANGHAI)), "b.cdn.example.");

    // Replaced by rename.
    let mark = served.log_len();
    replace_file(&path, &config("vendor-a"));
    let reloaded = served.wait_log("config reloaded", mark, LOG_TIMEOUT);
    assert_eq!(reloaded["version"], 3);
    assert_eq!(target(addr, Some(SHANGHAI)), "a.cdn.example.");

    // Broken, then fixed: refused, then reloaded.
    let mark = served.log_len();
    replace_file(&path, "[builtin]\ncname = \n");
    served.wait_log(
        "config reload refused; the previous configuration keeps serving",
        mark,
        LOG_TIMEOUT,
    );
    assert_eq!(target(addr, Some(SHANGHAI)), "a.cdn.example.");
    let mark = served.log_len();
    replace_file(&path, &config("vendor-b"));
    let reloaded = served.wait_log("config reloaded", mark, LOG_TIMEOUT);
    assert_eq!(reloaded["version"], 4);
    assert_eq!(target(addr, Some(SHANGHAI)), "b.cdn.example.");
}

/// ISP rules, with an ASN CSV that says which carrier announces the client.
fn isp_config() -> &'static str {
    r#"
[builtin]
cname = "edge.example.org"

[[policy]]
domain = "www.example.com"

[[policy.provider]]
name = "vendor-a"
kind = "cdn"
cname = "a.cdn.example"

[[policy.provider]]
name = "vendor-u"
kind = "cdn"
cname = "u.cdn.example"

[[policy.rule]]
name = "telecom"
lines = ["CN/telecom"]
targets = [{ provider = "vendor-a", weight = 1 }]

[[policy.rule]]
name = "unicom"
lines = ["CN/unicom"]
targets = [{ provider = "vendor-u", weight = 1 }]
"#
}

/// A city database in the flat DB-IP layout placing 61.139.2.0/24 in
/// Sichuan (written here: the documentation ranges of the sample data are
/// reserved, and ASN data is never applied to reserved addresses).
fn city_db(path: &std::path::Path) {
    let mut writer = mmdb_writer::Writer::builder("DBIP-City-Lite")
        .description(&[("en", "steerage test fixture")])
        .ip_version(mmdb_writer::IpVersion::V4)
        .build();
    let record = serde_json::json!({"country_code": "CN", "state1": "Sichuan"});
    writer
        .insert("61.139.2.0/24".parse::<ipnet::IpNet>().unwrap(), &record)
        .unwrap();
    std::fs::write(path, writer.to_bytes().unwrap()).unwrap();
}

const CLIENT: &str = "61.139.2.0/24";

#[test]
fn ip_data_reloads_when_its_file_changes_and_a_bad_one_keeps_the_old() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steering.toml");
    std::fs::write(&path, isp_config()).unwrap();
    let city = dir.path().join("city.mmdb");
    city_db(&city);
    let asn = dir.path().join("asn-ipv4.csv");
    // AS4134: China Telecom.
    std::fs::write(&asn, "61.139.2.0,61.139.2.255,4134,CHINANET-BACKBONE\n").unwrap();
    let served = Served::start(&[
        "--config",
        path.to_str().unwrap(),
        "--geo",
        city.to_str().unwrap(),
        "--asn",
        asn.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--metrics",
        "127.0.0.1:0",
        "--watch-settle-ms",
        "100",
    ]);
    let addr = served.addr();
    assert_eq!(target(addr, Some(CLIENT)), "a.cdn.example.");

    // AS4837: China Unicom.
    let mark = served.log_len();
    replace_file(
        &asn,
        "61.139.2.0,61.139.2.255,4837,\"CHINA UNICOM China169 Backbone, CN\"\n",
    );
    let reloaded = served.wait_log("ip data reloaded", mark, LOG_TIMEOUT);
    assert_eq!(reloaded["trigger"], "file change");
    assert_eq!(reloaded["version"], 2);
    assert!(
        reloaded["changed"]
            .as_str()
            .unwrap()
            .ends_with("asn-ipv4.csv")
    );
    assert_eq!(target(addr, Some(CLIENT)), "u.cdn.example.");

    // A malformed line: refused, naming the file and line.
    let mark = served.log_len();
    replace_file(&asn, "61.139.2.0,61.139.2.255,4134,ok\n61.139.2.0,oops\n");
    let refused = served.wait_log(
        "ip data reload refused; the previous ip data keeps serving",
        mark,
        LOG_TIMEOUT,
    );
    let error = refused["error"].as_str().unwrap();
    assert!(error.contains("asn-ipv4.csv:2"), "{error}");
    assert_eq!(target(addr, Some(CLIENT)), "u.cdn.example.");

    // SIGHUP with the data as it is: only the configuration is read again.
    let mark = served.log_len();
    served.signal("HUP");
    served.wait_log("ip data unchanged", mark, LOG_TIMEOUT);
    served.wait_log("config unchanged", mark, LOG_TIMEOUT);

    let (_, body) = scrape(served.metrics.unwrap());
    assert_eq!(
        series(
            &body,
            r#"steerage_reloads_total{what="ip_data",result="ok"}"#
        ),
        Some(1)
    );
    assert_eq!(
        series(
            &body,
            r#"steerage_reloads_total{what="ip_data",result="failed"}"#
        ),
        Some(1)
    );
    assert_eq!(series(&body, "steerage_config_version"), Some(2));
}

/// The warnings of `steerage check` are logged at start, and a reload logs
/// only those that are new.
#[test]
fn check_warnings_are_logged_at_start_and_when_new() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steering.toml");
    std::fs::write(&path, isp_config()).unwrap();
    let city = dir.path().join("city.mmdb");
    city_db(&city);
    // A city database and no ASN data: the ISP lines can never match.
    let served = Served::start(&[
        "--config",
        path.to_str().unwrap(),
        "--geo",
        city.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--no-watch",
    ]);
    let warnings = |since: usize| -> Vec<serde_json::Value> {
        served.log()[since..]
            .iter()
            .filter(|l| l["level"] == "WARN" && l["kind"] == "never-matches")
            .cloned()
            .collect()
    };
    let at_start = warnings(0);
    assert_eq!(at_start.len(), 2, "{at_start:?}");
    assert_eq!(at_start[0]["policy"], "www.example.com");
    assert_eq!(at_start[0]["rule"], "telecom");
    assert_eq!(at_start[0]["line"], "CN/telecom");
    assert!(
        at_start[0]["message"].as_str().unwrap().contains("--asn"),
        "{at_start:?}"
    );
    // The client gets the built-in provider: no rule can match.
    assert_eq!(target(served.addr(), Some(CLIENT)), "edge.example.org.");

    // One more rule that cannot match: only it is logged.
    let mark = served.log_len();
    let more = isp_config().replace(
        "[[policy.rule]]\nname = \"unicom\"",
        "[[policy.rule]]\nname = \"mobile\"\nlines = [\"CN/mobile\"]\ntargets = [{ provider = \"vendor-u\", weight = 1 }]\n\n[[policy.rule]]\nname = \"unicom\"",
    );
    std::fs::write(&path, more).unwrap();
    served.signal("HUP");
    served.wait_log("config reloaded", mark, LOG_TIMEOUT);
    // The warnings follow the reload's line.
    let deadline = std::time::Instant::now() + LOG_TIMEOUT;
    while warnings(mark).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let new = warnings(mark);
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["rule"], "mobile");
}

/// A reload on a file change logs the warnings again: a warning fixed by
/// one reload and brought back by the next is logged anew, and a reload
/// that fixes every warning logs none.
#[test]
fn check_warnings_follow_file_change_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steering.toml");
    std::fs::write(&path, isp_config()).unwrap();
    let city = dir.path().join("city.mmdb");
    city_db(&city);
    let served = Served::start(&[
        "--config",
        path.to_str().unwrap(),
        "--geo",
        city.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    let rules = |since: usize| -> Vec<String> {
        served.log()[since..]
            .iter()
            .filter(|l| l["level"] == "WARN" && l["kind"] == "never-matches")
            .map(|l| l["rule"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    // The warnings follow the line of the reload (or start) they belong to.
    let settled = |since: usize, want: usize| -> Vec<String> {
        let deadline = std::time::Instant::now() + LOG_TIMEOUT;
        while rules(since).len() < want && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        rules(since)
    };
    assert_eq!(settled(0, 2), ["telecom", "unicom"]);

    // Country and province lines instead of ISP lines, both in the data
    // (a line the data never gives, `US` here, would be warned about
    // too): no rule left that can never match.
    let mark = served.log_len();
    replace_file(
        &path,
        &isp_config()
            .replace("\"CN/telecom\"", "\"CN\"")
            .replace("\"CN/unicom\"", "\"CN-SC\""),
    );
    served.wait_log("config reloaded", mark, LOG_TIMEOUT);
    assert_eq!(settled(mark, 0), Vec::<String>::new());
    assert_eq!(target(served.addr(), Some(CLIENT)), "u.cdn.example.");

    // The ISP lines back: their warnings are logged again.
    let mark = served.log_len();
    replace_file(&path, isp_config());
    served.wait_log("config reloaded", mark, LOG_TIMEOUT);
    assert_eq!(settled(mark, 2), ["telecom", "unicom"]);
}
