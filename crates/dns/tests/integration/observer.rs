//! The observer seam: what a `QueryObserver` is told for each kind of
//! response, over UDP (the wire fast path and the full path) and TCP.

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use steerage_dns::hickory_proto::op::{Edns, ResponseCode};
use steerage_dns::hickory_proto::rr::RecordType;
use steerage_dns::hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use steerage_dns::{
    Answered, DnsServer, QueryObserver, ServerOptions, ShutdownHandle, SteeringHandler, Transport,
    ZoneSettings,
};

use crate::client::{Opt, Transport as Via, ask, exchange, query};
use crate::server::{BEIJING, SHANGHAI, scenario_steering};

/// One observed response, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    transport: Transport,
    code: ResponseCode,
    client_subnet: bool,
    version: u64,
    /// domain, rule, provider, cname
    steered: Option<(String, String, String, String)>,
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Seen>>);

impl QueryObserver for Recorder {
    fn observe(&self, answered: &Answered<'_>) {
        let seen = Seen {
            transport: answered.transport,
            code: answered.response_code,
            client_subnet: answered.client_subnet,
            version: answered.version,
            steered: answered.steered.map(|s| {
                (
                    s.domain.to_owned(),
                    s.rule.to_owned(),
                    s.provider.to_owned(),
                    s.cname.to_owned(),
                )
            }),
        };
        self.0.lock().unwrap().push(seen);
    }
}

impl Recorder {
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct Observed {
    addr: std::net::SocketAddr,
    recorder: Arc<Recorder>,
    shutdown: ShutdownHandle,
}

impl Drop for Observed {
    fn drop(&mut self) {
        self.shutdown.shutdown();
    }
}

async fn start(batching: bool) -> Observed {
    let recorder = Arc::new(Recorder::default());
    let handler = SteeringHandler::with_zones(scenario_steering(), ZoneSettings::new())
        .unwrap()
        .with_observer(Arc::clone(&recorder) as Arc<dyn QueryObserver>);
    let options = ServerOptions::default().udp_batching(batching);
    let server = DnsServer::bind("127.0.0.1:0".parse().unwrap(), handler, options)
        .await
        .unwrap();
    let addr = server.local_addr();
    let shutdown = server.shutdown_handle();
    tokio::spawn(server.run());
    Observed {
        addr,
        recorder,
        shutdown,
    }
}

fn steered(rule: &str, provider: &str, cname: &str) -> Option<(String, String, String, String)> {
    Some((
        "www.example.com".to_owned(),
        rule.to_owned(),
        provider.to_owned(),
        cname.to_owned(),
    ))
}

/// The response is sent before the observer is told: wait for the event.
async fn next_event(recorder: &Recorder) -> Seen {
    for _ in 0..200 {
        let mut seen = recorder.take();
        if !seen.is_empty() {
            assert_eq!(seen.len(), 1, "one event per response: {seen:?}");
            return seen.remove(0);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no event observed");
}

#[tokio::test]
async fn every_response_is_observed_once_with_its_decision() {
    for batching in [true, false] {
        let server = start(batching).await;
        let (addr, recorder) = (server.addr, &server.recorder);

        // UDP with ECS: the wire fast path.
        ask(
            addr,
            Via::Udp,
            "www.example.com.",
            RecordType::A,
            Opt::Ecs(BEIJING),
        )
        .await;
        let fast = next_event(recorder).await;
        assert_eq!(
            fast,
            Seen {
                transport: Transport::Udp,
                code: ResponseCode::NoError,
                client_subnet: true,
                version: 1,
                steered: steered("beijing", "origin", "origin.example.net"),
            }
        );

        // The same question with an NSID option takes the full path: the
        // same event.
        let mut message = query("www.example.com.", RecordType::A, Opt::None);
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        edns.options_mut()
            .insert(EdnsOption::Subnet(BEIJING.parse::<ClientSubnet>().unwrap()));
        edns.options_mut()
            .insert(EdnsOption::Unknown(3, Vec::new()));
        message.set_edns(edns);
        exchange(addr, Via::Udp, message).await;
        assert_eq!(next_event(recorder).await, fast);

        // TCP, mixed case: the domain is the steered name as configured.
        ask(
            addr,
            Via::Tcp,
            "WWW.Example.COM.",
            RecordType::A,
            Opt::Ecs(BEIJING),
        )
        .await;
        assert_eq!(
            next_event(recorder).await,
            Seen {
                transport: Transport::Tcp,
                ..fast.clone()
            }
        );

        // Shanghai: the china rule, cdn-a or the built-in provider.
        ask(
            addr,
            Via::Udp,
            "www.example.com.",
            RecordType::A,
            Opt::Ecs(SHANGHAI),
        )
        .await;
        let china = next_event(recorder).await;
        let (_, rule, provider, _) = china.steered.clone().unwrap();
        assert_eq!(rule, "china");
        assert!(provider == "cdn-a" || provider == "builtin", "{provider}");

        // No ECS from loopback: the default rule, without a client subnet.
        ask(addr, Via::Udp, "www.example.com.", RecordType::A, Opt::Edns).await;
        assert_eq!(
            next_event(recorder).await,
            Seen {
                transport: Transport::Udp,
                code: ResponseCode::NoError,
                client_subnet: false,
                version: 1,
                steered: steered("default", "cdn-b", "cdn-b.example.net"),
            }
        );

        // Zone answers and errors carry no decision.
        for (name, qtype, code) in [
            ("example.com.", RecordType::SOA, ResponseCode::NoError),
            ("nope.example.com.", RecordType::A, ResponseCode::NXDomain),
            ("www.example.org.", RecordType::A, ResponseCode::Refused),
        ] {
            for via in [Via::Udp, Via::Tcp] {
                ask(addr, via, name, qtype, Opt::Ecs(SHANGHAI)).await;
                let seen = next_event(recorder).await;
                assert_eq!(
                    (seen.code, seen.steered, seen.client_subnet),
                    (code, None, true)
                );
            }
        }

        // A datagram whose header parses but whose question does not: FORMERR.
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .send_to(
                &[0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'w'],
                addr,
            )
            .unwrap();
        assert_eq!(
            next_event(recorder).await,
            Seen {
                transport: Transport::Udp,
                code: ResponseCode::FormErr,
                client_subnet: false,
                version: 1,
                steered: None,
            }
        );
        // A response (QR set) is dropped: nothing to observe.
        socket
            .send_to(&[0xab, 0xcd, 0x81, 0x00, 0, 0, 0, 0, 0, 0, 0, 0], addr)
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(recorder.take(), Vec::new());
    }
}
