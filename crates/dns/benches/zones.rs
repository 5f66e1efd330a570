//! The zones under changes, with 100,000 steered names over 10,000 derived
//! zones (`w{k}.z{j}.example.com`, ten names a zone):
//!
//! - `zones/one_rule_change`: from `Steering::apply` of a one-rule change to
//!   the first answer (target: under 2 ms);
//! - `zones/add_name/existing_zone` and `.../new_zone`: from the `apply`
//!   that adds one name to the first answer for it (target: under 10 ms);
//!   `zones/remove_name`: the same for removing it;
//! - the tail: the latency of each answer (`answer_datagram`, what the UDP
//!   loops run) on this thread while another thread applies changes
//!   continuously (one-rule changes, and between them a name added or
//!   removed), against the same answers with no writer; printed as p50 / p99
//!   / p99.9 / max and the ratio of the p99s (target: within 2x). Idle and
//!   busy rounds alternate, so a drift in the machine's load weighs on
//!   both. Criterion's medians cannot show a tail, so this part times each
//!   answer itself.
//!
//! `cargo bench -p steerage-dns --bench zones`; `cargo test --benches`
//! runs it once on 2,000 names as a smoke test.

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use steerage::Steering;
use steerage::geo::{Line, LocationTable};
use steerage::policy::{
    BuiltinProvider, DomainName, PolicySet, Provider, ProviderKind, Rule, Target, Weight,
};
use steerage_dns::SteeringHandler;
use steerage_dns::hickory_proto::op::{Edns, Message, Query, ResponseCode};
use steerage_dns::hickory_proto::rr::rdata::opt::EdnsOption;
use steerage_dns::hickory_proto::rr::{Name, RData, RecordType};

/// Whether the binary runs as a benchmark rather than as a smoke test.
fn benchmarking() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Steered names and zones.
fn sizes() -> (usize, usize) {
    if benchmarking() {
        (100_000, 10_000)
    } else {
        (2_000, 200)
    }
}

fn name(i: usize, zones: usize) -> String {
    format!("w{}.z{}.example.com", i / zones, i % zones)
}

fn target(provider: &str, weight: u16) -> Target {
    Target::new(provider.parse().unwrap(), Weight::new(weight).unwrap())
}

fn china_rule(weight: u16) -> Rule {
    Rule::new(
        "china".parse().unwrap(),
        vec![Line::parse("CN").unwrap()],
        vec![target("cdn-a", weight), target("builtin", 100 - weight)],
    )
}

/// `names` policies over `zones` zones, each with two providers, a China
/// rule and a default rule.
fn steering(names: usize, zones: usize) -> Arc<Steering> {
    let mut set = PolicySet::new(BuiltinProvider::new(
        DomainName::new("edge.example.org").unwrap(),
    ));
    for i in 0..names {
        let domain = name(i, zones);
        set.create_policy(&domain).unwrap();
        for (provider, cname) in [
            ("cdn-a", "cdn-a.example.net"),
            ("cdn-b", "cdn-b.example.net"),
        ] {
            set.add_provider(
                &domain,
                Provider::new(
                    provider.parse().unwrap(),
                    ProviderKind::Cdn,
                    cname.parse().unwrap(),
                ),
            )
            .unwrap();
        }
        set.add_rule(&domain, china_rule(70)).unwrap();
        set.set_default_targets(&domain, vec![target("cdn-b", 1)])
            .unwrap();
    }
    Arc::new(
        Steering::builder()
            .config(set)
            .locations(LocationTable::sample())
            .build()
            .unwrap(),
    )
}

/// A query for `name`, with an ECS subnet of the sample data.
fn query(name: &str) -> Vec<u8> {
    let mut message = Message::query();
    message.add_query(Query::query(
        Name::from_ascii(format!("{name}.")).unwrap(),
        RecordType::A,
    ));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    edns.options_mut()
        .insert(EdnsOption::Subnet("203.0.113.0/24".parse().unwrap()));
    message.set_edns(edns);
    message.to_vec().unwrap()
}

const SRC: &str = "192.0.2.9:5353";

/// Answers `raw` and checks it got a CNAME.
fn answer(handler: &SteeringHandler, raw: &[u8], out: &mut Vec<u8>) {
    let src: SocketAddr = SRC.parse().unwrap();
    assert!(handler.answer_datagram(raw, src, out));
    debug_assert!(matches!(
        Message::from_vec(out)
            .map(|m| m.answers.first().map(|r| matches!(r.data, RData::CNAME(_)))),
        Ok(Some(true))
    ));
}

/// Flips the China rule of `domain` between 60 and 70 (always a change).
fn flip_rule(steering: &Steering, domain: &str) {
    let current = steering
        .config()
        .policy(domain)
        .and_then(|p| p.rule("china"))
        .and_then(|r| r.targets().first())
        .map(|t| t.weight().get());
    let weight = if current == Some(60) { 70 } else { 60 };
    steering
        .apply(|set| set.update_rule(domain, "china", china_rule(weight)))
        .unwrap();
}

fn add(steering: &Steering, domain: &str) {
    steering
        .apply(|set| set.create_policy(domain).map(drop))
        .unwrap();
}

fn remove(steering: &Steering, domain: &str) {
    steering
        .apply(|set| {
            set.disable_policy(domain)?;
            set.delete_policy(domain).map(drop)
        })
        .unwrap();
}

fn changes(c: &mut Criterion) {
    let (names, zones) = sizes();
    let steering = steering(names, zones);
    let handler = SteeringHandler::new(Arc::clone(&steering)).unwrap();
    let mut out = Vec::with_capacity(512);
    let target = name(names / 2, zones);
    let raw = query(&target);
    answer(&handler, &raw, &mut out);

    let mut group = c.benchmark_group("zones");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.bench_function(format!("one_rule_change/{names}x{zones}"), |b| {
        b.iter(|| {
            flip_rule(&steering, &target);
            answer(&handler, &raw, &mut out);
        });
    });
    let mut round = 0usize;
    for new_zone in [false, true] {
        let label = if new_zone {
            "new_zone"
        } else {
            "existing_zone"
        };
        group.bench_function(format!("add_name/{label}/{names}x{zones}"), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    round += 1;
                    let domain = if new_zone {
                        format!("added.fresh{round}.example.com")
                    } else {
                        format!("added{round}.z7.example.com")
                    };
                    let raw = query(&domain);
                    let start = Instant::now();
                    add(&steering, &domain);
                    answer(&handler, &raw, &mut out);
                    timed += start.elapsed();
                    remove(&steering, &domain);
                }
                timed
            });
        });
    }
    group.bench_function(format!("remove_name/{names}x{zones}"), |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let domain = format!("added{round}.z7.example.com");
                add(&steering, &domain);
                let raw = query(&domain);
                let start = Instant::now();
                remove(&steering, &domain);
                let src: SocketAddr = SRC.parse().unwrap();
                assert!(handler.answer_datagram(&raw, src, &mut out));
                timed += start.elapsed();
                debug_assert_eq!(
                    Message::from_vec(&out)
                        .map(|m| m.metadata.response_code)
                        .ok(),
                    Some(ResponseCode::NXDomain)
                );
            }
            timed
        });
    });
    group.finish();

    tail(&steering, &handler, names, zones);
}

/// Applies changes until `stop`: one-rule changes, and in between a name
/// added or removed, counting them.
fn writer(steering: &Steering, names: usize, zones: usize, stop: &AtomicBool, applied: &AtomicU64) {
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        const BUSY: &str = "busy.z3.example.com";
        if i % 2 == 0 {
            flip_rule(steering, &name(i * 7919 % names, zones));
        } else if steering.config().policy(BUSY).is_some() {
            remove(steering, BUSY);
        } else {
            add(steering, BUSY);
        }
        applied.fetch_add(1, Ordering::Relaxed);
        i += 1;
    }
}

/// Nanoseconds of each of `count` answers, over `queries` in turn.
fn timed_answers(handler: &SteeringHandler, queries: &[Vec<u8>], count: usize) -> Vec<u64> {
    let src: SocketAddr = SRC.parse().unwrap();
    let mut out = Vec::with_capacity(512);
    let mut latencies = Vec::with_capacity(count);
    for raw in queries.iter().cycle().take(count) {
        let start = Instant::now();
        black_box(handler.answer_datagram(black_box(raw), src, &mut out));
        latencies.push(start.elapsed().as_nanos() as u64);
    }
    latencies
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0)
}

/// Idle and busy rounds alternate.
const ROUNDS: usize = 10;

fn tail(steering: &Steering, handler: &SteeringHandler, names: usize, zones: usize) {
    let queries: Vec<Vec<u8>> = (0..4_096)
        .map(|i| query(&name(i * 7919 % names, zones)))
        .collect();
    let per_round = if benchmarking() { 400_000 } else { 4_000 };
    let mut idle = Vec::with_capacity(per_round * ROUNDS);
    let mut busy = Vec::with_capacity(per_round * ROUNDS);
    let mut applied = 0;
    let mut busy_seconds = 0.0;
    for _ in 0..ROUNDS {
        idle.extend(timed_answers(handler, &queries, per_round));
        let stop = AtomicBool::new(false);
        let count = AtomicU64::new(0);
        let started = Instant::now();
        thread::scope(|scope| {
            scope.spawn(|| writer(steering, names, zones, &stop, &count));
            while count.load(Ordering::Relaxed) < 1 {
                thread::yield_now();
            }
            let before = count.load(Ordering::Relaxed);
            busy.extend(timed_answers(handler, &queries, per_round));
            applied += count.load(Ordering::Relaxed) - before;
            stop.store(true, Ordering::Relaxed);
        });
        busy_seconds += started.elapsed().as_secs_f64();
    }
    idle.sort_unstable();
    busy.sort_unstable();
    let report = |label: &str, sorted: &[u64]| {
        println!(
            "zones/answers/{names}x{zones}/{label}: p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns ({} answers)",
            percentile(sorted, 0.5),
            percentile(sorted, 0.99),
            percentile(sorted, 0.999),
            sorted.last().copied().unwrap_or(0),
            sorted.len(),
        );
    };
    report("idle", &idle);
    report("under_changes", &busy);
    println!(
        "zones/answers/{names}x{zones}/under_changes: {applied} changes meanwhile ({:.0}/s); p99 ratio busy/idle {:.2}, p50 ratio {:.2} ({ROUNDS} alternating rounds)",
        applied as f64 / busy_seconds,
        percentile(&busy, 0.99) as f64 / percentile(&idle, 0.99) as f64,
        percentile(&busy, 0.5) as f64 / percentile(&idle, 0.5) as f64,
    );
}

criterion_group!(benches, changes);
criterion_main!(benches);
