//! Each kind of check against real servers: statuses, hangs, closed
//! connections, refused connections, certificates (a CA made here, a wrong
//! name, no verification), `Host`; shared probes; configuration changes.

use std::sync::Arc;
use std::time::Duration;

use steerage::policy::{CheckKind, HealthCheck};
use steerage_health::{HealthChecker, HealthError};

use crate::fixture::{DOMAIN, checked, config, is_down, last_detail, steering, wait_for};
use crate::servers::{Mode, Pki, Server, Tcp};

const LIMIT: Duration = Duration::from_secs(5);

fn fast(kind: &str, port: u16, extra: &str) -> String {
    format!(
        "kind = \"{kind}\"\ntarget = \"127.0.0.1\"\nport = {port}\ninterval_ms = 100\ntimeout_ms = 80\nrise = 1\nfall = 1\n{extra}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_statuses_hangs_closes_and_refusals() {
    let mut server = Server::http().await;
    let s = steering(&config(&fast("http", server.port(), "status = [200, 204]")));
    let _checker = HealthChecker::start(Arc::clone(&s)).unwrap();
    assert!(wait_for(LIMIT, || checked(&s, DOMAIN, "a")).await.is_some());
    assert!(!is_down(&s, DOMAIN, "a"));
    assert_eq!(last_detail(&s, DOMAIN, "a"), "HTTP 200");
    // The policy's domain is the Host (with the port: not 80).
    let host = format!("{DOMAIN}:{}", server.port());
    assert!(server.hosts().contains(&host), "{:?}", server.hosts());

    for (what, change, detail) in [
        ("500", Mode::Answer, "HTTP 500 (expected 200-204)"),
        ("hang", Mode::Hang, "timed out after 80 ms"),
        (
            "close",
            Mode::Close,
            "HTTP: connection closed before a response",
        ),
    ] {
        if what == "500" {
            server.set_status(500);
        } else {
            server.set_mode(change);
        }
        assert!(
            wait_for(LIMIT, || is_down(&s, DOMAIN, "a")).await.is_some(),
            "{what}"
        );
        assert!(last_detail(&s, DOMAIN, "a").starts_with(detail.split(' ').next().unwrap()));
        assert_eq!(last_detail(&s, DOMAIN, "a"), detail, "{what}");
        // Down: every client goes to b.
        for _ in 0..20 {
            assert_eq!(
                s.select(DOMAIN, "198.51.100.7".parse().unwrap())
                    .unwrap()
                    .provider(),
                "b"
            );
        }
        server.set_status(204);
        assert!(
            wait_for(LIMIT, || !is_down(&s, DOMAIN, "a"))
                .await
                .is_some(),
            "{what}: back up"
        );
    }
    // Stops listening, then comes back on the same port.
    server.down();
    assert!(wait_for(LIMIT, || is_down(&s, DOMAIN, "a")).await.is_some());
    assert_eq!(last_detail(&s, DOMAIN, "a"), "connection refused");
    server.up().await;
    assert!(
        wait_for(LIMIT, || !is_down(&s, DOMAIN, "a"))
            .await
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_test_ca_a_wrong_name_and_no_verification() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pki.ca_pem()).unwrap();
    let ca = ca.display().to_string();
    let right = Server::https(pki.server(DOMAIN)).await;
    let wrong = Server::https(pki.server("other.example")).await;

    let cases = [
        // The policy's domain is the SNI and the name verified.
        (
            right.port(),
            format!("ca_file = \"{ca}\""),
            false,
            "HTTP 200",
        ),
        // A certificate for another name.
        (
            wrong.port(),
            format!("ca_file = \"{ca}\""),
            true,
            "TLS: invalid peer certificate",
        ),
        // Mozilla's roots do not know the test CA.
        (
            right.port(),
            String::new(),
            true,
            "TLS: invalid peer certificate",
        ),
        // Not verified: the wrong name passes.
        (
            wrong.port(),
            "verify_certificate = false".to_owned(),
            false,
            "HTTP 200",
        ),
        // A configured host is the SNI: the wrong server's name passes.
        (
            wrong.port(),
            format!("ca_file = \"{ca}\"\nhost = \"other.example\""),
            false,
            "HTTP 200",
        ),
    ];
    for (port, extra, down, detail) in cases {
        let s = steering(&config(&fast("https", port, &extra)));
        let checker = HealthChecker::start(Arc::clone(&s)).unwrap();
        assert!(
            wait_for(LIMIT, || checked(&s, DOMAIN, "a")).await.is_some(),
            "{extra}"
        );
        assert_eq!(
            is_down(&s, DOMAIN, "a"),
            down,
            "{extra}: {}",
            last_detail(&s, DOMAIN, "a")
        );
        assert!(
            last_detail(&s, DOMAIN, "a").starts_with(detail),
            "{extra}: {}",
            last_detail(&s, DOMAIN, "a")
        );
        checker.stop();
    }
    assert!(
        right
            .hosts()
            .iter()
            .any(|h| h == &format!("{DOMAIN}:{}", right.port()))
    );
    assert!(
        wrong
            .hosts()
            .iter()
            .any(|h| h.starts_with("other.example:"))
    );

    // A CA file that cannot be read stops the start, naming it.
    let missing = dir.path().join("missing.pem");
    let s = steering(&config(&fast(
        "https",
        right.port(),
        &format!("ca_file = \"{}\"", missing.display()),
    )));
    match HealthChecker::start(s) {
        Err(HealthError::CaFile { path, .. }) => assert_eq!(path, missing),
        other => panic!("{:?}", other.map(|c| c.probes())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_accepts_and_refusals() {
    let listener = Tcp::start().await;
    let port = listener.addr.port();
    let s = steering(&config(&fast("tcp", port, "")));
    let _checker = HealthChecker::start(Arc::clone(&s)).unwrap();
    assert!(wait_for(LIMIT, || checked(&s, DOMAIN, "a")).await.is_some());
    assert!(!is_down(&s, DOMAIN, "a"));
    assert_eq!(last_detail(&s, DOMAIN, "a"), "connected");
    drop(listener);
    assert!(wait_for(LIMIT, || is_down(&s, DOMAIN, "a")).await.is_some());
    assert_eq!(last_detail(&s, DOMAIN, "a"), "connection refused");
}

/// Two policies with the same check share one probe; both providers go
/// down together; a configuration change is followed (a new check gets a
/// probe, a removed one stops).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_with_the_same_check_share_one_probe_and_changes_are_followed() {
    let mut server = Server::http().await;
    let check = fast("http", server.port(), "host = \"probe.example\"");
    let mut text = config(&check);
    text.push_str(&format!(
        r#"
[[policy]]
domain = "api.example.com"

[[policy.provider]]
name = "a2"
kind = "cdn"
cname = "a.cdn.example"

[policy.provider.check]
{check}
"#
    ));
    let s = steering(&text);
    let checker = HealthChecker::builder(Arc::clone(&s))
        .follow_every(Duration::from_millis(20))
        .start()
        .unwrap();
    assert_eq!(checker.probes(), 1);
    server.down();
    assert!(
        wait_for(LIMIT, || is_down(&s, DOMAIN, "a")
            && is_down(&s, "api.example.com", "a2"))
        .await
        .is_some()
    );
    server.up().await;
    // b gets a tcp check of its own: a second probe.
    s.apply(|set| {
        set.set_provider_check(
            DOMAIN,
            "b",
            Some(
                HealthCheck::new(CheckKind::Tcp)
                    .with_target("127.0.0.1".parse()?)
                    .with_port(server.port())
                    .with_interval_ms(100)
                    .with_timeout_ms(80),
            ),
        )
    })
    .unwrap();
    assert!(wait_for(LIMIT, || checker.probes() == 2).await.is_some());
    assert!(wait_for(LIMIT, || checked(&s, DOMAIN, "b")).await.is_some());
    s.apply(|set| set.set_provider_check(DOMAIN, "b", None))
        .unwrap();
    assert!(wait_for(LIMIT, || checker.probes() == 1).await.is_some());
    assert!(checker.stats().checks > 0);
    assert_eq!(checker.last_error(), None);
}

#[test]
fn starting_outside_a_runtime_is_an_error() {
    let s = steering(&config("kind = \"tcp\"\nport = 1"));
    assert!(matches!(
        HealthChecker::start(s),
        Err(HealthError::NoRuntime)
    ));
}
