//! `Steering::apply` of a one-rule change with 1,000 and 100,000 policies
//! (targets: under 1 ms and under 20 ms), of a change that changes nothing
//! (which publishes nothing; it must not cost more than a one-rule change),
//! a change that adds or deletes a policy (compiled in proportion too: the
//! new domain takes a vacant position and the domain index is edited in
//! place), and the parts of a change, measured alone: copying the policy
//! set (what `apply` runs the closure on), the engine's incremental
//! compile, dropping a set
//! (the writer frees the set two versions back), and a whole-set validation
//! (which `apply` does not run: a set is valid by construction).

use std::hint::black_box;
use std::time::Duration;

use std::sync::Arc;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use steerage::engine::Compiler;
use steerage::geo::LocationTable;

#[path = "fixture.rs"]
#[expect(
    dead_code,
    reason = "shared with the other bench, which uses more of it"
)]
mod fixture;

fn apply(c: &mut Criterion) {
    let mut group = c.benchmark_group("apply");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    // A smoke test (`cargo test --benches`) runs each function once; the
    // 100,000-policy setup alone would take seconds there.
    let large = if fixture::benchmarking() {
        100_000
    } else {
        10_000
    };
    for n in [1_000, large] {
        let steering = fixture::steering(n);
        let target = fixture::domain(n / 2);
        let mut weight = 70;
        group.bench_function(BenchmarkId::new("one_rule_change", n), |b| {
            b.iter(|| {
                // Alternate the weight so every apply is a real change.
                weight = if weight == 70 { 60 } else { 70 };
                let rule = fixture::china_rule(weight);
                steering
                    .apply(|set| set.update_rule(&target, "china-mainland", rule))
                    .unwrap()
            });
        });
        // Changes that change nothing publish nothing: the closure does
        // nothing, or sets a rule to what it is (which copies one leaf of
        // the set and compares one policy).
        group.bench_function(BenchmarkId::new("noop", n), |b| {
            b.iter(|| steering.apply(|_| Ok(())).unwrap());
        });
        let same = steering
            .config()
            .policy(&target)
            .and_then(|p| p.rule("china-mainland"))
            .cloned()
            .unwrap();
        group.bench_function(BenchmarkId::new("noop_same_rule", n), |b| {
            b.iter(|| {
                steering
                    .apply(|set| set.update_rule(&target, "china-mainland", same.clone()))
                    .unwrap()
            });
        });
        // Adding or removing a domain moves positions: the whole entry table
        // and the domain index are built again (the one-rule change above
        // writes into a reused table instead).
        let extra = "zz-extra.example.com";
        group.bench_function(BenchmarkId::new("create_or_delete_policy", n), |b| {
            b.iter(|| {
                steering
                    .apply(|set| {
                        if set.policy(extra).is_some() {
                            set.disable_policy(extra)?;
                            set.delete_policy(extra).map(drop)
                        } else {
                            set.create_policy(extra).map(drop)
                        }
                    })
                    .unwrap()
            });
        });
        if steering.config().policy(extra).is_some() {
            steering
                .apply(|set| {
                    set.disable_policy(extra)?;
                    set.delete_policy(extra).map(drop)
                })
                .unwrap();
        }
        let config = steering.config();
        group.bench_function(BenchmarkId::new("clone_set", n), |b| {
            b.iter(|| black_box(config.as_ref().clone()));
        });
        group.bench_function(BenchmarkId::new("drop_set", n), |b| {
            b.iter_batched(|| config.as_ref().clone(), drop, BatchSize::LargeInput);
        });
        group.bench_function(BenchmarkId::new("validate_set", n), |b| {
            b.iter(|| config.validate().unwrap());
        });

        let mut changed = config.as_ref().clone();
        changed
            .update_rule(&target, "china-mainland", fixture::china_rule(50))
            .unwrap();
        let sets = [config.as_ref().clone(), changed];
        let mut compiler = Compiler::new(Arc::new(LocationTable::sample()));
        compiler.compile(&sets[0], 1).unwrap();
        let mut version = 1;
        group.bench_function(BenchmarkId::new("engine_compile_one_change", n), |b| {
            b.iter(|| {
                version += 1;
                compiler
                    .compile(&sets[(version % 2) as usize], version)
                    .unwrap()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, apply);
criterion_main!(benches);
