//! `Steering::select` while another thread applies changes continuously,
//! against the same select on an idle `Steering` (target: p99 within 2x of
//! the idle p99).
//!
//! Criterion reports medians, so this bench also measures the tail itself:
//! it times batches of selects with `Instant` (a batch keeps the clock's own
//! cost small) and prints the p50 / p99 / p99.9 of the per-select time in a
//! batch, idle and busy, and their ratio. Idle and busy rounds alternate,
//! so a drift in the machine's load affects both. The criterion functions
//! report the median for the same two situations, and the borrowed-decision
//! path (`snapshot().select`) as a baseline.

use std::hint::black_box;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use steerage::{Selection, Steering};

#[path = "fixture.rs"]
mod fixture;

/// Policies in the set the criterion functions select from.
const POLICIES: usize = 1_000;
/// Selects per timed batch.
const BATCH: usize = 16;

/// Applies one-rule changes to the `policies` policies until `stop`,
/// counting those that published a new version.
///
/// Change `i` goes to policy `7 i mod policies` and flips its China rule's
/// weight between 60 and 70, read from the serving configuration: every
/// change is a real one (a change that changes nothing publishes nothing,
/// and would leave the readers undisturbed).
fn writer(steering: &Steering, policies: usize, stop: &AtomicBool, applied: &AtomicU64) {
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let domain = fixture::domain(i * 7 % policies);
        let current = steering
            .config()
            .policy(&domain)
            .and_then(|p| p.rule("china-mainland"))
            .and_then(|r| r.targets().first())
            .map(|t| t.weight().get());
        let weight = if current == Some(60) { 70 } else { 60 };
        let before = steering.version();
        let after = steering
            .apply(|set| set.update_rule(&domain, "china-mainland", fixture::china_rule(weight)))
            .unwrap();
        if after > before {
            applied.fetch_add(1, Ordering::Relaxed);
        }
        i += 1;
    }
}

/// Nanoseconds per select of `batches` timed batches.
fn timed_batches(steering: &Steering, queries: &[(String, IpAddr)], batches: usize) -> Vec<f64> {
    let mut per_select = Vec::with_capacity(batches);
    let mut q = queries.iter().cycle();
    for _ in 0..batches {
        let batch: Vec<&(String, IpAddr)> = q.by_ref().take(BATCH).collect();
        let start = Instant::now();
        for (domain, ip) in &batch {
            black_box(steering.select(domain, *ip));
        }
        per_select.push(start.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    per_select
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(f64::NAN)
}

/// Runs `f` while a writer thread applies changes; returns `f`'s result and
/// the number of changes applied meanwhile.
fn with_writer<T>(steering: &Steering, policies: usize, f: impl FnOnce() -> T) -> (T, u64) {
    let stop = AtomicBool::new(false);
    let applied = AtomicU64::new(0);
    thread::scope(|scope| {
        scope.spawn(|| writer(steering, policies, &stop, &applied));
        // Let the writer get going before measuring.
        while applied.load(Ordering::Relaxed) < 2 {
            thread::yield_now();
        }
        let before = applied.load(Ordering::Relaxed);
        let result = f();
        let during = applied.load(Ordering::Relaxed) - before;
        stop.store(true, Ordering::Relaxed);
        (result, during)
    })
}

/// Idle and busy rounds alternate, so that a change in the machine's load
/// (other processes on a shared machine) weighs on both alike.
const ROUNDS: usize = 10;

/// The p99 measurement with `policies` policies, printed.
fn tail_latency(policies: usize) {
    let steering = fixture::steering(policies);
    let queries = fixture::queries(policies, 4_096);
    let batches = if fixture::benchmarking() {
        2_000_000
    } else {
        2_000
    } / ROUNDS;
    let report = |label: &str, sorted: &[f64]| {
        println!(
            "select/{policies}/{label}: p50 {:.1} ns, p99 {:.1} ns, p99.9 {:.1} ns, max {:.0} ns ({} batches of {BATCH})",
            percentile(sorted, 0.5),
            percentile(sorted, 0.99),
            percentile(sorted, 0.999),
            sorted.last().copied().unwrap_or(f64::NAN),
            sorted.len(),
        );
    };
    let mut idle = Vec::with_capacity(batches * ROUNDS);
    let mut busy = Vec::with_capacity(batches * ROUNDS);
    let mut applied = 0;
    let mut busy_seconds = 0.0;
    for _ in 0..ROUNDS {
        idle.extend(timed_batches(&steering, &queries, batches));
        let started = Instant::now();
        let (round, during) = with_writer(&steering, policies, || {
            timed_batches(&steering, &queries, batches)
        });
        busy_seconds += started.elapsed().as_secs_f64();
        applied += during;
        busy.extend(round);
    }
    idle.sort_by(f64::total_cmp);
    busy.sort_by(f64::total_cmp);
    report("idle", &idle);
    report("under_apply", &busy);
    println!(
        "select/{policies}/under_apply: {applied} changes applied meanwhile ({:.0}/s); p99 ratio busy/idle {:.2}, p50 ratio {:.2} ({ROUNDS} alternating rounds)",
        applied as f64 / busy_seconds,
        percentile(&busy, 0.99) / percentile(&idle, 0.99),
        percentile(&busy, 0.5) / percentile(&idle, 0.5),
    );
}

fn select(c: &mut Criterion) {
    tail_latency(POLICIES);
    if fixture::benchmarking() {
        tail_latency(100_000);
    }

    let steering = fixture::steering(POLICIES);
    let queries = fixture::queries(POLICIES, 4_096);

    let mut group = c.benchmark_group("select");
    group.measurement_time(Duration::from_secs(5));
    let mut q = queries.iter().cycle();
    group.bench_function("idle", |b| {
        b.iter(|| {
            let (domain, ip) = q.next().unwrap();
            steering.select(domain, *ip)
        });
    });
    group.bench_function("idle_borrowed", |b| {
        b.iter(|| {
            let (domain, ip) = q.next().unwrap();
            steering.snapshot().select(domain, *ip).map(|d| d.ttl())
        });
    });
    let snapshot = steering.snapshot();
    let decision = snapshot
        .select(&fixture::domain(0), "198.18.0.7".parse().unwrap())
        .unwrap();
    group.bench_function("selection_copy_alone", |b| {
        b.iter(|| Selection::new(black_box(&decision), 1));
    });
    drop(snapshot);
    let ((), _) = with_writer(&steering, POLICIES, || {
        group.bench_function("under_apply", |b| {
            b.iter(|| {
                let (domain, ip) = q.next().unwrap();
                steering.select(domain, *ip)
            });
        });
    });
    group.finish();
}

criterion_group!(benches, select);
criterion_main!(benches);
