//! The DNS request path: message parse -> steering decision -> response
//! encode, on the design scenario and the built-in sample data.
//!
//! Beyond "no panic", every response must be a well-formed DNS response to
//! that query: same ID and opcode, QR set, within the UDP size the query
//! allows (TC otherwise), an OPT record only when the query had one, an ECS
//! option echoing the query's family, source prefix and address, a scope
//! within the family (0 for source 0), and AA on every answer from the zone. And the
//! datagram path the servers run (`answer_datagram`, with its wire-level fast
//! path) must give the same message as hickory's `RequestHandler` path (the
//! scenario has no weighted split, so both decide alike).
//!
//! Run: `cargo fuzz run dns_request --sanitizer none -- -max_total_time=60`
#![no_main]

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll, Waker};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::{RData, Record};
use hickory_proto::serialize::binary::BinEncoder;
use hickory_server::net::NetError;
use hickory_server::net::runtime::TokioTime;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;
use libfuzzer_sys::fuzz_target;
use steerage::Steering;
use steerage::geo::LocationTable;
use steerage::policy::Format;
use steerage_dns::SteeringHandler;

// Not the shared scenario file: that one splits China 70/30 at random, and
// this target compares two paths' answers, so every answer here must be
// deterministic.
const SCENARIO: &str = r#"
[builtin]
cname = "edge.example.org"

[[policy]]
domain = "www.example.com"
ttl = 60

[[policy.provider]]
name = "origin"
kind = "origin"
cname = "origin.example.net"

[[policy.provider]]
name = "cdn-a"
kind = "cdn"
cname = "cdn-a.example.net"

[[policy.rule]]
name = "beijing"
lines = ["CN-BJ"]
targets = [{ provider = "origin", weight = 100 }]

[[policy.rule]]
name = "china"
lines = ["CN"]
targets = [{ provider = "cdn-a", weight = 100 }]
"#;

static HANDLER: LazyLock<SteeringHandler> = LazyLock::new(|| {
    let steering = Steering::builder()
        .config_str(SCENARIO, Format::Toml)
        .locations(LocationTable::sample())
        .build()
        .expect("the scenario is valid");
    SteeringHandler::new(Arc::new(steering)).expect("the scenario steers no zone apex")
});

/// Encodes the response like a UDP server would: at most the response's
/// EDNS payload size, 512 without EDNS.
#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

#[async_trait::async_trait]
impl ResponseHandler for Capture {
    async fn send_response<'a>(
        &mut self,
        response: MessageResponse<
            '_,
            'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Result<ResponseInfo, NetError> {
        let max = response
            .edns()
            .map_or(512, |edns| edns.max_payload().max(512));
        let mut bytes = self.0.lock().unwrap();
        bytes.clear();
        let mut encoder = BinEncoder::new(&mut bytes);
        encoder.set_max_size(max);
        let encoded = response.destructive_emit(&mut encoder);
        if encoded.is_err() {
            // Nothing fits: no response, which the target reports.
            bytes.clear();
        }
        Ok(encoded?)
    }
}

fuzz_target!(|data: &[u8]| {
    let src: SocketAddr = "198.51.100.7:5353".parse().unwrap();
    let mut datagram_reply = Vec::new();
    let answered = HANDLER.answer_datagram(data, src, &mut datagram_reply);
    let Ok(request) = Request::from_bytes(data.to_vec(), src, Protocol::Udp) else {
        // Unparsable: FORMERR when the header is readable and not a response.
        if answered {
            let reply = Message::from_vec(&datagram_reply).expect("FORMERR parses");
            assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
            assert_eq!(datagram_reply.len(), 12);
        }
        return;
    };
    if request.metadata.message_type == MessageType::Response {
        assert!(!answered, "a response is never answered");
        return;
    }
    let out = Arc::new(Mutex::new(Vec::new()));
    let mut future = pin!(HANDLER.handle_request::<_, TokioTime>(&request, Capture(out.clone())));
    let Poll::Ready(_) = future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    else {
        panic!("the handler must answer without waiting");
    };
    let bytes = out.lock().unwrap().clone();
    assert!(!bytes.is_empty(), "every query gets a response");

    let limit = request
        .edns
        .as_ref()
        .map_or(512, |edns| usize::from(edns.max_payload().clamp(512, 1232)));
    assert!(
        bytes.len() <= limit,
        "{} bytes over a {limit} byte limit",
        bytes.len()
    );

    let response = Message::from_vec(&bytes).expect("the response parses");
    assert_eq!(response.metadata.id, request.metadata.id);
    assert_eq!(response.metadata.message_type, MessageType::Response);
    assert_eq!(response.metadata.op_code, request.metadata.op_code);
    assert!(!response.metadata.recursion_available);
    assert_eq!(
        response.edns.is_some(),
        request.edns.is_some(),
        "OPT only in reply to OPT"
    );

    let code = response.metadata.response_code;
    if code == ResponseCode::Refused
        || code == ResponseCode::NotImp
        || code == ResponseCode::FormErr
    {
        assert!(response.answers.is_empty());
    }
    if response
        .answers
        .iter()
        .any(|r| matches!(r.data, RData::CNAME(_)))
    {
        assert!(response.metadata.authoritative, "answers are authoritative");
        assert_eq!(code, ResponseCode::NoError);
    }

    let query_ecs = request
        .edns
        .as_ref()
        .and_then(|e| e.option(EdnsCode::Subnet));
    let response_ecs = response
        .edns
        .as_ref()
        .and_then(|e| e.option(EdnsCode::Subnet));
    match (query_ecs, response_ecs) {
        (_, None) => {}
        (Some(EdnsOption::Subnet(sent)), Some(EdnsOption::Subnet(echo))) => {
            assert_eq!(echo.addr(), sent.addr());
            assert_eq!(echo.source_prefix(), sent.source_prefix());
            // Longer than the source when the subnet mixes answers (RFC 7871
            // section 7.2.1), never beyond the family; 0 for source 0.
            let width = if echo.addr().is_ipv4() { 32 } else { 128 };
            assert!(echo.scope_prefix() <= width);
            assert!(sent.source_prefix() > 0 || echo.scope_prefix() == 0);
        }
        (None, Some(_)) => panic!("ECS out without ECS in"),
        (Some(_), Some(other)) => panic!("unexpected option {other:?}"),
    }

    // The datagram path says the same.
    assert!(
        answered,
        "the datagram path answers what the handler answers"
    );
    let other = Message::from_vec(&datagram_reply).expect("the datagram reply parses");
    assert_eq!(other.metadata, response.metadata);
    assert_eq!(other.queries, response.queries);
    assert_eq!(other.answers, response.answers);
    assert_eq!(other.authorities, response.authorities);
    assert_eq!(other.additionals, response.additionals);
    assert_eq!(other.edns, response.edns);
});
