//! The design scenario through ECS subnets, over UDP and TCP.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use steerage_dns::{ServerOptions, ZoneSettings};

use crate::client::{self, BOTH, Opt, Transport};
use crate::server::{
    BEIJING, BEIJING_V6, BUILTIN, CDN_A, CDN_B, ORIGIN, SHANGHAI, TestServer, US, scenario_steering,
};

/// The scope the engine decides for `subnet`, asked in-process.
fn engine_scope(server: &TestServer, subnet: &str) -> u8 {
    server
        .steering
        .snapshot()
        .select_subnet("www.example.com", subnet.parse().unwrap())
        .unwrap()
        .scope_prefix()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beijing_shanghai_us_and_no_ecs_over_udp_and_tcp() {
    let server = TestServer::start().await;
    for transport in BOTH {
        for (subnet, expected) in [
            (BEIJING, &[ORIGIN][..]),
            (SHANGHAI, &[CDN_A, BUILTIN][..]),
            (US, &[CDN_B][..]),
            (BEIJING_V6, &[ORIGIN][..]),
        ] {
            let r = client::ask(
                server.addr,
                transport,
                "www.example.com.",
                RecordType::A,
                Opt::Ecs(subnet),
            )
            .await;
            assert_eq!(
                r.metadata.response_code,
                ResponseCode::NoError,
                "{transport:?} {subnet}"
            );
            assert!(r.metadata.authoritative, "{transport:?} {subnet}: AA");
            assert_eq!(r.answers.len(), 1, "{transport:?} {subnet}");
            assert_eq!(r.answers[0].ttl, 60);
            let target = client::cname(&r).unwrap();
            assert!(
                expected.contains(&target.as_str()),
                "{transport:?} {subnet}: {target}"
            );

            // ECS echo: family, source and address as sent; the engine's scope.
            let sent: ipnet::IpNet = subnet.parse().unwrap();
            let echo = client::ecs(&r).expect("ECS echoed");
            assert_eq!(echo.addr(), sent.addr(), "{subnet}");
            assert_eq!(echo.source_prefix(), sent.prefix_len(), "{subnet}");
            let scope = engine_scope(&server, subnet);
            assert!(
                scope > 0 && scope <= sent.prefix_len(),
                "{subnet}: scope {scope}"
            );
            assert_eq!(echo.scope_prefix(), scope, "{subnet}");
        }

        // No ECS: the source address (127.0.0.1, unknown) decides: default.
        for opt in [Opt::None, Opt::Edns] {
            let r = client::ask(
                server.addr,
                transport,
                "www.example.com.",
                RecordType::A,
                opt,
            )
            .await;
            assert_eq!(
                client::cname(&r).as_deref(),
                Some(CDN_B),
                "{transport:?} {opt:?}"
            );
            assert!(client::ecs(&r).is_none(), "no ECS in, no ECS out");
            assert_eq!(
                r.edns.is_some(),
                matches!(opt, Opt::Edns),
                "OPT only when asked with one"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_prefixes_match_the_sample_networks() {
    let server = TestServer::start().await;
    // Shanghai is one /24 in the sample data: the answer holds for exactly it.
    let r = client::ask(
        server.addr,
        Transport::Udp,
        "www.example.com.",
        RecordType::A,
        Opt::Ecs(SHANGHAI),
    )
    .await;
    assert_eq!(client::ecs(&r).unwrap().scope_prefix(), 24);
    // A /32 inside Beijing's /25s: the scope never exceeds the source.
    let r = client::ask(
        server.addr,
        Transport::Udp,
        "www.example.com.",
        RecordType::A,
        Opt::Ecs("192.0.2.10/32"),
    )
    .await;
    let echo = client::ecs(&r).unwrap();
    assert_eq!(client::cname(&r).as_deref(), Some(ORIGIN));
    assert!(
        echo.scope_prefix() <= 32 && echo.scope_prefix() >= 24,
        "{}",
        echo.scope_prefix()
    );
    // Source prefix 0: the client opted out; the source address decides and
    // the scope is 0.
    let r = client::ask(
        server.addr,
        Transport::Udp,
        "www.example.com.",
        RecordType::A,
        Opt::Ecs("0.0.0.0/0"),
    )
    .await;
    let echo = client::ecs(&r).unwrap();
    assert_eq!((echo.source_prefix(), echo.scope_prefix()), (0, 0));
    assert_eq!(client::cname(&r).as_deref(), Some(CDN_B));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shanghai_gets_both_weighted_targets() {
    let server = TestServer::start().await;
    let (mut cdn_a, mut builtin) = (0, 0);
    for _ in 0..200 {
        let r = client::ask(
            server.addr,
            Transport::Udp,
            "www.example.com.",
            RecordType::A,
            Opt::Ecs(SHANGHAI),
        )
        .await;
        match client::cname(&r).as_deref() {
            Some(CDN_A) => cdn_a += 1,
            Some(BUILTIN) => builtin += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    // 70/30 over 200: both show up (missing one has probability < 1e-30).
    assert!(cdn_a > 0 && builtin > 0, "cdn-a {cdn_a}, builtin {builtin}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_aliased_type_gets_the_cname_and_names_are_case_insensitive() {
    let server = TestServer::start().await;
    for qtype in [
        RecordType::AAAA,
        RecordType::CNAME,
        RecordType::MX,
        RecordType::TXT,
        RecordType::ANY,
        RecordType::HTTPS,
    ] {
        let r = client::ask(
            server.addr,
            Transport::Udp,
            "WWW.EXAMPLE.COM.",
            qtype,
            Opt::Ecs(US),
        )
        .await;
        assert_eq!(client::cname(&r).as_deref(), Some(CDN_B), "{qtype}");
        // the question is echoed as asked
        assert_eq!(r.queries[0].name().to_ascii(), "WWW.EXAMPLE.COM.");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbatched_and_multi_worker_udp_answer_the_same() {
    for options in [
        ServerOptions::default().udp_batching(false),
        ServerOptions::default().udp_batching(false).udp_workers(2),
        ServerOptions::default().udp_workers(2),
    ] {
        let server = TestServer::start_with_options(
            scenario_steering(),
            ZoneSettings::new(),
            options.clone(),
        )
        .await;
        for (subnet, expected) in [(BEIJING, ORIGIN), (US, CDN_B)] {
            let r = client::ask(
                server.addr,
                Transport::Udp,
                "www.example.com.",
                RecordType::A,
                Opt::Ecs(subnet),
            )
            .await;
            assert_eq!(
                client::cname(&r).as_deref(),
                Some(expected),
                "{options:?} {subnet}"
            );
            assert_eq!(
                client::ecs(&r).unwrap().source_prefix(),
                subnet.parse::<ipnet::IpNet>().unwrap().prefix_len()
            );
        }
        let r = client::ask(
            server.addr,
            Transport::Udp,
            "nope.example.com.",
            RecordType::A,
            Opt::None,
        )
        .await;
        assert_eq!(
            r.metadata.response_code,
            ResponseCode::NXDomain,
            "{options:?}"
        );
    }
}
