//! The request path in-process, without sockets: a query (with ECS or not)
//! in, the response bytes out; through hickory's `RequestHandler` path, and
//! through `answer_datagram`, what the UDP loops run per datagram.
//!
//! `cargo bench -p steerage-dns --bench respond`

use std::hint::black_box;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use steerage::Steering;
use steerage::geo::LocationTable;
use steerage::policy::Format;
use steerage_dns::SteeringHandler;
use steerage_dns::hickory_proto::op::{Edns, Message, Query};
use steerage_dns::hickory_proto::rr::rdata::opt::EdnsOption;
use steerage_dns::hickory_proto::rr::{Name, Record, RecordType};
use steerage_dns::hickory_proto::serialize::binary::BinEncoder;
use steerage_dns::hickory_server::net::NetError;
use steerage_dns::hickory_server::net::runtime::TokioTime;
use steerage_dns::hickory_server::net::xfer::Protocol;
use steerage_dns::hickory_server::server::{
    Request, RequestHandler, ResponseHandler, ResponseInfo,
};
use steerage_dns::hickory_server::zone_handler::MessageResponse;

const SCENARIO: &str = include_str!("../testdata/scenario.toml");

#[derive(Clone)]
struct Encode(Arc<Mutex<Vec<u8>>>);

#[async_trait::async_trait]
impl ResponseHandler for Encode {
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
        let mut bytes = self.0.lock().unwrap();
        bytes.clear();
        let mut encoder = BinEncoder::new(&mut bytes);
        encoder.set_max_size(1232);
        Ok(response.destructive_emit(&mut encoder)?)
    }
}

fn query(subnet: Option<&str>) -> Vec<u8> {
    let mut message = Message::query();
    message.add_query(Query::query(
        Name::from_ascii("www.example.com.").unwrap(),
        RecordType::A,
    ));
    if let Some(subnet) = subnet {
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        edns.options_mut()
            .insert(EdnsOption::Subnet(subnet.parse().unwrap()));
        message.set_edns(edns);
    }
    message.to_vec().unwrap()
}

fn answer(handler: &SteeringHandler, raw: &[u8], out: &Encode) -> usize {
    let src: SocketAddr = "127.0.0.1:5353".parse().unwrap();
    let request = Request::from_bytes(raw.to_vec(), src, Protocol::Udp).unwrap();
    let mut future = pin!(handler.handle_request::<_, TokioTime>(&request, out.clone()));
    assert!(
        future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_ready()
    );
    out.0.lock().unwrap().len()
}

fn request_path(c: &mut Criterion) {
    let steering = Steering::builder()
        .config_str(SCENARIO, Format::Toml)
        .locations(LocationTable::sample())
        .build()
        .unwrap();
    let handler = SteeringHandler::new(Arc::new(steering)).unwrap();
    let out = Encode(Arc::new(Mutex::new(Vec::with_capacity(512))));
    let mut group = c.benchmark_group("request_path");
    group.throughput(Throughput::Elements(1));
    for (label, subnet) in [
        ("ecs_shanghai_weighted", Some("203.0.113.0/24")),
        ("ecs_us_default", Some("198.51.100.0/24")),
        ("no_edns", None),
    ] {
        let raw = query(subnet);
        assert!(answer(&handler, &raw, &out) > 0);
        // hickory's parse, the RequestHandler, hickory's encode
        group.bench_function(format!("handle_request/{label}"), |b| {
            b.iter(|| answer(&handler, black_box(&raw), &out))
        });
        // what the UDP loops run per datagram (the wire-level fast path here)
        let src: SocketAddr = "127.0.0.1:5353".parse().unwrap();
        let mut reply = Vec::with_capacity(512);
        assert!(handler.answer_datagram(&raw, src, &mut reply));
        group.bench_function(format!("answer_datagram/{label}"), |b| {
            b.iter(|| handler.answer_datagram(black_box(&raw), src, &mut reply))
        });
    }
    group.finish();
}

criterion_group!(benches, request_path);
criterion_main!(benches);
