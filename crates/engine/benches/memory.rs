//! Memory per simple policy (3 providers, 3 rules, a 2-target default):
//! the growth of the process's resident memory when building the
//! `PolicySet` and when compiling its `Snapshot`, divided by the number of
//! policies, next to the snapshot's own accounting (`Snapshot::stats`). The
//! snapshot shares each `Policy` with the set (`Arc`), so its figure is what
//! compiling adds.
//!
//! Resident memory is read from `/proc/self/statm` (Linux); elsewhere only
//! the accounting is printed. 100,000 policies under `cargo bench`, 2,000
//! under `cargo test --benches`.
//!
//! Run: `cargo bench -p steerage-engine --bench memory`.

mod common;

use std::sync::Arc;

use steerage_engine::Compiler;
use steerage_geo::LocationTable;

/// Resident bytes, if the platform tells.
fn resident() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn per_policy(before: Option<usize>, after: Option<usize>, n: usize) -> String {
    match (before, after) {
        (Some(b), Some(a)) => format!("{:.0} B", a.saturating_sub(b) as f64 / n as f64),
        _ => "n/a".to_owned(),
    }
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let n = if bench { 100_000 } else { 2_000 };
    // The sample table: memory of the location table is shared by every
    // policy and not part of the per-policy figure.
    let table = Arc::new(LocationTable::sample());
    let r0 = resident();
    let set = common::policy_set(n, 3);
    let r1 = resident();
    let snapshot = Compiler::new(table).compile(&set, 1).unwrap();
    let r2 = resident();
    let stats = snapshot.stats();
    println!("memory per simple policy ({n} policies, 3 providers, 3 rules):");
    println!(
        "  PolicySet (resident growth):        {}",
        per_policy(r0, r1, n)
    );
    println!(
        "  Snapshot (resident growth):         {}",
        per_policy(r1, r2, n)
    );
    println!(
        "  Snapshot accounting, compiled parts: {:.0} B (policies {:.0} + index {:.0} + groups {:.0})",
        (stats.policy_bytes + stats.index_bytes + stats.group_bytes) as f64 / n as f64,
        stats.policy_bytes as f64 / n as f64,
        stats.index_bytes as f64 / n as f64,
        stats.group_bytes as f64 / n as f64,
    );
    assert_eq!(snapshot.len(), n);
    drop(set);
}
