//! Health in `steerage serve`: the configuration's checks take a provider
//! down (a TCP check to a closed port), and the health endpoint reads the
//! state and sets a provider up or down, behind the bearer token.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::dns::{scrape, series, target};
use super::{LOG_TIMEOUT, SCENARIO, Served};

const TOKEN: &str = "an-operator-token-0123456789";

/// One request to the health endpoint: the status code and the JSON body.
fn call(addr: SocketAddr, method: &str, target: &str, token: Option<&str>) -> (u16, Value) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body.trim()).unwrap())
}

fn until(mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < LOG_TIMEOUT, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn checks_take_a_provider_down_and_the_endpoint_overrides_them() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let check = format!(
        "cname = \"cdn-b.example.net\"\n\n[policy.provider.check]\nkind = \"tcp\"\ntarget = \"127.0.0.1\"\nport = {closed}\ninterval_ms = 200\ntimeout_ms = 100\nrise = 1\nfall = 1\n"
    );
    let config_text = SCENARIO.replacen("cname = \"cdn-b.example.net\"\n", &check, 1);
    assert_ne!(config_text, SCENARIO);
    let config = dir.path().join("steering.toml");
    std::fs::write(&config, config_text).unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let served = Served::start(&[
        "--config",
        config.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--health-api",
        "127.0.0.1:0",
        "--health-token-file",
        token_file.to_str().unwrap(),
        "--metrics",
        "127.0.0.1:0",
    ]);
    let api: SocketAddr = served.wait_log("health API", 0, LOG_TIMEOUT)["health_api"]
        .as_str()
        .unwrap()
        .strip_prefix("http://")
        .unwrap()
        .strip_suffix("/health")
        .unwrap()
        .parse()
        .unwrap();
    let us = Some("198.51.100.0/24");
    // cdn-b's check fails: the default rule's only provider is down, the
    // built-in provider answers.
    until(|| target(served.addr(), us) == "edge.example.org.");

    assert_eq!(call(api, "GET", "/health", None).0, 401);
    assert_eq!(call(api, "GET", "/health", Some("not-the-token")).0, 401);
    let (status, body) = call(api, "GET", "/health", Some(TOKEN));
    assert_eq!(status, 200, "{body}");
    let b = &body["providers"][0];
    assert_eq!(
        (
            b["provider"].as_str(),
            b["down"].as_bool(),
            b["source"].as_str()
        ),
        (Some("cdn-b"), Some(true), Some("checks"))
    );
    assert_eq!(b["last"][0]["detail"], "connection refused");

    // The metrics say so too.
    let (_, body) = scrape(served.metrics.unwrap());
    let labels = "{domain=\"www.example.com\",provider=\"cdn-b\"}";
    assert_eq!(
        series(&body, &format!("steerage_health_check_up{labels}")),
        Some(0),
        "{body}"
    );
    assert!(
        series(&body, "steerage_health_checks_total{result=\"failed\"}").unwrap_or(0) >= 1,
        "{body}"
    );
    let changed = format!(
        "steerage_health_state_changes_total{}",
        &labels[..labels.len() - 1]
    ) + ",to=\"down\"}";
    assert_eq!(series(&body, &changed), Some(1), "{body}");
    assert!(
        body.contains("steerage_health_check_duration_seconds_count"),
        "{body}"
    );

    // `steerage health` reads it: exit 1, a provider is down.
    let api_arg = api.to_string();
    let token_arg = token_file.to_str().unwrap();
    let out = std::process::Command::new(super::BIN)
        .args(["health", "--api", &api_arg, "--token-file", token_arg])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("www.example.com/cdn-b: DOWN (from checks)"),
        "{text}"
    );
    assert!(text.contains("connection refused"), "{text}");
    let out = std::process::Command::new(super::BIN)
        .args([
            "health",
            "--api",
            &api_arg,
            "--token-file",
            token_arg,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["providers"][0]["down"], true);
    // A wrong token: exit 2 with the reason.
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "not-the-token-at-all\n").unwrap();
    let out = std::process::Command::new(super::BIN)
        .args([
            "health",
            "--api",
            &api_arg,
            "--token-file",
            wrong.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 401"));

    // An operator sets it up for a minute: the override beats the checks.
    let (status, body) = call(
        api,
        "POST",
        "/health/www.example.com/cdn-b?state=up&for=60&reason=known+false+alarm",
        Some(TOKEN),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(target(served.addr(), us), "cdn-b.example.net.");
    let (_, body) = call(api, "GET", "/health", Some(TOKEN));
    assert_eq!(body["providers"][0]["source"], "override");
    // Cleared: the checks decide again.
    assert_eq!(
        call(api, "DELETE", "/health/www.example.com/cdn-b", Some(TOKEN)).0,
        200
    );
    assert_eq!(target(served.addr(), us), "edge.example.org.");
    // The built-in provider is never down.
    assert_eq!(
        call(
            api,
            "POST",
            "/health/www.example.com/builtin?state=down",
            Some(TOKEN)
        )
        .0,
        404
    );
}
