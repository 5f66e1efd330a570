//! `--metrics`: the Prometheus endpoint scraped before and after queries.

use super::dns::{Via, ask, scrape, series};
use super::{BEIJING, SCENARIO, SHANGHAI, Served};

#[test]
fn metrics_count_answers_responses_and_ecs() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("steering.toml");
    std::fs::write(&config, SCENARIO).unwrap();
    let served = Served::start(&[
        "--config",
        config.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--metrics",
        "127.0.0.1:0",
    ]);
    let metrics = served.metrics.expect("a metrics address");

    let (status, before) = scrape(metrics);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(series(&before, "steerage_config_version"), Some(1));
    assert_eq!(series(&before, "steerage_policies"), Some(1));
    assert_eq!(
        series(
            &before,
            r#"steerage_responses_total{rcode="NOERROR",transport="udp"}"#
        ),
        Some(0)
    );
    assert_eq!(
        series(&before, r#"steerage_queries_total{ecs="true"}"#),
        Some(0)
    );
    assert!(!before.contains("steerage_answers_total{"), "{before}");
    assert!(series(&before, r#"steerage_location_ranges{family="ipv4"}"#).unwrap() > 0);
    assert_eq!(
        series(
            &before,
            r#"steerage_reloads_total{what="config",result="ok"}"#
        ),
        Some(0)
    );

    let addr = served.addr();
    for _ in 0..3 {
        ask(addr, Via::Udp, "www.example.com.", Some(BEIJING));
    }
    let mut shanghai = [0u64; 2];
    for _ in 0..4 {
        let response = ask(addr, Via::Tcp, "www.example.com.", Some(SHANGHAI));
        match super::dns::cname(&response).as_deref() {
            Some("cdn-a.example.net.") => shanghai[0] += 1,
            Some("edge.example.org.") => shanghai[1] += 1,
            other => panic!("{other:?}"),
        }
    }
    ask(addr, Via::Udp, "www.example.com.", None);
    ask(addr, Via::Udp, "nope.example.com.", None);
    ask(addr, Via::Tcp, "www.example.org.", None);

    let (_, after) = scrape(metrics);
    let answers = |rule: &str, provider: &str| {
        series(
            &after,
            &format!(
                r#"steerage_answers_total{{domain="www.example.com",rule="{rule}",provider="{provider}"}}"#
            ),
        )
    };
    assert_eq!(answers("beijing", "origin"), Some(3), "{after}");
    assert_eq!(
        answers("china", "cdn-a"),
        (shanghai[0] > 0).then_some(shanghai[0])
    );
    assert_eq!(
        answers("china", "builtin"),
        (shanghai[1] > 0).then_some(shanghai[1])
    );
    assert_eq!(answers("default", "cdn-b"), Some(1));
    let responses = |rcode: &str, transport: &str| {
        series(
            &after,
            &format!(r#"steerage_responses_total{{rcode="{rcode}",transport="{transport}"}}"#),
        )
    };
    assert_eq!(responses("NOERROR", "udp"), Some(4), "{after}");
    assert_eq!(responses("NXDOMAIN", "udp"), Some(1));
    assert_eq!(responses("NOERROR", "tcp"), Some(4));
    assert_eq!(responses("REFUSED", "tcp"), Some(1));
    assert_eq!(
        series(&after, r#"steerage_queries_total{ecs="true"}"#),
        Some(7)
    );
    assert_eq!(
        series(&after, r#"steerage_queries_total{ecs="false"}"#),
        Some(3)
    );
    assert!(after.contains("# TYPE steerage_answers_total counter"));

    // Anything but /metrics is not found.
    let mut stream = std::net::TcpStream::connect(metrics).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 404"), "{text}");
}
