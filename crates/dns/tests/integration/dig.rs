//! The same scenario through `dig`, an independent client (BIND's). Skipped
//! with a notice when `dig` is not installed (`.ci/run` installs
//! bind9-dnsutils).

use std::net::SocketAddr;
use std::process::Command;

use steerage_dns::{SteeredApex, ZoneSettings};

use crate::apex::steering_of;
use crate::server::{BEIJING, BUILTIN, CDN_A, CDN_B, ORIGIN, SHANGHAI, TestServer, US};

/// What dig printed, picked apart.
#[derive(Debug, Default)]
struct DigAnswer {
    status: String,
    flags: Vec<String>,
    cname: Option<String>,
    /// `address/source/scope` as dig prints it.
    client_subnet: Option<String>,
    soa: bool,
}

fn dig_available() -> bool {
    match Command::new("dig").arg("-v").output() {
        Ok(output) => output.status.success(),
        Err(_) => {
            eprintln!("notice: `dig` not found; skipping the dig tests (install bind9-dnsutils)");
            false
        }
    }
}

fn dig(addr: SocketAddr, args: &[&str]) -> DigAnswer {
    let output = Command::new("dig")
        .arg(format!("@{}", addr.ip()))
        .args([
            "-p",
            &addr.port().to_string(),
            "+norec",
            "+time=2",
            "+tries=1",
        ])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let mut answer = DigAnswer::default();
    for line in text.lines() {
        if let Some(rest) = line.split("status: ").nth(1) {
            answer.status = rest.split(',').next().unwrap_or("").to_owned();
        } else if let Some(rest) = line.strip_prefix(";; flags: ") {
            let flags = rest.split(';').next().unwrap_or("");
            answer.flags = flags.split_whitespace().map(str::to_owned).collect();
        } else if let Some(rest) = line.strip_prefix("; CLIENT-SUBNET: ") {
            answer.client_subnet = Some(rest.trim().to_owned());
        } else if !line.starts_with(';') {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [_, _, "IN", "CNAME", target] => answer.cname = Some((*target).to_owned()),
                [_, _, "IN", "SOA", ..] => answer.soa = true,
                _ => {}
            }
        }
    }
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_through_dig_over_udp_and_tcp() {
    if !dig_available() {
        return;
    }
    let server = TestServer::start().await;
    let addr = server.addr;
    let checks = tokio::task::spawn_blocking(move || {
        for transport in ["+notcp", "+tcp"] {
            for (subnet, expected, scope) in [
                (BEIJING, &[ORIGIN][..], "24"),
                (SHANGHAI, &[CDN_A, BUILTIN][..], "24"),
                (US, &[CDN_B][..], ""),
            ] {
                let subnet_arg = format!("+subnet={subnet}");
                let a = dig(addr, &[transport, "www.example.com", "A", &subnet_arg]);
                assert_eq!(a.status, "NOERROR", "{transport} {subnet}: {a:?}");
                assert!(a.flags.iter().any(|f| f == "aa"), "{a:?}");
                let target = a.cname.clone().unwrap_or_default();
                assert!(
                    expected.contains(&target.as_str()),
                    "{transport} {subnet}: {a:?}"
                );
                // dig prints ECS as address/source/scope
                let ecs = a.client_subnet.clone().expect("ECS echoed");
                assert!(ecs.starts_with(&format!("{subnet}/")), "{ecs}");
                if !scope.is_empty() {
                    assert!(ecs.ends_with(&format!("/{scope}")), "{ecs}");
                }
            }
            // no ECS: source 127.0.0.1 decides (unknown: the default rule)
            let a = dig(addr, &[transport, "www.example.com", "A"]);
            assert_eq!(a.cname.as_deref(), Some(CDN_B), "{a:?}");
            assert_eq!(a.client_subnet, None);
        }
        // The README's command: dig masks 203.0.113.7 to its /24.
        let a = dig(addr, &["www.example.com", "+subnet=203.0.113.7/24"]);
        assert!(matches!(a.cname.as_deref(), Some(CDN_A | BUILTIN)), "{a:?}");
        assert_eq!(a.client_subnet.as_deref(), Some("203.0.113.0/24/24"));

        let a = dig(addr, &["example.com", "SOA"]);
        assert!(a.soa && a.flags.iter().any(|f| f == "aa"), "{a:?}");
        let a = dig(addr, &["nope.example.com", "A"]);
        assert_eq!(a.status, "NXDOMAIN");
        assert!(a.soa, "{a:?}");
        let a = dig(addr, &["example.com", "TXT"]);
        assert_eq!(a.status, "NOERROR");
        assert!(a.cname.is_none() && a.soa, "{a:?}");
        let a = dig(addr, &["www.example.org", "A"]);
        assert_eq!(a.status, "REFUSED");
    });
    checks.await.unwrap();
}

/// Public suffixes and the apex, as dig sees them: no zone at `com.` or
/// `github.io.` (REFUSED), and an apex that never answers a CNAME.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_suffixes_and_apexes_through_dig() {
    if !dig_available() {
        return;
    }
    let derived = TestServer::start_with(
        steering_of(&["example.com", "www.example.org", "alice.github.io"]),
        ZoneSettings::new(),
    )
    .await;
    let serve_zone = TestServer::start_with(
        steering_of(&["example.com", "www.example.com"]),
        ZoneSettings::new().steered_apex(SteeredApex::ServeZone),
    )
    .await;
    let (derived, serve_zone) = (derived.addr, serve_zone.addr);
    let checks = tokio::task::spawn_blocking(move || {
        for name in [
            "google.com",
            "example.com",
            "com",
            "alice.github.io",
            "github.io",
        ] {
            for qtype in ["A", "SOA"] {
                let a = dig(derived, &[name, qtype]);
                assert_eq!(a.status, "REFUSED", "{name} {qtype}: {a:?}");
                assert!(!a.soa && a.cname.is_none(), "{name}: {a:?}");
            }
        }
        let a = dig(derived, &["www.example.org", "A"]);
        assert_eq!(a.cname.as_deref(), Some(BUILTIN), "{a:?}");
        let a = dig(derived, &["example.org", "SOA"]);
        assert!(a.soa && a.flags.iter().any(|f| f == "aa"), "{a:?}");

        for transport in ["+notcp", "+tcp"] {
            let a = dig(serve_zone, &[transport, "example.com", "A"]);
            assert_eq!(a.status, "NOERROR", "{a:?}");
            assert!(a.cname.is_none() && a.soa, "apex: SOA only, {a:?}");
            let a = dig(serve_zone, &[transport, "www.example.com", "A"]);
            assert_eq!(a.cname.as_deref(), Some(BUILTIN), "{a:?}");
        }
    });
    checks.await.unwrap();
}
