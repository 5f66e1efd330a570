//! Health on the wire: a down provider is answered around, and a policy
//! that fails closed (`on_all_down = "nodata"`) answers NOERROR with no
//! records and the zone's SOA, over UDP and TCP.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};
use steerage::HealthOverride;
use steerage::policy::OnAllDown;

use crate::client::{self, BOTH, Opt};
use crate::server::{BEIJING, BUILTIN, CDN_A, CDN_B, TestServer, US};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_providers_are_answered_around_then_nodata_when_all_fail_closed() {
    let server = TestServer::start().await;
    let steering = &server.steering;
    let domain = "www.example.com";
    steering
        .apply(|set| set.set_on_all_down(domain, OnAllDown::NoData))
        .unwrap();
    steering
        .set_health_override(domain, "origin", HealthOverride::down())
        .unwrap();
    // Beijing falls to the China rule (cdn-a 70 / builtin 30).
    let r = client::ask(
        server.addr,
        BOTH[0],
        "www.example.com.",
        RecordType::A,
        Opt::Ecs(BEIJING),
    )
    .await;
    let cname = client::cname(&r);
    assert!(
        matches!(cname.as_deref(), Some(CDN_A | BUILTIN)),
        "{cname:?}"
    );
    for p in ["cdn-a", "cdn-b"] {
        steering
            .set_health_override(domain, p, HealthOverride::down())
            .unwrap();
    }
    for transport in BOTH {
        for subnet in [BEIJING, US] {
            let r = client::ask(
                server.addr,
                transport,
                "www.example.com.",
                RecordType::A,
                Opt::Ecs(subnet),
            )
            .await;
            assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{subnet}");
            assert!(r.answers.is_empty(), "{subnet}: {:?}", r.answers);
            assert!(
                matches!(r.authorities.first().map(|a| &a.data), Some(RData::SOA(_))),
                "{subnet}: {:?}",
                r.authorities
            );
            assert_eq!(client::ecs(&r).map(|cs| cs.scope_prefix()), Some(0));
        }
    }
    // One back: steering again.
    steering.clear_health_override(domain, "cdn-b").unwrap();
    let r = client::ask(
        server.addr,
        BOTH[0],
        "www.example.com.",
        RecordType::A,
        Opt::Ecs(US),
    )
    .await;
    assert_eq!(client::cname(&r).as_deref(), Some(CDN_B));
}
