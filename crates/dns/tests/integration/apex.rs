//! Zone apexes and public suffixes: no zone is derived at a public suffix,
//! and a steered name at a served zone's apex is refused (when the handler
//! is made, and for a change, which then publishes nothing) unless the zone
//! settings opt in to serving the zone.

use std::sync::Arc;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};
use steerage::geo::LocationTable;
use steerage::policy::{BuiltinProvider, DomainName, PolicySet};
use steerage::{Steering, SteeringError};
use steerage_dns::{DnsError, SteeredApex, SteeringHandler, ZoneSettings};

use crate::client::{self, BOTH, Opt};
use crate::server::{TestServer, scenario_steering};

/// A steering of `names`, each with only the built-in provider.
pub(crate) fn steering_of(names: &[&str]) -> Arc<Steering> {
    let mut set = PolicySet::new(BuiltinProvider::new(
        DomainName::new("edge.example.org").unwrap(),
    ));
    for name in names {
        set.create_policy(name).unwrap();
    }
    Arc::new(
        Steering::builder()
            .config(set)
            .locations(LocationTable::sample())
            .build()
            .unwrap(),
    )
}

fn apex_error(err: &DnsError) -> (&str, &str, Option<&str>) {
    match err {
        DnsError::SteeredApex {
            name,
            zone,
            derived_from,
        } => (name, zone, derived_from.as_deref()),
        other => panic!("SteeredApex expected, got {other:?}"),
    }
}

/// Regression: steering `example.com` derived the zone `com.`, so the
/// server answered `google.com` with NXDOMAIN and an SOA for `ns1.com.`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_zone_at_a_public_suffix() {
    let steering = steering_of(&[
        "example.com",
        "www.example.org",
        "alice.github.io",
        "www.bob.github.io",
    ]);
    let server = TestServer::start_with(steering, ZoneSettings::new()).await;
    for transport in BOTH {
        for name in [
            "google.com.",
            "example.com.",
            "com.",
            "alice.github.io.",
            "carol.github.io.",
            "github.io.",
        ] {
            for qtype in [RecordType::A, RecordType::SOA] {
                let r = client::ask(server.addr, transport, name, qtype, Opt::Edns).await;
                assert_eq!(
                    r.metadata.response_code,
                    ResponseCode::Refused,
                    "{name} {qtype}"
                );
                assert!(!r.metadata.authoritative, "{name}");
                assert!(r.answers.is_empty() && r.authorities.is_empty(), "{name}");
            }
        }
        // Names under a zone that is no public suffix are served.
        for (name, zone) in [
            ("www.example.org.", "example.org."),
            ("www.bob.github.io.", "bob.github.io."),
        ] {
            let r = client::ask(server.addr, transport, name, RecordType::A, Opt::None).await;
            assert_eq!(
                client::cname(&r).as_deref(),
                Some("edge.example.org."),
                "{name}"
            );
            let r = client::ask(server.addr, transport, zone, RecordType::SOA, Opt::None).await;
            assert!(matches!(r.answers[0].data, RData::SOA(_)), "{zone}");
        }
    }
}

/// Regression: with `--zone example.com` and `example.com` steered, the
/// apex answered both its SOA and a CNAME.
#[test]
fn a_steered_explicit_apex_is_refused_naming_both() {
    let steering = steering_of(&["example.com", "www.example.com"]);
    let settings = ZoneSettings::new().zone("example.com").unwrap();
    let err = SteeringHandler::with_zones(Arc::clone(&steering), settings).unwrap_err();
    assert_eq!(apex_error(&err), ("example.com", "example.com", None));
    let message = err.to_string();
    assert!(
        message.contains("`example.com`") && message.contains("RFC 1034"),
        "{message}"
    );
}

#[test]
fn a_steered_derived_apex_is_refused_naming_the_name_that_derives_it() {
    let steering = steering_of(&["example.com", "www.example.com"]);
    let err = SteeringHandler::new(steering).unwrap_err();
    assert_eq!(
        apex_error(&err),
        ("example.com", "example.com", Some("www.example.com"))
    );
    assert!(
        err.to_string()
            .contains("derived from the steered name `www.example.com`")
    );
}

/// A change that would steer an apex fails whole: nothing is published,
/// and the server answers as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_would_steer_an_apex_publishes_nothing() {
    for settings in [
        ZoneSettings::new(),
        ZoneSettings::new().zone("example.com").unwrap(),
    ] {
        let steering = scenario_steering();
        let server = TestServer::start_with(Arc::clone(&steering), settings).await;
        let version = steering.version();
        let config = steering.config();
        let err = steering
            .apply(|set| {
                set.create_policy("api.example.com")?;
                set.create_policy("example.com").map(drop)
            })
            .unwrap_err();
        let SteeringError::Refused(source) = &err else {
            panic!("{err:?}")
        };
        let dns = source.downcast_ref::<DnsError>().unwrap();
        assert_eq!(apex_error(dns).0, "example.com");
        assert!(err.to_string().contains("apex"), "{err}");
        assert_eq!(steering.version(), version);
        assert!(Arc::ptr_eq(&steering.config(), &config));
        let r = client::ask(
            server.addr,
            client::Transport::Udp,
            "example.com.",
            RecordType::A,
            Opt::None,
        )
        .await;
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert!(r.answers.is_empty());
        let RData::SOA(soa) = &r.authorities[0].data else {
            panic!("SOA expected")
        };
        assert_eq!(u64::from(soa.serial), version);
        let r = client::ask(
            server.addr,
            client::Transport::Udp,
            "api.example.com.",
            RecordType::A,
            Opt::None,
        )
        .await;
        assert_eq!(
            r.metadata.response_code,
            ResponseCode::NXDomain,
            "api.example.com was not added"
        );
        // The same name below the apex is fine.
        steering
            .apply(|set| set.create_policy("api.example.com").map(drop))
            .unwrap();
        let r = client::ask(
            server.addr,
            client::Transport::Udp,
            "api.example.com.",
            RecordType::A,
            Opt::None,
        )
        .await;
        assert!(client::cname(&r).is_some());
    }
}

/// Derived zones: removing the only name under `example.com` while
/// `example.com` is steered is fine (the zone goes); adding one back is not.
#[test]
fn a_change_that_derives_a_zone_at_a_steered_name_is_refused() {
    let steering = steering_of(&["example.com"]);
    let _handler = SteeringHandler::new(Arc::clone(&steering)).unwrap();
    let err = steering
        .apply(|set| set.create_policy("www.example.com").map(drop))
        .unwrap_err();
    let SteeringError::Refused(source) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        apex_error(source.downcast_ref::<DnsError>().unwrap()),
        ("example.com", "example.com", Some("www.example.com"))
    );
    // Once the handler is gone, the steering no longer asks it.
    drop(_handler);
    steering
        .apply(|set| set.create_policy("www.example.com").map(drop))
        .unwrap();
}

/// The opt-in: the zone wins at the apex, which never answers the CNAME.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_zone_answers_the_apex_as_a_zone_only() {
    let steering = steering_of(&["example.com", "www.example.com"]);
    let server = TestServer::start_with(
        Arc::clone(&steering),
        ZoneSettings::new().steered_apex(SteeredApex::ServeZone),
    )
    .await;
    for transport in BOTH {
        for qtype in [RecordType::A, RecordType::CNAME, RecordType::AAAA] {
            let r = client::ask(server.addr, transport, "example.com.", qtype, Opt::None).await;
            assert_eq!(r.metadata.response_code, ResponseCode::NoError);
            assert!(r.answers.is_empty(), "{qtype}: {:?}", r.answers);
            assert_eq!(r.authorities[0].record_type(), RecordType::SOA);
        }
        let r = client::ask(
            server.addr,
            transport,
            "example.com.",
            RecordType::SOA,
            Opt::None,
        )
        .await;
        assert!(matches!(r.answers[0].data, RData::SOA(_)));
        let r = client::ask(
            server.addr,
            transport,
            "www.example.com.",
            RecordType::A,
            Opt::None,
        )
        .await;
        assert_eq!(client::cname(&r).as_deref(), Some("edge.example.org."));
    }
    // Changes that steer an apex are accepted too.
    steering
        .apply(|set| {
            set.create_policy("example.net")?;
            set.create_policy("www.example.net").map(drop)
        })
        .unwrap();
}
