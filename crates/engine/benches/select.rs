//! `select` end to end on the compiled DB-IP table (`STEERAGE_GEO_DATA`;
//! the built-in sample table without it) for 1, 1,000 and 100,000 policies
//! with 1 rule and for 1 and 1,000 policies with 200 rules, cold (1,000,000
//! seeded uniformly random IPv4 clients and random domains) and hot (10,000
//! repeated), with the compiled table lookup alone and raw maxminddb lookup +
//! decode as baselines in the same run.
//!
//! Run: `STEERAGE_GEO_DATA=../shared/geo cargo bench -p steerage-engine --bench select`.

mod common;

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use steerage_engine::Compiler;

const COLD: usize = 1_000_000;
const HOT: usize = 10_000;

/// Benchmarks `f` over `items`, one per iteration, cycling.
fn run<I: Copy, T>(c: &mut Criterion, name: &str, items: &[I], mut f: impl FnMut(I) -> T) {
    c.bench_function(name, |b| {
        let mut i = 0usize;
        b.iter(|| {
            let item = items[i];
            i += 1;
            if i == items.len() {
                i = 0;
            }
            black_box(f(black_box(item)))
        });
    });
}

fn select(c: &mut Criterion) {
    let table = common::table();
    let cold_ips: Vec<IpAddr> = common::queries(COLD, 1, 0x5EED_C01D)
        .into_iter()
        .map(|q| q.1)
        .collect();
    let hot_ips: Vec<IpAddr> = common::queries(HOT, 1, 0x5EED_0407)
        .into_iter()
        .map(|q| q.1)
        .collect();

    // Baselines first, on the same addresses.
    run(c, "baseline/table_lookup/cold", &cold_ips, |ip| {
        table.lookup(ip)
    });
    run(c, "baseline/table_lookup/hot", &hot_ips, |ip| {
        table.lookup(ip)
    });
    if let Some(file) = common::dbip_file() {
        let reader = maxminddb::Reader::open_readfile(&file).expect("DB-IP IPv4 database");
        let raw = |ip: IpAddr| {
            let result = reader.lookup(ip).ok()?;
            let record: common::FlatRecord<'_> = result.decode().ok()??;
            Some((
                record.country_code.map(str::len),
                record.state1.map(str::len),
            ))
        };
        run(c, "baseline/maxminddb/cold", &cold_ips, raw);
        run(c, "baseline/maxminddb/hot", &hot_ips, raw);
    }

    for (policies, rules) in [(1, 1), (1_000, 1), (100_000, 1), (1, 200), (1_000, 200)] {
        let set = common::policy_set(policies, rules);
        let snapshot = Compiler::new(table.clone()).compile(&set, 1).unwrap();
        drop(set);
        let stats = snapshot.stats();
        eprintln!(
            "{policies} policies x {rules} rules: {} groups ({} merged), {:.1} MiB compiled",
            stats.groups,
            stats.merged_groups,
            (stats.policy_bytes + stats.group_bytes + stats.index_bytes) as f64 / 1048576.0
        );
        let names: Vec<String> = (0..policies).map(common::domain).collect();
        let cold = common::queries(COLD, policies, 0x5EED_C01D ^ policies as u64);
        let hot = common::queries(HOT, policies, 0x5EED_0407 ^ policies as u64);
        // Domains resolved to `&str` beforehand, as a caller holds them (a
        // DNS server has the name in its packet buffer): an iteration reads
        // one element, not an index into a table of `String`s and the
        // string's header behind it.
        let resolve = |qs: &[(u32, IpAddr)]| -> Vec<(&str, IpAddr)> {
            qs.iter()
                .map(|&(d, ip)| (names[d as usize].as_str(), ip))
                .collect()
        };
        let (cold, hot) = (resolve(&cold), resolve(&hot));
        for (label, qs) in [("cold", &cold), ("hot", &hot)] {
            run(
                c,
                &format!("select/{policies}x{rules}/{label}"),
                qs,
                |(domain, ip)| snapshot.select(domain, ip).map(|d| d.cname().len()),
            );
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = select
}
criterion_main!(benches);
