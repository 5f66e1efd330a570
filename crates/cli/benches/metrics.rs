//! What counting costs per answer: `answer_datagram` (what the UDP loops run
//! per datagram) without an observer and with the server's [`Metrics`]
//! observer, on the design scenario and the sample data, the queries a mix
//! of Beijing, Shanghai (a weighted pick), US and no-ECS clients. The
//! difference is the observer's cost per answer; in the peers harness a
//! served answer costs the server some 5 µs of CPU (kernel included), so
//! 3 % is 150 ns.
//!
//! `cargo bench -p steerage-cli --bench metrics`
//!
//! Timings on a shared machine are noisy; instruction counts are not. With
//! `STEERAGE_CALLGRIND=plain|seam|metrics` (`seam`: an observer that does
//! nothing) and `STEERAGE_CALLGRIND_N=N`, the
//! binary answers the mix N times through one handler and exits, to be run
//! under `valgrind --tool=callgrind`: instructions per answer =
//! (count(N2) - count(N1)) / ((N2 - N1) * 4).

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group};
use steerage::Steering;
use steerage::geo::LocationTable;
use steerage::policy::Format;
use steerage_cli::serve::Metrics;
use steerage_dns::hickory_proto::op::{Edns, Message, Query};
use steerage_dns::hickory_proto::rr::rdata::opt::EdnsOption;
use steerage_dns::hickory_proto::rr::{Name, RecordType};
use steerage_dns::{Answered, QueryObserver, SteeringHandler};

const SCENARIO: &str = include_str!("../testdata/scenario.toml");

fn query(subnet: Option<&str>) -> Vec<u8> {
    let mut message = Message::query();
    message.add_query(Query::query(
        Name::from_ascii("www.example.com.").unwrap(),
        RecordType::A,
    ));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    if let Some(subnet) = subnet {
        edns.options_mut()
            .insert(EdnsOption::Subnet(subnet.parse().unwrap()));
    }
    message.set_edns(edns);
    message.to_vec().unwrap()
}

/// An observer that does nothing: the cost of the seam alone.
struct Nothing;

impl QueryObserver for Nothing {
    fn observe(&self, answered: &Answered<'_>) {
        black_box(answered);
    }
}

struct Setup {
    plain: SteeringHandler,
    seam: SteeringHandler,
    counted: SteeringHandler,
    metrics: Metrics,
    queries: Vec<Vec<u8>>,
    src: SocketAddr,
}

fn setup() -> Setup {
    let steering = Arc::new(
        Steering::builder()
            .config_str(SCENARIO, Format::Toml)
            .locations(LocationTable::sample())
            .build()
            .unwrap(),
    );
    let plain = SteeringHandler::new(Arc::clone(&steering)).unwrap();
    let seam = SteeringHandler::new(Arc::clone(&steering))
        .unwrap()
        .with_observer(Arc::new(Nothing));
    let metrics = Metrics::new();
    let counted = SteeringHandler::new(steering)
        .unwrap()
        .with_observer(metrics.observer());
    let queries: Vec<Vec<u8>> = [
        Some("192.0.2.0/25"),
        Some("203.0.113.0/24"),
        Some("198.51.100.0/24"),
        None,
    ]
    .into_iter()
    .map(query)
    .collect();
    let src: SocketAddr = "127.0.0.1:5353".parse().unwrap();
    Setup {
        plain,
        seam,
        counted,
        metrics,
        queries,
        src,
    }
}

fn bench(c: &mut Criterion) {
    let Setup {
        plain,
        seam,
        counted,
        metrics,
        queries,
        src,
    } = setup();
    let mut group = c.benchmark_group("answer_datagram");
    group.throughput(Throughput::Elements(queries.len() as u64));
    for (name, handler) in [
        ("no observer", &plain),
        ("empty observer", &seam),
        ("metrics", &counted),
    ] {
        let mut out = Vec::with_capacity(512);
        group.bench_function(name, |b| {
            b.iter(|| {
                for raw in &queries {
                    assert!(handler.answer_datagram(black_box(raw), src, &mut out));
                    black_box(&out);
                }
            });
        });
    }
    group.finish();
    // Every answer was counted.
    assert!(metrics.encode().contains("steerage_answers_total{"));
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(mode) = std::env::var("STEERAGE_CALLGRIND") {
        let n: usize = std::env::var("STEERAGE_CALLGRIND_N")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(100_000);
        let setup = setup();
        let handler = match mode.as_str() {
            "metrics" => &setup.counted,
            "seam" => &setup.seam,
            _ => &setup.plain,
        };
        let mut out = Vec::with_capacity(512);
        for _ in 0..n {
            for raw in &setup.queries {
                assert!(handler.answer_datagram(black_box(raw), setup.src, &mut out));
            }
        }
        black_box(setup.metrics.encode());
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
