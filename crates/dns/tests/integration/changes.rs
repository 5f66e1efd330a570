//! Changes while the server runs: they take effect on the next query.

use std::sync::Arc;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use steerage::Steering;
use steerage::geo::LocationTable;
use steerage::policy::{Provider, ProviderKind, Target, Weight};
use steerage_dns::ZoneSettings;

use crate::client::{self, Opt, Transport};
use crate::server::{BEIJING, BUILTIN, CDN_B, ORIGIN, SCENARIO, SHANGHAI, TestServer, US};

async fn answer(server: &TestServer, name: &str, subnet: &str) -> Option<String> {
    let r = client::ask(
        server.addr,
        Transport::Udp,
        name,
        RecordType::A,
        Opt::Ecs(subnet),
    )
    .await;
    client::cname(&r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_policy_sends_everyone_to_the_builtin_provider() {
    let server = TestServer::start().await;
    assert_eq!(
        answer(&server, "www.example.com.", BEIJING)
            .await
            .as_deref(),
        Some(ORIGIN)
    );
    server
        .steering
        .apply(|set| set.disable_policy("www.example.com"))
        .unwrap();
    for subnet in [BEIJING, SHANGHAI, US] {
        assert_eq!(
            answer(&server, "www.example.com.", subnet).await.as_deref(),
            Some(BUILTIN),
            "{subnet}"
        );
    }
    server
        .steering
        .apply(|set| set.enable_policy("www.example.com"))
        .unwrap();
    assert_eq!(
        answer(&server, "www.example.com.", BEIJING)
            .await
            .as_deref(),
        Some(ORIGIN)
    );
    assert_eq!(
        answer(&server, "www.example.com.", US).await.as_deref(),
        Some(CDN_B)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applied_changes_show_on_the_next_query() {
    let server = TestServer::start().await;
    assert_eq!(
        answer(&server, "www.example.com.", US).await.as_deref(),
        Some(CDN_B)
    );

    // A provider's CNAME changes in every rule at once.
    server
        .steering
        .apply(|set| {
            let provider = Provider::new(
                "cdn-b".parse()?,
                ProviderKind::Cdn,
                "cdn-b-v2.example.net".parse()?,
            );
            set.update_provider("www.example.com", "cdn-b", provider)
        })
        .unwrap();
    assert_eq!(
        answer(&server, "www.example.com.", US).await.as_deref(),
        Some("cdn-b-v2.example.net.")
    );

    // The default rule moves to the origin.
    server
        .steering
        .apply(|set| {
            set.set_default_targets(
                "www.example.com",
                vec![Target::new("origin".parse()?, Weight::new(100)?)],
            )
        })
        .unwrap();
    assert_eq!(
        answer(&server, "www.example.com.", US).await.as_deref(),
        Some(ORIGIN)
    );

    // A new policy in a new zone: refused before, answered after.
    let r = client::ask(
        server.addr,
        Transport::Udp,
        "api.example.org.",
        RecordType::A,
        Opt::None,
    )
    .await;
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);
    server
        .steering
        .apply(|set| set.create_policy("api.example.org").map(drop))
        .unwrap();
    assert_eq!(
        answer(&server, "api.example.org.", US).await.as_deref(),
        Some(BUILTIN)
    );
    let r = client::ask(
        server.addr,
        Transport::Tcp,
        "example.org.",
        RecordType::SOA,
        Opt::None,
    )
    .await;
    assert!(r.metadata.authoritative);
    assert_eq!(r.answers.len(), 1);

    // Deleting the policy (only a disabled one can be deleted) removes the
    // name: NXDOMAIN inside a still-served zone would need an explicit zone;
    // with derived zones the zone goes too.
    server
        .steering
        .apply(|set| {
            set.disable_policy("api.example.org")?;
            set.delete_policy("api.example.org").map(drop)
        })
        .unwrap();
    let r = client::ask(
        server.addr,
        Transport::Udp,
        "api.example.org.",
        RecordType::A,
        Opt::None,
    )
    .await;
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_name_in_an_explicit_zone_is_nxdomain() {
    let steering = crate::server::scenario_steering();
    let settings = ZoneSettings::new().zone("example.com").unwrap();
    let server = TestServer::start_with(steering, settings).await;
    assert_eq!(
        answer(&server, "www.example.com.", US).await.as_deref(),
        Some(CDN_B)
    );
    server
        .steering
        .apply(|set| {
            set.disable_policy("www.example.com")?;
            set.delete_policy("www.example.com").map(drop)
        })
        .unwrap();
    let r = client::ask(
        server.addr,
        Transport::Udp,
        "www.example.com.",
        RecordType::A,
        Opt::None,
    )
    .await;
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    assert!(r.metadata.authoritative);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_from_file_and_a_bad_file_keeps_the_old_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steerage.toml");
    std::fs::write(&path, SCENARIO).unwrap();
    let steering = Arc::new(
        Steering::builder()
            .config_file(&path)
            .locations(LocationTable::sample())
            .build()
            .unwrap(),
    );
    let server = TestServer::start_with(steering, ZoneSettings::new()).await;
    assert_eq!(
        answer(&server, "www.example.com.", US).await.as_deref(),
        Some(CDN_B)
    );

    std::fs::write(
        &path,
        SCENARIO.replace("cdn-b.example.net", "cdn-c.example.net"),
    )
    .unwrap();
    server.steering.reload().unwrap();
    assert_eq!(
        answer(&server, "www.example.com.", US).await.as_deref(),
        Some("cdn-c.example.net.")
    );

    let version = server.steering.version();
    std::fs::write(
        &path,
        SCENARIO.replace(
            "weight = 100 }]\n\n[policy.default]",
            "weight = 0 }]\n\n[policy.default]",
        ) + "\n[[policy\n",
    )
    .unwrap();
    assert!(server.steering.reload().is_err());
    assert_eq!(server.steering.version(), version);
    assert_eq!(
        answer(&server, "www.example.com.", US).await.as_deref(),
        Some("cdn-c.example.net.")
    );
}

/// Every answer is from one version, its decision, zone and serial alike,
/// while another thread adds and removes a name (and with it its zone):
/// the name is answered with its CNAME or refused, never NXDOMAIN (the zone
/// of one version with the names of another), and an NXDOMAIN beside it
/// carries the serial of a version that had the zone.
#[test]
fn answers_during_changes_are_each_from_one_version() {
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicBool, Ordering};

    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::{Name, RData};
    use steerage_dns::SteeringHandler;

    const TOGGLED: &str = "www.toggle.example";
    let steering = crate::server::scenario_steering();
    let handler = SteeringHandler::new(Arc::clone(&steering)).unwrap();
    let start = steering.version();
    let query = |name: &str| {
        let mut message = Message::query();
        message.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
        message.to_vec().unwrap()
    };
    let (toggled, sibling) = (query("www.toggle.example."), query("nope.toggle.example."));
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..1_500 {
                steering
                    .apply(|set| {
                        if set.policy(TOGGLED).is_some() {
                            set.disable_policy(TOGGLED)?;
                            set.delete_policy(TOGGLED).map(drop)
                        } else {
                            set.create_policy(TOGGLED).map(drop)
                        }
                    })
                    .unwrap();
            }
            done.store(true, Ordering::Release);
        });
        let src: SocketAddr = "192.0.2.9:5353".parse().unwrap();
        let mut out = Vec::new();
        let mut answered = [0usize; 3];
        while !done.load(Ordering::Acquire) {
            assert!(handler.answer_datagram(&toggled, src, &mut out));
            let r = Message::from_vec(&out).unwrap();
            match r.metadata.response_code {
                ResponseCode::NoError => {
                    assert!(matches!(r.answers[0].data, RData::CNAME(_)));
                    answered[0] += 1;
                }
                ResponseCode::Refused => answered[1] += 1,
                other => panic!("{TOGGLED}: {other:?} {r:?}"),
            }
            assert!(handler.answer_datagram(&sibling, src, &mut out));
            let r = Message::from_vec(&out).unwrap();
            match r.metadata.response_code {
                ResponseCode::NXDomain => {
                    let RData::SOA(soa) = &r.authorities[0].data else {
                        panic!("SOA expected: {r:?}")
                    };
                    // The name (and zone) exists in every other version
                    // from `start + 1` on.
                    assert_eq!((u64::from(soa.serial) - start) % 2, 1, "{soa:?}");
                    answered[2] += 1;
                }
                ResponseCode::Refused => {}
                other => panic!("sibling: {other:?}"),
            }
        }
        eprintln!(
            "answers: cname {}, refused {}, nxdomain {}",
            answered[0], answered[1], answered[2]
        );
    });
}
