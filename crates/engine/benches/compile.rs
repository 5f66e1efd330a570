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
//! - for context, a full compile from scratch and `PolicySet::clone` (which
//!   the facade pays per change; it belongs to the policy crate).
//!
//! Run: `STEERAGE_GEO_DATA=../shared/geo cargo bench -p steerage-engine --bench compile`.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use steerage_engine::{Compiler, Snapshot};
use steerage_policy::{Line, PolicySet, Rule, Target, Weight};

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
                b.iter_custom(|iterations| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        version += 1;
                        let rule = changed_rule(&base, version, new_line, &fresh);
                        set.update_rule(&domain, base.name().as_str(), rule)
                            .unwrap();
                        let start = Instant::now();
                        let snapshot = black_box(compiler.compile(&set, version).unwrap());
                        total += start.elapsed();
                        // Freed outside the timing: the facade drops old
                        // snapshots off the apply path too.
                        drop(snapshot);
                    }
                    total
                });
            });
        }
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
