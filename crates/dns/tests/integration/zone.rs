//! The zone around the steered names: SOA and NS at the apex, NXDOMAIN,
//! NODATA, REFUSED outside, truncation over UDP.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};
use steerage_dns::ZoneSettings;

use crate::client::{self, BOTH, Opt, Transport};
use crate::server::{TestServer, scenario_steering};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soa_and_ns_at_the_apex() {
    let server = TestServer::start().await;
    for transport in BOTH {
        let r = client::ask(
            server.addr,
            transport,
            "example.com.",
            RecordType::SOA,
            Opt::Edns,
        )
        .await;
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert!(r.metadata.authoritative);
        let RData::SOA(soa) = &r.answers[0].data else {
            panic!("SOA expected, got {:?}", r.answers)
        };
        assert_eq!(soa.mname.to_ascii(), "ns1.example.com.");
        assert_eq!(soa.rname.to_ascii(), "hostmaster.example.com.");
        assert_eq!(u64::from(soa.serial), server.steering.version());

        let r = client::ask(
            server.addr,
            transport,
            "example.com.",
            RecordType::NS,
            Opt::None,
        )
        .await;
        assert!(r.metadata.authoritative);
        let RData::NS(ns) = &r.answers[0].data else {
            panic!("NS expected, got {:?}", r.answers)
        };
        assert_eq!(ns.0.to_ascii(), "ns1.example.com.");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nxdomain_and_nodata_carry_the_soa() {
    let server = TestServer::start().await;
    for transport in BOTH {
        for name in ["nope.example.com.", "a.www.example.com."] {
            let r = client::ask(
                server.addr,
                transport,
                name,
                RecordType::A,
                Opt::Ecs("203.0.113.0/24"),
            )
            .await;
            assert_eq!(r.metadata.response_code, ResponseCode::NXDomain, "{name}");
            assert!(r.metadata.authoritative);
            assert!(r.answers.is_empty());
            assert_eq!(r.authorities[0].record_type(), RecordType::SOA);
            assert_eq!(r.authorities[0].ttl, 60, "negative TTL");
            // the answer does not depend on the client: scope 0
            assert_eq!(client::ecs(&r).unwrap().scope_prefix(), 0);
        }
        for (name, qtype) in [
            ("example.com.", RecordType::A),
            ("www.example.com.", RecordType::RRSIG),
        ] {
            let r = client::ask(server.addr, transport, name, qtype, Opt::None).await;
            assert_eq!(
                r.metadata.response_code,
                ResponseCode::NoError,
                "{name} {qtype}"
            );
            assert!(r.answers.is_empty(), "{name} {qtype}");
            assert_eq!(
                r.authorities[0].record_type(),
                RecordType::SOA,
                "{name} {qtype}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_outside_every_zone() {
    let server = TestServer::start().await;
    for transport in BOTH {
        for name in ["www.example.org.", "example.net.", "com.", "."] {
            let r = client::ask(server.addr, transport, name, RecordType::A, Opt::Edns).await;
            assert_eq!(r.metadata.response_code, ResponseCode::Refused, "{name}");
            assert!(!r.metadata.authoritative, "{name}");
            assert!(r.answers.is_empty(), "{name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_zone_with_glue_and_udp_truncation() {
    let mut settings = ZoneSettings::new()
        .zone("example.com")
        .unwrap()
        .nameserver("ns1.example.com", ["192.0.2.53".parse().unwrap()])
        .unwrap();
    for i in 0..30 {
        settings = settings
            .nameserver(
                &format!("a-long-secondary-nameserver-{i}.dns-provider.example.net"),
                [],
            )
            .unwrap();
    }
    let server = TestServer::start_with(scenario_steering(), settings).await;
    let r = client::ask(
        server.addr,
        Transport::Udp,
        "ns1.example.com.",
        RecordType::A,
        Opt::None,
    )
    .await;
    assert!(matches!(r.answers[0].data, RData::A(a) if a.0.to_string() == "192.0.2.53"));

    // 31 NS records do not fit 512 bytes: TC over UDP, everything over TCP.
    let r = client::ask(
        server.addr,
        Transport::Udp,
        "example.com.",
        RecordType::NS,
        Opt::None,
    )
    .await;
    assert!(r.metadata.truncation);
    assert!(r.answers.len() < 31);
    let r = client::ask(
        server.addr,
        Transport::Tcp,
        "example.com.",
        RecordType::NS,
        Opt::None,
    )
    .await;
    assert!(!r.metadata.truncation);
    assert_eq!(r.answers.len(), 31);
    assert_eq!(r.additionals.len(), 1, "glue for ns1.example.com");
}
