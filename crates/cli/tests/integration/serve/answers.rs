//! Answers over UDP and TCP, IPv4 and IPv6, from hickory's client and dig;
//! the zone flags; bad usage.

use std::process::Command;

use steerage_dns::hickory_proto::op::ResponseCode;

use super::dns::{Via, ask, cname, dig, dig_available};
use super::{BEIJING, BIN, SCENARIO, SHANGHAI, Served};

fn scenario_file() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steering.toml");
    std::fs::write(&path, SCENARIO).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

#[test]
fn answers_over_udp_and_tcp_on_ipv4_and_ipv6() {
    let (_dir, config) = scenario_file();
    let served = Served::start(&[
        "--config",
        &config,
        "--listen",
        "127.0.0.1:0",
        "--listen",
        "[::1]:0",
        "--threads",
        "2",
        "--nameserver",
        "ns1.example.com=192.0.2.53",
    ]);
    assert_eq!(served.dns.len(), 2);
    assert!(served.dns[0].is_ipv4() && served.dns[1].is_ipv6());
    for &addr in &served.dns {
        for via in [Via::Udp, Via::Tcp] {
            let beijing = ask(addr, via, "www.example.com.", Some(BEIJING));
            assert!(beijing.metadata.authoritative);
            assert_eq!(cname(&beijing).as_deref(), Some("origin.example.net."));
            let shanghai = cname(&ask(addr, via, "WWW.EXAMPLE.COM.", Some(SHANGHAI))).unwrap();
            assert!(
                ["cdn-a.example.net.", "edge.example.org."].contains(&shanghai.as_str()),
                "{shanghai}"
            );
            // No ECS, from loopback: unknown, the default rule.
            let loopback = ask(addr, via, "www.example.com.", None);
            assert_eq!(cname(&loopback).as_deref(), Some("cdn-b.example.net."));
            let nothing = ask(addr, via, "nope.example.com.", None);
            assert_eq!(nothing.metadata.response_code, ResponseCode::NXDomain);
        }
    }
    if dig_available() {
        for &addr in &served.dns {
            for tcp in [false, true] {
                let (status, target) = dig(addr, "www.example.com", Some(BEIJING), tcp);
                assert_eq!(status, "NOERROR");
                assert_eq!(target.as_deref(), Some("origin.example.net."));
            }
            let (status, _) = dig(addr, "nope.example.com", None, false);
            assert_eq!(status, "NXDOMAIN");
        }
    }
    let (status, elapsed) = served.stop("TERM");
    assert!(status.success(), "{status:?}");
    assert!(elapsed.as_secs_f64() < 1.0, "{elapsed:?}");
}

#[test]
fn bad_usage_and_unusable_input_exit_2_with_the_reason() {
    let run = |args: &[&str]| {
        let output = Command::new(BIN).arg("serve").args(args).output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&["--listen", "127.0.0.1:0"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--config"), "{stderr}");

    let (_dir, config) = scenario_file();
    let (code, stderr) = run(&["--config", &config, "--listen", "not-an-address"]);
    assert_eq!(code, Some(2), "{stderr}");
    let (code, stderr) = run(&[
        "--config",
        &config,
        "--nameserver",
        "ns1.example.com=192.0.2.300",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("192.0.2.300"), "{stderr}");

    // A configuration with a syntax error: named with its line and column.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        "[builtin]\ncname = \"edge.example.org\"\n[[policy]\n",
    )
    .unwrap();
    let (code, stderr) = run(&[
        "--config",
        broken.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot load the config"), "{stderr}");
    assert!(
        stderr.contains("broken.toml") && stderr.contains("line 3"),
        "{stderr}"
    );

    // An ASN file that is neither CSV nor a database.
    let asn = dir.path().join("asn.csv");
    std::fs::write(&asn, "1.0.0.0,1.0.0.255,13335\n").unwrap();
    let (code, stderr) = run(&["--config", &config, "--asn", asn.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("asn.csv:1"), "{stderr}");

    // An address already taken.
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let (code, stderr) = run(&["--config", &config, "--listen", &listen]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot listen") && stderr.contains(&listen),
        "{stderr}"
    );

    // --help exits 0 and lists the options.
    let output = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--config",
        "--geo",
        "--asn",
        "--listen",
        "--zone",
        "--nameserver",
        "--threads",
        "--metrics",
        "--log-format",
    ] {
        assert!(help.contains(option), "{option} in\n{help}");
    }
}
