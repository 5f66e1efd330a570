//! What a change of provider health costs a `Steering` with 1,000 and
//! 100,000 policies, against a one-rule `apply` measured in the same run
//! (the baseline): one provider of one policy going down or up (an
//! override), the same provider of 100 policies flipped by one
//! `record_checks` call (a probe shared by 100 policies), and a check
//! result that changes nothing selection sees (which publishes nothing).
//! Health compiles only the policies whose providers changed state, so
//! the first should cost about what the one-rule change does, the second
//! about 100 policy compiles more.

use std::time::{Duration, SystemTime};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use steerage::{CheckResult, HealthOverride, ProviderKey};

#[path = "fixture.rs"]
#[expect(
    dead_code,
    reason = "shared with the other benches, which use more of it"
)]
mod fixture;

fn health(c: &mut Criterion) {
    let mut group = c.benchmark_group("health");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    let large = if fixture::benchmarking() {
        100_000
    } else {
        10_000
    };
    for n in [1_000, large] {
        let steering = fixture::steering(n);
        let target = fixture::domain(n / 2);
        let mut weight = 70;
        group.bench_function(BenchmarkId::new("baseline_one_rule_change", n), |b| {
            b.iter(|| {
                weight = if weight == 70 { 60 } else { 70 };
                let rule = fixture::china_rule(weight);
                steering
                    .apply(|set| set.update_rule(&target, "china-mainland", rule))
                    .unwrap()
            });
        });
        let mut down = false;
        group.bench_function(BenchmarkId::new("one_provider_flip", n), |b| {
            b.iter(|| {
                down = !down;
                let signal = if down {
                    HealthOverride::down()
                } else {
                    HealthOverride::up()
                };
                steering
                    .set_health_override(&target, "vendor-b", signal)
                    .unwrap()
            });
        });
        steering.clear_health_override(&target, "vendor-b").unwrap();
        let shared: Vec<ProviderKey> = (0..100)
            .map(|i| ProviderKey::new(&fixture::domain(i * (n / 100)), "vendor-a"))
            .collect();
        let mut up = true;
        group.bench_function(BenchmarkId::new("shared_probe_flip_100_policies", n), |b| {
            b.iter(|| {
                up = !up;
                let result = CheckResult::new(SystemTime::now(), up, Duration::ZERO, "bench");
                steering
                    .record_checks(shared.iter().map(|k| (k.clone(), up, result.clone())))
                    .unwrap()
            });
        });
        let steady = CheckResult::new(SystemTime::now(), up, Duration::ZERO, "bench");
        group.bench_function(BenchmarkId::new("steady_result_100_policies", n), |b| {
            b.iter(|| {
                steering
                    .record_checks(shared.iter().map(|k| (k.clone(), up, steady.clone())))
                    .unwrap()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, health);
criterion_main!(benches);
