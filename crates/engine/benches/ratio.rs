//! `select` against its baselines, interleaved so that load from other
//! processes hits every operation alike: each round times a batch of every
//! operation in turn; the report gives each operation's median ns per call
//! over the rounds, its spread (min-max of the rounds), and the median of
//! the per-round ratios to the compiled table lookup on the same addresses.
//!
//! Operations: the compiled location table lookup alone; raw maxminddb
//! lookup + decode of the two fields (with `STEERAGE_GEO_DATA`); `select`
//! with 1 policy, with 100,000 policies (queries to one domain, and to
//! uniformly random domains), with 200 rules of one line and with 100 rules
//! of two lines; a weighted pick alone. Cold:
//! 1,000,000 seeded uniformly random IPv4 addresses; hot: 10,000 repeated.
//! Every timed batch follows an untimed warm-up of 10,000 calls (one pass
//! over a hot set), so that a hot figure is the set in cache rather than its
//! reload after the other operations' batches; for a cold operation the
//! warm-up changes nothing but the addresses' position.
//! `STEERAGE_RATIO_WARM=N` sets the warm-up calls (0: none).
//!
//! Run: `STEERAGE_GEO_DATA=../shared/geo cargo bench -p steerage-engine --bench ratio`.
//! Under `cargo test --benches` it runs two short rounds.
//! `STEERAGE_RATIO_ONLY=NAME` keeps only the operations whose name contains
//! NAME (and their references), for profiling; `STEERAGE_RATIO_ROUNDS=N`
//! times N rounds instead of 41.

mod common;

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Instant;

use steerage_engine::{Compiler, Snapshot, WeightedPick, seed_thread_rng, sticky_target_key};

type Op<'a> = Box<dyn FnMut() -> usize + 'a>;

/// Cycles through `items` without a division per call.
fn cycle<T: Copy>(items: &[T]) -> impl FnMut() -> T + '_ {
    let mut k = 0usize;
    move || {
        let item = items[k];
        k += 1;
        if k == items.len() {
            k = 0;
        }
        item
    }
}

/// Queries with their domain resolved to a `&str` beforehand, as a
/// caller holds it (a DNS server has the name in its packet buffer): the
/// timed loop then reads one element per call, not an index into a table
/// of `String`s and the string's header behind it.
fn resolve<'a>(names: &'a [String], qs: &[(u32, IpAddr)]) -> Vec<(&'a str, IpAddr)> {
    qs.iter()
        .map(|&(d, ip)| (names[d as usize].as_str(), ip))
        .collect()
}

fn select_op<'a>(snapshot: &'a Snapshot, qs: &'a [(&'a str, IpAddr)]) -> Op<'a> {
    let mut next = cycle(qs);
    Box::new(move || {
        let (domain, ip) = next();
        snapshot
            .select(black_box(domain), black_box(ip))
            .map_or(0, |d| d.cname().len())
    })
}

/// The 200 lines of the wide policy paired into 100 rules of two lines:
/// which line of its rule a client matched is then not a property of the
/// rule-merged range, and `select` looks it up besides.
fn paired_set() -> steerage_policy::PolicySet {
    let mut set = common::policy_set(1, 1);
    let d = common::domain(0);
    set.delete_rule(&d, "r0").unwrap();
    let lines = common::lines(200);
    for (i, pair) in lines.chunks(2).enumerate() {
        let target = |p: &str, w| {
            steerage_policy::Target::new(
                p.parse().unwrap(),
                steerage_policy::Weight::new(w).unwrap(),
            )
        };
        let rule = steerage_policy::Rule::new(
            format!("r{i}").parse().unwrap(),
            pair.to_vec(),
            vec![target("p0", 70), target("p1", 30)],
        );
        set.add_rule(&d, rule).unwrap();
    }
    set
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    // `STEERAGE_RATIO_WARM=0` times batches without the warm-up (the
    // earlier method, whose hot figures include reloading the set).
    let warm_calls = std::env::var("STEERAGE_RATIO_WARM")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(10_000);
    // `STEERAGE_RATIO_ROUNDS=N` sets the rounds (more: a profile of one
    // operation that the set-up does not swamp).
    let bench_rounds = std::env::var("STEERAGE_RATIO_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(41);
    let (rounds, batch, warm) = if bench {
        (bench_rounds, 20_000, warm_calls)
    } else {
        (2, 1_000, 0)
    };
    let (cold_n, big) = if bench {
        (1_000_000, 100_000)
    } else {
        (20_000, 2_000)
    };
    let table = common::table();
    let reader = common::dbip_file()
        .map(|f| maxminddb::Reader::open_readfile(f).expect("DB-IP IPv4 database"));

    let cold: Vec<IpAddr> = common::queries(cold_n, 1, 0x5EED_C01D)
        .into_iter()
        .map(|q| q.1)
        .collect();
    let hot: Vec<IpAddr> = common::queries(10_000, 1, 0x5EED_0407)
        .into_iter()
        .map(|q| q.1)
        .collect();
    let one = Compiler::new(table.clone())
        .compile(&common::policy_set(1, 1), 1)
        .unwrap();
    let many = Compiler::new(table.clone())
        .compile(&common::policy_set(big, 1), 1)
        .unwrap();
    let wide = Compiler::new(table.clone())
        .compile(&common::policy_set(1, 200), 1)
        .unwrap();
    let paired = Compiler::new(table.clone())
        .compile(&paired_set(), 1)
        .unwrap();
    let names: Vec<String> = (0..big).map(common::domain).collect();
    let cold_one = resolve(&names, &common::queries(cold_n, 1, 0x5EED_C01D));
    let hot_one = resolve(&names, &common::queries(10_000, 1, 0x5EED_0407));
    let cold_many = resolve(&names, &common::queries(cold_n, big, 0x5EED_C01E));
    let hot_many = resolve(&names, &common::queries(10_000, big, 0x5EED_0408));
    // Pieces of `select`: an unknown domain (the domain lookup alone), a
    // disabled policy (plus the entry), only a default rule with one and
    // with two targets (plus the pick, no location lookup).
    let mut pieces = common::policy_set(1, 1);
    let d0 = common::domain(0);
    pieces.disable_policy(&d0).unwrap();
    let disabled = Compiler::new(table.clone()).compile(&pieces, 1).unwrap();
    pieces.enable_policy(&d0).unwrap();
    pieces.delete_rule(&d0, "r0").unwrap();
    let default_two = Compiler::new(table.clone()).compile(&pieces, 1).unwrap();
    pieces
        .set_default_targets(
            &d0,
            vec![steerage_policy::Target::new(
                "p0".parse().unwrap(),
                steerage_policy::Weight::new(1).unwrap(),
            )],
        )
        .unwrap();
    let default_one = Compiler::new(table.clone()).compile(&pieces, 1).unwrap();
    let unknown_names: Vec<String> = vec!["d0.example.net".to_owned()];
    let hot_unknown = resolve(&unknown_names, &common::queries(10_000, 1, 0x5EED_0407));
    let pick = WeightedPick::new(
        [50u32, 30, 20]
            .iter()
            .enumerate()
            .map(|(i, &w)| (i, sticky_target_key(&format!("p{i}")), w)),
    )
    .unwrap();
    seed_thread_rng(1);

    let mut ops: Vec<(&str, &str, Op<'_>)> = Vec::new();
    for (label, ips, reference) in [
        ("cold", &cold, "table_lookup/cold"),
        ("hot", &hot, "table_lookup/hot"),
    ] {
        let t = &table;
        let mut next = cycle(ips);
        ops.push((
            if label == "cold" {
                "table_lookup/cold"
            } else {
                "table_lookup/hot"
            },
            reference,
            // The whole hit (location and range), as `select` needs both.
            Box::new(move || {
                let hit = black_box(t.lookup(black_box(next())));
                hit.id.index()
            }),
        ));
        if let Some(reader) = &reader {
            let mut next = cycle(ips);
            ops.push((
                if label == "cold" {
                    "maxminddb/cold"
                } else {
                    "maxminddb/hot"
                },
                reference,
                Box::new(move || {
                    let Ok(result) = reader.lookup(black_box(next())) else {
                        return 0;
                    };
                    match result.decode::<common::FlatRecord<'_>>() {
                        Ok(Some(r)) => {
                            r.country_code.map_or(0, str::len) + r.state1.map_or(0, str::len)
                        }
                        _ => 0,
                    }
                }),
            ));
        }
    }
    ops.push((
        "select/1x1/cold",
        "table_lookup/cold",
        select_op(&one, &cold_one),
    ));
    ops.push((
        "select/1x1/hot",
        "table_lookup/hot",
        select_op(&one, &hot_one),
    ));
    ops.push((
        "select/100000x1/one-domain/cold",
        "table_lookup/cold",
        select_op(&many, &cold_one),
    ));
    ops.push((
        "select/100000x1/random-domains/cold",
        "table_lookup/cold",
        select_op(&many, &cold_many),
    ));
    ops.push((
        "select/100000x1/random-domains/hot",
        "table_lookup/hot",
        select_op(&many, &hot_many),
    ));
    ops.push((
        "select/1x200/cold",
        "table_lookup/cold",
        select_op(&wide, &cold_one),
    ));
    ops.push((
        "select/1x200/hot",
        "table_lookup/hot",
        select_op(&wide, &hot_one),
    ));
    ops.push((
        "select/1x100x2lines/cold",
        "table_lookup/cold",
        select_op(&paired, &cold_one),
    ));
    ops.push((
        "select/1x100x2lines/hot",
        "table_lookup/hot",
        select_op(&paired, &hot_one),
    ));
    ops.push((
        "select/unknown-domain/hot",
        "table_lookup/hot",
        select_op(&one, &hot_unknown),
    ));
    ops.push((
        "select/disabled/hot",
        "table_lookup/hot",
        select_op(&disabled, &hot_one),
    ));
    ops.push((
        "select/default-only-1-target/hot",
        "table_lookup/hot",
        select_op(&default_one, &hot_one),
    ));
    ops.push((
        "select/default-only-2-targets/hot",
        "table_lookup/hot",
        select_op(&default_two, &hot_one),
    ));
    let p = &pick;
    ops.push((
        "pick/random/3",
        "table_lookup/hot",
        Box::new(move || *black_box(p).pick_random()),
    ));

    // `STEERAGE_RATIO_ONLY=select/1x1` keeps the matching operations (and
    // their references), for profiling one of them.
    if let Ok(only) = std::env::var("STEERAGE_RATIO_ONLY") {
        let keep: Vec<&str> = ops
            .iter()
            .filter(|o| o.0.contains(only.as_str()))
            .flat_map(|o| [o.0, o.1])
            .collect();
        ops.retain(|o| keep.contains(&o.0));
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); ops.len()];
    for _ in 0..rounds {
        for (k, (_, _, op)) in ops.iter_mut().enumerate() {
            // One untimed pass over a hot set first: the operations timed
            // before this one evicted its working set, and a hot figure is
            // meant to measure the set in cache, not its reload.
            for _ in 0..warm {
                black_box(op());
            }
            let start = Instant::now();
            let mut sink = 0usize;
            for _ in 0..batch {
                sink = sink.wrapping_add(op());
            }
            black_box(sink);
            times[k].push(start.elapsed().as_nanos() as f64 / batch as f64);
        }
    }
    let index = |name: &str| ops.iter().position(|o| o.0 == name);
    println!(
        "{:<40} {:>10} {:>22} {:>14}",
        "operation", "median ns", "spread (min-max) ns", "ratio (median)"
    );
    for (k, (name, reference, _)) in ops.iter().enumerate() {
        let mut ratios: Vec<f64> = match index(reference) {
            Some(r) => times[k].iter().zip(&times[r]).map(|(a, b)| a / b).collect(),
            None => vec![f64::NAN],
        };
        let min = times[k].iter().copied().fold(f64::INFINITY, f64::min);
        let max = times[k].iter().copied().fold(0.0, f64::max);
        let mut t = times[k].clone();
        println!(
            "{name:<40} {:>10.1} {:>22} {:>9.2}x {reference}",
            median(&mut t),
            format!("{min:.1}-{max:.1}"),
            median(&mut ratios),
        );
    }
    let wide_stats = wide.stats();
    println!(
        "1 policy x 200 rules: group tables {:.1} MiB; location table {:.1} MiB",
        wide_stats.group_bytes as f64 / 1048576.0,
        table.stats().heap_bytes as f64 / 1048576.0
    );
    println!(
        "1 policy x 100 rules of 2 lines: group tables (line maps included) {:.1} MiB",
        paired.stats().group_bytes as f64 / 1048576.0
    );
    let stats = many.stats();
    println!(
        "100,000 policies: {} groups, {} merged; compiled parts {:.1} MiB",
        stats.groups,
        stats.merged_groups,
        (stats.policy_bytes + stats.group_bytes + stats.index_bytes) as f64 / 1048576.0
    );
}
