//! The weighted pick alone: `random` over 2, 3 and 10 targets (this
//! thread's wyrand generator, Lemire's bounded integer, linear scan) and
//! `sticky` over 3 targets (rendezvous hashing, client key included).
//!
//! Run: `cargo bench -p steerage-engine --bench pick`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use steerage_engine::{WeightedPick, seed_thread_rng, sticky_client_key, sticky_target_key};

fn table(weights: &[u32]) -> WeightedPick<u16> {
    WeightedPick::new(
        weights
            .iter()
            .enumerate()
            .map(|(i, &w)| (i as u16, sticky_target_key(&format!("p{i}")), w)),
    )
    .unwrap()
}

fn pick(c: &mut Criterion) {
    seed_thread_rng(1);
    for weights in [
        &[70u32, 30][..],
        &[50, 30, 20],
        &[10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
    ] {
        let t = table(weights);
        c.bench_function(&format!("pick/random/{}", weights.len()), |b| {
            b.iter(|| *black_box(&t).pick_random());
        });
    }
    let t = table(&[50, 30, 20]);
    let mut n = 0u32;
    c.bench_function("pick/sticky/3", |b| {
        b.iter(|| {
            n = n.wrapping_add(256);
            let client = IpAddr::V4(Ipv4Addr::from(black_box(n)));
            *t.pick_sticky(sticky_client_key(client, 42))
        });
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = pick
}
criterion_main!(benches);
